//! The sender: one background task that turns ready batches into Produce requests, plus
//! one task per broker that writes them, pipelined, on the broker's connection, and a
//! task per metadata refresh. Responses complete the records' reports or put retriable
//! batches back in their queues.

use super::accumulator::ProducerBatch;
use super::delivery::Ack;
use super::idempotence::{Identity, Recovery, Reset};
use super::Shared;
use crate::error::{Error, ErrorCode};
use crate::protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use crate::protocol::messages::InitProducerIdRequest;
use crate::protocol::messages::{ApiKey, ProduceRequest, ProduceResponse};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use tokio::sync::mpsc;
use tokio::time::Instant;

type RequestQueue = mpsc::UnboundedSender<Vec<ProducerBatch>>;

/// Runs until the producer is closed and everything it held is reported.
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut brokers: HashMap<i32, RequestQueue> = HashMap::new();
    loop {
        // An idempotent producer needs its id before the first batch is built.
        let wants_identity = {
            let state = shared.lock();
            shared.config.idempotent() && state.identity.is_none() && !state.identity_unavailable
        };
        if wants_identity {
            match init_producer_id(&shared).await {
                Ok(identity) => shared.lock().install(identity),
                Err(error) if !error.is_retriable() => {
                    tracing::warn!(%error, "the cluster does not grant producer ids: writing without idempotence");
                    shared.lock().identity_unavailable = true;
                }
                Err(error) => {
                    tracing::warn!(%error, "InitProducerId failed; retrying");
                    if expire_while_unidentified(&shared) {
                        return;
                    }
                    tokio::time::sleep(shared.config.retry_backoff()).await;
                    continue;
                }
            }
        }
        let reset = shared.lock().due_reset();
        if let Some(reset) = reset {
            if let Err(error) = reset_identity(&shared, reset).await {
                tracing::warn!(%error, "InitProducerId failed; retrying");
                if expire_while_unidentified(&shared) {
                    return;
                }
                tokio::time::sleep(shared.config.retry_backoff()).await;
                continue;
            }
        }
        let plan = shared
            .lock()
            .plan(&shared.config, &shared.cluster, Instant::now());
        if let Some(topics) = plan.refresh {
            tokio::spawn(refresh_metadata(shared.clone(), topics));
        }
        for (node, batches) in plan.requests {
            let queue = brokers
                .entry(node)
                .or_insert_with(|| start_broker_sender(&shared, node));
            if let Err(mpsc::error::SendError(batches)) = queue.send(batches) {
                // The broker's task ended (it only does if it panicked): start another.
                let queue = start_broker_sender(&shared, node);
                let _ = queue.send(batches);
                brokers.insert(node, queue);
            }
        }
        // Expired records may have freed buffer memory.
        shared.memory_freed.notify_waiters();
        if plan.finished {
            tracing::debug!("producer closed");
            return;
        }
        match plan.next_wake {
            Some(at) => {
                tokio::select! {
                    _ = shared.wakeup.notified() => {}
                    _ = tokio::time::sleep_until(at) => {}
                }
            }
            None => shared.wakeup.notified().await,
        }
    }
}

/// While no broker grants a producer id, records still fail at `delivery.timeout.ms`
/// (as they do in the Java client). Returns whether the producer is closed and holds
/// nothing more, so the sender can stop.
fn expire_while_unidentified(shared: &Shared) -> bool {
    let finished = {
        let mut state = shared.lock();
        state.expire_overdue(&shared.config, Instant::now());
        state.finished()
    };
    shared.memory_freed.notify_waiters();
    finished
}

async fn refresh_metadata(shared: Arc<Shared>, topics: Vec<String>) {
    let refresh = shared.cluster.refresh(Some(&topics), true);
    let ok = match tokio::time::timeout(shared.config.request_timeout(), refresh).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::debug!(%error, ?topics, "producer metadata refresh failed");
            false
        }
        Err(_) => {
            tracing::debug!(?topics, "producer metadata refresh timed out");
            false
        }
    };
    shared
        .lock()
        .metadata_refreshed(&shared.config, &shared.cluster, &topics, ok);
    shared.wakeup.notify_one();
    shared.memory_freed.notify_waiters();
}

