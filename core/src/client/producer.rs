//! The Kafka producer.
//!
//! [`Producer::send`] is synchronous: it places the record in its partition's batch and
//! returns a [`DeliveryFuture`] at once, so any caller (async code, a plain thread, a
//! language binding) can use it. A background sender, on the caller's tokio runtime or
//! the process-wide one ([`crate::runtime::handle`]), sends a partition's batch when it
//! reaches `batch.size` bytes or has waited `linger.ms`, groups ready batches per leader
//! broker into Produce requests (v3+, record batch v2), keeps up to
//! `max.in.flight.requests.per.connection` of them pipelined on each broker's connection,
//! and retries retriable errors (after refreshing metadata and waiting `retry.backoff.ms`)
//! until `retries` or `delivery.timeout.ms` runs out.
//!
//! Placement follows the Java client: an explicit partition, else the configured
//! [`Partitioner`](crate::partitioner::Partitioner) over the topic's partition count;
//! keyless records stick to one partition until its batch is full or sent (KIP-480).
//! Topics are created on first use where the broker allows it. Records sent before a
//! topic's metadata is known wait for it, in order.
//!
//! Idempotent by default (KIP-98, see `enable.idempotence`): a retried batch keeps its
//! sequence numbers, and the broker answers a duplicate with the original offset. When a
//! broker loses a partition's producer state, the producer bumps its epoch and sends the
//! unacknowledged batches again, renumbered, in order (KIP-360); a batch it cannot send
//! again without risking a duplicate or hiding lost data fails with an error that says
//! so (see `idempotence.rs`).
//!
//! Not implemented yet: transactions, splitting a batch the broker rejects as too large,
//! periodic metadata refresh (`metadata.max.age.ms`), TLS and SASL. Consequence to know:
//! without idempotence, with `max.in.flight.requests.per.connection` > 1 a retried batch
//! can land after batches sent later to the same partition; use 1 for strict ordering.

mod accumulator;
mod config;
mod delivery;
mod idempotence;
mod reports;
mod sender;

pub use config::{Acks, ProducerConfig, PRODUCER_CONFIG_KEYS};
pub use delivery::DeliveryFuture;
pub use reports::{DeliveryReports, Report};

use crate::client::cluster::{Cluster, ClusterMetadata};
use crate::error::{Error, ErrorCode};
use accumulator::{Refused, State};
use bytes::Bytes;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;

/// A record to send.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProducerRecord {
    /// The topic.
    pub topic: String,
    /// The partition; `None` lets the partitioner choose.
    pub partition: Option<i32>,
    /// The key; `None` is null (which differs from empty).
    pub key: Option<Bytes>,
    /// The value; `None` is null (a tombstone on compacted topics).
    pub value: Option<Bytes>,
    /// Headers in order; keys may repeat, values may be null.
    pub headers: Vec<(String, Option<Bytes>)>,
    /// The record's timestamp in ms since the Unix epoch; `None` uses the time of
    /// `send`. A topic with `message.timestamp.type=LogAppendTime` replaces it.
    pub timestamp_ms: Option<i64>,
}

impl ProducerRecord {
    /// A record with `value` for `topic`, no key, no headers.
    pub fn new(topic: impl Into<String>, value: impl Into<Bytes>) -> ProducerRecord {
        ProducerRecord {
            topic: topic.into(),
            value: Some(value.into()),
            ..ProducerRecord::default()
        }
    }

    /// Sets the key.
    pub fn with_key(mut self, key: impl Into<Bytes>) -> ProducerRecord {
        self.key = Some(key.into());
        self
    }

    /// Sets an explicit partition.
    pub fn with_partition(mut self, partition: i32) -> ProducerRecord {
        self.partition = Some(partition);
        self
    }

    /// Adds a header; `None` is a null value.
    pub fn with_header(mut self, key: impl Into<String>, value: Option<Bytes>) -> ProducerRecord {
        self.headers.push((key.into(), value));
        self
    }

    /// Sets the timestamp, in ms since the Unix epoch.
    pub fn with_timestamp(mut self, timestamp_ms: i64) -> ProducerRecord {
        self.timestamp_ms = Some(timestamp_ms);
        self
    }

    /// The headers as [`RecordRef::headers`] takes them (see [`header_refs`]).
    fn header_refs(&self) -> Vec<HeaderRef<'_>> {
        header_refs(&self.headers)
    }

    /// The record borrowed, with `headers` from [`header_refs`](Self::header_refs).
    fn borrowed<'a>(&'a self, headers: &'a [HeaderRef<'a>]) -> RecordRef<'a> {
        RecordRef {
            topic: &self.topic,
            partition: self.partition,
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            headers,
            timestamp_ms: self.timestamp_ms,
        }
    }
}

