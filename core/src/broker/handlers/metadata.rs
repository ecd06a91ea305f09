//! Metadata: this broker is the controller and the leader of every partition.

use crate::broker::state::{ApiError, BrokerState, Topic};
use crate::error::ErrorCode;
use crate::protocol::codec::Uuid;
use crate::protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use crate::protocol::messages::{MetadataRequest, MetadataResponse};
use std::sync::Arc;

/// Kafka's ACL operation codes (AclOperation), for authorized-operation bit sets.
pub mod acl_operation {
    pub const READ: i32 = 3;
    pub const WRITE: i32 = 4;
    pub const CREATE: i32 = 5;
    pub const DELETE: i32 = 6;
    pub const ALTER: i32 = 7;
    pub const DESCRIBE: i32 = 8;
    pub const CLUSTER_ACTION: i32 = 9;
    pub const DESCRIBE_CONFIGS: i32 = 10;
    pub const ALTER_CONFIGS: i32 = 11;
    pub const IDEMPOTENT_WRITE: i32 = 12;
}

/// The bit set of operations a client may perform (KIP-430). There is no authorizer
/// yet, so every operation that applies to the resource is allowed.
pub fn authorized_operations(operations: &[i32]) -> i32 {
    operations.iter().fold(0, |bits, op| bits | (1 << op))
}

pub const TOPIC_OPERATIONS: &[i32] = {
    use acl_operation::*;
    &[
        READ,
        WRITE,
        CREATE,
        DELETE,
        ALTER,
        DESCRIBE,
        DESCRIBE_CONFIGS,
        ALTER_CONFIGS,
    ]
};

pub const CLUSTER_OPERATIONS: &[i32] = {
    use acl_operation::*;
    &[
        CREATE,
        ALTER,
        DESCRIBE,
        CLUSTER_ACTION,
        DESCRIBE_CONFIGS,
        ALTER_CONFIGS,
        IDEMPOTENT_WRITE,
    ]
};

/// "Not requested", as Kafka sends it.
const OPERATIONS_NOT_REQUESTED: i32 = i32::MIN;

fn describe_topic(topic: &Topic, include_operations: bool) -> MetadataResponseTopic {
    MetadataResponseTopic {
        error_code: ErrorCode::None.code(),
        name: Some(topic.name.clone()),
        topic_id: topic.id,
        is_internal: topic.name.starts_with("__"),
        partitions: topic
            .partitions
            .iter()
            .map(|partition| {
                let replica = partition.replica_state();
                MetadataResponsePartition {
                    error_code: ErrorCode::None.code(),
                    partition_index: partition.index,
                    leader_id: replica.leader,
                    leader_epoch: replica.leader_epoch,
                    replica_nodes: replica.replicas,
                    isr_nodes: replica.isr,
                    offline_replicas: Vec::new(),
                }
            })
            .collect(),
        topic_authorized_operations: if include_operations {
            authorized_operations(TOPIC_OPERATIONS)
        } else {
            OPERATIONS_NOT_REQUESTED
        },
    }
}

fn topic_error(name: Option<String>, topic_id: Uuid, error: ApiError) -> MetadataResponseTopic {
    MetadataResponseTopic {
        error_code: error.code.code(),
        name,
        topic_id,
        topic_authorized_operations: OPERATIONS_NOT_REQUESTED,
        ..Default::default()
    }
}

pub fn handle(
    state: &Arc<BrokerState>,
    request: MetadataRequest,
    version: i16,
) -> MetadataResponse {
    let include_operations = request.include_topic_authorized_operations;
    // v0: an empty list means every topic; v1+: null means every topic.
    let requested = match request.topics {
        Some(list) if !(version == 0 && list.is_empty()) => Some(list),
        _ => None,
    };
    let allow_auto_create = version < 4 || request.allow_auto_topic_creation;
    let topics = match requested {
        None => state
            .topics()
            .iter()
            .map(|topic| describe_topic(topic, include_operations))
            .collect(),
        Some(list) => list
            .into_iter()
            .map(|wanted| match wanted.name {
                Some(name) => match state.get_or_create(&name, allow_auto_create) {
                    Ok(topic) => describe_topic(&topic, include_operations),
                    Err(error) => topic_error(Some(name), Uuid::ZERO, error),
                },
                None => match state.topic_by_id(wanted.topic_id) {
                    Some(topic) => describe_topic(&topic, include_operations),
                    None => topic_error(None, wanted.topic_id, ErrorCode::UnknownTopicId.into()),
                },
            })
            .collect(),
    };
    MetadataResponse {
        brokers: vec![MetadataResponseBroker {
            node_id: state.node_id,
            host: state.advertised_host.clone(),
            port: state.advertised_port,
            rack: None,
        }],
        cluster_id: Some(state.cluster_id.clone()),
        controller_id: state.node_id,
        topics,
        cluster_authorized_operations: if request.include_cluster_authorized_operations {
            authorized_operations(CLUSTER_OPERATIONS)
        } else {
            OPERATIONS_NOT_REQUESTED
        },
        ..Default::default()
    }
}
