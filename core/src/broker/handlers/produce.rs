//! Produce: validate each record batch without decompressing it (except on compacted
//! topics, whose records must all have keys), append it verbatim,
//! and acknowledge per `acks` (KIP-98 batch format; Kafka's "Produce" protocol page).
//!
//! - acks=0: appended, no response.
//! - acks=1 / acks=-1: with one replica both answer once the batch is committed. When the
//!   topic fsyncs before acknowledging (`flush.messages=1`) that is after the fsync,
//!   which concurrent producers share; otherwise at append.

use super::Reply;
use crate::broker::partition::{error_code_of, Partition};
use crate::broker::state::{now_ms, ApiError, BrokerState, Topic};
use crate::error::ErrorCode;
use crate::protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use crate::protocol::messages::{
    InitProducerIdRequest, InitProducerIdResponse, ProduceRequest, ProduceResponse,
};
use crate::protocol::records::{
    RecordBatchError, RecordBatches, NO_PRODUCER_EPOCH, NO_PRODUCER_ID,
};
use bytes::Bytes;
use std::sync::Arc;

/// Kafka's answer to a batch that fails validation.
fn rejection(error: RecordBatchError) -> ApiError {
    let code = match error {
        RecordBatchError::LegacyMessageFormat { .. } => ErrorCode::UnsupportedForMessageFormat,
        _ => ErrorCode::CorruptMessage,
    };
    ApiError::new(code, error.to_string())
}

/// Refuses a CreateTime timestamp outside what the topic accepts at `now` (KIP-937).
/// `NO_TIMESTAMP` (-1) is always accepted, as in Kafka.
fn check_timestamp(timestamp: i64, accepted: (Option<i64>, i64)) -> Result<(), ApiError> {
    let (earliest, latest) = accepted;
    if timestamp == -1 || (timestamp <= latest && earliest.is_none_or(|e| timestamp >= e)) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::InvalidTimestamp,
        format!(
            "timestamp {timestamp} is outside [{}, {latest}] \
             (message.timestamp.before.max.ms / message.timestamp.after.max.ms)",
            earliest.unwrap_or(i64::MIN)
        ),
    ))
}

/// Splits `records` into batches and validates each: framing, magic 2, CRC-32C, record
/// count against offsets, size against `max.message.bytes`, and CreateTime timestamps
/// against the accepted range at `now`. Reads headers only, except for keys on
/// compacted topics and the oldest timestamp under a finite
/// `message.timestamp.before.max.ms`: the header's max timestamp bounds the newest.
fn validated_batches(
    records: Option<Bytes>,
    topic: &Topic,
    now: i64,
) -> Result<Vec<Bytes>, ApiError> {
    let records =
        records.ok_or_else(|| ApiError::new(ErrorCode::CorruptMessage, "null records"))?;
    let max_bytes = topic.config.max_message_bytes();
    let mut batches = Vec::new();
    for batch in RecordBatches::strict(records) {
        let batch = batch.map_err(rejection)?;
        if batch.size_in_bytes() > max_bytes {
            return Err(ApiError::new(
                ErrorCode::MessageTooLarge,
                format!(
                    "record batch of {} bytes exceeds max.message.bytes {max_bytes}",
                    batch.size_in_bytes()
                ),
            ));
        }
        batch.validate().map_err(rejection)?;
        if batch.is_control() {
            return Err(ApiError::new(
                ErrorCode::InvalidRecord,
                "clients may not write control batches",
            ));
        }
        let accepted = topic.config.accepted_timestamps(now);
        if !topic.config.log_append_time() {
            check_timestamp(batch.max_timestamp(), (None, accepted.1))?;
            if accepted.0.is_some() {
                for record in batch.records().map_err(rejection)? {
                    check_timestamp(record.map_err(rejection)?.timestamp, accepted)?;
                }
            }
        }
        if topic.config.compacted() {
            // Compaction keeps the latest record per key, so every record needs a key;
            // this is the only produce check that reads records (and decompresses).
            for record in batch.records().map_err(rejection)? {
                if record.map_err(rejection)?.key.is_none() {
                    return Err(ApiError::new(
                        ErrorCode::InvalidRecord,
                        format!(
                            "compacted topic `{}` needs a key on every record",
                            topic.name
                        ),
                    ));
                }
            }
        }
        batches.push(batch.into_bytes());
    }
    if batches.is_empty() {
        return Err(ApiError::new(
            ErrorCode::CorruptMessage,
            "no record batch in the request",
        ));
    }
    Ok(batches)
}

/// A partition's result, and the offset it must be fsynced to before it is answered.
struct Appended {
    response: PartitionProduceResponse,
    flush_to: Option<(Arc<Partition>, i64)>,
}

fn failed(index: i32, error: ApiError) -> Appended {
    Appended {
        response: PartitionProduceResponse {
            index,
            error_code: error.code.code(),
            base_offset: -1,
            log_append_time_ms: -1,
            log_start_offset: -1,
            error_message: error.message,
            ..Default::default()
        },
        flush_to: None,
    }
}

