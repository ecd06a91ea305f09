//! The consumer-group APIs (classic protocol): FindCoordinator, JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups, ListGroups,
//! DeleteGroups and OffsetDelete. This broker coordinates every group.

use super::metadata::{acl_operation, authorized_operations};
use super::Reply;
use crate::broker::group::store::{self, CommittedOffset};
use crate::broker::group::{Answer, Group, GroupState, JoinRequest};
use crate::broker::partition::Partition;
use crate::broker::state::{now_ms, ApiError, BrokerState};
use crate::error::ErrorCode;
use crate::protocol::codec::Decodable;
use crate::protocol::messages::*;
use bytes::Bytes;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, MutexGuard};
use std::time::Instant;

const KEY_TYPE_GROUP: i8 = 0;
const KEY_TYPE_TRANSACTION: i8 = 1;

fn groups(state: &BrokerState) -> MutexGuard<'_, HashMap<String, Group>> {
    state.groups.lock().unwrap_or_else(|p| p.into_inner())
}

/// Persists a group's membership after a rebalance completed (Stable) or it emptied.
fn persist_group(state: &BrokerState, group: &Group) -> Option<(Arc<Partition>, i64)> {
    if !matches!(group.state, GroupState::Stable | GroupState::Empty) {
        return None;
    }
    let record = (
        store::group_key(&group.id),
        Some(store::group_value(&group.persisted(), now_ms())),
    );
    match state.append_group_records(&group.id, &[record]) {
        Ok(flush) => flush,
        Err(error) => {
            tracing::error!(group = %group.id, ?error, "could not persist group metadata");
            None
        }
    }
}

/// Waits for an fsync, if one is needed, before `answer` is sent.
fn after_flush<T: Into<ResponseKind> + Send + 'static>(
    flush: Option<(Arc<Partition>, i64)>,
    answer: T,
) -> Reply {
    match flush {
        None => Reply::Now(answer.into()),
        Some((partition, offset)) => Reply::Later(Box::pin(async move {
            if let Err(error) = partition.flush_until(offset).await {
                tracing::error!(%error, "fsync of {} failed", crate::broker::group::OFFSETS_TOPIC);
            }
            answer.into()
        })),
    }
}

fn wait<T: Into<ResponseKind> + Send + 'static>(
    answer: Answer<T>,
    on_cancel: impl FnOnce() -> T + Send + 'static,
) -> Reply {
    match answer {
        Answer::Now(response) => Reply::Now(response.into()),
        Answer::Wait(receiver) => Reply::Later(Box::pin(async move {
            let response: T = receiver.await.unwrap_or_else(|_| on_cancel());
            response.into()
        })
            as std::pin::Pin<Box<dyn Future<Output = ResponseKind> + Send>>),
    }
}

pub fn find_coordinator(
    state: &Arc<BrokerState>,
    request: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let answer = |key_type: i8| -> (ErrorCode, Option<String>) {
        match key_type {
            // The first group lookup creates the offsets topic, as in Kafka.
            KEY_TYPE_GROUP => match state.offsets_topic() {
                Ok(_) => (ErrorCode::None, None),
                Err(error) => (ErrorCode::CoordinatorNotAvailable, error.message),
            },
            KEY_TYPE_TRANSACTION => (
                ErrorCode::CoordinatorNotAvailable,
                Some("transactions are not supported yet".into()),
            ),
            other => (
                ErrorCode::InvalidRequest,
                Some(format!("unknown coordinator key type {other}")),
            ),
        }
    };
    let (error, message) = answer(request.key_type);
    if version < 4 {
        return FindCoordinatorResponse {
            error_code: error.code(),
            error_message: message,
            node_id: if error.is_ok() { state.node_id } else { -1 },
            host: if error.is_ok() {
                state.advertised_host.clone()
            } else {
                String::new()
            },
            port: if error.is_ok() {
                state.advertised_port
            } else {
                -1
            },
            ..Default::default()
        };
    }
    FindCoordinatorResponse {
        coordinators: request
            .coordinator_keys
            .into_iter()
            .map(|key| find_coordinator_response::Coordinator {
                key,
                node_id: if error.is_ok() { state.node_id } else { -1 },
                host: if error.is_ok() {
                    state.advertised_host.clone()
                } else {
                    String::new()
                },
                port: if error.is_ok() {
                    state.advertised_port
                } else {
                    -1
                },
                error_code: error.code(),
                error_message: message.clone(),
            })
            .collect(),
        ..Default::default()
    }
}

