//! Client-side partition assignors for the classic consumer-group protocol, as the Java
//! client defines them: `range` (per topic, consecutive partitions to members in member-id
//! order, the first members getting one more when it does not divide), `roundrobin` (all
//! partitions in topic order dealt to members in order, skipping members not subscribed
//! to the topic) and `cooperative-sticky` (balanced, and keeping each partition with the
//! member that owns it where balance allows; KIP-429). Subscriptions and assignments
//! travel as Kafka's `ConsumerProtocolSubscription` / `ConsumerProtocolAssignment`,
//! version-prefixed (the embedded protocol of JoinGroup / SyncGroup, Kafka protocol guide:
//! JoinGroup, SyncGroup).
//!
//! The group leader alone computes the assignment, so a group may mix tidelog with other
//! clients that share an assignor name. `range` and `roundrobin` give the Java client's
//! assignments (members ordered by member id; Java orders static members, KIP-345, by
//! `group.instance.id` instead); `cooperative-sticky` follows the same rules as Java's
//! but is a different algorithm, so its assignments may differ from Java's in which
//! partitions move.

#![warn(missing_docs)]

use crate::protocol::codec::{Decodable, Encodable};
use crate::protocol::messages::{
    consumer_protocol_assignment, consumer_protocol_subscription, ConsumerProtocolAssignment,
    ConsumerProtocolSubscription,
};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::collections::{BTreeMap, BTreeSet};

/// The consumer protocol version tidelog writes: v1 adds owned partitions (KIP-429), v2
/// the generation they were owned in (KIP-792), v3 the rack id.
const PROTOCOL_VERSION: i16 = 3;

/// A (topic, partition).
pub type TopicPartition = (String, i32);

/// An assignment: member id to its (topic, partition)s.
pub type Assignment = BTreeMap<String, Vec<TopicPartition>>;

/// What a member tells the group leader in JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The topics the member subscribes to.
    pub topics: Vec<String>,
    /// The partitions the member owns now (empty under eager rebalancing, which revokes
    /// everything before joining).
    pub owned_partitions: Vec<TopicPartition>,
    /// The generation in which it owned them (KIP-792); -1 when unknown.
    pub generation: i32,
}

/// The assignors tidelog implements, by `partition.assignment.strategy` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignor {
    /// `range` (Java's `RangeAssignor`): per topic, consecutive partitions to its
    /// subscribers in member-id order, the first ones getting one more when the count
    /// does not divide. Eager.
    Range,
    /// `roundrobin` (Java's `RoundRobinAssignor`): every partition, topic by topic, dealt
    /// to the members in member-id order, skipping members not subscribed to its topic.
    /// Eager.
    RoundRobin,
    /// `cooperative-sticky` (Java's `CooperativeStickyAssignor`): balanced, keeping
    /// partitions with their owners where balance allows; cooperative (KIP-429).
    CooperativeSticky,
}

impl Assignor {
    /// The protocol name sent in JoinGroup: `range`, `roundrobin` or `cooperative-sticky`.
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
            Assignor::CooperativeSticky => "cooperative-sticky",
        }
    }

    /// Parses one `partition.assignment.strategy` entry (surrounding whitespace ignored): a
    /// [name](Assignor::name), or a qualified Java class name ending in `.RangeAssignor`,
    /// `.RoundRobinAssignor` or `.CooperativeStickyAssignor`. `None` for anything else
    /// (Java's eager `StickyAssignor` included).
    pub fn from_name(name: &str) -> Option<Assignor> {
        let name = name.trim();
        match name {
            "range" => Some(Assignor::Range),
            "roundrobin" => Some(Assignor::RoundRobin),
            "cooperative-sticky" => Some(Assignor::CooperativeSticky),
            _ if name.ends_with(".RangeAssignor") => Some(Assignor::Range),
            _ if name.ends_with(".RoundRobinAssignor") => Some(Assignor::RoundRobin),
            _ if name.ends_with(".CooperativeStickyAssignor") => Some(Assignor::CooperativeSticky),
            _ => None,
        }
    }

    /// Whether the assignor supports the cooperative rebalance protocol (KIP-429): members
    /// keep their partitions while the group rebalances and give up only those that move.
    pub fn is_cooperative(self) -> bool {
        self == Assignor::CooperativeSticky
    }

    /// Assigns `partitions` (topic to partition count) to `members` (member id to its
    /// subscription). Every member gets an entry, its partitions sorted; a partition goes
    /// to exactly one member subscribed to its topic, and topics nobody subscribes to are
    /// left out. Only `cooperative-sticky` reads the owned partitions; under cooperative
    /// rebalancing apply [`withhold_transfers`] to the result.
    pub fn assign(
        self,
        members: &BTreeMap<String, Subscription>,
        partitions: &BTreeMap<String, i32>,
    ) -> Assignment {
        let mut assignment: Assignment = members.keys().map(|m| (m.clone(), Vec::new())).collect();
        match self {
            Assignor::Range => {
                for (topic, &count) in partitions {
                    let subscribers = subscribers_of(members, topic);
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
                            if members[member].topics.contains(topic) {
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
            Assignor::CooperativeSticky => sticky(members, partitions, &mut assignment),
        }
        for owned in assignment.values_mut() {
            owned.sort();
        }
        assignment
    }
}

fn subscribers_of<'a>(members: &'a BTreeMap<String, Subscription>, topic: &str) -> Vec<&'a String> {
    members
        .iter()
        .filter(|(_, s)| s.topics.iter().any(|t| t == topic))
        .map(|(m, _)| m)
        .collect()
}

