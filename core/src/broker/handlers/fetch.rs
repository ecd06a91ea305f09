//! Fetch: stored batches served as they are, up to the high watermark, with long polling
//! (`max_wait_ms` / `min_bytes`), the request's `max_bytes` and per-partition
//! `partition_max_bytes`, and KIP-74's rule that the first non-empty partition returns at
//! least one whole batch. Topics are named (v4-12) or identified by topic id (v13+).
//! Incremental fetch sessions (KIP-227) are not offered: every response has session id
//! 0, which tells clients to keep sending full requests.

use super::Reply;
use crate::broker::partition::error_code_of;
use crate::broker::state::{BrokerState, Topic};
use crate::error::ErrorCode;
use crate::protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use crate::protocol::messages::{FetchRequest, FetchResponse};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

/// Checks a client's view of the leader epoch against ours (KIP-320): -1 skips the check.
pub fn check_leader_epoch(requested: i32, current: i32) -> Result<(), ErrorCode> {
    match requested {
        -1 => Ok(()),
        r if r < current => Err(ErrorCode::FencedLeaderEpoch),
        r if r > current => Err(ErrorCode::UnknownLeaderEpoch),
        _ => Ok(()),
    }
}

/// Reads every requested partition once. Returns the response and the bytes of records in it.
fn read_once(state: &BrokerState, request: &FetchRequest, version: i16) -> (FetchResponse, usize) {
    let by_id = version >= 13;
    let mut remaining = (request.max_bytes.max(0) as usize).min(state.config.fetch_max_bytes());
    let mut total = 0usize;
    let mut responses = Vec::with_capacity(request.topics.len());
    for wanted in &request.topics {
        let topic: Option<Arc<Topic>> = if by_id {
            state.topic_by_id(wanted.topic_id)
        } else {
            state.topic(&wanted.topic)
        };
        let missing = if by_id {
            ErrorCode::UnknownTopicId
        } else {
            ErrorCode::UnknownTopicOrPartition
        };
        let mut partitions = Vec::with_capacity(wanted.partitions.len());
        for fetch in &wanted.partitions {
            let mut data = PartitionData {
                partition_index: fetch.partition,
                high_watermark: -1,
                last_stable_offset: -1,
                log_start_offset: -1,
                records: Some(Bytes::new()),
                ..Default::default()
            };
            let Some(partition) = topic.as_ref().and_then(|t| t.partition(fetch.partition)) else {
                data.error_code = missing.code();
                partitions.push(data);
                continue;
            };
            if let Err(code) =
                check_leader_epoch(fetch.current_leader_epoch, partition.leader_epoch())
            {
                data.error_code = code.code();
                partitions.push(data);
                continue;
            }
            let limit = (fetch.partition_max_bytes.max(0) as usize).min(remaining);
            match partition.read(fetch.fetch_offset, limit, total == 0) {
                Ok(read) => {
                    total += read.records.len();
                    remaining = remaining.saturating_sub(read.records.len());
                    data.records = Some(read.records);
                    data.log_start_offset = read.log_start_offset;
                }
                Err(error) => {
                    data.error_code = error_code_of(&error).code();
                    data.log_start_offset = partition.log_start_offset();
                }
            }
            data.high_watermark = partition.high_watermark();
            data.last_stable_offset = data.high_watermark;
            partitions.push(data);
        }
        responses.push(FetchableTopicResponse {
            topic: wanted.topic.clone(),
            topic_id: wanted.topic_id,
            partitions,
        });
    }
    (
        FetchResponse {
            responses,
            ..Default::default()
        },
        total,
    )
}

fn has_error(response: &FetchResponse) -> bool {
    response
        .responses
        .iter()
        .flat_map(|t| &t.partitions)
        .any(|p| p.error_code != 0)
}

pub fn handle(state: &Arc<BrokerState>, request: FetchRequest, version: i16) -> Reply {
    if request.session_id != 0 {
        return Reply::now(FetchResponse {
            error_code: ErrorCode::FetchSessionIdNotFound.code(),
            ..Default::default()
        });
    }
    // Subscribe before the first read so no append between read and wait is missed.
    let mut progress = state.progress.subscribe();
    let (response, bytes) = read_once(state, &request, version);
    let min_bytes = request.min_bytes.max(0) as usize;
    if bytes >= min_bytes.max(1) || request.max_wait_ms <= 0 || has_error(&response) {
        return Reply::now(response);
    }
    let state = state.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(request.max_wait_ms as u64);
    Reply::Later(Box::pin(async move {
        loop {
            let woken = tokio::time::timeout_at(deadline, progress.changed()).await;
            progress.borrow_and_update();
            let (response, bytes) = read_once(&state, &request, version);
            // Answer when enough arrived, on an error, at the deadline, or at shutdown.
            if !matches!(woken, Ok(Ok(()))) || bytes >= min_bytes.max(1) || has_error(&response) {
                return response.into();
            }
        }
    }))
}
