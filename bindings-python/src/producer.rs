//! `Producer`, as confluent-kafka's: `produce` queues a record and returns at once;
//! delivery callbacks are served on the thread that calls `poll` or `flush`.
//!
//! The reports are gathered by the core's [`DeliveryReports`].

use crate::error;
use crate::message::Message;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyString, PyTuple};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::time::Instant;
use tidelog::client::producer::{
    header_refs, DeliveryFuture, DeliveryReports, Producer as CoreProducer, ProducerConfig,
    RecordMetadata, RecordRef, Report,
};
use tidelog::error::Error;

/// What a delivery report needs besides the outcome: the callback and the record as the
/// application gave it.
struct Sent {
    callback: Option<Py<PyAny>>,
    topic: String,
    partition: i32,
    key: Option<Py<PyAny>>,
    value: Option<Py<PyAny>>,
    headers: Option<Py<PyAny>>,
}

/// A Kafka producer configured by a confluent-kafka style dict: Kafka keys
/// (`bootstrap.servers`, `acks`, `linger.ms`, `compression.type`, `enable.idempotence`...)
/// plus `on_delivery` / `delivery.report.cb`, a default delivery callback
/// `callback(err: KafkaError | None, msg: Message)`.
///
/// Raises `KafkaException(_INVALID_ARG)` naming the key for a bad key or value.
#[pyclass(module = "tidelog._native")]
pub struct Producer {
    producer: CoreProducer,
    reports: DeliveryReports<Sent>,
    default_callback: Option<Py<PyAny>>,
}

/// `bytes`, `str` (UTF-8 encoded) or None, as record payload: borrowed where Python
/// holds the bytes (`bytes`, most `str`), so that the record is copied only into its batch.
fn payload<'a>(
    object: Option<&'a Bound<'_, PyAny>>,
    what: &str,
) -> PyResult<Option<Cow<'a, [u8]>>> {
    let Some(object) = object.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if let Ok(bytes) = object.cast::<PyBytes>() {
        Ok(Some(Cow::Borrowed(bytes.as_bytes())))
    } else if let Ok(text) = object.cast::<PyString>() {
        Ok(Some(match text.to_cow()? {
            Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
            Cow::Owned(text) => Cow::Owned(text.into_bytes()),
        }))
    } else if let Ok(array) = object.cast::<PyByteArray>() {
        Ok(Some(Cow::Owned(array.to_vec())))
    } else {
        Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "{what} must be bytes, str or None, not {}",
            object.get_type().name()?
        )))
    }
}

/// Headers as a dict or a list of (key, value) pairs; values bytes, str or None.
fn headers(object: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, Option<bytes::Bytes>)>> {
    let Some(object) = object.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    let pairs: Vec<Bound<'_, PyAny>> = if let Ok(dict) = object.cast::<PyDict>() {
        dict.items().iter().collect()
    } else {
        object.try_iter()?.collect::<PyResult<_>>()?
    };
    pairs
        .iter()
        .map(|pair| {
            let pair = pair.cast::<PyTuple>().map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err("headers must be (key, value) pairs")
            })?;
            let key: String = pair.get_item(0)?.extract()?;
            let value = pair.get_item(1)?;
            let value = payload(Some(&value), "a header value")?;
            Ok((key, value.map(|v| bytes::Bytes::from(v.into_owned()))))
        })
        .collect()
}

/// Sends the record `produce` was given (`partition` -1 lets the partitioner choose,
/// `timestamp` 0 means now); returns its delivery and what its report will need.
#[allow(clippy::too_many_arguments)]
fn send(
    producer: &CoreProducer,
    topic: String,
    value: Option<Bound<'_, PyAny>>,
    key: Option<Bound<'_, PyAny>>,
    partition: i32,
    timestamp: i64,
    headers: Option<Bound<'_, PyAny>>,
    callback: Option<Py<PyAny>>,
) -> PyResult<(DeliveryFuture, Sent)> {
    let owned_headers = self::headers(headers.as_ref())?;
    let header_refs = header_refs(&owned_headers);
    let key_bytes = payload(key.as_ref(), "key")?;
    let value_bytes = payload(value.as_ref(), "value")?;
    let record = RecordRef {
        topic: &topic,
        partition: (partition >= 0).then_some(partition),
        key: key_bytes.as_deref(),
        value: value_bytes.as_deref(),
        headers: &header_refs,
        timestamp_ms: (timestamp > 0).then_some(timestamp),
    };
    let delivery = producer.send_ref(&record).map_err(error::raise)?;
    drop((key_bytes, value_bytes));
    let sent = Sent {
        callback,
        topic,
        partition,
        key: key.map(Bound::unbind),
        value: value.map(Bound::unbind),
        headers: headers.map(Bound::unbind),
    };
    Ok((delivery, sent))
}

