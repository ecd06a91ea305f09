//! tidelog's Kafka clients. They work against tidelog and against any Kafka cluster.
//!
//! - [`producer`], [`consumer`] and [`admin`]: the clients, configured with Kafka's
//!   setting keys through their configs' `from_pairs`.
//! - [`cluster`]: the metadata a client caches and its connections, one per broker.
//! - [`connection`]: [`connection::BrokerConnection`], the shared transport: one pipelined
//!   connection per broker with negotiated API versions.
//! - [`assignor`]: the consumer group assignors and the consumer protocol's encoding.
//!
//! Every call fails with [`crate::error::Error`]; [`Error::code`] gives the Kafka error
//! code for any of them.
//!
//! A round trip through an in-process broker (the README's quickstart):
//!
//! ```
//! # async fn quickstart() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use tidelog::client::consumer::{Consumer, ConsumerConfig};
//! use tidelog::client::producer::{Producer, ProducerConfig, ProducerRecord};
//! use tidelog::embedded::{EmbeddedBroker, EmbeddedOptions};
//!
//! let broker = EmbeddedBroker::start(EmbeddedOptions::default())?; // a real broker, in-process
//! let producer = Producer::new(ProducerConfig::from_pairs([("bootstrap.servers", broker.bootstrap_servers())])?)?;
//! producer.send(ProducerRecord::new("events", "hello").with_key("user-1"))?.await?;
//! let consumer = Consumer::new(ConsumerConfig::from_pairs([
//!     ("bootstrap.servers", broker.bootstrap_servers()),
//!     ("group.id", "readers"),
//!     ("auto.offset.reset", "earliest"),
//! ])?);
//! consumer.subscribe(&["events".into()])?;
//! let record = consumer.poll(Duration::from_secs(10)).await?.expect("the record arrives");
//! assert_eq!(record.value.as_deref(), Some(&b"hello"[..]));
//! # Ok(())
//! # }
//! # tokio::runtime::Runtime::new().unwrap().block_on(quickstart()).unwrap();
//! ```

pub mod admin;
pub mod assignor;
pub mod cluster;
pub mod connection;
pub mod consumer;
pub mod producer;

use crate::error::Error;

/// Parses `bootstrap.servers` (or any key holding `host:port,host:port`); a `PLAINTEXT://`
/// prefix is accepted, other security protocols are not supported yet.
///
/// # Errors
/// [`Error::Config`] naming `key` when an entry is not `host:port` or there is none.
pub(crate) fn bootstrap_servers(key: &str, value: &str) -> Result<Vec<String>, Error> {
    let mut addresses = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let address = item.strip_prefix("PLAINTEXT://").unwrap_or(item);
        match address
            .rsplit_once(':')
            .map(|(host, port)| (host, port.parse::<u16>()))
        {
            Some((host, Ok(_))) if !host.is_empty() => addresses.push(address.to_string()),
            _ => return Err(invalid(key, value, format!("`{item}` is not host:port"))),
        }
    }
    if addresses.is_empty() {
        return Err(invalid(key, value, "at least one host:port is required"));
    }
    Ok(addresses)
}

/// Every client needs `bootstrap.servers`: the error when it was not given.
pub(crate) fn require_bootstrap(addresses: &[String]) -> Result<(), Error> {
    if addresses.is_empty() {
        return Err(invalid(
            "bootstrap.servers",
            "",
            "at least one host:port is required",
        ));
    }
    Ok(())
}

/// [`Error::Config`] `InvalidValue` naming `key`.
pub(crate) fn invalid(key: &str, value: &str, reason: impl Into<String>) -> Error {
    crate::config::invalid(key, value, reason).into()
}

/// A client setting that is a whole number from `min` to `max`.
///
/// # Errors
/// [`Error::Config`] naming `key` when `value` is not a whole number or out of range.
pub(crate) fn whole_number(key: &str, value: &str, min: i64, max: i64) -> Result<i64, Error> {
    let parsed: i64 = value
        .trim()
        .parse()
        .map_err(|_| invalid(key, value, "expected a whole number"))?;
    if parsed < min {
        return Err(invalid(key, value, format!("must be at least {min}")));
    }
    if parsed > max {
        return Err(invalid(key, value, format!("must be at most {max}")));
    }
    Ok(parsed)
}

/// A client setting that is `true` or `false` (any case).
///
/// # Errors
/// [`Error::Config`] naming `key` for anything else.
pub(crate) fn boolean(key: &str, value: &str) -> Result<bool, Error> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(key, value, "expected true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::consumer::ConsumerConfig;
    use crate::error::Error;

    fn rejected(key: &str, value: &str) -> String {
        match ConsumerConfig::from_pairs([("bootstrap.servers", "h:1"), (key, value)]) {
            Err(Error::Config(error)) => error.to_string(),
            other => panic!("{key}={value} was accepted: {other:?}"),
        }
    }

    #[test]
    fn client_settings_are_range_checked_and_named() {
        // 0 would make the heartbeat and auto-commit loops spin.
        assert!(rejected("heartbeat.interval.ms", "0").contains("heartbeat.interval.ms"));
        assert!(rejected("auto.commit.interval.ms", "0").contains("at least 1"));
        assert!(rejected("enable.auto.commit", "yes").contains("true or false"));
        assert!(rejected("fetch.max.bytes", "3000000000").contains("at most"));
        assert!(ConsumerConfig::from_pairs([("group.id", "g")])
            .unwrap_err()
            .to_string()
            .contains("bootstrap.servers"));
        let config = ConsumerConfig::from_pairs([
            ("bootstrap.servers", "h:1"),
            ("enable.auto.commit", "FALSE"),
            ("fetch.min.bytes", "0"),
        ])
        .unwrap();
        assert!(!config.enable_auto_commit);
    }
}