pub fn join_group(
    state: &Arc<BrokerState>,
    request: JoinGroupRequest,
    version: i16,
    client_id: &str,
    client_host: &str,
) -> Reply {
    if request.group_id.is_empty() {
        return Reply::now(JoinGroupResponse {
            error_code: ErrorCode::InvalidGroupId.code(),
            generation_id: -1,
            ..Default::default()
        });
    }
    let member_id = request.member_id.clone();
    let join = JoinRequest {
        member_id: request.member_id,
        instance_id: request.group_instance_id,
        client_id: client_id.to_string(),
        client_host: client_host.to_string(),
        session_timeout_ms: request.session_timeout_ms,
        // v0 has no rebalance timeout: it is the session timeout.
        rebalance_timeout_ms: if version == 0 {
            request.session_timeout_ms
        } else {
            request.rebalance_timeout_ms
        },
        protocol_type: request.protocol_type,
        protocols: request
            .protocols
            .into_iter()
            .map(|p| (p.name, p.metadata))
            .collect(),
        requires_known_member_id: version >= 4,
        supports_skip_assignment: version >= 9,
    };
    let mut all = groups(state);
    let group = all
        .entry(request.group_id.clone())
        .or_insert_with(|| Group::new(&request.group_id));
    let (answer, new_generation) = group.join(join, Instant::now(), &state.group_config);
    if new_generation {
        persist_group(state, group);
    }
    wait(answer, move || JoinGroupResponse {
        error_code: ErrorCode::RebalanceInProgress.code(),
        generation_id: -1,
        member_id,
        ..Default::default()
    })
}

pub fn sync_group(state: &Arc<BrokerState>, request: SyncGroupRequest) -> Reply {
    let mut all = groups(state);
    let Some(group) = all.get_mut(&request.group_id) else {
        return Reply::now(SyncGroupResponse {
            error_code: ErrorCode::UnknownMemberId.code(),
            ..Default::default()
        });
    };
    // v5+: the client states the protocol it was given; it must be the group's.
    let mismatch = request
        .protocol_type
        .as_ref()
        .is_some_and(|t| Some(t) != group.protocol_type.as_ref())
        || request
            .protocol_name
            .as_ref()
            .is_some_and(|n| Some(n) != group.protocol.as_ref());
    if mismatch && group.state != GroupState::PreparingRebalance {
        return Reply::now(SyncGroupResponse {
            error_code: ErrorCode::InconsistentGroupProtocol.code(),
            ..Default::default()
        });
    }
    let assignments = request
        .assignments
        .into_iter()
        .map(|a| (a.member_id, a.assignment))
        .collect();
    let (answer, stable) = group.sync(
        &request.member_id,
        request.group_instance_id.as_deref(),
        request.generation_id,
        assignments,
        Instant::now(),
    );
    let flush = if stable {
        persist_group(state, group)
    } else {
        None
    };
    match (answer, flush) {
        (Answer::Wait(receiver), Some((partition, offset))) => Reply::Later(Box::pin(async move {
            let _ = partition.flush_until(offset).await;
            let response: SyncGroupResponse = receiver.await.unwrap_or(SyncGroupResponse {
                error_code: ErrorCode::RebalanceInProgress.code(),
                ..Default::default()
            });
            response.into()
        })),
        (answer, _) => wait(answer, || SyncGroupResponse {
            error_code: ErrorCode::RebalanceInProgress.code(),
            ..Default::default()
        }),
    }
}

pub fn heartbeat(state: &Arc<BrokerState>, request: HeartbeatRequest) -> HeartbeatResponse {
    let mut all = groups(state);
    let error = match all.get_mut(&request.group_id) {
        None => ErrorCode::UnknownMemberId,
        Some(group) => group.heartbeat(
            &request.member_id,
            request.group_instance_id.as_deref(),
            request.generation_id,
            Instant::now(),
        ),
    };
    HeartbeatResponse {
        error_code: error.code(),
        ..Default::default()
    }
}