/// A delivery report as confluent-kafka gives it: the error (None when delivered) and
/// the Message, which carries the record as produced and where it went.
fn report(
    py: Python<'_>,
    result: Result<RecordMetadata, Error>,
    sent: Sent,
) -> PyResult<(Option<Py<PyAny>>, Message)> {
    Ok(match result {
        Ok(metadata) => (
            None,
            Message::delivered(
                metadata.topic.to_string(),
                metadata.partition,
                metadata.offset,
                metadata.timestamp_ms,
                sent.key,
                sent.value,
                sent.headers,
                None,
            ),
        ),
        Err(error) => {
            let error = error::kafka_error(py, &error, true)?.unbind();
            let message = Message::delivered(
                sent.topic,
                sent.partition,
                -1,
                -1,
                sent.key,
                sent.value,
                sent.headers,
                Some(error.clone_ref(py)),
            );
            (Some(error), message)
        }
    })
}

#[pymethods]
impl Producer {
    #[new]
    #[pyo3(signature = (config = None, **kwargs))]
    fn new(
        py: Python<'_>,
        config: Option<&Bound<'_, PyDict>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Producer> {
        let (pairs, default_callback) =
            crate::client_config(py, config, kwargs, &["on_delivery", "delivery.report.cb"])?;
        let config =
            ProducerConfig::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .map_err(error::raise)?;
        let producer = CoreProducer::new(config).map_err(error::raise)?;
        let reports = DeliveryReports::new();
        Ok(Producer {
            producer,
            reports,
            default_callback,
        })
    }

    /// Queues a record and returns at once; the delivery report comes to `on_delivery`
    /// (or `callback`, or the config's `on_delivery`) from `poll` or `flush`.
    /// `partition=-1` lets the partitioner choose; `timestamp` is ms since the epoch, 0
    /// for now; `headers` a dict or list of (str, bytes | str | None).
    ///
    /// Raises `BufferError` when `buffer.memory` is full (call `poll` to make room),
    /// `KafkaException` (MSG_SIZE_TOO_LARGE, UNKNOWN_TOPIC_OR_PART for a partition the
    /// topic does not have, INVALID_REQUEST once closed), `TypeError` for a bad argument type.
    #[pyo3(signature = (topic, value = None, key = None, partition = -1, on_delivery = None, timestamp = 0, headers = None, callback = None))]
    #[allow(clippy::too_many_arguments)]
    fn produce(
        &self,
        py: Python<'_>,
        topic: String,
        value: Option<Bound<'_, PyAny>>,
        key: Option<Bound<'_, PyAny>>,
        partition: i32,
        on_delivery: Option<Bound<'_, PyAny>>,
        timestamp: i64,
        headers: Option<Bound<'_, PyAny>>,
        callback: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let callback = on_delivery
            .or(callback)
            .filter(|c| !c.is_none())
            .map(Bound::unbind)
            .or_else(|| self.default_callback.as_ref().map(|c| c.clone_ref(py)));
        let (delivery, sent) = send(
            &self.producer,
            topic,
            value,
            key,
            partition,
            timestamp,
            headers,
            callback,
        )?;
        self.reports.track(delivery, sent);
        Ok(())
    }

