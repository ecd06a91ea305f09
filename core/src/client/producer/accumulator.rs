//! The record accumulator: a queue of batches per partition, filled by `send` and drained
//! by the sender. Everything here runs under the producer's one state lock and never
//! waits; the sender does the I/O.

use super::config::ProducerConfig;
use super::delivery::{duplicate, Ack, DeliveryFuture, Outcome};
use super::idempotence::{maybe_written_error, Identity, Recovery, Reset, Sequencing, Stamp};
use super::{ProducerRecord, RecordRef};
use crate::client::cluster::Cluster;
use crate::error::{Error, ErrorCode};
use crate::partitioner::Partitioner;
use crate::protocol::records::{RecordBatchBuilder, RecordBatchMut, RECORD_BATCH_HEADER_LEN};
use bytes::{Bytes, BytesMut};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use tokio::time::Instant;

/// Bytes counted per record beyond its key, value and headers: roughly the record's
/// length, attributes, timestamp and offset deltas and the key/value length varints.
const RECORD_OVERHEAD: usize = 24;

/// The bytes `record` counts against `buffer.memory` and `batch.size`.
pub(crate) fn record_size(record: &RecordRef<'_>) -> usize {
    let headers: usize = (record.headers.iter())
        .map(|(key, value)| key.len() + value.map_or(0, <[u8]>::len) + 4)
        .sum();
    RECORD_OVERHEAD
        + record.key.map_or(0, <[u8]>::len)
        + record.value.map_or(0, <[u8]>::len)
        + headers
}

/// The size of the smallest Produce request carrying `record`, to check against
/// `max.request.size`.
pub(crate) fn request_size(record: &RecordRef<'_>) -> usize {
    record_size(record) + RECORD_BATCH_HEADER_LEN
}