pub fn leave_group(
    state: &Arc<BrokerState>,
    request: LeaveGroupRequest,
    version: i16,
) -> LeaveGroupResponse {
    // v0-2 name one member; v3+ a batch, static members by instance id (KIP-345).
    let leaving: Vec<(String, Option<String>)> = if version < 3 {
        vec![(request.member_id, None)]
    } else {
        request
            .members
            .into_iter()
            .map(|m| (m.member_id, m.group_instance_id))
            .collect()
    };
    let mut all = groups(state);
    let Some(group) = all.get_mut(&request.group_id) else {
        return LeaveGroupResponse {
            error_code: ErrorCode::UnknownMemberId.code(),
            ..Default::default()
        };
    };
    let now = Instant::now();
    let results: Vec<(String, Option<String>, ErrorCode)> = leaving
        .into_iter()
        .map(|(member_id, instance_id)| {
            let error = group.leave(&member_id, instance_id.as_deref(), now, &state.group_config);
            (member_id, instance_id, error)
        })
        .collect();
    if group.tick(now, &state.group_config) {
        persist_group(state, group);
    }
    if version < 3 {
        return LeaveGroupResponse {
            error_code: results[0].2.code(),
            ..Default::default()
        };
    }
    LeaveGroupResponse {
        members: results
            .into_iter()
            .map(
                |(member_id, group_instance_id, error)| leave_group_response::MemberResponse {
                    member_id,
                    group_instance_id,
                    error_code: error.code(),
                },
            )
            .collect(),
        ..Default::default()
    }
}

/// Whether a commit from this member at this generation may be stored (Kafka's rules for
/// the classic protocol; `generation < 0` with no member id is a "simple" commit by a
/// client that manages its own partitions, allowed while the group has no members).
fn check_commit(
    group: &Group,
    member_id: &str,
    instance_id: Option<&str>,
    generation: i32,
) -> Result<(), ErrorCode> {
    match group.state {
        GroupState::Dead => Err(ErrorCode::CoordinatorNotAvailable),
        GroupState::Empty if generation < 0 && member_id.is_empty() => Ok(()),
        GroupState::CompletingRebalance => Err(ErrorCode::RebalanceInProgress),
        _ => {
            if let Some(instance) = instance_id {
                if group
                    .members
                    .values()
                    .any(|m| m.instance_id.as_deref() == Some(instance) && m.id != member_id)
                {
                    return Err(ErrorCode::FencedInstanceId);
                }
            }
            if !group.members.contains_key(member_id) {
                Err(ErrorCode::UnknownMemberId)
            } else if generation != group.generation {
                Err(ErrorCode::IllegalGeneration)
            } else {
                Ok(())
            }
        }
    }
}

pub fn offset_commit(state: &Arc<BrokerState>, request: OffsetCommitRequest) -> Reply {
    let mut all = groups(state);
    let group_id = request.group_id.clone();
    let allowed = if group_id.is_empty() {
        Err(ErrorCode::InvalidGroupId)
    } else {
        let group = all
            .entry(group_id.clone())
            .or_insert_with(|| Group::new(&group_id));
        check_commit(
            group,
            &request.member_id,
            request.group_instance_id.as_deref(),
            request.generation_id_or_member_epoch,
        )
    };
    let now = now_ms();
    let mut records = Vec::new();
    let mut accepted = Vec::new();
    let topics: Vec<offset_commit_response::OffsetCommitResponseTopic> = request
        .topics
        .into_iter()
        .map(|topic| {
            let known = state.topic(&topic.name);
            let partitions = topic
                .partitions
                .into_iter()
                .map(|p| {
                    let metadata = p.committed_metadata.unwrap_or_default();
                    let error = match &allowed {
                        Err(error) => *error,
                        Ok(())
                            if known
                                .as_ref()
                                .and_then(|t| t.partition(p.partition_index))
                                .is_none() =>
                        {
                            ErrorCode::UnknownTopicOrPartition
                        }
                        Ok(()) if metadata.len() > state.group_config.offset_metadata_max_bytes => {
                            ErrorCode::OffsetMetadataTooLarge
                        }
                        Ok(()) => {
                            let offset = CommittedOffset {
                                offset: p.committed_offset,
                                leader_epoch: p.committed_leader_epoch,
                                metadata,
                                commit_timestamp: now,
                            };
                            records.push((
                                store::offset_key(&group_id, &topic.name, p.partition_index),
                                Some(store::offset_value(&offset)),
                            ));
                            accepted.push(((topic.name.clone(), p.partition_index), offset));
                            ErrorCode::None
                        }
                    };
                    offset_commit_response::OffsetCommitResponsePartition {
                        partition_index: p.partition_index,
                        error_code: error.code(),
                    }
                })
                .collect();
            offset_commit_response::OffsetCommitResponseTopic {
                name: topic.name,
                partitions,
            }
        })
        .collect();
    let mut response = OffsetCommitResponse {
        topics,
        ..Default::default()
    };
    if records.is_empty() {
        return Reply::now(response);
    }
    match state.append_group_records(&group_id, &records) {
        Ok(flush) => {
            let group = all.get_mut(&group_id).expect("created above");
            // A commit from a member counts as a heartbeat.
            if group.members.contains_key(&request.member_id) {
                group.heartbeat(
                    &request.member_id,
                    None,
                    request.generation_id_or_member_epoch,
                    Instant::now(),
                );
            }
            group.offsets.extend(accepted);
            after_flush(flush, response)
        }
        Err(ApiError { code, .. }) => {
            for partition in response
                .topics
                .iter_mut()
                .flat_map(|t| t.partitions.iter_mut())
            {
                if partition.error_code == 0 {
                    partition.error_code = code.code();
                }
            }
            Reply::now(response)
        }
    }
}