/// A header as [`RecordRef`] borrows it: its key and its value (`None` for null).
pub type HeaderRef<'a> = (&'a str, Option<&'a [u8]>);

/// Owned headers (as [`ProducerRecord::headers`] holds them) borrowed as
/// [`RecordRef::headers`] takes them; allocates only if there are any.
pub fn header_refs(headers: &[(String, Option<Bytes>)]) -> Vec<HeaderRef<'_>> {
    (headers.iter())
        .map(|(key, value)| (key.as_str(), value.as_deref()))
        .collect()
}

/// A record to send, borrowed from the caller: [`Producer::send_ref`] copies its key,
/// value and headers straight into the partition's batch (the one copy a record costs),
/// so a caller holding the bytes elsewhere (a C buffer, a Python `bytes`) need not make
/// a [`ProducerRecord`] first. The fields mean what [`ProducerRecord`]'s do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordRef<'a> {
    /// The topic.
    pub topic: &'a str,
    /// The partition; `None` lets the partitioner choose.
    pub partition: Option<i32>,
    /// The key; `None` is null (which differs from empty).
    pub key: Option<&'a [u8]>,
    /// The value; `None` is null (a tombstone on compacted topics).
    pub value: Option<&'a [u8]>,
    /// Headers `(key, value)` in order; keys may repeat, values may be null.
    pub headers: &'a [HeaderRef<'a>],
    /// The record's timestamp in ms since the Unix epoch; `None` uses the time of the
    /// send.
    pub timestamp_ms: Option<i64>,
}

impl RecordRef<'_> {
    /// An owned copy.
    pub fn to_record(&self) -> ProducerRecord {
        ProducerRecord {
            topic: self.topic.to_string(),
            partition: self.partition,
            key: self.key.map(Bytes::copy_from_slice),
            value: self.value.map(Bytes::copy_from_slice),
            headers: (self.headers.iter())
                .map(|(key, value)| (key.to_string(), value.map(Bytes::copy_from_slice)))
                .collect(),
            timestamp_ms: self.timestamp_ms,
        }
    }
}

/// Where a record was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// The topic (shared by the reports of a batch).
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The record's offset; -1 with `acks=0`, where the broker does not say.
    pub offset: i64,
    /// The record's timestamp in ms: its own (CreateTime), or the broker's append time
    /// on LogAppendTime topics.
    pub timestamp_ms: i64,
}

/// What the producer's handles and its background tasks share.
pub(crate) struct Shared {
    config: ProducerConfig,
    cluster: Arc<Cluster>,
    state: Mutex<State>,
    /// Wakes the sender: a new or full batch, a completed request, a flush, close.
    wakeup: Notify,
    /// Wakes `send_async` callers waiting for `buffer.memory`.
    memory_freed: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn begin_close(&self) {
        self.lock().closing = true;
        self.wakeup.notify_one();
    }
}

/// Closes the producer when the last [`Producer`] clone is dropped: the sender still
/// delivers what it holds, then stops.
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.begin_close();
    }
}

/// A Kafka producer. Cheap to clone; clones share the same batches and connections.
/// Dropping the last clone closes it without waiting: what it holds is still sent.
#[derive(Clone)]
pub struct Producer {
    handle: Arc<Handle>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("bootstrap_servers", &self.shared().config.bootstrap_servers)
            .field("client_id", &self.shared().config.client_id)
            .finish_non_exhaustive()
    }
}

/// Decrements the flush count when a flush ends, however it ends.
struct FlushGuard<'a>(&'a Shared);

impl Drop for FlushGuard<'_> {
    fn drop(&mut self) {
        self.0.lock().flushes -= 1;
    }
}

fn buffer_full(timeout_ms: u64, config: &ProducerConfig) -> Error {
    Error::Timeout {
        operation: format!(
            "buffer.memory full ({} bytes held by records not yet delivered)",
            config.buffer_memory
        ),
        timeout_ms,
    }
}

impl Producer {
    /// Starts a producer. It connects lazily, on the first record; nothing here waits.
    /// Works inside a tokio runtime (its tasks run there, so keep that runtime running
    /// while the producer is in use) and outside one (they run on the process-wide
    /// client runtime).
    ///
    /// # Errors
    /// [`Error::Config`] if `config` fails [`ProducerConfig::validate`].
    pub fn new(config: ProducerConfig) -> Result<Producer, Error> {
        config.validate()?;
        let cluster = Cluster::new(config.bootstrap_servers.clone(), &config.client_id);
        let shared = Arc::new(Shared {
            config,
            cluster,
            state: Mutex::new(State::default()),
            wakeup: Notify::new(),
            memory_freed: Notify::new(),
        });
        crate::runtime::handle().spawn(sender::run(shared.clone()));
        Ok(Producer {
            handle: Arc::new(Handle { shared }),
        })
    }

