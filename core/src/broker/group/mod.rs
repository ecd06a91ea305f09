//! The group coordinator for the classic consumer-group protocol: Kafka's state machine
//! (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead), generations, member ids
//! with KIP-394's MEMBER_ID_REQUIRED round trip, static membership (KIP-345), session and
//! rebalance timeouts, `group.initial.rebalance.delay.ms`, and committed offsets kept in
//! the compacted internal topic `__consumer_offsets` so that they survive restarts.
//!
//! Assignment is the client's job: the coordinator hands the leader every member's
//! subscription in JoinGroup and relays the leader's assignment in SyncGroup. Cooperative
//! rebalancing (KIP-429) needs nothing more from the broker.

pub mod store;

use crate::error::ErrorCode;
use crate::protocol::messages::join_group_response::JoinGroupResponseMember;
use crate::protocol::messages::{JoinGroupResponse, SyncGroupResponse};
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use store::{CommittedOffset, PersistedGroup, PersistedMember, StoredRecord};
use tokio::sync::oneshot;

/// The internal topic holding committed offsets and group metadata.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Kafka's group states, with the names DescribeGroups and ListGroups use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// Coordinator settings, from the broker's `group.*` and `offsets.*` keys.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    pub initial_rebalance_delay: Duration,
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    pub max_group_size: usize,
    pub offset_metadata_max_bytes: usize,
    /// How long offsets of an empty group are kept (`offsets.retention.minutes`).
    pub offsets_retention: Duration,
}

pub struct Member {
    pub id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    /// (protocol name, metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    last_heartbeat: Instant,
    join_waiter: Option<oneshot::Sender<JoinGroupResponse>>,
    sync_waiter: Option<oneshot::Sender<SyncGroupResponse>>,
}

impl Member {
    /// The member's metadata for `protocol`.
    pub fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    fn session_expired(&self, now: Instant) -> bool {
        self.join_waiter.is_none()
            && self.sync_waiter.is_none()
            && now.duration_since(self.last_heartbeat)
                > Duration::from_millis(self.session_timeout_ms.max(0) as u64)
    }
}

pub struct Group {
    pub id: String,
    pub state: GroupState,
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub generation: i32,
    pub leader: Option<String>,
    pub members: BTreeMap<String, Member>,
    /// KIP-394: member ids handed out with MEMBER_ID_REQUIRED, until they join or expire.
    pending: HashMap<String, Instant>,
    pub offsets: BTreeMap<(String, i32), CommittedOffset>,
    rebalance_deadline: Option<Instant>,
    /// While the group forms from Empty, the join waits at least until this instant.
    initial_delay_until: Option<Instant>,
    /// When the group last became empty (for offsets.retention.minutes), in ms.
    pub empty_since_ms: i64,
}

/// What happened to a request: an answer now, or one to wait for.
pub enum Answer<T> {
    Now(T),
    Wait(oneshot::Receiver<T>),
}

fn join_error(error: ErrorCode, member_id: &str) -> JoinGroupResponse {
    JoinGroupResponse {
        error_code: error.code(),
        generation_id: -1,
        member_id: member_id.to_string(),
        ..Default::default()
    }
}

fn sync_error(error: ErrorCode) -> SyncGroupResponse {
    SyncGroupResponse {
        error_code: error.code(),
        ..Default::default()
    }
}

/// A JoinGroup request, as the coordinator needs it.
pub struct JoinRequest {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    /// KIP-394: v4+ clients accept MEMBER_ID_REQUIRED and rejoin with the id given.
    pub requires_known_member_id: bool,
    /// KIP-814: v9+ clients understand `SkipAssignment`.
    pub supports_skip_assignment: bool,
}

static MEMBER_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A new member id: the client id (or instance id) and a unique suffix, as Kafka forms it.
fn new_member_id(prefix: &str) -> String {
    let n = MEMBER_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}-{}-{n}", crate::broker::state::random_uuid())
}