fn append(topic: &Topic, index: i32, records: Option<Bytes>, acks: i16) -> Appended {
    let Some(partition) = topic.partition(index) else {
        return failed(index, ErrorCode::UnknownTopicOrPartition.into());
    };
    let now = now_ms();
    let batches = match validated_batches(records, topic, now) {
        Ok(batches) => batches,
        Err(error) => return failed(index, error),
    };
    if acks == -1
        && (partition.replica_state().isr.len() as i32) < topic.config.min_insync_replicas()
    {
        return failed(
            index,
            ApiError::new(
                ErrorCode::NotEnoughReplicas,
                format!(
                    "min.insync.replicas is {}",
                    topic.config.min_insync_replicas()
                ),
            ),
        );
    }
    let append_time = topic.config.log_append_time().then_some(now);
    let fsync = topic.config.fsync_before_ack();
    match partition.append(&batches, append_time, now, !fsync) {
        Ok(infos) => {
            let last = infos.last().expect("at least one batch").last_offset;
            Appended {
                response: PartitionProduceResponse {
                    index,
                    base_offset: infos[0].base_offset,
                    log_append_time_ms: append_time.unwrap_or(-1),
                    log_start_offset: partition.log_start_offset(),
                    ..Default::default()
                },
                flush_to: fsync.then(|| (partition.clone(), last + 1)),
            }
        }
        Err(error) => {
            tracing::error!(topic = %topic.name, partition = index, %error, "append failed");
            failed(
                index,
                ApiError::new(error_code_of(&error), error.to_string()),
            )
        }
    }
}

/// Handles a produce request; `None` for acks=0, which gets no response.
pub fn handle(state: &Arc<BrokerState>, request: ProduceRequest) -> Option<Reply> {
    let acks = request.acks;
    let mut responses = Vec::with_capacity(request.topic_data.len());
    let mut flushes = Vec::new();
    for topic_data in request.topic_data {
        let topic = state.topic(&topic_data.name);
        let mut partitions = Vec::with_capacity(topic_data.partition_data.len());
        for data in topic_data.partition_data {
            let appended = match (&topic, acks) {
                (_, acks) if !matches!(acks, -1..=1) => failed(
                    data.index,
                    ApiError::new(ErrorCode::InvalidRequiredAcks, format!("acks={acks}")),
                ),
                (None, _) => failed(data.index, ErrorCode::UnknownTopicOrPartition.into()),
                (Some(topic), _) => append(topic, data.index, data.records, acks),
            };
            if let Some(flush) = appended.flush_to {
                flushes.push((responses.len(), partitions.len(), flush));
            }
            partitions.push(appended.response);
        }
        responses.push(TopicProduceResponse {
            name: topic_data.name,
            partition_responses: partitions,
        });
    }
    let mut response = ProduceResponse {
        responses,
        ..Default::default()
    };
    if acks == 0 {
        // Nobody waits for the answer, but fsync-before-ack topics still get their fsync.
        for (_, _, (partition, offset)) in flushes {
            tokio::spawn(async move { partition.flush_until(offset).await });
        }
        return None;
    }
    if flushes.is_empty() {
        return Some(Reply::now(response));
    }
    Some(Reply::Later(Box::pin(async move {
        for (topic, partition_slot, (partition, offset)) in flushes {
            if let Err(error) = partition.flush_until(offset).await {
                tracing::error!(%error, "fsync failed; the batch is not acknowledged");
                let slot = &mut response.responses[topic].partition_responses[partition_slot];
                slot.error_code = ErrorCode::KafkaStorageError.code();
                slot.error_message = Some(error.to_string());
            }
        }
        response.into()
    })))
}

/// Producer ids handed out by this process, after the clock-derived prefix.
static PRODUCER_ID_COUNTER: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// InitProducerId for idempotent producers (KIP-98), as Kafka's coordinator answers a
/// request without a transactional id: always a new producer id at epoch 0. A current id
/// and epoch (v3+, KIP-360) are checked for form only, since without a transactional id
/// no epoch belongs to anyone: an idempotent producer bumps its epoch itself, and asks
/// for a new id only when it must. Transactional ids are refused until transactions
/// exist.
pub fn init_producer_id(request: InitProducerIdRequest) -> InitProducerIdResponse {
    let refused = |code: ErrorCode| InitProducerIdResponse {
        error_code: code.code(),
        producer_id: NO_PRODUCER_ID,
        producer_epoch: NO_PRODUCER_EPOCH,
        ..Default::default()
    };
    if request.transactional_id.is_some() {
        return refused(ErrorCode::CoordinatorNotAvailable);
    }
    // Kafka's rule: both or neither.
    if (request.producer_id == NO_PRODUCER_ID) != (request.producer_epoch == NO_PRODUCER_EPOCH) {
        return refused(ErrorCode::InvalidRequest);
    }
    // Unique across restarts without stored state: the clock in the high bits, a counter
    // in the low ones.
    let counter = PRODUCER_ID_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let producer_id = (now_ms() << 12) | (counter & 0xfff);
    InitProducerIdResponse {
        producer_id,
        producer_epoch: 0,
        ..Default::default()
    }
}