    /// A producer from Kafka-style `(key, value)` config pairs; see
    /// [`ProducerConfig::from_pairs`].
    ///
    /// # Errors
    /// [`Error::Config`] naming the bad key.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Producer, Error> {
        Producer::new(ProducerConfig::from_pairs(pairs)?)
    }

    fn shared(&self) -> &Shared {
        &self.handle.shared
    }

    /// The configuration the producer runs with.
    pub fn config(&self) -> &ProducerConfig {
        &self.shared().config
    }

    /// The cluster's brokers and the metadata of `topics` (every topic when `None`), from
    /// a fresh Metadata request that creates no topic (see [`Cluster::metadata`]).
    ///
    /// # Errors
    /// Request errors reaching any broker ([`Error::Io`], [`Error::Disconnected`], ...).
    pub async fn metadata(&self, topics: Option<&[String]>) -> Result<ClusterMetadata, Error> {
        self.shared().cluster.metadata(topics).await
    }

    fn check_size(&self, record: &RecordRef<'_>) -> Result<usize, Error> {
        let config = &self.shared().config;
        let size = accumulator::record_size(record);
        let request_size = accumulator::request_size(record);
        let limit = if request_size > config.max_request_size {
            Some(("max.request.size", config.max_request_size))
        } else if size > config.buffer_memory {
            Some(("buffer.memory", config.buffer_memory))
        } else {
            None
        };
        match limit {
            Some((key, limit)) => Err(Error::Kafka {
                code: ErrorCode::MessageTooLarge,
                message: Some(format!(
                    "the record is {request_size} bytes, more than {key} ({limit} bytes)"
                )),
            }),
            None => Ok(size),
        }
    }

    fn try_send(&self, record: &RecordRef<'_>, size: usize) -> Result<DeliveryFuture, Refused> {
        let shared = self.shared();
        let (delivery, wake) = shared.lock().enqueue(&shared.config, record, size)?;
        if wake {
            shared.wakeup.notify_one();
        }
        Ok(delivery)
    }

    /// Queues `record` and returns its delivery report at once, without waiting
    /// (usable from synchronous code). Awaiting the [`DeliveryFuture`] gives the
    /// record's partition and offset, or why it failed.
    ///
    /// # Errors
    /// - [`Error::Timeout`] whose operation starts with `buffer.memory full` when the
    ///   records held reach `buffer.memory` ([`send_async`](Self::send_async) waits
    ///   instead);
    /// - [`Error::Kafka`] MESSAGE_TOO_LARGE for a record larger than `max.request.size`
    ///   or `buffer.memory`;
    /// - [`Error::Kafka`] UNKNOWN_TOPIC_OR_PARTITION for an explicit partition the topic
    ///   does not have, when its metadata is already known (otherwise the report fails
    ///   with it);
    /// - [`Error::Kafka`] INVALID_REQUEST once the producer is closed.
    pub fn send(&self, record: ProducerRecord) -> Result<DeliveryFuture, Error> {
        self.send_ref(&record.borrowed(&record.header_refs()))
    }

    /// As [`send`](Self::send), for a borrowed record: its bytes are copied into the
    /// batch, and nowhere else unless it has to wait for its topic's metadata.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn send_ref(&self, record: &RecordRef<'_>) -> Result<DeliveryFuture, Error> {
        let size = self.check_size(record)?;
        match self.try_send(record, size) {
            Ok(delivery) => Ok(delivery),
            Err(Refused::BufferFull) => Err(buffer_full(0, &self.shared().config)),
            Err(Refused::Failed(error)) => Err(error),
        }
    }

    /// As [`send`](Self::send), but when `buffer.memory` is full, waits for room up to
    /// `max.block.ms` (as the Java client's `send` blocks).
    ///
    /// # Errors
    /// As [`send`](Self::send); the `buffer.memory full` [`Error::Timeout`] only after
    /// `max.block.ms`.
    pub async fn send_async(&self, record: ProducerRecord) -> Result<DeliveryFuture, Error> {
        self.send_ref_async(&record.borrowed(&record.header_refs()))
            .await
    }

    /// [`send_async`](Self::send_async) for a borrowed record, as
    /// [`send_ref`](Self::send_ref) is to [`send`](Self::send).
    ///
    /// # Errors
    /// As [`send_async`](Self::send_async).
    pub async fn send_ref_async(&self, record: &RecordRef<'_>) -> Result<DeliveryFuture, Error> {
        let shared = self.shared();
        let size = self.check_size(record)?;
        // The deadline is only needed once the buffer is full: no clock read per record.
        let mut deadline = None;
        loop {
            // Registered before trying, so that room freed in between is not missed.
            let freed = shared.memory_freed.notified();
            let mut freed = std::pin::pin!(freed);
            freed.as_mut().enable();
            match self.try_send(record, size) {
                Ok(delivery) => return Ok(delivery),
                Err(Refused::Failed(error)) => return Err(error),
                Err(Refused::BufferFull) => {}
            }
            let max_block = Duration::from_millis(shared.config.max_block_ms);
            let deadline = *deadline.get_or_insert_with(|| tokio::time::Instant::now() + max_block);
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                return Err(buffer_full(shared.config.max_block_ms, &shared.config));
            }
        }
    }

    /// Sends every batch now, without lingering, and waits until every record sent
    /// before the call is reported (delivered or failed). Records sent meanwhile are
    /// not waited for. Delivery errors are reported on the records' futures, not here.
    pub async fn flush(&self) {
        let shared = self.shared();
        let waiting = {
            let mut state = shared.lock();
            state.flushes += 1;
            state.incomplete()
        };
        let _guard = FlushGuard(shared);
        shared.wakeup.notify_one();
        for outcome in waiting {
            outcome.done().await;
        }
    }

    /// [`flush`](Self::flush) for synchronous callers: blocks the calling thread, up to
    /// `timeout` if given. Do not call it on an async runtime's thread.
    ///
    /// # Errors
    /// [`Error::Timeout`] (operation `"flush"`) if records are still unreported after
    /// `timeout`; they stay queued.
    pub fn flush_blocking(&self, timeout: Option<Duration>) -> Result<(), Error> {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        delivery::block_on(Box::pin(self.flush()), deadline).map_err(|_| Error::Timeout {
            operation: "flush".into(),
            timeout_ms: timeout.map_or(0, |t| t.as_millis() as u64),
        })
    }

    /// Closes the producer: later sends fail, everything held is sent at once, and this
    /// waits until every record is reported (at most `delivery.timeout.ms`). Other
    /// clones are closed too.
    pub async fn close(&self) {
        self.shared().begin_close();
        self.flush().await;
    }

    /// Fails records without waiting for them, as librdkafka's `rd_kafka_purge` and
    /// confluent-kafka's `Producer.purge` do. With `queued`, records not yet sent fail
    /// with [`Error::Purged`] `{ in_flight: false }` (`_PURGE_QUEUE`); with `in_flight`,
    /// records in requests awaiting their response are reported at once with
    /// [`Error::Purged`] `{ in_flight: true }` (`_PURGE_INFLIGHT`): they may or may not
    /// have been written, and are never retried. Returns at once; the failed records'
    /// futures resolve before it returns.
    pub fn purge(&self, queued: bool, in_flight: bool) {
        let shared = self.shared();
        shared.lock().purge(queued, in_flight);
        shared.memory_freed.notify_waiters();
        shared.wakeup.notify_one();
    }

    /// How many delivery reports are outstanding, counted per batch (queued or in
    /// flight) plus one per record still waiting for its topic's metadata; 0 once every
    /// record sent has been reported.
    pub fn pending_batches(&self) -> usize {
        self.shared().lock().incomplete().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_build_up() {
        let record = ProducerRecord::new("t", "v")
            .with_key("k")
            .with_partition(3)
            .with_header("h", None)
            .with_timestamp(7);
        assert_eq!(record.topic, "t");
        assert_eq!(record.key.as_deref(), Some(&b"k"[..]));
        assert_eq!(record.value.as_deref(), Some(&b"v"[..]));
        assert_eq!(record.partition, Some(3));
        assert_eq!(record.headers, vec![("h".to_string(), None)]);
        assert_eq!(record.timestamp_ms, Some(7));
    }

    #[test]
    fn oversized_records_and_closed_producers_are_refused_at_once() {
        let config = ProducerConfig {
            max_request_size: 100,
            ..ProducerConfig::new("127.0.0.1:1").unwrap()
        };
        let producer = Producer::new(config).unwrap();
        let error = producer
            .send(ProducerRecord::new("t", vec![0u8; 200]))
            .unwrap_err();
        assert_eq!(error.code(), ErrorCode::MessageTooLarge);
        assert!(error.to_string().contains("max.request.size"), "{error}");
        producer.shared().begin_close();
        let error = producer.send(ProducerRecord::new("t", "v")).unwrap_err();
        assert!(error.to_string().contains("closed"), "{error}");
    }
}
