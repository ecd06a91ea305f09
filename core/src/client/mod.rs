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

/// Parses `bootstrap.servers` (or any key holding `host:port,host:port`), ignoring empty
/// entries and whitespace. A `PLAINTEXT://` prefix is dropped; other security protocols
/// are not supported yet, and their prefixes are not recognized (`SSL://host:9093` passes
/// as host `SSL://host` and fails only on connect).
///
/// # Errors
/// [`Error::Config`] naming `key` when an entry is not `host:port` or there is none.
pub(crate) fn bootstrap_servers(key: &str, value: &str) -> Result<Vec<String>, Error> {
    let invalid = |reason: String| -> Error {
        ConfigError::InvalidValue {
            key: key.into(),
            value: value.into(),
            reason,
        }
        .into()
    };
    let mut addresses = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let address = item.strip_prefix("PLAINTEXT://").unwrap_or(item);
        match address
            .rsplit_once(':')
            .map(|(host, port)| (host, port.parse::<u16>()))
        {
            Some((host, Ok(_))) if !host.is_empty() => addresses.push(address.to_string()),
            _ => return Err(invalid(format!("`{item}` is not host:port"))),
        }
    }
    if addresses.is_empty() {
        return Err(invalid("at least one host:port is required".into()));
    }
    Ok(addresses)
}