fn start_broker_sender(shared: &Arc<Shared>, node: i32) -> RequestQueue {
    let (queue, requests) = mpsc::unbounded_channel();
    tokio::spawn(broker_sender(shared.clone(), node, requests));
    queue
}

/// Polls `future` once, returning its output if it is already done.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        Poll::Ready(match Pin::new(&mut *future).poll(cx) {
            Poll::Ready(output) => Some(output),
            Poll::Pending => None,
        })
    })
    .await
}

type Pending<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send>>;

/// Writes one broker's Produce requests in the order the sender made them. Each request
/// is polled once here, which queues it for the connection's (FIFO) write lock, before
/// its response is awaited on a task of its own; so requests are written in order and
/// up to `max.in.flight.requests.per.connection` wait for responses at once.
async fn broker_sender(
    shared: Arc<Shared>,
    node: i32,
    mut requests: mpsc::UnboundedReceiver<Vec<ProducerBatch>>,
) {
    let config = &shared.config;
    while let Some(batches) = requests.recv().await {
        let connect = shared.cluster.connection(node);
        let connection = match tokio::time::timeout(config.request_timeout(), connect).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(error)) => {
                fail_request(&shared, node, batches, &error, Unanswered::NotConnected);
                continue;
            }
            Err(_) => {
                let error = timeout_error(&format!("connecting to broker {node}"), config);
                fail_request(&shared, node, batches, &error, Unanswered::NotConnected);
                continue;
            }
        };
        let version = match connection.version_for(ApiKey::Produce, 3) {
            Ok(version) => version,
            Err(error) => {
                fail_request(&shared, node, batches, &error, Unanswered::Unsendable);
                continue;
            }
        };
        let Some((request, batches)) = build_request(&shared, node, batches) else {
            continue;
        };
        let timeout = config.request_timeout();
        let operation = format!("Produce request to {}", connection.address());
        if request.acks == 0 {
            let mut written: Pending<()> = Box::pin(async move {
                match tokio::time::timeout(
                    timeout,
                    connection.send_without_response(request, version),
                )
                .await
                {
                    Ok(result) => result,
                    Err(_) => Err(Error::Timeout {
                        operation,
                        timeout_ms: timeout.as_millis() as u64,
                    }),
                }
            });
            match poll_once(&mut written).await {
                Some(result) => unacknowledged(&shared, node, batches, result),
                None => {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        let result = written.await;
                        unacknowledged(&shared, node, batches, result);
                    });
                }
            }
        } else {
            let mut response: Pending<ProduceResponse> = Box::pin(async move {
                match tokio::time::timeout(timeout, connection.send(request, version)).await {
                    Ok(result) => result,
                    Err(_) => Err(Error::Timeout {
                        operation,
                        timeout_ms: timeout.as_millis() as u64,
                    }),
                }
            });
            match poll_once(&mut response).await {
                Some(result) => acknowledged(&shared, node, batches, result),
                None => {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        let result = response.await;
                        acknowledged(&shared, node, batches, result);
                    });
                }
            }
        }
    }
}

fn timeout_error(operation: &str, config: &super::ProducerConfig) -> Error {
    Error::Timeout {
        operation: operation.to_string(),
        timeout_ms: config.request_timeout_ms,
    }
}

