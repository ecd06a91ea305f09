//! Records in and out, as plain JS objects: what `producer.send` takes and what the
//! consumer hands out (the JS layer turns offsets and timestamps into KafkaJS's strings).

use bytes::Bytes;
use napi::bindgen_prelude::Buffer;
use tidelog::client::consumer::ConsumerRecord;
use tidelog::client::producer::ProducerRecord;

/// A record header; `value` null for a header without one.
#[napi(object)]
pub struct Header {
    pub key: String,
    pub value: Option<Buffer>,
}

/// A record to produce. `partition` unset lets the partitioner choose; `timestamp` is
/// ms since the epoch, unset for now.
#[napi(object)]
pub struct OutgoingRecord {
    pub topic: String,
    pub partition: Option<i32>,
    pub key: Option<Buffer>,
    pub value: Option<Buffer>,
    pub headers: Option<Vec<Header>>,
    pub timestamp: Option<i64>,
}

/// A consumed record: `offset` and `timestamp` (ms since the epoch) as numbers.
#[napi(object)]
pub struct IncomingRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Buffer>,
    pub value: Option<Buffer>,
    pub headers: Vec<Header>,
}

/// A (topic, partition).
#[napi(object)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

/// A (topic, partition, offset).
#[napi(object)]
pub struct TopicPartitionOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

fn bytes(buffer: Option<Buffer>) -> Option<Bytes> {
    buffer.map(|b| Bytes::copy_from_slice(&b))
}

fn buffer(bytes: Option<Bytes>) -> Option<Buffer> {
    bytes.map(|b| Buffer::from(b.to_vec()))
}

impl From<OutgoingRecord> for ProducerRecord {
    fn from(record: OutgoingRecord) -> ProducerRecord {
        ProducerRecord {
            topic: record.topic,
            partition: record.partition,
            key: bytes(record.key),
            value: bytes(record.value),
            headers: record
                .headers
                .unwrap_or_default()
                .into_iter()
                .map(|h| (h.key, bytes(h.value)))
                .collect(),
            timestamp_ms: record.timestamp,
        }
    }
}

impl From<ConsumerRecord> for IncomingRecord {
    fn from(record: ConsumerRecord) -> IncomingRecord {
        IncomingRecord {
            topic: record.topic,
            partition: record.partition,
            offset: record.offset,
            timestamp: record.timestamp_ms,
            key: buffer(record.key),
            value: buffer(record.value),
            headers: record
                .headers
                .into_iter()
                .map(|(key, value)| Header {
                    key,
                    value: buffer(value),
                })
                .collect(),
        }
    }
}

impl From<TopicPartition> for (String, i32) {
    fn from(tp: TopicPartition) -> (String, i32) {
        (tp.topic, tp.partition)
    }
}

impl From<(String, i32)> for TopicPartition {
    fn from((topic, partition): (String, i32)) -> TopicPartition {
        TopicPartition { topic, partition }
    }
}
