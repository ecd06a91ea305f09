//! The Kafka wire protocol: primitive codecs, generated messages, framing and record
//! batches. See <https://kafka.apache.org/protocol>.

pub mod codec;
pub mod compression;
pub mod frame;
#[cfg(test)]
mod message_tests;
pub mod messages;
pub mod records;
#[cfg(test)]
pub(crate) mod testing;
