//! ListOffsets: offsets by timestamp, with Kafka's special timestamps -1 (latest: the
//! high watermark), -2 (earliest: the log start offset), -3 (the record with the largest
//! timestamp, KIP-734), -4 (earliest local, the log start offset here: no tiered
//! storage) and -5 (earliest pending upload: none without tiered storage).

use super::fetch::check_leader_epoch;
use crate::broker::partition::{error_code_of, Partition};
use crate::broker::state::BrokerState;
use crate::error::ErrorCode;
use crate::protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use crate::protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use std::sync::Arc;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;
const EARLIEST_PENDING_UPLOAD: i64 = -5;

/// The (offset, timestamp) answering `timestamp` on `partition`; (-1, -1) when no record
/// qualifies.
fn lookup(partition: &Partition, timestamp: i64) -> Result<(i64, i64), ErrorCode> {
    let committed = partition.high_watermark();
    let visible = |found: Option<(i64, i64)>| {
        found
            .filter(|(offset, _)| *offset < committed)
            .unwrap_or((-1, -1))
    };
    match timestamp {
        LATEST => Ok((committed, -1)),
        EARLIEST | EARLIEST_LOCAL => Ok((partition.log_start_offset(), -1)),
        EARLIEST_PENDING_UPLOAD => Ok((-1, -1)),
        MAX_TIMESTAMP => partition
            .log()
            .max_timestamp()
            .map(visible)
            .map_err(|e| error_code_of(&e)),
        t if t >= 0 => partition
            .log()
            .offset_for_timestamp(t)
            .map(visible)
            .map_err(|e| error_code_of(&e)),
        _ => Err(ErrorCode::InvalidRequest),
    }
}

pub fn handle(
    state: &Arc<BrokerState>,
    request: ListOffsetsRequest,
    version: i16,
) -> ListOffsetsResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|wanted| {
            let topic = state.topic(&wanted.name);
            let partitions = wanted
                .partitions
                .into_iter()
                .map(|p| {
                    let mut response = ListOffsetsPartitionResponse {
                        partition_index: p.partition_index,
                        timestamp: -1,
                        offset: -1,
                        ..Default::default()
                    };
                    let result = match topic.as_ref().and_then(|t| t.partition(p.partition_index)) {
                        None => Err(ErrorCode::UnknownTopicOrPartition),
                        Some(partition) => {
                            check_leader_epoch(p.current_leader_epoch, partition.leader_epoch())
                                .and_then(|()| lookup(partition, p.timestamp))
                                .map(|found| (found, partition.leader_epoch()))
                        }
                    };
                    match result {
                        Ok(((offset, timestamp), epoch)) => {
                            response.offset = offset;
                            response.timestamp = timestamp;
                            // The leader epoch is in the response from v4 on (KIP-320).
                            if version >= 4 {
                                response.leader_epoch = epoch;
                            }
                        }
                        Err(code) => response.error_code = code.code(),
                    }
                    response
                })
                .collect();
            ListOffsetsTopicResponse {
                name: wanted.name,
                partitions,
            }
        })
        .collect();
    ListOffsetsResponse {
        topics,
        ..Default::default()
    }
}
