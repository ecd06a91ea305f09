//! tidelog's Kafka clients. They work against tidelog and against any Kafka cluster.
//!
//! [`connection::BrokerConnection`] is the shared transport: one pipelined connection per
//! broker with negotiated API versions.

pub mod admin;
pub mod assignor;
pub mod cluster;
pub mod connection;
pub mod consumer;
pub mod producer;