/// Builds (compresses) the batches and frames them into one ProduceRequest. Batches
/// that cannot be built fail here; `None` if none is left.
fn build_request(
    shared: &Shared,
    node: i32,
    batches: Vec<ProducerBatch>,
) -> Option<(ProduceRequest, Vec<ProducerBatch>)> {
    let mut topic_data: Vec<TopicProduceData> = Vec::new();
    let mut kept = Vec::with_capacity(batches.len());
    let mut failed = Vec::new();
    for mut batch in batches {
        let stamp = if batch.is_open() && shared.config.idempotent() {
            shared
                .lock()
                .number(&batch.topic, batch.partition, batch.record_count())
        } else {
            None
        };
        let records = match batch.build(stamp) {
            Ok(records) => records,
            Err(error) => {
                failed.push((batch, error));
                continue;
            }
        };
        let partition = PartitionProduceData {
            index: batch.partition,
            records: Some(records),
        };
        match topic_data.iter_mut().find(|t| *t.name == *batch.topic) {
            Some(topic) => topic.partition_data.push(partition),
            None => topic_data.push(TopicProduceData {
                name: batch.topic.to_string(),
                partition_data: vec![partition],
            }),
        }
        kept.push(batch);
    }
    if !failed.is_empty() || kept.is_empty() {
        let mut state = shared.lock();
        for (batch, error) in failed {
            state.complete(batch, Err(error));
        }
        if kept.is_empty() {
            state.request_done(node);
        }
        drop(state);
        shared.wakeup.notify_one();
        shared.memory_freed.notify_waiters();
    }
    if kept.is_empty() {
        return None;
    }
    let request = ProduceRequest {
        transactional_id: None,
        acks: shared.config.acks.code(),
        timeout_ms: shared.config.request_timeout_ms.min(i32::MAX as u64) as i32,
        topic_data,
    };
    Some((request, kept))
}

/// Reports the batches of an acks=0 request once it is written.
fn unacknowledged(
    shared: &Shared,
    node: i32,
    batches: Vec<ProducerBatch>,
    written: Result<(), Error>,
) {
    if let Err(error) = written {
        fail_request(shared, node, batches, &error, Unanswered::Lost);
        return;
    }
    let mut state = shared.lock();
    state.request_done(node);
    for batch in batches {
        let ack = Ack {
            topic: batch.topic.clone(),
            partition: batch.partition,
            base_offset: -1,
            log_append_time_ms: -1,
        };
        state.complete(batch, Ok(ack));
    }
    drop(state);
    shared.wakeup.notify_one();
    shared.memory_freed.notify_waiters();
}

/// Reports each batch from its partition's part of the response.
fn acknowledged(
    shared: &Shared,
    node: i32,
    batches: Vec<ProducerBatch>,
    response: Result<ProduceResponse, Error>,
) {
    let response = match response {
        Ok(response) => response,
        Err(error) => return fail_request(shared, node, batches, &error, Unanswered::Lost),
    };
    let mut state = shared.lock();
    state.request_done(node);
    for batch in batches {
        let partition = response
            .responses
            .iter()
            .find(|topic| *topic.name == *batch.topic)
            .and_then(|topic| {
                topic
                    .partition_responses
                    .iter()
                    .find(|p| p.index == batch.partition)
            });
        let log_start_offset = partition.map_or(-1, |p| p.log_start_offset);
        let result = match partition {
            None => Err(Error::Kafka {
                code: ErrorCode::UnknownServerError,
                message: Some(format!(
                    "the Produce response does not mention {}-{}",
                    batch.topic, batch.partition
                )),
            }),
            Some(p) => {
                let mut message = p.error_message.clone();
                if let Some(first) = p.record_errors.first() {
                    // KIP-467: the broker names the records it rejected.
                    let detail = format!(
                        "record {} of the batch: {}",
                        first.batch_index,
                        first
                            .batch_index_error_message
                            .as_deref()
                            .unwrap_or("rejected")
                    );
                    message = Some(match message {
                        Some(message) => format!("{message}; {detail}"),
                        None => detail,
                    });
                }
                Error::check(p.error_code, message).map(|()| Ack {
                    topic: batch.topic.clone(),
                    partition: batch.partition,
                    base_offset: p.base_offset,
                    log_append_time_ms: p.log_append_time_ms,
                })
            }
        };
        settle(shared, &mut state, batch, result, log_start_offset, false);
    }
    drop(state);
    shared.wakeup.notify_one();
    shared.memory_freed.notify_waiters();
}

/// Why a Produce request has no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unanswered {
    /// No connection to the broker: nothing was written, and a retry may find another
    /// leader.
    NotConnected,
    /// The broker cannot take the request (API version): nothing was written.
    Unsendable,
    /// Written (or maybe), but the response never came: the broker may have appended
    /// the batches.
    Lost,
}