/// Each member keeps the partitions it validly owns (the claim from the highest generation
/// wins; two claims from the same generation cancel out), the rest go to the least-loaded
/// subscriber, then partitions move from the most to the least loaded subscriber until no
/// move narrows the spread. Every move reduces the sum of squared member loads, so it ends.
fn sticky(
    members: &BTreeMap<String, Subscription>,
    partitions: &BTreeMap<String, i32>,
    assignment: &mut Assignment,
) {
    let exists = |(topic, partition): &TopicPartition| {
        partitions
            .get(topic)
            .is_some_and(|&count| (0..count).contains(partition))
    };
    let mut claims: BTreeMap<&TopicPartition, (i32, Option<&String>)> = BTreeMap::new();
    for (member, subscription) in members {
        for tp in &subscription.owned_partitions {
            if !exists(tp) || !subscription.topics.contains(&tp.0) {
                continue;
            }
            let claim = (subscription.generation, Some(member));
            claims
                .entry(tp)
                .and_modify(|held| match subscription.generation.cmp(&held.0) {
                    std::cmp::Ordering::Greater => *held = claim,
                    std::cmp::Ordering::Equal => held.1 = None,
                    std::cmp::Ordering::Less => {}
                })
                .or_insert(claim);
        }
    }
    let subscribers: BTreeMap<&String, Vec<&String>> = partitions
        .keys()
        .map(|topic| (topic, subscribers_of(members, topic)))
        .collect();
    let mut unassigned = Vec::new();
    for (topic, &count) in partitions {
        for partition in 0..count {
            let tp = (topic.clone(), partition);
            match claims.get(&tp) {
                Some((_, Some(owner))) => assignment.get_mut(*owner).unwrap().push(tp),
                _ => unassigned.push(tp),
            }
        }
    }
    for tp in unassigned {
        let least_loaded = subscribers[&tp.0]
            .iter()
            .min_by_key(|m| assignment[**m].len());
        if let Some(member) = least_loaded {
            assignment.get_mut(*member).unwrap().push(tp);
        }
    }
    while let Some((from, index, to)) = best_move(assignment, &subscribers) {
        let tp = assignment.get_mut(&from).unwrap().remove(index);
        assignment.get_mut(&to).unwrap().push(tp);
    }
}

/// A partition of the most loaded member that a subscriber with at least two fewer
/// partitions can take: (from, index in from's list, to). The partition taken is the
/// member's most recently added, so that long-held partitions stay put.
fn best_move(
    assignment: &Assignment,
    subscribers: &BTreeMap<&String, Vec<&String>>,
) -> Option<(String, usize, String)> {
    let mut by_load: Vec<(&String, &Vec<TopicPartition>)> = assignment.iter().collect();
    by_load.sort_by_key(|(_, owned)| std::cmp::Reverse(owned.len()));
    for (from, owned) in by_load {
        let mut topics_seen = BTreeSet::new();
        for (index, tp) in owned.iter().enumerate().rev() {
            if !topics_seen.insert(&tp.0) {
                continue;
            }
            let taker = subscribers[&tp.0]
                .iter()
                .filter(|m| assignment[**m].len() + 1 < owned.len())
                .min_by_key(|m| assignment[**m].len());
            if let Some(to) = taker {
                return Some((from.clone(), index, (*to).clone()));
            }
        }
    }
    None
}

