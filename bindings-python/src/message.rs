//! `Message` and `TopicPartition`, with confluent-kafka's methods and attributes.

use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use std::hash::{Hash, Hasher};
use tidelog::client::consumer::ConsumerRecord;

/// confluent-kafka's timestamp types.
pub const TIMESTAMP_NOT_AVAILABLE: i32 = 0;
pub const TIMESTAMP_CREATE_TIME: i32 = 1;

/// A record: one the consumer read, or one the producer delivered (or failed to).
#[pyclass(module = "tidelog._native")]
pub struct Message {
    topic: Option<String>,
    partition: Option<i32>,
    offset: Option<i64>,
    key: Option<Py<PyAny>>,
    value: Option<Py<PyAny>>,
    headers: Option<Py<PyAny>>,
    timestamp: (i32, i64),
    error: Option<Py<PyAny>>,
}

impl Message {
    /// A delivery report's message: what was produced, where it went, or the error.
    #[allow(clippy::too_many_arguments)]
    pub fn delivered(
        topic: String,
        partition: i32,
        offset: i64,
        timestamp_ms: i64,
        key: Option<Py<PyAny>>,
        value: Option<Py<PyAny>>,
        headers: Option<Py<PyAny>>,
        error: Option<Py<PyAny>>,
    ) -> Message {
        Message {
            topic: Some(topic),
            partition: Some(partition),
            offset: (offset >= 0).then_some(offset),
            key,
            value,
            headers,
            timestamp: if timestamp_ms >= 0 {
                (TIMESTAMP_CREATE_TIME, timestamp_ms)
            } else {
                (TIMESTAMP_NOT_AVAILABLE, 0)
            },
            error,
        }
    }

    /// A consumed record; keys and values become `bytes`, headers a list of
    /// `(str, bytes | None)` (None when the record has none, as in confluent-kafka).
    pub fn consumed(py: Python<'_>, record: ConsumerRecord) -> PyResult<Message> {
        let bytes = |b: Option<bytes::Bytes>| b.map(|b| PyBytes::new(py, &b).into_any().unbind());
        let headers = if record.headers.is_empty() {
            None
        } else {
            let list = PyList::empty(py);
            for (key, value) in record.headers {
                list.append((key, bytes(value)))?;
            }
            Some(list.into_any().unbind())
        };
        Ok(Message {
            topic: Some(record.topic),
            partition: Some(record.partition),
            offset: Some(record.offset),
            key: bytes(record.key),
            value: bytes(record.value),
            headers,
            timestamp: (TIMESTAMP_CREATE_TIME, record.timestamp_ms),
            error: None,
        })
    }

    /// An event that is an error rather than a record (`msg.error()` is set).
    pub fn failed(error: Py<PyAny>) -> Message {
        Message {
            topic: None,
            partition: None,
            offset: None,
            key: None,
            value: None,
            headers: None,
            timestamp: (TIMESTAMP_NOT_AVAILABLE, 0),
            error: Some(error),
        }
    }
}

fn cloned(py: Python<'_>, object: &Option<Py<PyAny>>) -> Option<Py<PyAny>> {
    object.as_ref().map(|o| o.clone_ref(py))
}

#[pymethods]
impl Message {
    /// The topic (str), or None for an error event.
    pub fn topic(&self) -> Option<String> {
        self.topic.clone()
    }

    /// The partition (int), or None.
    pub fn partition(&self) -> Option<i32> {
        self.partition
    }

    /// The offset (int), or None when unknown (e.g. delivered with acks=0).
    pub fn offset(&self) -> Option<i64> {
        self.offset
    }

    /// The key as produced (bytes or str) or consumed (bytes), or None.
    fn key(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        cloned(py, &self.key)
    }

    /// The value as produced or consumed, or None.
    fn value(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        cloned(py, &self.value)
    }

    /// The headers, a list of (str, bytes | None), or None when there are none.
    fn headers(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        cloned(py, &self.headers)
    }

    /// (timestamp type, ms since the epoch): TIMESTAMP_CREATE_TIME (1) with the record's
    /// timestamp, or TIMESTAMP_NOT_AVAILABLE (0) with 0.
    fn timestamp(&self) -> (i32, i64) {
        self.timestamp
    }

    /// The KafkaError for a failed delivery or an error event, else None.
    fn error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        cloned(py, &self.error)
    }

    /// The leader epoch of the record; tidelog does not report it (None).
    fn leader_epoch(&self) -> Option<i32> {
        None
    }

    fn set_key(&mut self, key: Option<Py<PyAny>>) {
        self.key = key;
    }

    fn set_value(&mut self, value: Option<Py<PyAny>>) {
        self.value = value;
    }

    fn set_headers(&mut self, headers: Option<Py<PyAny>>) {
        self.headers = headers;
    }

    /// The value's length in bytes (0 without a value).
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        match &self.value {
            Some(value) => value.bind(py).len(),
            None => Ok(0),
        }
    }

    fn __repr__(&self) -> String {
        match (&self.topic, self.partition, self.offset) {
            (Some(topic), Some(partition), offset) => {
                format!("<Message {topic} [{partition}] @ {offset:?}>")
            }
            _ => "<Message error>".into(),
        }
    }
}

/// confluent-kafka's special offsets (librdkafka's, which the core's seek takes).
pub const OFFSET_BEGINNING: i64 = tidelog::client::consumer::OFFSET_BEGINNING;
pub const OFFSET_INVALID: i64 = -1001;

/// A topic partition, optionally with an offset (`OFFSET_INVALID` when none), commit
/// metadata and the error of the operation that returned it.
#[pyclass(module = "tidelog._native", get_all, set_all)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub metadata: Option<String>,
    pub leader_epoch: Option<i32>,
    pub error: Option<Py<PyAny>>,
}

impl TopicPartition {
    pub fn at(topic: String, partition: i32, offset: i64) -> TopicPartition {
        TopicPartition {
            topic,
            partition,
            offset,
            metadata: None,
            leader_epoch: None,
            error: None,
        }
    }

    fn key(&self) -> (&str, i32, i64) {
        (&self.topic, self.partition, self.offset)
    }
}

#[pymethods]
impl TopicPartition {
    #[new]
    #[pyo3(signature = (topic, partition = -1, offset = OFFSET_INVALID, metadata = None, leader_epoch = None))]
    fn new(
        topic: String,
        partition: i32,
        offset: i64,
        metadata: Option<String>,
        leader_epoch: Option<i32>,
    ) -> TopicPartition {
        TopicPartition {
            metadata,
            leader_epoch,
            ..TopicPartition::at(topic, partition, offset)
        }
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        let py = other.py();
        let Ok(other) = other.extract::<PyRef<'_, TopicPartition>>() else {
            return Ok(py.NotImplemented());
        };
        let result = op.matches(self.key().cmp(&other.key()));
        Ok(pyo3::types::PyBool::new(py, result)
            .to_owned()
            .into_any()
            .unbind())
    }

    fn __hash__(&self) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (&self.topic, self.partition).hash(&mut hasher);
        hasher.finish()
    }

    fn __repr__(&self) -> String {
        format!(
            "TopicPartition{{topic={},partition={},offset={},leader_epoch={:?},error={}}}",
            self.topic,
            self.partition,
            self.offset,
            self.leader_epoch,
            if self.error.is_some() { "set" } else { "None" }
        )
    }

    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        Ok((
            py.get_type::<TopicPartition>().into_any(),
            (
                self.topic.clone(),
                self.partition,
                self.offset,
                self.metadata.clone(),
                self.leader_epoch,
            )
                .into_pyobject(py)?,
        ))
    }
}
