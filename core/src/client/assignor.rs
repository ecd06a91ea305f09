//! Client-side partition assignors for the classic consumer-group protocol, as the Java
//! client defines them: `range` (per topic, consecutive partitions to members in member-id
//! order, the first members getting one more when it does not divide) and `roundrobin`
//! (all partitions in topic order dealt to members in order, skipping members not
//! subscribed to the topic). Subscriptions and assignments travel as Kafka's
//! `ConsumerProtocolSubscription` / `ConsumerProtocolAssignment`, version-prefixed.

use crate::protocol::codec::{Decodable, Encodable};
use crate::protocol::messages::{
    consumer_protocol_assignment, ConsumerProtocolAssignment, ConsumerProtocolSubscription,
};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::collections::BTreeMap;

/// The consumer protocol version tidelog writes (v1 adds owned partitions, KIP-429).
const PROTOCOL_VERSION: i16 = 1;

/// An assignment: member id to its (topic, partition)s.
pub type Assignment = BTreeMap<String, Vec<(String, i32)>>;

/// The assignors tidelog implements, by `partition.assignment.strategy` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignor {
    Range,
    RoundRobin,
}

impl Assignor {
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
        }
    }

    /// Parses a `partition.assignment.strategy` value: names, or Java class names ending
    /// in `RangeAssignor` / `RoundRobinAssignor`.
    pub fn from_name(name: &str) -> Option<Assignor> {
        let name = name.trim();
        match name {
            "range" => Some(Assignor::Range),
            "roundrobin" => Some(Assignor::RoundRobin),
            _ if name.ends_with(".RangeAssignor") => Some(Assignor::Range),
            _ if name.ends_with(".RoundRobinAssignor") => Some(Assignor::RoundRobin),
            _ => None,
        }
    }

    /// Assigns `partitions` (topic to partition count) to `members` (member id to the
    /// topics it subscribes to).
    pub fn assign(
        self,
        members: &BTreeMap<String, Vec<String>>,
        partitions: &BTreeMap<String, i32>,
    ) -> Assignment {
        let mut assignment: Assignment = members.keys().map(|m| (m.clone(), Vec::new())).collect();
        match self {
            Assignor::Range => {
                for (topic, &count) in partitions {
                    let subscribers: Vec<&String> = members
                        .iter()
                        .filter(|(_, topics)| topics.contains(topic))
                        .map(|(m, _)| m)
                        .collect();
                    if subscribers.is_empty() {
                        continue;
                    }
                    let per_member = count / subscribers.len() as i32;
                    let extra = count % subscribers.len() as i32;
                    let mut next = 0;
                    for (i, member) in subscribers.iter().enumerate() {
                        let take = per_member + i32::from((i as i32) < extra);
                        assignment
                            .get_mut(*member)
                            .unwrap()
                            .extend((next..next + take).map(|p| (topic.clone(), p)));
                        next += take;
                    }
                }
            }
            Assignor::RoundRobin => {
                let ids: Vec<&String> = members.keys().collect();
                let mut turn = 0usize;
                for (topic, &count) in partitions {
                    for partition in 0..count {
                        // Deal to the next member subscribed to this topic.
                        for _ in 0..ids.len() {
                            let member = ids[turn % ids.len()];
                            turn += 1;
                            if members[member].contains(topic) {
                                assignment
                                    .get_mut(member)
                                    .unwrap()
                                    .push((topic.clone(), partition));
                                break;
                            }
                        }
                    }
                }
            }
        }
        assignment
    }
}

fn versioned(body: &impl Encodable) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(PROTOCOL_VERSION);
    body.encode(&mut buf, PROTOCOL_VERSION)
        .expect("consumer protocol data encodes");
    buf.freeze()
}

/// A member's JoinGroup metadata: the topics it subscribes to.
pub fn encode_subscription(topics: &[String]) -> Bytes {
    versioned(&ConsumerProtocolSubscription {
        topics: topics.to_vec(),
        user_data: None,
        ..Default::default()
    })
}

/// The topics in a member's JoinGroup metadata; empty if it cannot be read.
pub fn decode_subscription(mut bytes: Bytes) -> Vec<String> {
    if bytes.len() < 2 {
        return Vec::new();
    }
    let version = bytes.get_i16().clamp(0, 3);
    ConsumerProtocolSubscription::decode(&mut bytes, version)
        .map(|s| s.topics)
        .unwrap_or_default()
}