impl Group {
    pub fn new(id: &str) -> Self {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            protocol_type: None,
            protocol: None,
            generation: 0,
            leader: None,
            members: BTreeMap::new(),
            pending: HashMap::new(),
            offsets: BTreeMap::new(),
            rebalance_deadline: None,
            initial_delay_until: None,
            empty_since_ms: crate::broker::state::now_ms(),
        }
    }

    fn member_by_instance(&self, instance_id: &str) -> Option<&Member> {
        self.members
            .values()
            .find(|m| m.instance_id.as_deref() == Some(instance_id))
    }

    /// Whether every member supports one of `protocols`.
    fn supports(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols.iter().any(|(name, _)| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(p, _)| p == name))
            })
    }

    /// The protocol every member supports that most members prefer (Kafka's vote).
    fn select_protocol(&self) -> Option<String> {
        let candidates: Vec<&String> = self
            .members
            .values()
            .next()?
            .protocols
            .iter()
            .map(|(name, _)| name)
            .filter(|name| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(p, _)| p == *name))
            })
            .collect();
        let mut votes: Vec<(usize, &String)> = candidates
            .iter()
            .map(|candidate| {
                let count = self
                    .members
                    .values()
                    .filter(|m| {
                        m.protocols
                            .iter()
                            .find(|(p, _)| candidates.contains(&p))
                            .map(|(p, _)| p)
                            == Some(candidate)
                    })
                    .count();
                (count, *candidate)
            })
            .collect();
        // Most votes wins; ties go to the first member's preference order.
        votes.sort_by_key(|(count, _)| std::cmp::Reverse(*count));
        votes.first().map(|(_, name)| (*name).clone())
    }

    fn max_rebalance_timeout(&self) -> Duration {
        let ms = self
            .members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0);
        Duration::from_millis(ms.max(0) as u64)
    }

    /// Starts a rebalance: members must rejoin within the rebalance timeout. Members
    /// waiting for a SyncGroup answer are told to rejoin.
    fn prepare_rebalance(&mut self, now: Instant, config: &GroupConfig) {
        if self.state == GroupState::Empty {
            self.initial_delay_until = Some(now + config.initial_rebalance_delay);
        }
        for member in self.members.values_mut() {
            if let Some(waiter) = member.sync_waiter.take() {
                let _ = waiter.send(sync_error(ErrorCode::RebalanceInProgress));
            }
        }
        self.state = GroupState::PreparingRebalance;
        self.rebalance_deadline = Some(now + self.max_rebalance_timeout());
        tracing::info!(group = %self.id, generation = self.generation, "preparing to rebalance");
    }

    fn remove_member(&mut self, member_id: &str, now: Instant, config: &GroupConfig) {
        let Some(member) = self.members.remove(member_id) else {
            return;
        };
        if let Some(waiter) = member.join_waiter {
            let _ = waiter.send(join_error(ErrorCode::UnknownMemberId, member_id));
        }
        if self.leader.as_deref() == Some(member_id) {
            self.leader = self.members.keys().next().cloned();
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(now, config)
            }
            GroupState::PreparingRebalance if self.members.is_empty() => {
                self.rebalance_deadline = Some(now)
            }
            _ => {}
        }
    }

    /// Finishes the join phase if every member has rejoined (after the initial delay) or
    /// the rebalance timeout has passed. Returns true when a new generation started, so
    /// the caller can persist the group.
    fn maybe_complete_join(&mut self, now: Instant) -> bool {
        if self.state != GroupState::PreparingRebalance {
            return false;
        }
        let everyone_joined =
            !self.members.is_empty() && self.members.values().all(|m| m.join_waiter.is_some());
        let delay_over = self.initial_delay_until.is_none_or(|until| now >= until);
        let timed_out = self
            .rebalance_deadline
            .is_some_and(|deadline| now >= deadline);
        if !(timed_out || (everyone_joined && delay_over)) {
            return false;
        }
        // Members that did not rejoin in time are out.
        let stragglers: Vec<String> = self
            .members
            .values()
            .filter(|m| m.join_waiter.is_none())
            .map(|m| m.id.clone())
            .collect();
        for id in stragglers {
            self.members.remove(&id);
        }
        self.initial_delay_until = None;
        self.rebalance_deadline = None;
        self.generation += 1;
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.protocol = None;
            self.leader = None;
            self.empty_since_ms = crate::broker::state::now_ms();
            tracing::info!(group = %self.id, generation = self.generation, "group is empty");
            return true;
        }
        self.protocol = self.select_protocol();
        if self
            .leader
            .as_ref()
            .is_none_or(|l| !self.members.contains_key(l))
        {
            self.leader = self.members.keys().next().cloned();
        }
        self.state = GroupState::CompletingRebalance;
        self.rebalance_deadline = Some(now + self.max_rebalance_timeout());
        let protocol = self.protocol.clone().unwrap_or_default();
        let leader = self.leader.clone().unwrap_or_default();
        let everyone: Vec<JoinGroupResponseMember> = self
            .members
            .values()
            .map(|m| JoinGroupResponseMember {
                member_id: m.id.clone(),
                group_instance_id: m.instance_id.clone(),
                metadata: m.metadata(&protocol),
            })
            .collect();
        for member in self.members.values_mut() {
            member.assignment = Bytes::new();
            member.last_heartbeat = now;
            if let Some(waiter) = member.join_waiter.take() {
                let _ = waiter.send(JoinGroupResponse {
                    generation_id: self.generation,
                    protocol_type: self.protocol_type.clone(),
                    protocol_name: Some(protocol.clone()),
                    leader: leader.clone(),
                    member_id: member.id.clone(),
                    members: if member.id == leader {
                        everyone.clone()
                    } else {
                        Vec::new()
                    },
                    ..Default::default()
                });
            }
        }
        tracing::info!(group = %self.id, generation = self.generation, members = self.members.len(), %protocol, "rebalance: join complete");
        true
    }

    /// The answer for a member that rejoins a group already past the join phase with
    /// nothing changed: the current generation, without another rebalance.
    fn current_generation_for(&self, member_id: &str) -> JoinGroupResponse {
        let protocol = self.protocol.clone().unwrap_or_default();
        let leader = self.leader.clone().unwrap_or_default();
        JoinGroupResponse {
            generation_id: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: Some(protocol.clone()),
            leader: leader.clone(),
            member_id: member_id.to_string(),
            members: if member_id == leader {
                self.members
                    .values()
                    .map(|m| JoinGroupResponseMember {
                        member_id: m.id.clone(),
                        group_instance_id: m.instance_id.clone(),
                        metadata: m.metadata(&protocol),
                    })
                    .collect()
            } else {
                Vec::new()
            },
            ..Default::default()
        }
    }

    /// JoinGroup. The boolean is true when a new generation started (persist it).
    pub fn join(
        &mut self,
        request: JoinRequest,
        now: Instant,
        config: &GroupConfig,
    ) -> (Answer<JoinGroupResponse>, bool) {
        let member_id = request.member_id.clone();
        if request.session_timeout_ms < config.min_session_timeout_ms
            || request.session_timeout_ms > config.max_session_timeout_ms
        {
            return (
                Answer::Now(join_error(ErrorCode::InvalidSessionTimeout, &member_id)),
                false,
            );
        }
        if self.state == GroupState::Dead {
            return (
                Answer::Now(join_error(ErrorCode::CoordinatorNotAvailable, &member_id)),
                false,
            );
        }
        if !self.supports(&request.protocol_type, &request.protocols) {
            return (
                Answer::Now(join_error(ErrorCode::InconsistentGroupProtocol, &member_id)),
                false,
            );
        }
        // Resolve who this is: a new member, a static member coming back, or a known one.
        let member_id = if member_id.is_empty() {
            match &request.instance_id {
                Some(instance) => match self.member_by_instance(instance).map(|m| m.id.clone()) {
                    // KIP-345: a restarted static member replaces its old member id and,
                    // if nothing else changed, gets its assignment back without a rebalance.
                    Some(old_id) => {
                        let mut member = self
                            .members
                            .remove(&old_id)
                            .expect("member found by instance");
                        if let Some(waiter) = member.join_waiter.take() {
                            let _ = waiter.send(join_error(ErrorCode::FencedInstanceId, &old_id));
                        }
                        if let Some(waiter) = member.sync_waiter.take() {
                            let _ = waiter.send(sync_error(ErrorCode::FencedInstanceId));
                        }
                        let new_id = new_member_id(instance);
                        member.id = new_id.clone();
                        member.last_heartbeat = now;
                        let was_leader = self.leader.as_deref() == Some(old_id.as_str());
                        if was_leader {
                            self.leader = Some(new_id.clone());
                        }
                        let unchanged = member.protocols == request.protocols;
                        self.members.insert(new_id.clone(), member);
                        if self.state == GroupState::Stable && unchanged {
                            // A restarted leader gets the member list as always, and from v9
                            // is told not to assign (KIP-814); its SyncGroup returns the
                            // assignment it already has.
                            tracing::info!(group = %self.id, instance = %instance, "static member rejoined without a rebalance");
                            let mut answer = self.current_generation_for(&new_id);
                            answer.skip_assignment = was_leader && request.supports_skip_assignment;
                            return (Answer::Now(answer), false);
                        }
                        new_id
                    }
                    None => new_member_id(instance),
                },
                None if request.requires_known_member_id => {
                    let id = new_member_id(&request.client_id);
                    self.pending.insert(
                        id.clone(),
                        now + Duration::from_millis(request.session_timeout_ms as u64),
                    );
                    return (
                        Answer::Now(join_error(ErrorCode::MemberIdRequired, &id)),
                        false,
                    );
                }
                None => new_member_id(&request.client_id),
            }
        } else {
            if let Some(instance) = &request.instance_id {
                if self
                    .member_by_instance(instance)
                    .is_some_and(|m| m.id != member_id)
                {
                    return (
                        Answer::Now(join_error(ErrorCode::FencedInstanceId, &member_id)),
                        false,
                    );
                }
            }
            if !self.members.contains_key(&member_id) && self.pending.remove(&member_id).is_none() {
                return (
                    Answer::Now(join_error(ErrorCode::UnknownMemberId, &member_id)),
                    false,
                );
            }
            member_id
        };
        if !self.members.contains_key(&member_id) && self.members.len() >= config.max_group_size {
            return (
                Answer::Now(join_error(ErrorCode::GroupMaxSizeReached, &member_id)),
                false,
            );
        }

        let known = self.members.contains_key(&member_id);
        let unchanged = known && self.members[&member_id].protocols == request.protocols;
        let is_leader = self.leader.as_deref() == Some(member_id.as_str());
        let (sender, receiver) = oneshot::channel();
        let member = self
            .members
            .entry(member_id.clone())
            .or_insert_with(|| Member {
                id: member_id.clone(),
                instance_id: request.instance_id.clone(),
                client_id: request.client_id.clone(),
                client_host: request.client_host.clone(),
                session_timeout_ms: request.session_timeout_ms,
                rebalance_timeout_ms: request.rebalance_timeout_ms,
                protocols: Vec::new(),
                assignment: Bytes::new(),
                last_heartbeat: now,
                join_waiter: None,
                sync_waiter: None,
            });
        member.protocols = request.protocols;
        member.session_timeout_ms = request.session_timeout_ms;
        member.rebalance_timeout_ms = request.rebalance_timeout_ms;
        member.last_heartbeat = now;
        if self.protocol_type.is_none() {
            self.protocol_type = Some(request.protocol_type);
        }

        match self.state {
            // A follower rejoining with the same metadata after the join phase gets the
            // current generation (Kafka does the same); anything else is a rebalance.
            GroupState::Stable | GroupState::CompletingRebalance if unchanged && !is_leader => {
                return (Answer::Now(self.current_generation_for(&member_id)), false);
            }
            GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty => {
                self.prepare_rebalance(now, config)
            }
            GroupState::PreparingRebalance => {
                // Each new member during the initial delay restarts it from now, up to the
                // rebalance timeout (Kafka's InitialDelayedJoin).
                if let (Some(until), false) = (self.initial_delay_until, known) {
                    let extended = (now + config.initial_rebalance_delay)
                        .min(self.rebalance_deadline.unwrap_or(until))
                        .max(until);
                    self.initial_delay_until = Some(extended);
                }
            }
            GroupState::Dead => unreachable!("checked above"),
        }
        let member = self.members.get_mut(&member_id).expect("member just added");
        if let Some(previous) = member.join_waiter.replace(sender) {
            let _ = previous.send(join_error(ErrorCode::RebalanceInProgress, &member_id));
        }
        let new_generation = self.maybe_complete_join(now);
        (Answer::Wait(receiver), new_generation)
    }

    fn check_member(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<(), ErrorCode> {
        if let Some(instance) = instance_id {
            if let Some(member) = self.member_by_instance(instance) {
                if member.id != member_id {
                    return Err(ErrorCode::FencedInstanceId);
                }
            }
        }
        if !self.members.contains_key(member_id) {
            return Err(ErrorCode::UnknownMemberId);
        }
        if generation != self.generation {
            return Err(ErrorCode::IllegalGeneration);
        }
        Ok(())
    }

    /// SyncGroup. The boolean is true when the leader's assignment made the group Stable
    /// (persist it).
    pub fn sync(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
        now: Instant,
    ) -> (Answer<SyncGroupResponse>, bool) {
        if let Err(error) = self.check_member(member_id, instance_id, generation) {
            return (Answer::Now(sync_error(error)), false);
        }
        match self.state {
            GroupState::Empty | GroupState::Dead => {
                (Answer::Now(sync_error(ErrorCode::UnknownMemberId)), false)
            }
            GroupState::PreparingRebalance => (
                Answer::Now(sync_error(ErrorCode::RebalanceInProgress)),
                false,
            ),
            GroupState::Stable => {
                let member = &self.members[member_id];
                (
                    Answer::Now(self.sync_answer(member.assignment.clone())),
                    false,
                )
            }
            GroupState::CompletingRebalance => {
                let (sender, receiver) = oneshot::channel();
                let member = self.members.get_mut(member_id).expect("checked");
                member.last_heartbeat = now;
                member.sync_waiter = Some(sender);
                if self.leader.as_deref() != Some(member_id) {
                    return (Answer::Wait(receiver), false);
                }
                let mut assigned: HashMap<String, Bytes> = assignments.into_iter().collect();
                let answer = self.sync_answer(Bytes::new());
                for member in self.members.values_mut() {
                    member.assignment = assigned.remove(&member.id).unwrap_or_default();
                    if let Some(waiter) = member.sync_waiter.take() {
                        let _ = waiter.send(SyncGroupResponse {
                            assignment: member.assignment.clone(),
                            ..answer.clone()
                        });
                    }
                }
                self.state = GroupState::Stable;
                self.rebalance_deadline = None;
                tracing::info!(group = %self.id, generation = self.generation, "rebalance complete: stable");
                (Answer::Wait(receiver), true)
            }
        }
    }

    fn sync_answer(&self, assignment: Bytes) -> SyncGroupResponse {
        SyncGroupResponse {
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            assignment,
            ..Default::default()
        }
    }

    /// Heartbeat.
    pub fn heartbeat(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: Instant,
    ) -> ErrorCode {
        if matches!(self.state, GroupState::Empty | GroupState::Dead) {
            return ErrorCode::UnknownMemberId;
        }
        if let Err(error) = self.check_member(member_id, instance_id, generation) {
            // A member of the previous generation learns it must rejoin.
            if error == ErrorCode::IllegalGeneration && self.state == GroupState::PreparingRebalance
            {
                return ErrorCode::RebalanceInProgress;
            }
            return error;
        }
        self.members
            .get_mut(member_id)
            .expect("checked")
            .last_heartbeat = now;
        match self.state {
            GroupState::PreparingRebalance => ErrorCode::RebalanceInProgress,
            _ => ErrorCode::None,
        }
    }

    /// LeaveGroup for one member, by member id or (static members) instance id.
    pub fn leave(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        now: Instant,
        config: &GroupConfig,
    ) -> ErrorCode {
        let id = match instance_id {
            Some(instance) => match self.member_by_instance(instance) {
                Some(member) if member_id.is_empty() || member.id == member_id => member.id.clone(),
                Some(_) => return ErrorCode::FencedInstanceId,
                None => return ErrorCode::UnknownMemberId,
            },
            None => member_id.to_string(),
        };
        if self.pending.remove(&id).is_some() {
            return ErrorCode::None;
        }
        if !self.members.contains_key(&id) {
            return ErrorCode::UnknownMemberId;
        }
        tracing::info!(group = %self.id, member = %id, "member left");
        self.remove_member(&id, now, config);
        ErrorCode::None
    }

    /// Timers: expired sessions, rebalance timeouts, the initial delay, KIP-394 pending
    /// ids, and a leader that never sent its SyncGroup. Returns true when a new generation
    /// started (persist it).
    pub fn tick(&mut self, now: Instant, config: &GroupConfig) -> bool {
        self.pending.retain(|_, deadline| *deadline > now);
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| m.session_expired(now))
            .map(|m| m.id.clone())
            .collect();
        for id in expired {
            tracing::info!(group = %self.id, member = %id, "member session expired");
            self.remove_member(&id, now, config);
        }
        if self.state == GroupState::CompletingRebalance
            && self.rebalance_deadline.is_some_and(|d| now >= d)
        {
            // The leader never assigned: drop members that did not sync, and start over.
            let silent: Vec<String> = self
                .members
                .values()
                .filter(|m| m.sync_waiter.is_none())
                .map(|m| m.id.clone())
                .collect();
            for id in silent {
                self.members.remove(&id);
            }
            self.prepare_rebalance(now, config);
        }
        self.maybe_complete_join(now)
    }

    /// The group's state as persisted.
    pub fn persisted(&self) -> PersistedGroup {
        let protocol = self.protocol.clone().unwrap_or_default();
        PersistedGroup {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation,
            protocol: self.protocol.clone(),
            leader: self.leader.clone(),
            members: self
                .members
                .values()
                .map(|m| PersistedMember {
                    member_id: m.id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    session_timeout_ms: m.session_timeout_ms,
                    subscription: m.metadata(&protocol),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }

    /// Applies a group record read back from `__consumer_offsets` at start. Members come
    /// back as they were at the last rebalance, with fresh session timers: those that are
    /// still alive carry on, the others expire.
    pub fn restore(&mut self, persisted: PersistedGroup, now: Instant) {
        self.protocol_type = Some(persisted.protocol_type).filter(|t| !t.is_empty());
        self.generation = persisted.generation;
        self.protocol = persisted.protocol.clone();
        self.leader = persisted.leader;
        let protocol = persisted.protocol.unwrap_or_default();
        self.members = persisted
            .members
            .into_iter()
            .map(|m| {
                let member = Member {
                    id: m.member_id.clone(),
                    instance_id: m.group_instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    session_timeout_ms: m.session_timeout_ms,
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    protocols: vec![(protocol.clone(), m.subscription)],
                    assignment: m.assignment,
                    last_heartbeat: now,
                    join_waiter: None,
                    sync_waiter: None,
                };
                (m.member_id, member)
            })
            .collect();
        self.state = if self.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        };
    }
}

/// Applies one stored record to the groups being rebuilt at start.
pub fn replay(groups: &mut HashMap<String, Group>, record: StoredRecord, now: Instant) {
    match record {
        StoredRecord::Offset {
            group,
            topic,
            partition,
            value,
        } => {
            let entry = groups
                .entry(group.clone())
                .or_insert_with(|| Group::new(&group));
            match value {
                Some(offset) => {
                    entry.offsets.insert((topic, partition), offset);
                }
                None => {
                    entry.offsets.remove(&(topic, partition));
                }
            }
        }
        StoredRecord::Group {
            group,
            value: Some(persisted),
        } => {
            groups
                .entry(group.clone())
                .or_insert_with(|| Group::new(&group))
                .restore(persisted, now);
        }
        StoredRecord::Group { group, value: None } => {
            groups.remove(&group);
        }
    }
}

#[cfg(test)]
mod tests;
