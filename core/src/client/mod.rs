//! tidelog's Kafka clients. They work against tidelog and against any Kafka cluster.
//!
//! [`connection::BrokerConnection`] is the shared transport: one pipelined connection per
//! broker with negotiated API versions.
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
