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

use crate::config::ConfigError;
use crate::error::Error;

/// The kinds of client, for settings shared between them: a C or librdkafka-style
/// program fills one config and hands it to a producer, a consumer or an admin client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// [`producer::ProducerConfig`].
    Producer,
    /// [`consumer::ConsumerConfig`].
    Consumer,
    /// [`admin::AdminConfig`].
    Admin,
}

impl ClientKind {
    /// Every kind.
    pub const ALL: [ClientKind; 3] = [
        ClientKind::Producer,
        ClientKind::Consumer,
        ClientKind::Admin,
    ];

    /// Sets `key` on this kind's default config.
    fn set_on_default(self, key: &str, value: &str) -> Result<(), Error> {
        match self {
            ClientKind::Producer => producer::ProducerConfig::defaults().set(key, value),
            ClientKind::Consumer => consumer::ConsumerConfig::defaults().set(key, value),
            ClientKind::Admin => admin::AdminConfig::defaults().set(key, value),
        }
    }

    /// Whether this kind of client has the setting `key`.
    pub fn takes(self, key: &str) -> bool {
        !matches!(
            self.set_on_default(key, ""),
            Err(Error::Config(ConfigError::UnknownKey { .. }))
        )
    }

    /// The pairs this kind takes, in order: keys of the other kinds only are left out, as
    /// librdkafka ignores consumer settings in a producer. Pass the result to the kind's
    /// `from_pairs`, which checks the values.
    pub fn settings<'a>(
        self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> impl Iterator<Item = (&'a str, &'a str)> {
        pairs.into_iter().filter(move |(key, _)| self.takes(key))
    }
}

/// Checks one setting of a config shared by every kind of client, as librdkafka's
/// `rd_kafka_conf_set` does: at least one kind must take `key`, and each kind that takes
/// it must accept `value`.
///
/// # Errors
/// [`Error::Config`]: `UnknownKey` when no kind of client takes `key`, else the first
/// `InvalidValue` naming `key`.
pub fn check_setting(key: &str, value: &str) -> Result<(), Error> {
    let mut known = false;
    for kind in ClientKind::ALL {
        match kind.set_on_default(key, value) {
            Ok(()) => known = true,
            Err(Error::Config(ConfigError::UnknownKey { .. })) => {}
            Err(error) => return Err(error),
        }
    }
    if known {
        Ok(())
    } else {
        Err(ConfigError::UnknownKey { key: key.into() }.into())
    }
}

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

    #[test]
    fn shared_settings_are_checked_by_every_kind_that_takes_them() {
        use super::{check_setting, ClientKind};
        assert!(check_setting("group.id", "g").is_ok());
        assert!(check_setting("linger.ms", "5").is_ok());
        let unknown = check_setting("linger.mss", "5").unwrap_err().to_string();
        assert!(
            unknown.contains("unknown config key `linger.mss`"),
            "{unknown}"
        );
        // request.timeout.ms is the producer's and the admin's: 0 is fine for the
        // producer, not for the admin client.
        let invalid = check_setting("request.timeout.ms", "0")
            .unwrap_err()
            .to_string();
        assert!(
            invalid.contains("request.timeout.ms") && invalid.contains("at least 1"),
            "{invalid}"
        );
        assert!(ClientKind::Consumer.takes("group.id") && !ClientKind::Producer.takes("group.id"));
        let pairs = [
            ("bootstrap.servers", "h:1"),
            ("group.id", "g"),
            ("acks", "1"),
        ];
        let producer: Vec<_> = ClientKind::Producer.settings(pairs).collect();
        assert_eq!(producer, [("bootstrap.servers", "h:1"), ("acks", "1")]);
    }
}
