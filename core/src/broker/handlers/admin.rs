//! Topic administration: CreateTopics, DeleteTopics, CreatePartitions, DeleteRecords,
//! and DescribeCluster. One broker means a replication factor of 1 and replica
//! assignments that name only this node.

use super::error_parts;
use super::metadata::{authorized_operations, CLUSTER_OPERATIONS};
use crate::broker::partition::error_code_of;
use crate::broker::state::{ApiError, BrokerState};
use crate::error::ErrorCode;
use crate::protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use crate::protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use crate::protocol::messages::{
    create_partitions_response, delete_topics_response, describe_cluster_response,
    CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    DeleteRecordsRequest, DeleteRecordsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeClusterRequest, DescribeClusterResponse,
};
use std::collections::BTreeMap;
use std::sync::Arc;

fn check_replication(state: &BrokerState, factor: i16) -> Result<(), ApiError> {
    if factor == -1 || factor == 1 {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::InvalidReplicationFactor,
        format!(
            "replication factor {factor} is larger than the 1 available broker (node {})",
            state.node_id
        ),
    ))
}

fn check_assignment<'a>(
    state: &BrokerState,
    brokers: impl IntoIterator<Item = &'a Vec<i32>>,
) -> Result<(), ApiError> {
    for replicas in brokers {
        if replicas.as_slice() != [state.node_id] {
            return Err(ApiError::new(
                ErrorCode::InvalidReplicaAssignment,
                format!(
                    "replicas {replicas:?}: the only broker is node {}",
                    state.node_id
                ),
            ));
        }
    }
    Ok(())
}

pub fn create_topics(
    state: &Arc<BrokerState>,
    request: CreateTopicsRequest,
) -> CreateTopicsResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|wanted| {
            let mut result = CreatableTopicResult {
                name: wanted.name.clone(),
                num_partitions: -1,
                replication_factor: -1,
                ..Default::default()
            };
            let assigned = !wanted.assignments.is_empty();
            let partitions = if assigned {
                Some(wanted.assignments.len() as i32)
            } else {
                (wanted.num_partitions != -1).then_some(wanted.num_partitions)
            };
            let overrides: BTreeMap<String, String> = wanted
                .configs
                .into_iter()
                .filter_map(|c| c.value.map(|v| (c.name, v)))
                .collect();
            let created = check_replication(state, wanted.replication_factor)
                .and_then(|()| {
                    check_assignment(state, wanted.assignments.iter().map(|a| &a.broker_ids))
                })
                .and_then(|()| {
                    state.create_topic(&wanted.name, partitions, &overrides, request.validate_only)
                });
            match created {
                Ok(topic) => {
                    result.topic_id = topic.id;
                    result.num_partitions =
                        partitions.unwrap_or_else(|| state.config.num_partitions());
                    result.replication_factor = 1;
                    result.configs = Some(
                        topic
                            .config
                            .entries()
                            .into_iter()
                            .map(|e| CreatableTopicConfigs {
                                name: e.name.to_string(),
                                value: Some(e.value),
                                read_only: false,
                                config_source: e.source as i8,
                                is_sensitive: false,
                            })
                            .collect(),
                    );
                }
                Err(error) => {
                    result.error_code = error.code.code();
                    result.error_message = error.message;
                }
            }
            result
        })
        .collect();
    CreateTopicsResponse {
        topics,
        ..Default::default()
    }
}

pub fn delete_topics(
    state: &Arc<BrokerState>,
    request: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    // v0-5 name topics in `topic_names`; v6 in `topics`, by name or by id.
    let wanted = request
        .topic_names
        .into_iter()
        .map(|name| (Some(name), Default::default()))
        .chain(request.topics.into_iter().map(|t| (t.name, t.topic_id)));
    let responses = wanted
        .map(|(name, topic_id)| {
            let name = name.or_else(|| state.topic_by_id(topic_id).map(|t| t.name.clone()));
            let result = match &name {
                Some(name) => state.delete_topic(name).map(|_| ()),
                None => Err(ErrorCode::UnknownTopicId.into()),
            };
            let (error_code, error_message) = error_parts(result);
            delete_topics_response::DeletableTopicResult {
                name,
                topic_id,
                error_code,
                error_message,
            }
        })
        .collect();
    DeleteTopicsResponse {
        responses,
        ..Default::default()
    }
}

pub fn create_partitions(
    state: &Arc<BrokerState>,
    request: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let results = request
        .topics
        .into_iter()
        .map(|wanted| {
            let assignments = wanted.assignments.iter().flatten().map(|a| &a.broker_ids);
            let result = check_assignment(state, assignments).and_then(|()| {
                state.create_partitions(&wanted.name, wanted.count, request.validate_only)
            });
            let (error_code, error_message) = error_parts(result);
            create_partitions_response::CreatePartitionsTopicResult {
                name: wanted.name,
                error_code,
                error_message,
            }
        })
        .collect();
    CreatePartitionsResponse {
        results,
        ..Default::default()
    }
}

/// DeleteRecords: moves each partition's log start offset up to the given offset (-1
/// means the high watermark). Offsets past the high watermark are OFFSET_OUT_OF_RANGE.
pub fn delete_records(
    state: &Arc<BrokerState>,
    request: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|wanted| {
            let topic = state.topic(&wanted.name);
            let partitions = wanted
                .partitions
                .into_iter()
                .map(|p| {
                    let mut result = DeleteRecordsPartitionResult {
                        partition_index: p.partition_index,
                        low_watermark: -1,
                        error_code: 0,
                    };
                    match topic.as_ref().and_then(|t| t.partition(p.partition_index)) {
                        None => result.error_code = ErrorCode::UnknownTopicOrPartition.code(),
                        Some(partition) => {
                            let committed = partition.high_watermark();
                            let offset = if p.offset == -1 { committed } else { p.offset };
                            if offset < 0 || offset > committed {
                                result.error_code = ErrorCode::OffsetOutOfRange.code();
                            } else {
                                match partition
                                    .log()
                                    .delete_records_before(offset, crate::broker::state::now_ms())
                                {
                                    Ok(start) => result.low_watermark = start,
                                    Err(error) => result.error_code = error_code_of(&error).code(),
                                }
                            }
                        }
                    }
                    result
                })
                .collect();
            DeleteRecordsTopicResult {
                name: wanted.name,
                partitions,
            }
        })
        .collect();
    DeleteRecordsResponse {
        topics,
        ..Default::default()
    }
}

pub fn describe_cluster(
    state: &Arc<BrokerState>,
    request: DescribeClusterRequest,
) -> DescribeClusterResponse {
    DescribeClusterResponse {
        endpoint_type: request.endpoint_type,
        cluster_id: state.cluster_id.clone(),
        controller_id: state.node_id,
        brokers: vec![describe_cluster_response::DescribeClusterBroker {
            broker_id: state.node_id,
            host: state.advertised_host.clone(),
            port: state.advertised_port,
            rack: None,
        }],
        cluster_authorized_operations: if request.include_cluster_authorized_operations {
            authorized_operations(CLUSTER_OPERATIONS)
        } else {
            i32::MIN
        },
        ..Default::default()
    }
}