/// Under the cooperative protocol a partition changes owner in two rebalances: first the
/// owner revokes it (and rejoins), then it is assigned to its new member. This removes,
/// from `assignment`, the partitions that `members` still own but that go to another
/// member, so that no partition has two owners at once (KIP-429).
pub fn withhold_transfers(members: &BTreeMap<String, Subscription>, assignment: &mut Assignment) {
    let owner: BTreeMap<&TopicPartition, &String> = members
        .iter()
        .flat_map(|(m, s)| s.owned_partitions.iter().map(move |tp| (tp, m)))
        .collect();
    for (member, owned) in assignment.iter_mut() {
        owned.retain(|tp| owner.get(tp).is_none_or(|o| *o == member));
    }
}

fn versioned(body: &impl Encodable) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(PROTOCOL_VERSION);
    body.encode(&mut buf, PROTOCOL_VERSION)
        .expect("consumer protocol data encodes");
    buf.freeze()
}

/// A member's JoinGroup protocol metadata: `ConsumerProtocolSubscription` v3, without
/// user data or rack.
pub fn encode_subscription(subscription: &Subscription) -> Bytes {
    versioned(&ConsumerProtocolSubscription {
        topics: subscription.topics.clone(),
        user_data: None,
        owned_partitions: by_topic(&subscription.owned_partitions)
            .into_iter()
            .map(
                |(topic, partitions)| consumer_protocol_subscription::TopicPartition {
                    topic,
                    partitions,
                },
            )
            .collect(),
        generation_id: subscription.generation,
        rack_id: None,
    })
}

/// A member's JoinGroup metadata, read at the version it was written in, capped at 3 as
/// the Java client caps it (later versions only append fields); `None` if it cannot be
/// read.
pub fn decode_subscription(mut bytes: Bytes) -> Option<Subscription> {
    if bytes.len() < 2 {
        return None;
    }
    let version = bytes.get_i16().clamp(0, PROTOCOL_VERSION);
    let subscription = ConsumerProtocolSubscription::decode(&mut bytes, version).ok()?;
    Some(Subscription {
        topics: subscription.topics,
        owned_partitions: subscription
            .owned_partitions
            .into_iter()
            .flat_map(|tp| {
                tp.partitions
                    .into_iter()
                    .map(move |p| (tp.topic.clone(), p))
            })
            .collect(),
        generation: subscription.generation_id,
    })
}

fn by_topic(partitions: &[TopicPartition]) -> Vec<(String, Vec<i32>)> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (topic, partition) in partitions {
        by_topic.entry(topic).or_default().push(*partition);
    }
    by_topic
        .into_iter()
        .map(|(topic, partitions)| (topic.to_string(), partitions))
        .collect()
}

/// A member's SyncGroup assignment: `ConsumerProtocolAssignment` v3, without user data.
pub fn encode_assignment(partitions: &[TopicPartition]) -> Bytes {
    versioned(&ConsumerProtocolAssignment {
        assigned_partitions: by_topic(partitions)
            .into_iter()
            .map(
                |(topic, partitions)| consumer_protocol_assignment::TopicPartition {
                    topic,
                    partitions,
                },
            )
            .collect(),
        user_data: None,
    })
}

