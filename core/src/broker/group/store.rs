//! The records the group coordinator keeps in `__consumer_offsets`, in Kafka's format:
//! a key of `int16 version` + `OffsetCommitKey` (versions 0-1) or `GroupMetadataKey`
//! (version 2), and a value of `int16 version` + `OffsetCommitValue` /
//! `GroupMetadataValue`; a null value (tombstone) deletes the key when the topic is
//! compacted. Records with other key versions (the KIP-848 consumer-group records) are
//! skipped on load.

use crate::protocol::codec::{Decodable, Encodable};
use crate::protocol::messages::group_metadata_value::MemberMetadata;
use crate::protocol::messages::{
    GroupMetadataKey, GroupMetadataValue, OffsetCommitKey, OffsetCommitValue,
};
use bytes::{Buf, BufMut, Bytes, BytesMut};

const OFFSET_COMMIT_KEY_VERSION: i16 = 1;
const GROUP_METADATA_KEY_VERSION: i16 = 2;
/// Version 3 carries the leader epoch and is what Kafka 2.1+ writes.
const OFFSET_COMMIT_VALUE_VERSION: i16 = 3;
/// Version 3 carries group instance ids (KIP-345).
const GROUP_METADATA_VALUE_VERSION: i16 = 3;

/// A committed offset as the coordinator keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
}

/// A member of a group as persisted at the end of a rebalance.
#[derive(Debug, Clone, PartialEq)]
pub struct PersistedMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub subscription: Bytes,
    pub assignment: Bytes,
}

/// A group's state as persisted at the end of a rebalance (or when it becomes empty).
#[derive(Debug, Clone, PartialEq)]
pub struct PersistedGroup {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub members: Vec<PersistedMember>,
}

/// One decoded `__consumer_offsets` record.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredRecord {
    Offset {
        group: String,
        topic: String,
        partition: i32,
        value: Option<CommittedOffset>,
    },
    Group {
        group: String,
        value: Option<PersistedGroup>,
    },
}

fn versioned(version: i16, body: &impl Encodable) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    body.encode(&mut buf, version)
        .expect("coordinator records encode at their version");
    buf.freeze()
}

pub fn offset_key(group: &str, topic: &str, partition: i32) -> Bytes {
    versioned(
        OFFSET_COMMIT_KEY_VERSION,
        &OffsetCommitKey {
            group: group.into(),
            topic: topic.into(),
            partition,
        },
    )
}

pub fn offset_value(offset: &CommittedOffset) -> Bytes {
    versioned(
        OFFSET_COMMIT_VALUE_VERSION,
        &OffsetCommitValue {
            offset: offset.offset,
            leader_epoch: offset.leader_epoch,
            metadata: offset.metadata.clone(),
            commit_timestamp: offset.commit_timestamp,
            expire_timestamp: -1,
        },
    )
}

pub fn group_key(group: &str) -> Bytes {
    versioned(
        GROUP_METADATA_KEY_VERSION,
        &GroupMetadataKey {
            group: group.into(),
        },
    )
}