/// A member's SyncGroup assignment.
pub fn encode_assignment(partitions: &[(String, i32)]) -> Bytes {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (topic, partition) in partitions {
        by_topic.entry(topic).or_default().push(*partition);
    }
    versioned(&ConsumerProtocolAssignment {
        assigned_partitions: by_topic
            .into_iter()
            .map(
                |(topic, partitions)| consumer_protocol_assignment::TopicPartition {
                    topic: topic.to_string(),
                    partitions,
                },
            )
            .collect(),
        user_data: None,
    })
}

/// The partitions in a SyncGroup assignment; empty if it cannot be read.
pub fn decode_assignment(mut bytes: Bytes) -> Vec<(String, i32)> {
    if bytes.len() < 2 {
        return Vec::new();
    }
    let version = bytes.get_i16().clamp(0, 3);
    ConsumerProtocolAssignment::decode(&mut bytes, version)
        .map(|a| {
            a.assigned_partitions
                .into_iter()
                .flat_map(|tp| {
                    tp.partitions
                        .into_iter()
                        .map(move |p| (tp.topic.clone(), p))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(spec: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        spec.iter()
            .map(|(m, topics)| {
                (
                    m.to_string(),
                    topics.iter().map(|t| t.to_string()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn range_gives_consecutive_partitions_per_topic() {
        let partitions: BTreeMap<String, i32> =
            [("t0".to_string(), 3), ("t1".to_string(), 3)].into();
        let assignment = Assignor::Range.assign(
            &members(&[("c0", &["t0", "t1"]), ("c1", &["t0", "t1"])]),
            &partitions,
        );
        // Kafka's RangeAssignor example: C0 gets t0p0, t0p1, t1p0, t1p1; C1 gets t0p2, t1p2.
        assert_eq!(
            assignment["c0"],
            vec![
                ("t0".into(), 0),
                ("t0".into(), 1),
                ("t1".into(), 0),
                ("t1".into(), 1)
            ]
        );
        assert_eq!(assignment["c1"], vec![("t0".into(), 2), ("t1".into(), 2)]);
    }

    #[test]
    fn roundrobin_deals_partitions_in_turn() {
        let partitions: BTreeMap<String, i32> =
            [("t0".to_string(), 3), ("t1".to_string(), 3)].into();
        let assignment = Assignor::RoundRobin.assign(
            &members(&[("c0", &["t0", "t1"]), ("c1", &["t0", "t1"])]),
            &partitions,
        );
        // Kafka's RoundRobinAssignor example: C0 gets t0p0, t0p2, t1p1; C1 gets t0p1, t1p0, t1p2.
        assert_eq!(
            assignment["c0"],
            vec![("t0".into(), 0), ("t0".into(), 2), ("t1".into(), 1)]
        );
        assert_eq!(
            assignment["c1"],
            vec![("t0".into(), 1), ("t1".into(), 0), ("t1".into(), 2)]
        );
    }

    #[test]
    fn every_partition_is_assigned_exactly_once_to_a_subscriber() {
        let partitions: BTreeMap<String, i32> = [("a".to_string(), 7), ("b".to_string(), 2)].into();
        let group = members(&[("m1", &["a"]), ("m2", &["a", "b"]), ("m3", &["b"])]);
        for assignor in [Assignor::Range, Assignor::RoundRobin] {
            let assignment = assignor.assign(&group, &partitions);
            let mut all: Vec<(String, i32)> = assignment.values().flatten().cloned().collect();
            all.sort();
            assert_eq!(all.len(), 9, "{assignor:?}");
            all.dedup();
            assert_eq!(all.len(), 9, "{assignor:?}");
            for (member, owned) in &assignment {
                assert!(owned.iter().all(|(topic, _)| group[member].contains(topic)));
            }
        }
    }

    #[test]
    fn protocol_data_round_trips() {
        assert_eq!(
            decode_subscription(encode_subscription(&["x".into(), "y".into()])),
            vec!["x".to_string(), "y".to_string()]
        );
        let owned = vec![
            ("x".to_string(), 0),
            ("x".to_string(), 2),
            ("y".to_string(), 1),
        ];
        assert_eq!(decode_assignment(encode_assignment(&owned)), owned);
        assert_eq!(
            Assignor::from_name("org.apache.kafka.clients.consumer.RoundRobinAssignor"),
            Some(Assignor::RoundRobin)
        );
    }
}
