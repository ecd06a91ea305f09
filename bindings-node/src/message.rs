//! Records in and out, as plain JS objects: what `producer.send` takes and what the
//! consumer hands out (the JS layer turns offsets and timestamps into KafkaJS's strings).

use bytes::Bytes;
use napi::bindgen_prelude::{Buffer, Float64Array, Int32Array};
use tidelog::client::consumer::ConsumerRecord;
use tidelog::client::producer::{HeaderRef, RecordRef};

/// A record header; `value` null for a header without one.
#[napi(object)]
pub struct Header {
    pub key: String,
    pub value: Option<Buffer>,
}

/// The records of one `send`, in columns, so that a thousand records cross into Rust in
/// one call rather than as a thousand objects. Record `i` belongs to the topic whose run
/// in `topics` covers it; its key and value are the next `keySizes[i]` and
/// `valueSizes[i]` bytes of `data` (keys and values alternate, in record order).
#[napi(object)]
pub struct OutgoingRecords {
    /// Consecutive runs of records with the same topic.
    pub topics: Vec<TopicRun>,
    /// Each record's partition; -1 lets the partitioner choose.
    pub partitions: Int32Array,
    /// Each record's timestamp in ms since the epoch; -1 for the time of the send.
    pub timestamps: Float64Array,
    /// Each record's key size in bytes; -1 for a null key.
    pub key_sizes: Int32Array,
    /// Each record's value size in bytes; -1 for a null value.
    pub value_sizes: Int32Array,
    /// The keys and values.
    pub data: Buffer,
    /// The headers of the records that have any.
    pub headers: Vec<RecordHeaders>,
}

/// `count` consecutive records for `topic`.
#[napi(object)]
pub struct TopicRun {
    pub topic: String,
    pub count: u32,
}

/// The headers of record `index` (in the order of `OutgoingRecords`).
#[napi(object)]
pub struct RecordHeaders {
    pub index: u32,
    pub headers: Vec<Header>,
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

fn buffer(bytes: Option<Bytes>) -> Option<Buffer> {
    bytes.map(|b| Buffer::from(b.to_vec()))
}

/// Headers copied out of the JS heap: key and value (`None` for null).
type OwnedHeaders = Vec<(String, Option<Bytes>)>;

/// [`OutgoingRecords`] checked and copied out of the JS heap, so that the send can run on
/// tidelog's runtime: one copy of `data`, whatever the number of records.
pub struct Columns {
    topics: Vec<(String, usize)>,
    partitions: Vec<i32>,
    timestamps: Vec<f64>,
    key_sizes: Vec<i32>,
    value_sizes: Vec<i32>,
    data: Bytes,
    /// `(record index, its headers)` for the records that have any.
    headers: Vec<(usize, OwnedHeaders)>,
}

impl OutgoingRecords {
    /// Checks that the columns agree (one entry per record, sizes within `data`, headers
    /// for records that exist) and copies them.
    ///
    /// # Errors
    /// An `InvalidArg` error saying which column disagrees.
    pub fn into_columns(self) -> napi::Result<Columns> {
        let count = self.partitions.len();
        let runs: usize = self.topics.iter().map(|run| run.count as usize).sum();
        let sizes = self.key_sizes.iter().chain(self.value_sizes.iter());
        let bytes: usize = sizes.filter_map(|size| usize::try_from(*size).ok()).sum();
        let headers_ok = self.headers.iter().all(|h| (h.index as usize) < count);
        if runs != count
            || self.timestamps.len() != count
            || self.key_sizes.len() != count
            || self.value_sizes.len() != count
            || bytes > self.data.len()
            || !headers_ok
        {
            return Err(napi::Error::new(
                napi::Status::InvalidArg,
                format!(
                    "the columns of {count} records disagree: topic runs {runs}, timestamps {}, \
                     key sizes {}, value sizes {}, {bytes} bytes in data of {}, headers in range {headers_ok}",
                    self.timestamps.len(),
                    self.key_sizes.len(),
                    self.value_sizes.len(),
                    self.data.len()
                ),
            ));
        }
        Ok(Columns {
            topics: (self.topics.into_iter())
                .map(|run| (run.topic, run.count as usize))
                .collect(),
            partitions: self.partitions.to_vec(),
            timestamps: self.timestamps.to_vec(),
            key_sizes: self.key_sizes.to_vec(),
            value_sizes: self.value_sizes.to_vec(),
            data: Bytes::copy_from_slice(&self.data[..bytes]),
            headers: (self.headers.into_iter())
                .map(|record| {
                    let headers = (record.headers.into_iter())
                        .map(|h| (h.key, h.value.map(|v| Bytes::copy_from_slice(&v))))
                        .collect();
                    (record.index as usize, headers)
                })
                .collect(),
        })
    }
}

impl Columns {
    /// How many records there are.
    pub fn len(&self) -> usize {
        self.partitions.len()
    }

    /// Each record's headers, as [`RecordRef::headers`] takes them (empty for most).
    pub fn header_refs(&self) -> Vec<Vec<HeaderRef<'_>>> {
        let mut refs: Vec<Vec<HeaderRef<'_>>> = Vec::new();
        refs.resize_with(self.len(), Vec::new);
        for (index, headers) in &self.headers {
            refs[*index] = tidelog::client::producer::header_refs(headers);
        }
        refs
    }

    /// The records in order, borrowed, with `headers` from
    /// [`header_refs`](Self::header_refs).
    pub fn iter<'a>(
        &'a self,
        headers: &'a [Vec<HeaderRef<'a>>],
    ) -> impl Iterator<Item = RecordRef<'a>> + 'a {
        let topics = (self.topics.iter())
            .flat_map(|(topic, count)| std::iter::repeat_n(topic.as_str(), *count));
        let data: &[u8] = &self.data;
        let mut at = 0;
        // Sizes were checked against `data` by `into_columns`.
        let mut take = move |size: i32| {
            let size = usize::try_from(size).ok()?;
            at += size;
            Some(&data[at - size..at])
        };
        topics.enumerate().map(move |(i, topic)| RecordRef {
            topic,
            partition: Some(self.partitions[i]).filter(|p| *p >= 0),
            key: take(self.key_sizes[i]),
            value: take(self.value_sizes[i]),
            headers: &headers[i],
            timestamp_ms: Some(self.timestamps[i] as i64).filter(|t| *t >= 0),
        })
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