    /// Serves delivery callbacks: waits up to `timeout` seconds (None or -1: no limit)
    /// for reports and calls their callbacks on this thread. Returns how many it served.
    /// An exception raised by a callback propagates (the other reports stay queued).
    #[pyo3(signature = (timeout = None))]
    fn poll(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<usize> {
        if timeout == Some(0.0) {
            // Nothing to wait for: no GIL release, no clock (poll(0) follows every produce).
            let reports = self.reports.take(std::time::Duration::ZERO);
            return if reports.is_empty() {
                Ok(0)
            } else {
                self.serve(py, reports)
            };
        }
        let deadline = Instant::now() + crate::timeout(timeout);
        loop {
            let wait = deadline
                .saturating_duration_since(Instant::now())
                .min(crate::SIGNAL_CHECK);
            let reports = py.detach(|| self.reports.take(wait));
            if !reports.is_empty() {
                return self.serve(py, reports);
            }
            if Instant::now() >= deadline {
                return Ok(0);
            }
            py.check_signals()?;
        }
    }

    /// Sends everything now and serves delivery callbacks until every record produced so
    /// far is reported, or `timeout` seconds pass (None or -1: no limit). Returns how many
    /// records are still unreported (0 when all are).
    #[pyo3(signature = (timeout = None))]
    fn flush(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<usize> {
        let producer = self.producer.clone();
        tidelog::runtime::handle().spawn(async move { producer.flush().await });
        let deadline = Instant::now() + crate::timeout(timeout);
        while self.reports.unserved() > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            self.poll(py, Some(left.as_secs_f64()))?;
        }
        Ok(self.reports.unserved())
    }

    /// Fails records without waiting for them (confluent-kafka's `Producer.purge`,
    /// librdkafka's `rd_kafka_purge`): with `in_queue`, records not yet sent fail with
    /// `_PURGE_QUEUE`; with `in_flight`, records awaiting their response fail with
    /// `_PURGE_INFLIGHT` (they may or may not have been written). Their delivery
    /// callbacks are served by `poll` and `flush`. The purge itself never waits, so
    /// `blocking` changes nothing.
    #[pyo3(signature = (in_queue = true, in_flight = true, blocking = true))]
    fn purge(&self, in_queue: bool, in_flight: bool, blocking: bool) {
        let _never_waits = blocking;
        self.producer.purge(in_queue, in_flight);
    }

    /// The cluster's brokers and topics (Metadata; `topic` alone if given) as a
    /// `tidelog.admin.ClusterMetadata`, waiting up to `timeout` seconds (None or -1: no
    /// limit) with the GIL released. Raises KafkaException (`_TIMED_OUT`, `_TRANSPORT`).
    #[pyo3(signature = (topic = None, timeout = None))]
    fn list_topics<'py>(
        &self,
        py: Python<'py>,
        topic: Option<String>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let producer = self.producer.clone();
        crate::admin::list_topics(py, topic, timeout, |topics| async move {
            producer.metadata(topics.as_deref()).await
        })
    }

    /// For `tidelog.aio.AIOProducer.produce`: queues a record as `produce` does and
    /// returns an asyncio future of the running loop that resolves to the delivered
    /// Message, or raises KafkaException with the delivery error. Raises at once as
    /// `produce` does (BufferError, KafkaException, TypeError).
    #[pyo3(signature = (topic, value = None, key = None, partition = -1, timestamp = 0, headers = None))]
    #[allow(clippy::too_many_arguments)]
    fn _produce_future(
        &self,
        py: Python<'_>,
        topic: String,
        value: Option<Bound<'_, PyAny>>,
        key: Option<Bound<'_, PyAny>>,
        partition: i32,
        timestamp: i64,
        headers: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let (delivery, sent) = send(
            &self.producer,
            topic,
            value,
            key,
            partition,
            timestamp,
            headers,
            None,
        )?;
        crate::asyncio_future(py, delivery, move |py, result| {
            match report(py, result, sent)? {
                (None, message) => Ok(Py::new(py, message)?.into_any()),
                (Some(failed), _) => Err(PyErr::from_value(crate::error::exception_of(
                    py,
                    failed.bind(py),
                )?)),
            }
        })
    }

    /// For `tidelog.aio.AIOProducer.flush`: an asyncio future that resolves to None once
    /// every record produced so far is reported (delivered or failed).
    fn _flush_future(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let producer = self.producer.clone();
        crate::asyncio_future(py, async move { producer.flush().await }, |py, ()| {
            Ok(py.None())
        })
    }

    /// For `tidelog.aio.AIOProducer.list_topics`: an asyncio future of the
    /// ClusterMetadata `list_topics` returns.
    #[pyo3(signature = (topic = None))]
    fn _metadata_future(&self, py: Python<'_>, topic: Option<String>) -> PyResult<Py<PyAny>> {
        let producer = self.producer.clone();
        crate::admin::metadata_future(py, topic, |topics| async move {
            producer.metadata(topics.as_deref()).await
        })
    }

    /// Records produced and not yet reported to the application (queued, in flight, or
    /// with a delivery report waiting for `poll`).
    fn __len__(&self) -> usize {
        self.reports.unserved()
    }

    /// Flushes (no limit unless `timeout` seconds are given) and closes: later `produce`
    /// calls raise `KafkaException(INVALID_REQUEST)`. Returns the records still unreported.
    #[pyo3(signature = (timeout = None))]
    fn close(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<usize> {
        let left = self.flush(py, timeout)?;
        let producer = self.producer.clone();
        tidelog::runtime::handle().spawn(async move { producer.close().await });
        Ok(left)
    }
}

impl Producer {
    fn serve(&self, py: Python<'_>, mut reports: VecDeque<Report<Sent>>) -> PyResult<usize> {
        let mut served = 0;
        while let Some((result, mut sent)) = reports.pop_front() {
            served += 1;
            let Some(callback) = sent.callback.take() else {
                continue;
            };
            let (error, message) = report(py, result, sent)?;
            if let Err(raised) = callback.call1(py, (error, message)) {
                // Serve the rest later rather than lose them.
                self.reports.give_back(reports);
                return Err(raised);
            }
        }
        Ok(served)
    }
}