/// The committed offsets of `group` for `topics` (all committed ones when `None`), as
/// (topic, [(partition, offset, leader epoch, metadata)]).
#[allow(clippy::type_complexity)]
fn committed(
    group: Option<&Group>,
    topics: Option<Vec<(String, Vec<i32>)>>,
) -> Vec<(String, Vec<(i32, i64, i32, String)>)> {
    let lookup = |topic: &str, partition: i32| {
        group
            .and_then(|g| g.offsets.get(&(topic.to_string(), partition)))
            .map(|o| (partition, o.offset, o.leader_epoch, o.metadata.clone()))
            .unwrap_or((partition, -1, -1, String::new()))
    };
    match topics {
        Some(topics) => topics
            .into_iter()
            .map(|(topic, partitions)| {
                let found = partitions.into_iter().map(|p| lookup(&topic, p)).collect();
                (topic, found)
            })
            .collect(),
        None => {
            let mut by_topic: std::collections::BTreeMap<String, Vec<(i32, i64, i32, String)>> =
                Default::default();
            for ((topic, partition), o) in group.map(|g| g.offsets.iter()).into_iter().flatten() {
                by_topic.entry(topic.clone()).or_default().push((
                    *partition,
                    o.offset,
                    o.leader_epoch,
                    o.metadata.clone(),
                ));
            }
            by_topic.into_iter().collect()
        }
    }
}

pub fn offset_fetch(
    state: &Arc<BrokerState>,
    request: OffsetFetchRequest,
    version: i16,
) -> OffsetFetchResponse {
    let all = groups(state);
    if version < 8 {
        let topics = request.topics.map(|ts| {
            ts.into_iter()
                .map(|t| (t.name, t.partition_indexes))
                .collect()
        });
        let found = committed(all.get(&request.group_id), topics);
        return OffsetFetchResponse {
            topics: found
                .into_iter()
                .map(
                    |(name, partitions)| offset_fetch_response::OffsetFetchResponseTopic {
                        name,
                        partitions: partitions
                            .into_iter()
                            .map(
                                |(
                                    partition_index,
                                    committed_offset,
                                    committed_leader_epoch,
                                    metadata,
                                )| {
                                    offset_fetch_response::OffsetFetchResponsePartition {
                                        partition_index,
                                        committed_offset,
                                        committed_leader_epoch,
                                        metadata: Some(metadata),
                                        error_code: 0,
                                    }
                                },
                            )
                            .collect(),
                    },
                )
                .collect(),
            ..Default::default()
        };
    }
    OffsetFetchResponse {
        groups: request
            .groups
            .into_iter()
            .map(|wanted| {
                let topics = wanted.topics.map(|ts| {
                    ts.into_iter()
                        .map(|t| (t.name, t.partition_indexes))
                        .collect()
                });
                let found = committed(all.get(&wanted.group_id), topics);
                offset_fetch_response::OffsetFetchResponseGroup {
                    group_id: wanted.group_id,
                    topics: found
                        .into_iter()
                        .map(|(name, partitions)| {
                            offset_fetch_response::OffsetFetchResponseTopics {
                                name,
                                partitions: partitions
                                    .into_iter()
                                    .map(
                                        |(
                                            partition_index,
                                            committed_offset,
                                            committed_leader_epoch,
                                            metadata,
                                        )| {
                                            offset_fetch_response::OffsetFetchResponsePartitions {
                                                partition_index,
                                                committed_offset,
                                                committed_leader_epoch,
                                                metadata: Some(metadata),
                                                error_code: 0,
                                            }
                                        },
                                    )
                                    .collect(),
                            }
                        })
                        .collect(),
                    error_code: 0,
                }
            })
            .collect(),
        ..Default::default()
    }
}