pub(crate) fn closed_error() -> Error {
    Error::Kafka {
        code: ErrorCode::InvalidRequest,
        message: Some("the producer is closed".into()),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

enum Contents {
    /// Still taking records.
    Open(RecordBatchBuilder),
    /// Compressed and framed, ready to send; retries resend these same bytes.
    Built(Bytes),
}

/// One batch of records for one partition, with everything needed to report it.
pub(crate) struct ProducerBatch {
    pub topic: Arc<str>,
    pub partition: i32,
    contents: Contents,
    record_count: i32,
    /// The report of the records appended by `send` (index = offset delta). Its id
    /// grows with each batch made, so it orders a partition's batches.
    outcome: Arc<Outcome>,
    /// Reports of records that waited for metadata, with their offset delta here.
    forwarded: Vec<(Arc<Outcome>, i32)>,
    pub created: Instant,
    /// Bytes counted against `buffer.memory`, released when the batch completes.
    reserved: usize,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Not to be sent before this (backing off after a retriable error).
    pub retry_at: Option<Instant>,
    /// No more records will be appended: full, or another batch follows it.
    full: bool,
    /// The idempotence fields it is built with; `None` before it is built, or without
    /// idempotence.
    stamp: Option<Stamp>,
    /// An attempt with the current stamp got no answer (connection lost, timeout), so
    /// the broker may have appended it.
    pub maybe_written: bool,
    /// Inside a Produce request now.
    in_flight: bool,
}

impl ProducerBatch {
    fn new(
        topic: Arc<str>,
        partition: i32,
        config: &ProducerConfig,
        outcome: Arc<Outcome>,
        now: Instant,
    ) -> ProducerBatch {
        ProducerBatch {
            topic,
            partition,
            contents: Contents::Open(RecordBatchBuilder::new(config.compression)),
            record_count: 0,
            outcome,
            forwarded: Vec::new(),
            created: now,
            reserved: 0,
            attempts: 0,
            retry_at: None,
            full: false,
            stamp: None,
            maybe_written: false,
            in_flight: false,
        }
    }

    /// The batch's size in bytes: uncompressed while open, exact once built.
    pub fn size(&self) -> usize {
        match &self.contents {
            Contents::Open(builder) => builder.estimated_size(),
            Contents::Built(bytes) => bytes.len(),
        }
    }

    fn has_room(&self, size: usize, config: &ProducerConfig) -> bool {
        matches!(self.contents, Contents::Open(_))
            && !self.full
            && (self.record_count == 0 || self.size() + size <= config.batch_size)
    }

    fn append(&mut self, record: &RecordRef<'_>, timestamp_ms: i64) -> Result<i32, Error> {
        let Contents::Open(builder) = &mut self.contents else {
            unreachable!("records are only appended to open batches");
        };
        let appended = builder.append(timestamp_ms, record.key, record.value, record.headers);
        let delta = appended.map_err(|error| Error::Kafka {
            code: ErrorCode::MessageTooLarge,
            message: Some(error.to_string()),
        })?;
        self.record_count += 1;
        Ok(delta)
    }

    /// Whether the batch still has to be built (first send).
    pub fn is_open(&self) -> bool {
        matches!(self.contents, Contents::Open(_))
    }

    pub fn record_count(&self) -> i32 {
        self.record_count
    }

    /// The batch's bytes, compressing and framing it on first use; `stamp` marks it
    /// idempotent. Retries resend the same bytes, so the broker recognises them as
    /// duplicates.
    ///
    /// # Errors
    /// [`Error::Kafka`] (INVALID_RECORD) if the codec fails.
    pub fn build(&mut self, stamp: Option<Stamp>) -> Result<Bytes, Error> {
        if let Contents::Open(builder) = &mut self.contents {
            let mut builder =
                std::mem::replace(builder, RecordBatchBuilder::new(Default::default()));
            // Kept even if building fails: its sequence numbers are spent either way.
            self.stamp = stamp;
            if let Some(Stamp {
                identity,
                first_sequence,
            }) = stamp
            {
                builder = builder.with_producer(identity.id, identity.epoch, first_sequence);
            }
            let bytes = builder.build().map_err(|error| Error::Kafka {
                code: ErrorCode::InvalidRecord,
                message: Some(format!("cannot build the record batch: {error}")),
            })?;
            self.contents = Contents::Built(bytes);
        }
        match &self.contents {
            Contents::Built(bytes) => Ok(bytes.clone()),
            Contents::Open(_) => unreachable!("built above"),
        }
    }

    /// Rewrites a built batch's idempotence fields (renumbering after an epoch bump);
    /// the records, compressed or not, stay as they are.
    fn renumber(&mut self, stamp: Stamp) {
        let Contents::Built(bytes) = &self.contents else {
            unreachable!("only built batches carry sequence numbers")
        };
        let mut bytes = BytesMut::from(&bytes[..]);
        RecordBatchMut::new(&mut bytes)
            .expect("the producer built this batch")
            .set_producer(
                stamp.identity.id,
                stamp.identity.epoch,
                stamp.first_sequence,
            );
        self.contents = Contents::Built(bytes.freeze());
        self.stamp = Some(stamp);
        self.maybe_written = false;
    }

    /// When the batch may be sent: after its backoff, at once when full or forced
    /// (flush, close), else when it has lingered `linger.ms`.
    fn ready_at(&self, config: &ProducerConfig, force: bool) -> Instant {
        if let Some(retry_at) = self.retry_at {
            return retry_at;
        }
        if self.full || force || matches!(self.contents, Contents::Built(_)) {
            return self.created;
        }
        self.created + config.linger()
    }
}

/// A record sent before its topic's partition count was known: a copy, as the caller's
/// borrow ends with the send.
struct WaitingRecord {
    record: ProducerRecord,
    timestamp_ms: i64,
    size: usize,
    outcome: Arc<Outcome>,
    enqueued: Instant,
}

/// Every outcome not yet reported, so that `flush` can wait for them.
#[derive(Default)]
struct Registry {
    next_id: u64,
    incomplete: HashMap<u64, Arc<Outcome>>,
}

impl Registry {
    fn new_outcome(&mut self) -> Arc<Outcome> {
        self.next_id += 1;
        let outcome = Outcome::new(self.next_id);
        self.incomplete.insert(self.next_id, outcome.clone());
        outcome
    }
}

/// One topic's records.
struct TopicState {
    name: Arc<str>,
    /// From metadata; `None` until it arrives, while records wait in `waiting`.
    partition_count: Option<i32>,
    /// The partition keyless records go to (uniform sticky, KIP-480).
    sticky: Option<i32>,
    waiting: VecDeque<WaitingRecord>,
    /// The last metadata error for the topic, reported if waiting records time out.
    last_error: Option<ErrorCode>,
    /// Batches per partition, oldest first; only the last may be open.
    queues: BTreeMap<i32, VecDeque<ProducerBatch>>,
    /// How each partition's batches are numbered, for an idempotent producer.
    sequences: HashMap<i32, Sequencing>,
}

impl TopicState {
    fn is_empty(&self) -> bool {
        self.waiting.is_empty() && self.queues.values().all(VecDeque::is_empty)
    }

    /// The partition for `record`, and whether a batch was closed to make the choice
    /// (the sticky partition's, when it is full).
    fn choose_partition(
        &mut self,
        config: &ProducerConfig,
        record: &RecordRef<'_>,
        size: usize,
    ) -> Result<(i32, bool), Error> {
        let count = self.partition_count.unwrap_or(0);
        if let Some(partition) = record.partition {
            if !(0..count).contains(&partition) {
                return Err(Error::Kafka {
                    code: ErrorCode::UnknownTopicOrPartition,
                    message: Some(format!(
                        "partition {partition} of topic `{}` does not exist (it has {count})",
                        self.name
                    )),
                });
            }
            return Ok((partition, false));
        }
        if record.key.is_some() || config.partitioner != Partitioner::Default {
            let partition = config.partitioner.partition(record.key, count, None);
            return Ok((partition, false));
        }
        // Keyless: stay on the sticky partition while its batch has room, then close
        // that batch and move on to another partition.
        let mut closed = false;
        if let Some(sticky) = self.sticky.filter(|p| *p < count) {
            let open = self.queues.get_mut(&sticky).and_then(VecDeque::back_mut);
            match open {
                Some(batch) if !batch.has_room(size, config) => {
                    batch.full = true;
                    closed = true;
                }
                _ => return Ok((sticky, false)),
            }
        }
        let previous = self.sticky;
        let mut next = config.partitioner.partition(None, count, None);
        for _ in 0..8 {
            if count < 2 || Some(next) != previous {
                break;
            }
            next = config.partitioner.partition(None, count, None);
        }
        self.sticky = Some(next);
        Ok((next, closed))
    }

    /// Appends `record` to its partition's open batch (opening one if needed). A record
    /// that waited for metadata brings its own `forward` outcome. Returns the outcome
    /// and index the record's report reads, and whether the sender should look again
    /// (a new or a full batch).
    #[allow(clippy::too_many_arguments)]
    fn append(
        &mut self,
        registry: &mut Registry,
        config: &ProducerConfig,
        record: &RecordRef<'_>,
        timestamp_ms: i64,
        size: usize,
        forward: Option<Arc<Outcome>>,
        // When known; otherwise read from the clock, only if a batch must be started.
        now: Option<Instant>,
    ) -> Result<(Arc<Outcome>, i32, bool), Error> {
        let (partition, mut wake) = self.choose_partition(config, record, size)?;
        let queue = self.queues.entry(partition).or_default();
        if !queue.back().is_some_and(|b| b.has_room(size, config)) {
            if let Some(previous) = queue.back_mut() {
                previous.full = true;
            }
            let outcome = registry.new_outcome();
            queue.push_back(ProducerBatch::new(
                self.name.clone(),
                partition,
                config,
                outcome,
                now.unwrap_or_else(Instant::now),
            ));
            wake = true;
        }
        let batch = queue.back_mut().expect("a batch was just ensured");
        let delta = match batch.append(record, timestamp_ms) {
            Ok(delta) => delta,
            Err(error) => {
                if batch.record_count == 0 {
                    let empty = queue.pop_back().expect("the batch is there");
                    registry.incomplete.remove(&empty.outcome.id);
                }
                return Err(error);
            }
        };
        batch.reserved += size;
        if batch.size() >= config.batch_size {
            batch.full = true;
            wake = true;
            if self.sticky == Some(partition) {
                self.sticky = None;
            }
        }
        Ok(match forward {
            Some(outcome) => {
                batch.forwarded.push((outcome.clone(), delta));
                (outcome, 0, wake)
            }
            None => (batch.outcome.clone(), delta, wake),
        })
    }

    /// The error for records that waited for metadata longer than `delivery.timeout.ms`.
    fn waiting_error(&self, timeout_ms: u64) -> Error {
        match self.last_error {
            Some(code) => Error::Kafka {
                code,
                message: Some(format!(
                    "topic `{}` has no usable metadata after delivery.timeout.ms ({timeout_ms} ms)",
                    self.name
                )),
            },
            None => Error::Timeout {
                operation: format!("metadata for topic `{}` (delivery.timeout.ms)", self.name),
                timeout_ms,
            },
        }
    }
}

/// Why `enqueue` did not take a record.
pub(crate) enum Refused {
    /// `buffer.memory` is exhausted.
    BufferFull,
    /// The record cannot be sent.
    Failed(Error),
}

/// What the sender should do next, from [`State::plan`].
#[derive(Default)]
pub(crate) struct Plan {
    /// Produce requests to send: a broker's node id and its batches (one per partition).
    pub requests: Vec<(i32, Vec<ProducerBatch>)>,
    /// Topics to fetch metadata for.
    pub refresh: Option<Vec<String>>,
    /// When to look again if nothing else happens.
    pub next_wake: Option<Instant>,
    /// Closing and nothing left to do: the sender may stop.
    pub finished: bool,
}

/// The producer's mutable state, behind one lock.
#[derive(Default)]
pub(crate) struct State {
    topics: HashMap<Arc<str>, TopicState>,
    registry: Registry,
    /// Bytes held against `buffer.memory`.
    buffered: usize,
    /// Produce requests awaiting their response, per broker.
    in_flight: HashMap<i32, usize>,
    /// Running flushes; while any runs, batches are sent without lingering.
    pub flushes: usize,
    /// Set by close or when the last producer handle is dropped.
    pub closing: bool,
    metadata_in_flight: bool,
    metadata_not_before: Option<Instant>,
    /// The idempotent producer's id and epoch (KIP-98), once InitProducerId answered.
    pub identity: Option<Identity>,
    /// InitProducerId failed for good: batches are written without idempotence.
    pub identity_unavailable: bool,
}

impl State {
    /// The stamp for a batch about to be built for the first time, numbering its records
    /// in its partition; `None` without idempotence.
    pub fn number(&mut self, topic: &str, partition: i32, records: i32) -> Option<Stamp> {
        let identity = self.identity?;
        let sequencing = self
            .topics
            .get_mut(topic)?
            .sequences
            .entry(partition)
            .or_insert_with(|| Sequencing::new(identity));
        Some(sequencing.number(identity, records))
    }
}

/// Keeps a partition's numbering up to date as one of its batches leaves a Produce
/// request (`in_flight`) and, with `result`, is reported.
fn account(
    sequences: &mut HashMap<i32, Sequencing>,
    batch: &mut ProducerBatch,
    result: Option<&Result<Ack, Error>>,
) {
    let Some(sequencing) = sequences.get_mut(&batch.partition) else {
        return;
    };
    if std::mem::take(&mut batch.in_flight) {
        sequencing.in_flight -= 1;
    }
    let (Some(stamp), Some(result)) = (batch.stamp, result) else {
        return;
    };
    if !sequencing.owns(stamp) {
        return;
    }
    match result {
        Ok(ack) => sequencing.acknowledged(stamp, batch.record_count, ack.base_offset),
        Err(_) => sequencing.failed(stamp),
    }
}

/// Reports `batch` and releases what it held.
fn finish(
    registry: &mut Registry,
    buffered: &mut usize,
    batch: ProducerBatch,
    result: Result<Ack, Error>,
) {
    *buffered -= batch.reserved;
    registry.incomplete.remove(&batch.outcome.id);
    for (outcome, delta) in &batch.forwarded {
        registry.incomplete.remove(&outcome.id);
        outcome.complete(match &result {
            Ok(ack) => Ok(Ack {
                base_offset: if ack.base_offset < 0 {
                    -1
                } else {
                    ack.base_offset + i64::from(*delta)
                },
                ..ack.clone()
            }),
            Err(error) => Err(duplicate(error)),
        });
    }
    batch.outcome.complete(result);
}

impl State {
    /// Every outcome not yet reported.
    pub fn incomplete(&self) -> Vec<Arc<Outcome>> {
        self.registry.incomplete.values().cloned().collect()
    }

    /// Takes `record` into its partition's batch, or into the topic's waiting list when
    /// the partition count is not known yet. Returns the record's report and whether
    /// the sender should look again.
    pub fn enqueue(
        &mut self,
        config: &ProducerConfig,
        record: &RecordRef<'_>,
        size: usize,
    ) -> Result<(DeliveryFuture, bool), Refused> {
        if self.closing {
            return Err(Refused::Failed(closed_error()));
        }
        if self.buffered + size > config.buffer_memory {
            return Err(Refused::BufferFull);
        }
        let timestamp_ms = record.timestamp_ms.unwrap_or_else(now_ms);
        if !self.topics.contains_key(record.topic) {
            let name: Arc<str> = record.topic.into();
            self.topics.insert(
                name.clone(),
                TopicState {
                    name,
                    partition_count: None,
                    sticky: None,
                    waiting: VecDeque::new(),
                    last_error: None,
                    queues: BTreeMap::new(),
                    sequences: HashMap::new(),
                },
            );
        }
        let topic = self.topics.get_mut(record.topic).expect("inserted above");
        if topic.partition_count.is_none() || !topic.waiting.is_empty() {
            let outcome = self.registry.new_outcome();
            topic.waiting.push_back(WaitingRecord {
                record: record.to_record(),
                timestamp_ms,
                size,
                outcome: outcome.clone(),
                enqueued: Instant::now(),
            });
            self.buffered += size;
            return Ok((DeliveryFuture::new(outcome, 0, timestamp_ms), true));
        }
        let (outcome, index, wake) = topic
            .append(
                &mut self.registry,
                config,
                record,
                timestamp_ms,
                size,
                None,
                None,
            )
            .map_err(Refused::Failed)?;
        self.buffered += size;
        Ok((DeliveryFuture::new(outcome, index, timestamp_ms), wake))
    }

    /// Fails every record waiting for metadata for which `record_fails` holds and every
    /// queued (not in flight) batch for which `batch_fails` holds, with the errors made
    /// for them.
    fn fail_held(
        &mut self,
        record_fails: impl Fn(&WaitingRecord) -> bool,
        batch_fails: impl Fn(&ProducerBatch) -> bool,
        record_error: impl Fn(&TopicState) -> Error,
        batch_error: impl Fn(&ProducerBatch) -> Error,
    ) {
        let State {
            topics,
            registry,
            buffered,
            ..
        } = self;
        for topic in topics.values_mut() {
            if topic.waiting.iter().any(&record_fails) {
                let (failed, kept): (VecDeque<_>, VecDeque<_>) = std::mem::take(&mut topic.waiting)
                    .into_iter()
                    .partition(&record_fails);
                topic.waiting = kept;
                for record in failed {
                    *buffered -= record.size;
                    registry.incomplete.remove(&record.outcome.id);
                    record.outcome.complete(Err(record_error(topic)));
                }
            }
            for queue in topic.queues.values_mut() {
                if queue.iter().any(&batch_fails) {
                    let (failed, kept): (VecDeque<_>, VecDeque<_>) =
                        std::mem::take(queue).into_iter().partition(&batch_fails);
                    *queue = kept;
                    for mut batch in failed {
                        let error = Err(batch_error(&batch));
                        account(&mut topic.sequences, &mut batch, Some(&error));
                        finish(registry, buffered, batch, error);
                    }
                }
            }
            topic.queues.retain(|_, queue| !queue.is_empty());
        }
    }

    /// Fails every record and batch that has waited past `delivery.timeout.ms`, and
    /// returns when the next one will (the earliest deadline left), if any is held.
    pub fn expire_overdue(&mut self, config: &ProducerConfig, now: Instant) -> Option<Instant> {
        let delivery_timeout = config.delivery_timeout();
        self.fail_held(
            |record| record.enqueued + delivery_timeout <= now,
            |batch| batch.created + delivery_timeout <= now,
            |topic| topic.waiting_error(config.delivery_timeout_ms),
            |batch| Error::Timeout {
                operation: format!(
                    "delivery of {} records to {}-{} (delivery.timeout.ms)",
                    batch.record_count, batch.topic, batch.partition
                ),
                timeout_ms: config.delivery_timeout_ms,
            },
        );
        let fronts = self.topics.values().flat_map(|topic| {
            let waiting = topic.waiting.front().map(|record| record.enqueued);
            let queued = topic
                .queues
                .values()
                .filter_map(|q| q.front().map(|b| b.created));
            waiting.into_iter().chain(queued)
        });
        fronts.min().map(|oldest| oldest + delivery_timeout)
    }

    /// Fails what the producer holds without waiting for it, as librdkafka's
    /// `rd_kafka_purge` does: with `queued`, records not yet sent fail with
    /// [`Error::Purged`] (`in_flight: false`); with `in_flight`, records in Produce requests
    /// awaiting their response are reported at once as [`Error::Purged`]
    /// (`in_flight: true`) and their responses are ignored (such a record may or may not
    /// have been written) and never retried.
    pub fn purge(&mut self, queued: bool, in_flight: bool) {
        if in_flight {
            let mut held: HashSet<u64> = HashSet::new();
            for topic in self.topics.values() {
                held.extend(topic.waiting.iter().map(|record| record.outcome.id));
                for batch in topic.queues.values().flatten() {
                    held.insert(batch.outcome.id);
                    held.extend(batch.forwarded.iter().map(|(outcome, _)| outcome.id));
                }
            }
            let sent: Vec<u64> = (self.registry.incomplete.keys())
                .filter(|id| !held.contains(id))
                .copied()
                .collect();
            for id in sent {
                if let Some(outcome) = self.registry.incomplete.remove(&id) {
                    outcome.complete(Err(Error::Purged { in_flight: true }));
                }
            }
        }
        if queued {
            let purged = || Error::Purged { in_flight: false };
            self.fail_held(|_| true, |_| true, |_| purged(), |_| purged());
        }
    }

    /// Whether the producer is closing and holds nothing more: no record, no batch, no
    /// request or metadata refresh in flight.
    pub fn finished(&self) -> bool {
        self.closing
            && !self.metadata_in_flight
            && self.in_flight.values().all(|n| *n == 0)
            && self.topics.values().all(TopicState::is_empty)
    }

    /// Decides what the sender does now: fails what has waited past
    /// `delivery.timeout.ms` ([`State::expire_overdue`]), takes ready batches into
    /// Produce requests for brokers with room in flight, and asks for metadata where it
    /// is missing.
    pub fn plan(&mut self, config: &ProducerConfig, cluster: &Cluster, now: Instant) -> Plan {
        let next_deadline = self.expire_overdue(config, now);
        let State {
            topics,
            flushes,
            closing,
            in_flight,
            metadata_in_flight,
            metadata_not_before,
            identity,
            ..
        } = self;
        let force = *flushes > 0 || *closing;
        let mut plan = Plan::default();
        let mut next_wake = next_deadline;
        let mut wake_at = |at: Instant| {
            next_wake = Some(next_wake.map_or(at, |t: Instant| t.min(at)));
        };
        let mut want_metadata: Vec<String> = Vec::new();
        let mut ready: HashMap<i32, Vec<(Arc<str>, i32)>> = HashMap::new();

        for topic in topics.values_mut() {
            if topic.partition_count.is_none() || !topic.waiting.is_empty() {
                if !topic.waiting.is_empty() {
                    want_metadata.push(topic.name.to_string());
                }
                continue;
            }
            let info = cluster
                .topic(&topic.name)
                .filter(|info| info.error == ErrorCode::None);
            let mut leaderless = false;
            for (&partition, queue) in topic.queues.iter_mut() {
                let Some(front) = queue.front() else { continue };
                if topic
                    .sequences
                    .get(&partition)
                    .is_some_and(|s| s.renumber.is_some())
                {
                    // Waits for the producer's new identity (see `install`).
                    continue;
                }
                let ready_at = front.ready_at(config, force);
                if ready_at > now {
                    wake_at(ready_at);
                    continue;
                }
                let leader = info
                    .as_ref()
                    .and_then(|info| info.partitions.iter().find(|p| p.partition == partition))
                    .map(|p| p.leader)
                    .filter(|leader| *leader >= 0);
                match leader {
                    Some(node) => ready
                        .entry(node)
                        .or_default()
                        .push((topic.name.clone(), partition)),
                    None => leaderless = true,
                }
            }
            if leaderless {
                want_metadata.push(topic.name.to_string());
            }
        }

        for (node, partitions) in ready {
            let in_flight = in_flight.entry(node).or_default();
            while *in_flight < config.max_in_flight_requests_per_connection {
                let mut request = Vec::new();
                let mut request_bytes = 0;
                for (name, partition) in &partitions {
                    let Some(topic) = topics.get_mut(name) else {
                        continue;
                    };
                    let Some(queue) = topic.queues.get_mut(partition) else {
                        continue;
                    };
                    let Some(front) = queue.front() else { continue };
                    if front.ready_at(config, force) > now {
                        continue;
                    }
                    if !(topic.sequences.get(partition)).is_none_or(Sequencing::can_send_another) {
                        continue;
                    }
                    let size = front.size();
                    if !request.is_empty() && request_bytes + size > config.max_request_size {
                        continue;
                    }
                    let mut batch = queue.pop_front().expect("front exists");
                    batch.in_flight = true;
                    if let Some(identity) = *identity {
                        topic
                            .sequences
                            .entry(*partition)
                            .or_insert_with(|| Sequencing::new(identity))
                            .in_flight += 1;
                    }
                    // Keyless records move on once their sticky batch is on its way.
                    if topic.sticky == Some(*partition) && queue.is_empty() {
                        topic.sticky = None;
                    }
                    request_bytes += size;
                    request.push(batch);
                }
                if request.is_empty() {
                    break;
                }
                *in_flight += 1;
                plan.requests.push((node, request));
            }
        }

        if !want_metadata.is_empty() && !*metadata_in_flight {
            match *metadata_not_before {
                Some(not_before) if not_before > now => wake_at(not_before),
                _ => {
                    want_metadata.sort();
                    want_metadata.dedup();
                    *metadata_in_flight = true;
                    plan.refresh = Some(want_metadata);
                }
            }
        }

        plan.next_wake = next_wake;
        plan.finished = self.finished();
        plan
    }

    /// Takes in a metadata refresh for `topics` (`ok` = the request itself succeeded):
    /// records partition counts and errors, and moves waiting records into batches.
    pub fn metadata_refreshed(
        &mut self,
        config: &ProducerConfig,
        cluster: &Cluster,
        topics: &[String],
        ok: bool,
    ) {
        self.metadata_in_flight = false;
        let now = Instant::now();
        let mut back_off = !ok;
        for name in topics {
            let Some(topic) = self.topics.get_mut(name.as_str()) else {
                continue;
            };
            let info = cluster.topic(name);
            match &info {
                Some(info) if info.error == ErrorCode::None && !info.partitions.is_empty() => {
                    let count = info.partitions.iter().map(|p| p.partition + 1).max();
                    topic.partition_count = count;
                    topic.last_error = None;
                    if info.partitions.iter().any(|p| p.leader < 0) {
                        back_off = true;
                    }
                }
                Some(info) => {
                    topic.last_error = Some(info.error);
                    back_off = true;
                }
                None => back_off = true,
            }
            if topic.partition_count.is_none() {
                continue;
            }
            while let Some(waiting) = topic.waiting.pop_front() {
                let headers = waiting.record.header_refs();
                let appended = topic.append(
                    &mut self.registry,
                    config,
                    &waiting.record.borrowed(&headers),
                    waiting.timestamp_ms,
                    waiting.size,
                    Some(waiting.outcome.clone()),
                    Some(now),
                );
                if let Err(error) = appended {
                    self.buffered -= waiting.size;
                    self.registry.incomplete.remove(&waiting.outcome.id);
                    waiting.outcome.complete(Err(error));
                }
            }
        }
        self.metadata_not_before = back_off.then(|| now + config.retry_backoff());
    }

    /// Reports a batch: delivered, or failed for good.
    pub fn complete(&mut self, mut batch: ProducerBatch, result: Result<Ack, Error>) {
        if let Some(topic) = self.topics.get_mut(&batch.topic) {
            account(&mut topic.sequences, &mut batch, Some(&result));
        }
        finish(&mut self.registry, &mut self.buffered, batch, result);
    }

    /// Puts a batch that failed with a retriable error back in its partition's queue,
    /// before the batches made after it (so that retries keep their order), to be sent
    /// again after `retry.backoff.ms`.
    pub fn retry(&mut self, config: &ProducerConfig, mut batch: ProducerBatch) {
        if batch.outcome.is_complete() {
            // Purged while in flight: reported already, never sent again.
            return self.complete(batch, Err(Error::Purged { in_flight: true }));
        }
        batch.retry_at = Some(Instant::now() + config.retry_backoff());
        match self.topics.get_mut(&batch.topic) {
            Some(topic) => {
                account(&mut topic.sequences, &mut batch, None);
                let queue = topic.queues.entry(batch.partition).or_default();
                let at = queue
                    .iter()
                    .position(|queued| queued.outcome.id > batch.outcome.id)
                    .unwrap_or(queue.len());
                queue.insert(at, batch);
            }
            None => self.complete(batch, Err(closed_error())),
        }
    }

    /// What the idempotent producer does about `batch`, which the broker refused with
    /// `error`; `log_start_offset` is the broker's for the partition (-1 when unknown).
    pub fn recover(
        &mut self,
        batch: &ProducerBatch,
        error: &Error,
        log_start_offset: i64,
    ) -> Recovery {
        let (Error::Kafka { code, .. }, Some(stamp)) = (error, batch.stamp) else {
            return Recovery::Usual;
        };
        let sequencing = self
            .topics
            .get_mut(&batch.topic)
            .and_then(|topic| topic.sequences.get_mut(&batch.partition));
        match sequencing {
            Some(sequencing) if sequencing.owns(stamp) => sequencing.recover(
                stamp,
                batch.maybe_written,
                *code,
                log_start_offset,
                &format!("{}-{}", batch.topic, batch.partition),
            ),
            _ => Recovery::Usual,
        }
    }

    /// The identity the producer needs before the partitions waiting to be renumbered
    /// can send again; `None` while none waits, or while one of them still has batches
    /// in flight (their answers may still acknowledge some).
    pub fn due_reset(&self) -> Option<Reset> {
        let mut reset = None;
        for sequencing in self.topics.values().flat_map(|t| t.sequences.values()) {
            if sequencing.renumber.is_some() {
                if sequencing.in_flight > 0 {
                    return None;
                }
                reset = reset.max(sequencing.renumber);
            }
        }
        reset
    }

    /// Takes `identity` as the producer's, and renumbers the unacknowledged batches of
    /// the partitions waiting for it from sequence 0, in order. A batch an earlier
    /// attempt may have written fails instead: renumbered, it could be written twice.
    pub fn install(&mut self, identity: Identity) {
        self.identity = Some(identity);
        let mut unsafe_to_resend = Vec::new();
        for topic in self.topics.values_mut() {
            for (partition, sequencing) in topic.sequences.iter_mut() {
                if sequencing.renumber.is_none() {
                    continue;
                }
                sequencing.restart(identity);
                let Some(queue) = topic.queues.get_mut(partition) else {
                    continue;
                };
                let mut renumbered = 0;
                for mut batch in std::mem::take(queue) {
                    if batch.stamp.is_some() && batch.maybe_written {
                        unsafe_to_resend.push(batch);
                        continue;
                    }
                    // Unbuilt batches are numbered when they are first sent.
                    if batch.stamp.is_some() {
                        batch.renumber(sequencing.number(identity, batch.record_count));
                        renumbered += 1;
                    }
                    queue.push_back(batch);
                }
                tracing::info!(
                    topic = %topic.name,
                    partition,
                    producer_id = identity.id,
                    epoch = identity.epoch,
                    batches = renumbered,
                    "renumbered the partition's unacknowledged batches from sequence 0"
                );
            }
        }
        for batch in unsafe_to_resend {
            let why = format!(
                "{}-{} restarted its sequence numbers under a new producer epoch after a \
                 sequence error",
                batch.topic, batch.partition
            );
            let error = maybe_written_error(ErrorCode::OutOfOrderSequenceNumber, &why);
            tracing::error!(topic = %batch.topic, partition = batch.partition, %error, "batch failed");
            // Stamped under the old identity, so its partition's new numbering ignores it.
            self.complete(batch, Err(error));
        }
    }

    /// A Produce request to `node` has completed (or failed).
    pub fn request_done(&mut self, node: i32) {
        if let Some(count) = self.in_flight.get_mut(&node) {
            *count = count.saturating_sub(1);
        }
    }
}