/// Every batch of a request failed with `error`, without a response.
fn fail_request(
    shared: &Shared,
    node: i32,
    batches: Vec<ProducerBatch>,
    error: &Error,
    why: Unanswered,
) {
    tracing::debug!(node, %error, ?why, batches = batches.len(), "produce request failed");
    let mut state = shared.lock();
    state.request_done(node);
    for mut batch in batches {
        batch.maybe_written |= why == Unanswered::Lost;
        settle(
            shared,
            &mut state,
            batch,
            Err(super::delivery::duplicate(error)),
            -1,
            why == Unanswered::NotConnected,
        );
    }
    drop(state);
    shared.wakeup.notify_one();
    shared.memory_freed.notify_waiters();
}

/// Completes a batch, or queues it again when `delivery.timeout.ms` leaves room for
/// another attempt and either the idempotent producer recovers from its error (see
/// `idempotence.rs`; such attempts do not count against `retries`) or the error is
/// retriable (or `force_retriable`) and `retries` allows another. Retrying resends the
/// same bytes: without idempotence a retry after a lost response can duplicate the
/// batch. `log_start_offset` is the broker's for the partition (-1 when unknown).
fn settle(
    shared: &Shared,
    state: &mut super::accumulator::State,
    mut batch: ProducerBatch,
    result: Result<Ack, Error>,
    log_start_offset: i64,
    force_retriable: bool,
) {
    let config = &shared.config;
    let error = match result {
        Ok(ack) => return state.complete(batch, Ok(ack)),
        Err(error) => error,
    };
    let retriable = match state.recover(&batch, &error, log_start_offset) {
        Recovery::Retry => true,
        Recovery::Fail(error) => return state.complete(batch, Err(error)),
        Recovery::Usual => {
            batch.attempts += 1;
            (force_retriable || error.is_retriable()) && batch.attempts <= config.retries
        }
    };
    let deadline = batch.created + config.delivery_timeout();
    if retriable && Instant::now() + config.retry_backoff() < deadline {
        tracing::debug!(
            topic = %batch.topic,
            partition = batch.partition,
            attempt = batch.attempts,
            %error,
            "retrying batch"
        );
        // The leader may have moved or the topic changed: look again before retrying.
        shared.cluster.invalidate(&batch.topic);
        state.retry(config, batch);
    } else {
        state.complete(batch, Err(error));
    }
}

/// Gives the producer the identity `reset` asks for: its epoch bumped, as the Java client
/// and librdkafka do without transactions (no broker owns an idempotent producer's
/// epoch; brokers take a new epoch from sequence 0), or a new producer id when asked or
/// when the epoch cannot grow.
///
/// # Errors
/// As [`init_producer_id`]; nothing changes then.
async fn reset_identity(shared: &Shared, reset: Reset) -> Result<(), Error> {
    let current = shared.lock().identity;
    let identity = match (reset, current.and_then(Identity::bumped)) {
        (Reset::Epoch, Some(bumped)) => bumped,
        _ => init_producer_id(shared).await?,
    };
    tracing::info!(
        producer_id = identity.id,
        epoch = identity.epoch,
        ?reset,
        "new producer identity"
    );
    shared.lock().install(identity);
    Ok(())
}

/// Asks any broker for a new producer id at epoch 0 (InitProducerId, KIP-98).
///
/// # Errors
/// Connection errors, or the broker's error code.
async fn init_producer_id(shared: &Shared) -> Result<Identity, Error> {
    let connection = shared.cluster.any_connection().await?;
    let request = InitProducerIdRequest {
        transactional_id: None,
        transaction_timeout_ms: i32::MAX,
        producer_id: -1,
        producer_epoch: -1,
    };
    let (_, response) = connection.call(request, 0).await?;
    Error::check(response.error_code, None)?;
    Ok(Identity {
        id: response.producer_id,
        epoch: response.producer_epoch,
    })
}