pub fn describe_groups(
    state: &Arc<BrokerState>,
    request: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let all = groups(state);
    let operations = if request.include_authorized_operations {
        authorized_operations(&[
            acl_operation::READ,
            acl_operation::DESCRIBE,
            acl_operation::DELETE,
        ])
    } else {
        i32::MIN
    };
    DescribeGroupsResponse {
        groups: request
            .groups
            .into_iter()
            .map(|group_id| match all.get(&group_id) {
                None => describe_groups_response::DescribedGroup {
                    group_id,
                    group_state: GroupState::Dead.name().into(),
                    authorized_operations: operations,
                    ..Default::default()
                },
                Some(group) => {
                    let protocol = group.protocol.clone().unwrap_or_default();
                    let stable = group.state == GroupState::Stable;
                    describe_groups_response::DescribedGroup {
                        error_code: 0,
                        group_id,
                        group_state: group.state.name().into(),
                        protocol_type: group.protocol_type.clone().unwrap_or_default(),
                        protocol_data: if stable {
                            protocol.clone()
                        } else {
                            String::new()
                        },
                        members: group
                            .members
                            .values()
                            .map(|m| describe_groups_response::DescribedGroupMember {
                                member_id: m.id.clone(),
                                group_instance_id: m.instance_id.clone(),
                                client_id: m.client_id.clone(),
                                client_host: m.client_host.clone(),
                                member_metadata: if stable {
                                    m.metadata(&protocol)
                                } else {
                                    Bytes::new()
                                },
                                member_assignment: if stable {
                                    m.assignment.clone()
                                } else {
                                    Bytes::new()
                                },
                            })
                            .collect(),
                        authorized_operations: operations,
                    }
                }
            })
            .collect(),
        ..Default::default()
    }
}

pub fn list_groups(state: &Arc<BrokerState>, request: ListGroupsRequest) -> ListGroupsResponse {
    let all = groups(state);
    let wanted_state = |group: &Group| {
        request.states_filter.is_empty()
            || request
                .states_filter
                .iter()
                .any(|s| s.eq_ignore_ascii_case(group.state.name()))
    };
    let wanted_type = request.types_filter.is_empty()
        || request
            .types_filter
            .iter()
            .any(|t| t.eq_ignore_ascii_case("classic"));
    let mut listed: Vec<list_groups_response::ListedGroup> = all
        .values()
        .filter(|g| g.state != GroupState::Dead && wanted_state(g) && wanted_type)
        .map(|g| list_groups_response::ListedGroup {
            group_id: g.id.clone(),
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            group_state: g.state.name().into(),
            group_type: "classic".into(),
        })
        .collect();
    listed.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    ListGroupsResponse {
        groups: listed,
        ..Default::default()
    }
}

/// Tombstones for a group's metadata and the given offsets.
fn tombstones<'a>(
    group_id: &str,
    offsets: impl Iterator<Item = &'a (String, i32)>,
    with_group: bool,
) -> Vec<(Bytes, Option<Bytes>)> {
    let mut records: Vec<(Bytes, Option<Bytes>)> = offsets
        .map(|(topic, partition)| (store::offset_key(group_id, topic, *partition), None))
        .collect();
    if with_group {
        records.push((store::group_key(group_id), None));
    }
    records
}