/// The partitions in a SyncGroup assignment (or a DescribeGroups member assignment),
/// read as [`decode_subscription`] reads versions; empty if it cannot be read, which is
/// indistinguishable from an empty assignment.
pub fn decode_assignment(mut bytes: Bytes) -> Vec<TopicPartition> {
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

    fn members(spec: &[(&str, &[&str])]) -> BTreeMap<String, Subscription> {
        spec.iter()
            .map(|(m, topics)| {
                (
                    m.to_string(),
                    Subscription {
                        topics: topics.iter().map(|t| t.to_string()).collect(),
                        owned_partitions: Vec::new(),
                        generation: -1,
                    },
                )
            })
            .collect()
    }

    fn owning(
        mut group: BTreeMap<String, Subscription>,
        generation: i32,
        assignment: &Assignment,
    ) -> BTreeMap<String, Subscription> {
        for (member, subscription) in group.iter_mut() {
            subscription.owned_partitions = assignment.get(member).cloned().unwrap_or_default();
            subscription.generation = generation;
        }
        group
    }

    fn loads(assignment: &Assignment) -> Vec<usize> {
        assignment.values().map(Vec::len).collect()
    }

    /// Partitions that changed owner between two assignments.
    fn moved(before: &Assignment, after: &Assignment) -> usize {
        after
            .iter()
            .map(|(member, owned)| {
                owned
                    .iter()
                    .filter(|tp| before.iter().any(|(m, o)| m != member && o.contains(tp)))
                    .count()
            })
            .sum()
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
        for assignor in [
            Assignor::Range,
            Assignor::RoundRobin,
            Assignor::CooperativeSticky,
        ] {
            let assignment = assignor.assign(&group, &partitions);
            let mut all: Vec<(String, i32)> = assignment.values().flatten().cloned().collect();
            all.sort();
            assert_eq!(all.len(), 9, "{assignor:?}");
            all.dedup();
            assert_eq!(all.len(), 9, "{assignor:?}");
            for (member, owned) in &assignment {
                assert!(owned
                    .iter()
                    .all(|(topic, _)| group[member].topics.contains(topic)));
            }
        }
    }

    #[test]
    fn protocol_data_round_trips() {
        let subscription = Subscription {
            topics: vec!["x".into(), "y".into()],
            owned_partitions: vec![("x".into(), 1), ("y".into(), 0)],
            generation: 7,
        };
        assert_eq!(
            decode_subscription(encode_subscription(&subscription)),
            Some(subscription)
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

    #[test]
    fn cooperative_sticky_balances_and_keeps_owners() {
        let partitions: BTreeMap<String, i32> = [("a".to_string(), 6), ("b".to_string(), 3)].into();
        let sticky = Assignor::CooperativeSticky;
        let first = sticky.assign(&members(&[("c1", &["a", "b"])]), &partitions);
        assert_eq!(loads(&first), vec![9]);

        // A second member joins: c1 gives up only what c2 needs for balance.
        let two = owning(
            members(&[("c1", &["a", "b"]), ("c2", &["a", "b"])]),
            1,
            &first,
        );
        let second = sticky.assign(&two, &partitions);
        assert_eq!(loads(&second), vec![5, 4]);
        assert_eq!(moved(&first, &second), 4);

        // A third joins; then c2 leaves: again only the necessary partitions move.
        let three = owning(
            members(&[
                ("c1", &["a", "b"]),
                ("c2", &["a", "b"]),
                ("c3", &["a", "b"]),
            ]),
            2,
            &second,
        );
        let third = sticky.assign(&three, &partitions);
        assert_eq!(loads(&third), vec![3, 3, 3]);
        assert_eq!(moved(&second, &third), 3);
        let without_c2 = owning(
            members(&[("c1", &["a", "b"]), ("c3", &["a", "b"])]),
            3,
            &third,
        );
        let fourth = sticky.assign(&without_c2, &partitions);
        let mut sorted = loads(&fourth);
        sorted.sort();
        assert_eq!(sorted, vec![4, 5]);
        // Only c2's orphaned partitions change hands.
        assert_eq!(moved(&third, &fourth), 3);
        assert!(third["c1"].iter().all(|tp| fourth["c1"].contains(tp)));
        assert!(third["c3"].iter().all(|tp| fourth["c3"].contains(tp)));
    }

    #[test]
    fn cooperative_sticky_resolves_conflicting_claims_by_generation() {
        let partitions: BTreeMap<String, i32> = [("a".to_string(), 2)].into();
        let mut group = members(&[("old", &["a"]), ("new", &["a"])]);
        let stale = vec![("a".to_string(), 0), ("a".to_string(), 1)];
        group.get_mut("old").unwrap().owned_partitions = stale.clone();
        group.get_mut("old").unwrap().generation = 4;
        group.get_mut("new").unwrap().owned_partitions = vec![("a".to_string(), 0)];
        group.get_mut("new").unwrap().generation = 5;
        let assignment = Assignor::CooperativeSticky.assign(&group, &partitions);
        assert_eq!(assignment["new"], vec![("a".to_string(), 0)]);
        assert_eq!(assignment["old"], vec![("a".to_string(), 1)]);
    }

    #[test]
    fn cooperative_transfers_wait_for_the_owner_to_revoke() {
        let partitions: BTreeMap<String, i32> = [("a".to_string(), 4)].into();
        let first = Assignor::CooperativeSticky.assign(&members(&[("c1", &["a"])]), &partitions);
        let two = owning(members(&[("c1", &["a"]), ("c2", &["a"])]), 1, &first);
        let mut second = Assignor::CooperativeSticky.assign(&two, &partitions);
        withhold_transfers(&two, &mut second);
        assert_eq!(second["c1"].len(), 2);
        assert!(second["c2"].is_empty(), "c1 must revoke before c2 takes");
        // c1 rejoins owning its two; now c2 gets the other two.
        let after_revoke = owning(two, 2, &second);
        let mut third = Assignor::CooperativeSticky.assign(&after_revoke, &partitions);
        withhold_transfers(&after_revoke, &mut third);
        assert_eq!(third["c1"], second["c1"]);
        assert_eq!(third["c2"].len(), 2);
    }
}