pub fn group_value(group: &PersistedGroup, now_ms: i64) -> Bytes {
    versioned(
        GROUP_METADATA_VALUE_VERSION,
        &GroupMetadataValue {
            protocol_type: group.protocol_type.clone(),
            generation: group.generation,
            protocol: group.protocol.clone(),
            leader: group.leader.clone(),
            current_state_timestamp: now_ms,
            members: group
                .members
                .iter()
                .map(|m| MemberMetadata {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout: m.rebalance_timeout_ms,
                    session_timeout: m.session_timeout_ms,
                    subscription: m.subscription.clone(),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        },
    )
}

fn split_version(mut bytes: Bytes) -> Option<(i16, Bytes)> {
    (bytes.len() >= 2).then(|| (bytes.get_i16(), bytes))
}

/// Decodes one record; `Ok(None)` for record kinds the classic coordinator does not use.
pub fn decode(key: &Bytes, value: Option<&Bytes>) -> Result<Option<StoredRecord>, String> {
    let (key_version, mut key_body) =
        split_version(key.clone()).ok_or("key shorter than its version")?;
    match key_version {
        0 | 1 => {
            let key =
                OffsetCommitKey::decode(&mut key_body, key_version).map_err(|e| e.to_string())?;
            let value = match value.cloned().and_then(split_version) {
                None => None,
                Some((version, mut body)) => {
                    let v =
                        OffsetCommitValue::decode(&mut body, version).map_err(|e| e.to_string())?;
                    Some(CommittedOffset {
                        offset: v.offset,
                        leader_epoch: v.leader_epoch,
                        metadata: v.metadata,
                        commit_timestamp: v.commit_timestamp,
                    })
                }
            };
            Ok(Some(StoredRecord::Offset {
                group: key.group,
                topic: key.topic,
                partition: key.partition,
                value,
            }))
        }
        2 => {
            let key =
                GroupMetadataKey::decode(&mut key_body, key_version).map_err(|e| e.to_string())?;
            let value = match value.cloned().and_then(split_version) {
                None => None,
                Some((version, mut body)) => {
                    let v = GroupMetadataValue::decode(&mut body, version)
                        .map_err(|e| e.to_string())?;
                    Some(PersistedGroup {
                        protocol_type: v.protocol_type,
                        generation: v.generation,
                        protocol: v.protocol,
                        leader: v.leader,
                        members: v
                            .members
                            .into_iter()
                            .map(|m| PersistedMember {
                                member_id: m.member_id,
                                group_instance_id: m.group_instance_id,
                                client_id: m.client_id,
                                client_host: m.client_host,
                                rebalance_timeout_ms: m.rebalance_timeout,
                                session_timeout_ms: m.session_timeout,
                                subscription: m.subscription,
                                assignment: m.assignment,
                            })
                            .collect(),
                    })
                }
            };
            Ok(Some(StoredRecord::Group {
                group: key.group,
                value,
            }))
        }
        _ => Ok(None),
    }
}

/// The `__consumer_offsets` partition of a group: `abs(hashCode(group)) % partitions`
/// with Java's `String.hashCode` (over UTF-16 code units), as Kafka computes it.
pub fn partition_for(group: &str, partitions: i32) -> i32 {
    let hash = group
        .encode_utf16()
        .fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(unit as i32));
    // Kafka's Utils.abs maps i32::MIN to 0 rather than overflowing.
    let positive = if hash == i32::MIN { 0 } else { hash.abs() };
    positive % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_tombstones_decode() {
        let offset = CommittedOffset {
            offset: 42,
            leader_epoch: 3,
            metadata: "m".into(),
            commit_timestamp: 1000,
        };
        let key = offset_key("g", "t", 7);
        assert_eq!(
            decode(&key, Some(&offset_value(&offset))).unwrap(),
            Some(StoredRecord::Offset {
                group: "g".into(),
                topic: "t".into(),
                partition: 7,
                value: Some(offset)
            })
        );
        assert_eq!(
            decode(&key, None).unwrap(),
            Some(StoredRecord::Offset {
                group: "g".into(),
                topic: "t".into(),
                partition: 7,
                value: None
            })
        );
        let group = PersistedGroup {
            protocol_type: "consumer".into(),
            generation: 5,
            protocol: Some("range".into()),
            leader: Some("m-1".into()),
            members: vec![PersistedMember {
                member_id: "m-1".into(),
                group_instance_id: Some("i-1".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout_ms: 30_000,
                session_timeout_ms: 10_000,
                subscription: Bytes::from_static(b"sub"),
                assignment: Bytes::from_static(b"asg"),
            }],
        };
        assert_eq!(
            decode(&group_key("g"), Some(&group_value(&group, 5))).unwrap(),
            Some(StoredRecord::Group {
                group: "g".into(),
                value: Some(group)
            })
        );
    }

    #[test]
    fn partition_matches_java_string_hash() {
        // Java: "my-group".hashCode() == -1906497762, and 1906497762 % 50 == 12.
        assert_eq!(partition_for("my-group", 50), 12);
        assert_eq!(partition_for("", 50), 0);
    }
}
