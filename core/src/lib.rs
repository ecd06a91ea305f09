//! tidelog core: the Kafka wire protocol, and (in later modules) the broker and the
//! producer, consumer and admin clients that the Python, Node and C SDKs expose.
//!
//! The protocol layer is in [`protocol`]: messages generated from Kafka's JSON schemas,
//! request/response framing, and zero-copy record batches.

#![forbid(unsafe_code)]

pub mod broker;
pub mod client;
pub mod config;
pub mod embedded;
pub mod error;
pub mod log;
pub mod partitioner;
pub mod protocol;
pub mod runtime;