pub fn delete_groups(
    state: &Arc<BrokerState>,
    request: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    let mut all = groups(state);
    DeleteGroupsResponse {
        results: request
            .groups_names
            .into_iter()
            .map(|group_id| {
                let error = match all.get(&group_id) {
                    None => ErrorCode::GroupIdNotFound,
                    Some(group) if !group.members.is_empty() => ErrorCode::NonEmptyGroup,
                    Some(group) => {
                        let records = tombstones(&group_id, group.offsets.keys(), true);
                        match state.append_group_records(&group_id, &records) {
                            Ok(_) => {
                                all.remove(&group_id);
                                tracing::info!(group = %group_id, "deleted group");
                                ErrorCode::None
                            }
                            Err(error) => error.code,
                        }
                    }
                };
                delete_groups_response::DeletableGroupResult {
                    group_id,
                    error_code: error.code(),
                }
            })
            .collect(),
        ..Default::default()
    }
}

/// The topics a consumer-protocol member subscribes to, from its JoinGroup metadata.
fn subscribed_topics(group: &Group) -> Vec<String> {
    let protocol = group.protocol.clone().unwrap_or_default();
    group
        .members
        .values()
        .filter_map(|m| {
            let mut metadata = m.metadata(&protocol);
            if metadata.len() < 2 {
                return None;
            }
            let version = i16::from_be_bytes([metadata[0], metadata[1]]);
            let _ = bytes::Buf::get_i16(&mut metadata);
            ConsumerProtocolSubscription::decode(&mut metadata, version.clamp(0, 3)).ok()
        })
        .flat_map(|s| s.topics)
        .collect()
}

pub fn offset_delete(
    state: &Arc<BrokerState>,
    request: OffsetDeleteRequest,
) -> OffsetDeleteResponse {
    let mut all = groups(state);
    let Some(group) = all.get_mut(&request.group_id) else {
        return OffsetDeleteResponse {
            error_code: ErrorCode::GroupIdNotFound.code(),
            ..Default::default()
        };
    };
    let subscribed = if group.members.is_empty() {
        Vec::new()
    } else {
        subscribed_topics(group)
    };
    let mut deleted = Vec::new();
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let busy = subscribed.contains(&topic.name);
            let partitions = topic
                .partitions
                .into_iter()
                .map(|p| {
                    let error = if busy {
                        ErrorCode::GroupSubscribedToTopic
                    } else {
                        deleted.push((topic.name.clone(), p.partition_index));
                        ErrorCode::None
                    };
                    offset_delete_response::OffsetDeleteResponsePartition {
                        partition_index: p.partition_index,
                        error_code: error.code(),
                    }
                })
                .collect();
            offset_delete_response::OffsetDeleteResponseTopic {
                name: topic.name,
                partitions,
            }
        })
        .collect();
    let records = tombstones(&request.group_id, deleted.iter(), false);
    if !records.is_empty() {
        if let Err(error) = state.append_group_records(&request.group_id, &records) {
            return OffsetDeleteResponse {
                error_code: error.code.code(),
                ..Default::default()
            };
        }
        for key in &deleted {
            group.offsets.remove(key);
        }
    }
    OffsetDeleteResponse {
        topics,
        ..Default::default()
    }
}

/// Runs the coordinator's timers: session expiry, rebalance timeouts, the initial delay.
pub fn tick(state: &BrokerState) {
    let now = Instant::now();
    let mut all = groups(state);
    for group in all.values_mut() {
        if group.tick(now, &state.group_config) {
            persist_group(state, group);
        }
    }
}

/// Removes the offsets of groups that have been empty longer than
/// `offsets.retention.minutes` (KIP-211), and then such groups themselves.
pub fn expire_offsets(state: &BrokerState) {
    let now = now_ms();
    let retention = state.group_config.offsets_retention.as_millis() as i64;
    let mut all = groups(state);
    let mut emptied = Vec::new();
    for group in all.values_mut().filter(|g| g.state == GroupState::Empty) {
        let expired: Vec<(String, i32)> = group
            .offsets
            .iter()
            .filter(|(_, o)| now - o.commit_timestamp.max(group.empty_since_ms) > retention)
            .map(|(key, _)| key.clone())
            .collect();
        if expired.is_empty() {
            continue;
        }
        let drop_group = expired.len() == group.offsets.len();
        let records = tombstones(&group.id, expired.iter(), drop_group);
        if state.append_group_records(&group.id, &records).is_ok() {
            for key in &expired {
                group.offsets.remove(key);
            }
            tracing::info!(group = %group.id, offsets = expired.len(), "expired committed offsets");
            if drop_group {
                emptied.push(group.id.clone());
            }
        }
    }
    for id in emptied {
        all.remove(&id);
    }
}
