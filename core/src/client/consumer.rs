//! The consumer: `assign` partitions or `subscribe` to topics in a consumer group (the
//! classic protocol with client-side `range` / `roundrobin` / `cooperative-sticky`
//! assignors; rebalancing is cooperative, KIP-429, when every configured assignor supports
//! it, else eager), fetch in the background into a bounded queue, and hand records out with
//! [`Consumer::poll`]. Positions start from the group's committed offsets, else from
//! `auto.offset.reset`; commits are manual ([`Consumer::commit`]) or automatic
//! (`enable.auto.commit`, every `auto.commit.interval.ms`).
//!
//! The group protocol is Kafka's classic one (Kafka protocol guide: FindCoordinator,
//! JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch), with static
//! membership (KIP-345); fetching uses Fetch v4 to v12 (topics by name) without fetch
//! sessions, one request per leader per round.
//!
//! # Errors
//!
//! Background work retries retriable errors (connection failures, NOT_COORDINATOR,
//! NOT_LEADER_OR_FOLLOWER, ...) every 100 ms without reporting them, and answers
//! REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID by rejoining; any other
//! error is handed to the next [`Consumer::poll`]. A consumer that cannot reach its
//! brokers therefore polls `Ok(None)`, it does not fail.
//!
//! The *request errors* the `# Errors` sections below refer to are [`Error::Io`],
//! [`Error::Disconnected`], [`Error::Decode`], [`Error::Encode`],
//! [`Error::UnsupportedApi`], and [`Error::Kafka`] from ApiVersions on connect. Calls
//! wait until the broker answers or the connection fails; there is no client-side
//! timeout.

#![warn(missing_docs)]

mod served;

pub use served::{RebalanceEvents, Served};

use super::assignor::{self, Assignor, Subscription};
use super::cluster::{Cluster, ClusterMetadata};
use super::connection::BrokerConnection;
use super::{boolean, invalid, whole_number};
use crate::config::ConfigError;
use crate::error::{Error, ErrorCode};
use crate::protocol::messages::*;
use crate::protocol::records::RecordBatches;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// How often a [`Consumer::stream`] with nothing to hand out looks whether the consumer
/// was closed.
const STREAM_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// A (topic, partition).
pub type TopicPartition = (String, i32);

/// The offset [`Consumer::seek`] takes for a partition's first offset (Kafka's ListOffsets
/// "earliest" timestamp, as librdkafka's `RD_KAFKA_OFFSET_BEGINNING`).
pub const OFFSET_BEGINNING: i64 = -2;

/// The offset [`Consumer::seek`] takes for a partition's end (Kafka's ListOffsets "latest"
/// timestamp, as librdkafka's `RD_KAFKA_OFFSET_END`).
pub const OFFSET_END: i64 = -1;

/// A partition and the offset to fetch it from.
type PartitionAt = (TopicPartition, i64);

/// Where to start when there is no committed offset, or when the position is outside the
/// log (OFFSET_OUT_OF_RANGE): `auto.offset.reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    /// `earliest` (or `smallest`, `beginning`): the log start offset.
    Earliest,
    /// `latest` (or `largest`, `end`): the high watermark, or the last stable offset with
    /// read_committed. The default.
    Latest,
    /// `none` (or `error`): fail. [`Consumer::poll`] returns [`Error::Kafka`] with
    /// OFFSET_OUT_OF_RANGE naming the partition, again and again until a
    /// [`Consumer::seek`] gives the partition a valid position. While a partition has no
    /// position at all (no committed offset), no partition is fetched.
    None,
}

/// Consumer settings by Kafka key. Intervals and timeouts (`*.interval.ms`,
/// `session.timeout.ms`, `max.poll.interval.ms`) must be at least 1, sizes and waits at
/// least 0, all at most `i32::MAX`.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// `bootstrap.servers` (required): `host:port` addresses to discover the cluster from.
    pub bootstrap_servers: Vec<String>,
    /// `client.id`, sent with every request. Default `tidelog-consumer`.
    pub client_id: String,
    /// `group.id`: needed for `subscribe`, `commit` and `committed`; with `assign`,
    /// positions start from its committed offsets. Default none; empty means none.
    pub group_id: Option<String>,
    /// `group.instance.id`: static membership (KIP-345); such a member does not leave the
    /// group on close. Default none; empty means none.
    pub group_instance_id: Option<String>,
    /// `auto.offset.reset`. Default [`OffsetReset::Latest`].
    pub auto_offset_reset: OffsetReset,
    /// `enable.auto.commit`: commit consumed positions every `auto.commit.interval.ms`,
    /// before partitions are revoked, and on close. Default true.
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms` (ms): checked between fetch rounds. Default 5000.
    pub auto_commit_interval_ms: u64,
    /// `fetch.min.bytes` (bytes): a fetch waits for at least this much data, up to
    /// `fetch.max.wait.ms`. Default 1.
    pub fetch_min_bytes: i32,
    /// `fetch.max.wait.ms` (ms): the longest a broker holds a fetch. Default 500.
    pub fetch_max_wait_ms: i32,
    /// `fetch.max.bytes` (bytes per fetch response, i.e. per leader per round). Default
    /// 52428800 (50 MiB).
    pub fetch_max_bytes: i32,
    /// `max.partition.fetch.bytes` (bytes per partition per fetch). Default 1048576
    /// (1 MiB).
    pub max_partition_fetch_bytes: i32,
    /// `isolation.level`: 0 `read_uncommitted` (default), 1 `read_committed` (KIP-98).
    /// With read_committed the broker returns only records up to the last stable offset,
    /// but this client does not filter out records of aborted transactions (it ignores
    /// the fetch response's aborted-transaction list); it skips only control records.
    pub isolation_level: i8,
    /// `session.timeout.ms` (ms), sent in JoinGroup: how long the coordinator waits for
    /// a heartbeat before removing the member. Default 45000.
    pub session_timeout_ms: i32,
    /// `heartbeat.interval.ms` (ms): the pause between heartbeats. Default 3000.
    pub heartbeat_interval_ms: u64,
    /// `max.poll.interval.ms` (ms), sent in JoinGroup as the rebalance timeout: how long
    /// the coordinator waits for members to rejoin. Unlike the Java client, the consumer
    /// does not leave the group when `poll` is not called for this long. Default 300000.
    pub max_poll_interval_ms: i32,
    /// `metadata.max.age.ms` (ms): how often a pattern subscription looks for new
    /// matching topics. Other metadata is refreshed only after errors. Default 300000.
    pub metadata_max_age_ms: u64,
    /// `partition.assignment.strategy`, in order of preference (comma-separated names or
    /// Java class names, see [`Assignor::from_name`]). Rebalancing is cooperative only if
    /// every one is. Default `range, roundrobin` (the Java client's is
    /// `range, cooperative-sticky`).
    pub assignors: Vec<Assignor>,
}

/// A setting from `min` to the largest `i32` (the protocol's field size for most).
fn int(key: &str, value: &str, min: i64) -> Result<i32, Error> {
    Ok(whole_number(key, value, min, i32::MAX.into())? as i32)
}

impl ConsumerConfig {
    /// Parses Kafka-style settings; later pairs override earlier ones. Defaults are the
    /// Java client's except `client.id` and `partition.assignment.strategy` (see the
    /// fields).
    ///
    /// # Errors
    /// [`Error::Config`]: `UnknownKey` for a key other than the fields'; `InvalidValue`
    /// for a `bootstrap.servers` entry that is not `host:port`, a number or boolean that
    /// does not parse or is out of range, an unknown `auto.offset.reset`, `isolation.level` or assignor, an
    /// empty `partition.assignment.strategy`, or a missing `bootstrap.servers`.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<ConsumerConfig, Error> {
        let mut config = ConsumerConfig::defaults();
        for (key, value) in pairs {
            config.set(key, value)?;
        }
        super::require_bootstrap(&config.bootstrap_servers)?;
        Ok(config)
    }

    /// The defaults of every key, without `bootstrap.servers`.
    pub(crate) fn defaults() -> ConsumerConfig {
        ConsumerConfig {
            bootstrap_servers: Vec::new(),
            client_id: "tidelog-consumer".into(),
            group_id: None,
            group_instance_id: None,
            auto_offset_reset: OffsetReset::Latest,
            enable_auto_commit: true,
            auto_commit_interval_ms: 5_000,
            fetch_min_bytes: 1,
            fetch_max_wait_ms: 500,
            fetch_max_bytes: 52_428_800,
            max_partition_fetch_bytes: 1_048_576,
            isolation_level: 0,
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 3_000,
            max_poll_interval_ms: 300_000,
            metadata_max_age_ms: 300_000,
            assignors: vec![Assignor::Range, Assignor::RoundRobin],
        }
    }

    /// Sets one key from its string value, as [`ConsumerConfig::from_pairs`] does.
    ///
    /// # Errors
    /// [`Error::Config`] naming `key` if it is unknown or `value` is invalid for it.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), Error> {
        match key {
            "bootstrap.servers" => self.bootstrap_servers = super::bootstrap_servers(key, value)?,
            "client.id" => self.client_id = value.into(),
            "group.id" => self.group_id = Some(value.into()).filter(|v: &String| !v.is_empty()),
            "group.instance.id" => {
                self.group_instance_id = Some(value.into()).filter(|v: &String| !v.is_empty())
            }
            "auto.offset.reset" => {
                self.auto_offset_reset = match value {
                    "earliest" | "smallest" | "beginning" => OffsetReset::Earliest,
                    "latest" | "largest" | "end" => OffsetReset::Latest,
                    "none" | "error" => OffsetReset::None,
                    _ => return Err(invalid(key, value, "expected earliest, latest or none")),
                }
            }
            "enable.auto.commit" => self.enable_auto_commit = boolean(key, value)?,
            "auto.commit.interval.ms" => self.auto_commit_interval_ms = int(key, value, 1)? as u64,
            "fetch.min.bytes" => self.fetch_min_bytes = int(key, value, 0)?,
            "fetch.max.wait.ms" => self.fetch_max_wait_ms = int(key, value, 0)?,
            "fetch.max.bytes" => self.fetch_max_bytes = int(key, value, 0)?,
            "max.partition.fetch.bytes" => self.max_partition_fetch_bytes = int(key, value, 0)?,
            "isolation.level" => {
                self.isolation_level = match value {
                    "read_uncommitted" => 0,
                    "read_committed" => 1,
                    _ => {
                        return Err(invalid(
                            key,
                            value,
                            "expected read_uncommitted or read_committed",
                        ))
                    }
                }
            }
            "session.timeout.ms" => self.session_timeout_ms = int(key, value, 1)?,
            "heartbeat.interval.ms" => self.heartbeat_interval_ms = int(key, value, 1)? as u64,
            "max.poll.interval.ms" => self.max_poll_interval_ms = int(key, value, 1)?,
            "metadata.max.age.ms" => self.metadata_max_age_ms = int(key, value, 0)? as u64,
            "partition.assignment.strategy" => {
                self.assignors = value
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|name| {
                        Assignor::from_name(name).ok_or_else(|| {
                            invalid(
                                key,
                                value,
                                "tidelog implements range, roundrobin and cooperative-sticky",
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?;
                if self.assignors.is_empty() {
                    return Err(invalid(key, value, "at least one assignor is needed"));
                }
            }
            _ => return Err(ConfigError::UnknownKey { key: key.into() }.into()),
        }
        Ok(())
    }
}

/// A record as the consumer hands it out.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerRecord {
    /// The topic it was read from.
    pub topic: String,
    /// The partition it was read from.
    pub partition: i32,
    /// Its offset in the partition.
    pub offset: i64,
    /// Milliseconds since the epoch (CreateTime or LogAppendTime, as the topic's
    /// `message.timestamp.type` says).
    pub timestamp_ms: i64,
    /// The key; `None` for a null key.
    pub key: Option<Bytes>,
    /// The value; `None` for a null value (a tombstone).
    pub value: Option<Bytes>,
    /// The headers in record order: keys decoded as UTF-8 (invalid sequences replaced),
    /// values `None` when null.
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// A change of assignment, reported to the rebalance listener, with the partitions it
/// concerns. Under eager rebalancing every rebalance revokes the whole assignment and
/// assigns the new one; under cooperative rebalancing (KIP-429) only the partitions that
/// move are revoked, and `Assigned` lists only those added (possibly none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebalanceEvent {
    /// The partitions are now this consumer's (already in [`Consumer::assignment`], so the
    /// listener may [`Consumer::seek`] them); fetching starts from their committed offsets
    /// (or `auto.offset.reset`).
    Assigned(Vec<TopicPartition>),
    /// The partitions are given up in an orderly way (they are still in
    /// [`Consumer::assignment`] during the call); with `enable.auto.commit` their positions
    /// were committed just before. Also reported by [`Consumer::close`].
    Revoked(Vec<TopicPartition>),
    /// The group no longer counts this consumer as their owner (UNKNOWN_MEMBER_ID: its
    /// session expired; ILLEGAL_GENERATION: its generation is stale; FENCED_INSTANCE_ID:
    /// another consumer took its `group.instance.id`): another member may already own
    /// them, so nothing was committed.
    Lost(Vec<TopicPartition>),
}

type Listener =
    Arc<dyn Fn(RebalanceEvent) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

#[derive(Debug, Clone, Default)]
struct PartitionState {
    /// Next offset to fetch; `None` until resolved from the commit or the reset policy.
    fetch_position: Option<i64>,
    /// Next offset `poll` hands out: what a commit stores.
    consumed_position: Option<i64>,
    /// Set by seeking to the beginning or end: where to start instead of the committed
    /// offset, once the position is resolved.
    reset_to: Option<OffsetReset>,
    paused: bool,
}

#[derive(Default)]
struct Membership {
    member_id: String,
    generation: i32,
    coordinator: Option<Arc<BrokerConnection>>,
    needs_join: bool,
    /// The coordinator said this member or its generation is gone: its partitions are
    /// lost, not revoked, at the next join.
    lost: bool,
}

#[derive(Default)]
struct State {
    /// The subscribed topics; for a pattern subscription, the topics matching it when
    /// last checked.
    subscription: Vec<String>,
    pattern: Option<regex::Regex>,
    assigned: BTreeMap<TopicPartition, PartitionState>,
    membership: Membership,
    records: VecDeque<ConsumerRecord>,
    error: Option<Error>,
    closed: bool,
}

struct Inner {
    config: ConsumerConfig,
    cluster: Arc<Cluster>,
    state: Mutex<State>,
    /// Woken when records or an error arrive (for `poll`), or when the queue drains or the
    /// assignment changes (for the fetcher).
    arrived: Notify,
    wake_fetcher: Notify,
    stop: watch::Sender<bool>,
    listener: Mutex<Option<Listener>>,
}

/// Records buffered ahead of `poll` before the fetcher pauses.
const MAX_QUEUED_RECORDS: usize = 50_000;

/// The consumer. Methods take `&self`; share it between tasks with an `Arc`. Background
/// work stops at [`Consumer::close`] or when it is dropped (dropping neither commits nor
/// leaves the group: the session times out instead).
pub struct Consumer {
    inner: Arc<Inner>,
}

impl Inner {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tells the listener and waits until it has handled the event.
    async fn notify(&self, event: RebalanceEvent) {
        let listener = self
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(listener) = listener {
            listener(event).await;
        }
    }

    fn group_id(&self) -> Result<&str, Error> {
        self.config
            .group_id
            .as_deref()
            .ok_or_else(|| invalid("group.id", "", "a group id is needed for this operation"))
    }

    async fn coordinator(&self) -> Result<Arc<BrokerConnection>, Error> {
        if let Some(connection) = self
            .state()
            .membership
            .coordinator
            .clone()
            .filter(|c| c.is_open())
        {
            return Ok(connection);
        }
        let group = self.group_id()?.to_string();
        let connection = self.cluster.any_connection().await?;
        let version = connection.version_for(ApiKey::FindCoordinator, 0)?;
        let request = if version >= 4 {
            FindCoordinatorRequest {
                coordinator_keys: vec![group],
                ..Default::default()
            }
        } else {
            FindCoordinatorRequest {
                key: group,
                ..Default::default()
            }
        };
        let response = connection.send(request, version).await?;
        let (code, message, host, port) = match response.coordinators.into_iter().next() {
            Some(c) => (c.error_code, c.error_message, c.host, c.port),
            None => (
                response.error_code,
                response.error_message,
                response.host,
                response.port,
            ),
        };
        Error::check(code, message)?;
        let coordinator = self
            .cluster
            .connection_to(&format!("{host}:{port}"))
            .await?;
        self.state().membership.coordinator = Some(coordinator.clone());
        Ok(coordinator)
    }

    /// Commits `offsets` for the group, as the current member when there is one.
    async fn commit(&self, offsets: Vec<(TopicPartition, i64)>) -> Result<(), Error> {
        if offsets.is_empty() {
            return Ok(());
        }
        let group = self.group_id()?.to_string();
        let (member_id, generation) = {
            let state = self.state();
            let subscribed = !state.subscription.is_empty();
            (
                if subscribed {
                    state.membership.member_id.clone()
                } else {
                    String::new()
                },
                if subscribed {
                    state.membership.generation
                } else {
                    -1
                },
            )
        };
        let mut by_topic: BTreeMap<
            String,
            Vec<offset_commit_request::OffsetCommitRequestPartition>,
        > = BTreeMap::new();
        for ((topic, partition), offset) in offsets {
            by_topic.entry(topic).or_default().push(
                offset_commit_request::OffsetCommitRequestPartition {
                    partition_index: partition,
                    committed_offset: offset,
                    committed_leader_epoch: -1,
                    commit_timestamp: -1,
                    committed_metadata: Some(String::new()),
                },
            );
        }
        let request = OffsetCommitRequest {
            group_id: group,
            generation_id_or_member_epoch: generation,
            member_id,
            group_instance_id: self.config.group_instance_id.clone(),
            topics: by_topic
                .into_iter()
                .map(
                    |(name, partitions)| offset_commit_request::OffsetCommitRequestTopic {
                        name,
                        partitions,
                    },
                )
                .collect(),
            ..Default::default()
        };
        let (_, response) = self.coordinator().await?.call(request, 2).await?;
        for partition in response.topics.iter().flat_map(|t| &t.partitions) {
            if matches!(
                ErrorCode::from_code(partition.error_code),
                Some(
                    ErrorCode::RebalanceInProgress
                        | ErrorCode::IllegalGeneration
                        | ErrorCode::UnknownMemberId
                )
            ) {
                self.state().membership.needs_join = true;
            }
            Error::check(partition.error_code, None)?;
        }
        Ok(())
    }

    fn consumed_positions(&self) -> Vec<(TopicPartition, i64)> {
        self.state()
            .assigned
            .iter()
            .filter_map(|(tp, p)| p.consumed_position.map(|o| (tp.clone(), o)))
            .collect()
    }

    /// Whether rebalancing is cooperative: only when every configured assignor supports
    /// it, as the Java client decides.
    fn cooperative(&self) -> bool {
        self.config.assignors.iter().all(|a| a.is_cooperative())
    }

    /// Gives up `revoked`: stops handing out their records, commits their positions if
    /// auto-commit is on, tells the listener, drops them and their buffered records.
    async fn revoke(&self, revoked: Vec<TopicPartition>) {
        if revoked.is_empty() {
            return;
        }
        {
            // Nothing more of them is handed out from here: not while the commit below
            // waits for its response (a record polled then would be read again by the
            // partition's next owner), nor while the listener runs (it may run on another
            // thread, which polls again as soon as it is done).
            let mut state = self.state();
            for tp in &revoked {
                if let Some(p) = state.assigned.get_mut(tp) {
                    p.paused = true;
                }
            }
            state.records.retain(|r| {
                !revoked
                    .iter()
                    .any(|(t, p)| *t == r.topic && *p == r.partition)
            });
        }
        if self.config.enable_auto_commit {
            let positions = self
                .consumed_positions()
                .into_iter()
                .filter(|(tp, _)| revoked.contains(tp))
                .collect();
            if let Err(error) = self.commit(positions).await {
                tracing::warn!(%error, "commit before revoking failed");
            }
        }
        self.notify(RebalanceEvent::Revoked(revoked.clone())).await;
        self.drop_partitions(&revoked);
    }

    fn drop_partitions(&self, partitions: &[TopicPartition]) {
        let mut state = self.state();
        for tp in partitions {
            state.assigned.remove(tp);
        }
        state.records.retain(|r| {
            !partitions
                .iter()
                .any(|(t, p)| *t == r.topic && *p == r.partition)
        });
    }

    /// Drops the whole assignment without committing and tells the listener it is lost.
    async fn lose_assignment(&self) {
        let lost: Vec<TopicPartition> = self.state().assigned.keys().cloned().collect();
        self.state().membership.lost = false;
        if !lost.is_empty() {
            self.notify(RebalanceEvent::Lost(lost.clone())).await;
            self.drop_partitions(&lost);
        }
    }

    /// Another consumer joined with this `group.instance.id` (KIP-345): this one loses its
    /// partitions and stops taking part in the group; `poll` raises FENCED_INSTANCE_ID.
    async fn fenced(&self) {
        self.lose_assignment().await;
        let mut state = self.state();
        state.subscription.clear();
        state.pattern = None;
        state.membership.member_id.clear();
        state.error = Some(Error::Kafka {
            code: ErrorCode::FencedInstanceId,
            message: Some("another consumer joined with the same group.instance.id".into()),
        });
        drop(state);
        self.arrived.notify_waiters();
    }

    /// The coordinator no longer knows this member (`forget_member_id`) or its generation:
    /// rejoin, and treat the partitions as lost.
    fn membership_lost(&self, forget_member_id: bool) {
        let mut state = self.state();
        if forget_member_id {
            state.membership.member_id.clear();
        }
        state.membership.generation = -1;
        state.membership.lost = true;
        state.membership.needs_join = true;
    }

    /// Joins (or rejoins) the group and takes the assignment SyncGroup hands back.
    async fn join(&self) -> Result<(), Error> {
        if self.state().membership.lost {
            self.lose_assignment().await;
        }
        let cooperative = self.cooperative();
        let (subscription, owned) = {
            let state = self.state();
            let owned: Vec<TopicPartition> = state.assigned.keys().cloned().collect();
            (state.subscription.clone(), owned)
        };
        // Eager: give up everything before joining. Cooperative: keep what is still
        // subscribed, and let the assignment say what else moves.
        let unsubscribed = owned
            .iter()
            .filter(|(topic, _)| !cooperative || !subscription.contains(topic))
            .cloned()
            .collect();
        self.revoke(unsubscribed).await;
        let group = self.group_id()?.to_string();
        let coordinator = self.coordinator().await?;
        let metadata = {
            let state = self.state();
            assignor::encode_subscription(&Subscription {
                topics: subscription,
                owned_partitions: state.assigned.keys().cloned().collect(),
                generation: state.membership.generation,
            })
        };
        let protocols: Vec<join_group_request::JoinGroupRequestProtocol> = self
            .config
            .assignors
            .iter()
            .map(|a| join_group_request::JoinGroupRequestProtocol {
                name: a.name().into(),
                metadata: metadata.clone(),
            })
            .collect();
        let mut member_id = self.state().membership.member_id.clone();
        let joined = loop {
            let request = JoinGroupRequest {
                group_id: group.clone(),
                session_timeout_ms: self.config.session_timeout_ms,
                rebalance_timeout_ms: self.config.max_poll_interval_ms,
                member_id: member_id.clone(),
                group_instance_id: self.config.group_instance_id.clone(),
                protocol_type: "consumer".into(),
                protocols: protocols.clone(),
                reason: None,
            };
            let (_, response) = coordinator.call(request, 2).await?;
            match ErrorCode::from_code(response.error_code) {
                // KIP-394: rejoin with the member id the coordinator handed out.
                Some(ErrorCode::MemberIdRequired) => member_id = response.member_id,
                Some(ErrorCode::UnknownMemberId) => {
                    member_id = String::new();
                    self.lose_assignment().await;
                }
                Some(ErrorCode::FencedInstanceId) => {
                    self.fenced().await;
                    return Ok(());
                }
                _ => {
                    Error::check(response.error_code, None)?;
                    break response;
                }
            }
        };
        let assignments = if joined.leader == joined.member_id && !joined.skip_assignment {
            self.assign_as_leader(&joined).await?
        } else {
            Vec::new()
        };
        let request = SyncGroupRequest {
            group_id: group,
            generation_id: joined.generation_id,
            member_id: joined.member_id.clone(),
            group_instance_id: self.config.group_instance_id.clone(),
            protocol_type: Some("consumer".into()),
            protocol_name: joined.protocol_name.clone(),
            assignments,
        };
        let (_, synced) = coordinator.call(request, 0).await?;
        {
            let mut state = self.state();
            state.membership.member_id = joined.member_id.clone();
            state.membership.generation = joined.generation_id;
        }
        match ErrorCode::from_code(synced.error_code) {
            Some(ErrorCode::UnknownMemberId) => self.membership_lost(true),
            Some(ErrorCode::IllegalGeneration) => self.membership_lost(false),
            _ => {}
        }
        Error::check(synced.error_code, None)?;
        let partitions: BTreeSet<TopicPartition> = assignor::decode_assignment(synced.assignment)
            .into_iter()
            .collect();
        let owned: BTreeSet<TopicPartition> = self.state().assigned.keys().cloned().collect();
        // Eager rebalancing revoked everything before joining, so this is empty there.
        let revoked: Vec<TopicPartition> = owned.difference(&partitions).cloned().collect();
        let added: Vec<TopicPartition> = partitions.difference(&owned).cloned().collect();
        self.revoke(revoked.clone()).await;
        {
            let mut state = self.state();
            for tp in &added {
                state.assigned.insert(tp.clone(), PartitionState::default());
            }
            // KIP-429: after revoking, rejoin so the partitions can go to their new owner.
            state.membership.needs_join = !revoked.is_empty();
        }
        tracing::info!(
            generation = joined.generation_id,
            partitions = partitions.len(),
            added = added.len(),
            revoked = revoked.len(),
            "joined group"
        );
        self.notify(RebalanceEvent::Assigned(added)).await;
        self.wake_fetcher.notify_one();
        Ok(())
    }

    /// The leader's part: assign every member's subscribed partitions.
    async fn assign_as_leader(
        &self,
        joined: &JoinGroupResponse,
    ) -> Result<Vec<sync_group_request::SyncGroupRequestAssignment>, Error> {
        let assignor = joined
            .protocol_name
            .as_deref()
            .and_then(Assignor::from_name)
            .unwrap_or(Assignor::Range);
        let members: BTreeMap<String, Subscription> = joined
            .members
            .iter()
            .map(|m| {
                let subscription = assignor::decode_subscription(m.metadata.clone())
                    .unwrap_or_else(|| {
                        tracing::warn!(member = %m.member_id, "unreadable subscription; nothing assigned to it");
                        Subscription {
                            topics: Vec::new(),
                            owned_partitions: Vec::new(),
                            generation: -1,
                        }
                    });
                (m.member_id.clone(), subscription)
            })
            .collect();
        let mut topics: Vec<String> = members
            .values()
            .flat_map(|s| s.topics.iter().cloned())
            .collect();
        topics.sort();
        topics.dedup();
        let mut partitions = BTreeMap::new();
        for topic in topics {
            match self.cluster.topic_info(&topic, true).await {
                Ok(info) => {
                    partitions.insert(topic, info.partitions.len() as i32);
                }
                Err(error) => {
                    tracing::warn!(%topic, %error, "subscribed topic has no metadata; not assigned")
                }
            }
        }
        let mut assignment = assignor.assign(&members, &partitions);
        if assignor.is_cooperative() {
            assignor::withhold_transfers(&members, &mut assignment);
        }
        Ok(assignment
            .into_iter()
            .map(
                |(member_id, owned)| sync_group_request::SyncGroupRequestAssignment {
                    member_id,
                    assignment: assignor::encode_assignment(&owned),
                },
            )
            .collect())
    }

    /// Resolves positions of partitions that have none: the committed offset, else
    /// `auto.offset.reset`.
    async fn resolve_positions(&self) -> Result<(), Error> {
        let (missing, seeking): (Vec<(TopicPartition, Option<OffsetReset>)>, Vec<_>) = self
            .state()
            .assigned
            .iter()
            .filter(|(_, p)| p.fetch_position.is_none())
            .map(|(tp, p)| (tp.clone(), p.reset_to))
            .partition(|(_, reset_to)| reset_to.is_none());
        let missing: Vec<TopicPartition> = missing.into_iter().map(|(tp, _)| tp).collect();
        for (tp, reset_to) in seeking {
            let position = self.reset_offset(&tp, reset_to).await?;
            // A seek while the offset was looked up wins over it.
            if let Some(p) = self
                .state()
                .assigned
                .get_mut(&tp)
                .filter(|p| p.reset_to == reset_to)
            {
                p.fetch_position.get_or_insert(position);
                p.consumed_position.get_or_insert(position);
                p.reset_to = None;
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let mut found: BTreeMap<TopicPartition, i64> = BTreeMap::new();
        if self.config.group_id.is_some() {
            let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
            for (topic, partition) in &missing {
                by_topic.entry(topic.clone()).or_default().push(*partition);
            }
            let request = OffsetFetchRequest {
                group_id: self.group_id()?.to_string(),
                topics: Some(
                    by_topic
                        .into_iter()
                        .map(|(name, partition_indexes)| {
                            offset_fetch_request::OffsetFetchRequestTopic {
                                name,
                                partition_indexes,
                            }
                        })
                        .collect(),
                ),
                ..Default::default()
            };
            let connection = self.coordinator().await?;
            // v1-7 carry one group in the top-level fields, which is what this request uses.
            let version = connection.version_for(ApiKey::OffsetFetch, 1)?.min(7);
            let response = connection.send(request, version).await?;
            Error::check(response.error_code, None)?;
            for topic in response.topics {
                for p in topic.partitions {
                    if p.error_code == 0 && p.committed_offset >= 0 {
                        found.insert((topic.name.clone(), p.partition_index), p.committed_offset);
                    }
                }
            }
        }
        for tp in &missing {
            let position = match found.get(tp) {
                Some(offset) => *offset,
                None => self.reset_offset(tp, None).await?,
            };
            // A seek to the beginning or end meanwhile wins over the committed offset.
            if let Some(p) = self
                .state()
                .assigned
                .get_mut(tp)
                .filter(|p| p.reset_to.is_none())
            {
                p.fetch_position.get_or_insert(position);
                p.consumed_position.get_or_insert(position);
            }
        }
        Ok(())
    }

    /// The offset `policy` (else `auto.offset.reset`) starts `partition` at.
    async fn reset_offset(
        &self,
        (topic, partition): &TopicPartition,
        policy: Option<OffsetReset>,
    ) -> Result<i64, Error> {
        let timestamp = match policy.unwrap_or(self.config.auto_offset_reset) {
            OffsetReset::Earliest => -2,
            OffsetReset::Latest => -1,
            OffsetReset::None => {
                return Err(Error::Kafka {
                    code: ErrorCode::OffsetOutOfRange,
                    message: Some(format!(
                        "{topic}-{partition} has no committed offset and auto.offset.reset is none"
                    )),
                })
            }
        };
        self.offset_at(&(topic.clone(), *partition), timestamp)
            .await
    }

    /// ListOffsets for one partition at `timestamp` (ms; -2 earliest, -1 latest): the
    /// first offset whose timestamp is at or after it, -1 if none.
    async fn offset_at(
        &self,
        (topic, partition): &TopicPartition,
        timestamp: i64,
    ) -> Result<i64, Error> {
        let leader = self.leader(topic, *partition).await?;
        let request = ListOffsetsRequest {
            replica_id: -1,
            isolation_level: self.config.isolation_level,
            topics: vec![list_offsets_request::ListOffsetsTopic {
                name: topic.clone(),
                partitions: vec![list_offsets_request::ListOffsetsPartition {
                    partition_index: *partition,
                    current_leader_epoch: -1,
                    timestamp,
                    max_num_offsets: 1,
                }],
            }],
            ..Default::default()
        };
        let (_, response) = leader.call(request, 1).await?;
        let p = &response.topics[0].partitions[0];
        Error::check(p.error_code, None)?;
        Ok(p.offset)
    }

    async fn leader(&self, topic: &str, partition: i32) -> Result<Arc<BrokerConnection>, Error> {
        let info = self.cluster.topic_info(topic, false).await?;
        let leader = info
            .partitions
            .iter()
            .find(|p| p.partition == partition)
            .map(|p| p.leader)
            .ok_or(Error::Kafka {
                code: ErrorCode::UnknownTopicOrPartition,
                message: Some(format!("{topic}-{partition}")),
            })?;
        self.cluster.connection(leader).await
    }

    /// One round of fetches to every leader of the partitions to fetch.
    async fn fetch_round(self: &Arc<Self>) -> Result<(), Error> {
        let wanted: Vec<(TopicPartition, i64)> = {
            let state = self.state();
            if state.records.len() >= MAX_QUEUED_RECORDS {
                return Ok(());
            }
            state
                .assigned
                .iter()
                .filter(|(_, p)| !p.paused)
                .filter_map(|(tp, p)| p.fetch_position.map(|o| (tp.clone(), o)))
                .collect()
        };
        if wanted.is_empty() {
            return Ok(());
        }
        let mut by_leader: BTreeMap<String, (Arc<BrokerConnection>, Vec<PartitionAt>)> =
            BTreeMap::new();
        for (tp, offset) in wanted {
            let connection = self.leader(&tp.0, tp.1).await?;
            by_leader
                .entry(connection.address().to_string())
                .or_insert_with(|| (connection, Vec::new()))
                .1
                .push((tp, offset));
        }
        let fetches = by_leader.into_values().map(|(connection, partitions)| {
            let this = self.clone();
            tokio::spawn(async move { this.fetch_from(connection, partitions).await })
        });
        let handles: Vec<_> = fetches.collect();
        for handle in handles {
            handle.await.unwrap_or(Ok(()))?;
        }
        Ok(())
    }

    async fn fetch_from(
        &self,
        connection: Arc<BrokerConnection>,
        partitions: Vec<(TopicPartition, i64)>,
    ) -> Result<(), Error> {
        let version = connection.version_for(ApiKey::Fetch, 4)?.min(12); // v13+ names topics by id
        let mut by_topic: BTreeMap<String, Vec<fetch_request::FetchPartition>> = BTreeMap::new();
        for ((topic, partition), offset) in &partitions {
            by_topic
                .entry(topic.clone())
                .or_default()
                .push(fetch_request::FetchPartition {
                    partition: *partition,
                    current_leader_epoch: -1,
                    fetch_offset: *offset,
                    last_fetched_epoch: -1,
                    log_start_offset: -1,
                    partition_max_bytes: self.config.max_partition_fetch_bytes,
                    ..Default::default()
                });
        }
        let request = FetchRequest {
            replica_id: -1,
            max_wait_ms: self.config.fetch_max_wait_ms,
            min_bytes: self.config.fetch_min_bytes,
            max_bytes: self.config.fetch_max_bytes,
            isolation_level: self.config.isolation_level,
            session_epoch: -1,
            topics: by_topic
                .into_iter()
                .map(|(topic, partitions)| fetch_request::FetchTopic {
                    topic,
                    partitions,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let response = connection.send(request, version).await?;
        Error::check(response.error_code, None)?;
        for topic in response.responses {
            for data in topic.partitions {
                let tp = (topic.topic.clone(), data.partition_index);
                let Some(&(_, requested)) = partitions.iter().find(|(p, _)| *p == tp) else {
                    continue;
                };
                match ErrorCode::from_code(data.error_code) {
                    Some(ErrorCode::None) => {
                        self.take_records(&tp, requested, data.records.unwrap_or_default())?
                    }
                    Some(ErrorCode::OffsetOutOfRange) => {
                        let reset = self.reset_offset(&tp, None).await;
                        let mut state = self.state();
                        match (reset, state.assigned.get_mut(&tp)) {
                            (Ok(offset), Some(p)) if p.fetch_position == Some(requested) => {
                                p.fetch_position = Some(offset);
                                p.consumed_position = Some(offset);
                            }
                            (Err(error), _) => state.error = Some(error),
                            _ => {}
                        }
                    }
                    Some(code) if code.is_retriable() => self.cluster.invalidate(&tp.0),
                    _ => {
                        self.state().error = Some(Error::Kafka {
                            code: ErrorCode::from_code(data.error_code)
                                .unwrap_or(ErrorCode::UnknownServerError),
                            message: Some(format!("fetching {}-{}", tp.0, tp.1)),
                        })
                    }
                }
            }
        }
        self.arrived.notify_waiters();
        Ok(())
    }

    /// Queues the records of a fetch, unless the position moved (seek, rebalance) while it
    /// was in flight.
    fn take_records(
        &self,
        tp: &TopicPartition,
        requested: i64,
        records: Bytes,
    ) -> Result<(), Error> {
        let mut next = requested;
        let mut fetched = Vec::new();
        for batch in RecordBatches::new(records) {
            let batch = batch.map_err(|e| Error::Kafka {
                code: ErrorCode::CorruptMessage,
                message: Some(e.to_string()),
            })?;
            let after = batch.next_offset();
            if !batch.is_control() {
                for record in batch.records().map_err(|e| Error::Kafka {
                    code: ErrorCode::CorruptMessage,
                    message: Some(e.to_string()),
                })? {
                    let record = record.map_err(|e| Error::Kafka {
                        code: ErrorCode::CorruptMessage,
                        message: Some(e.to_string()),
                    })?;
                    if record.offset < requested {
                        continue;
                    }
                    fetched.push(ConsumerRecord {
                        topic: tp.0.clone(),
                        partition: tp.1,
                        offset: record.offset,
                        timestamp_ms: record.timestamp,
                        key: record.key,
                        value: record.value,
                        headers: record
                            .headers
                            .into_iter()
                            .map(|h| (String::from_utf8_lossy(&h.key).into_owned(), h.value))
                            .collect(),
                    });
                }
            }
            next = next.max(after);
        }
        let mut state = self.state();
        match state.assigned.get_mut(tp) {
            Some(p) if p.fetch_position == Some(requested) && !p.paused => {
                p.fetch_position = Some(next)
            }
            _ => return Ok(()),
        }
        state.records.extend(fetched);
        Ok(())
    }

    /// Re-reads the topic list and, when the topics matching the pattern changed,
    /// subscribes to them (a rejoin).
    async fn match_pattern(&self) -> Result<(), Error> {
        self.cluster.refresh(None, false).await?;
        let mut state = self.state();
        let Some(pattern) = state.pattern.clone() else {
            return Ok(());
        };
        let mut matching: Vec<String> = self
            .cluster
            .topics()
            .into_iter()
            .filter(|t| !t.is_internal && pattern.is_match(&t.name))
            .map(|t| t.name)
            .collect();
        matching.sort();
        if matching != state.subscription {
            tracing::info!(topics = ?matching, "pattern subscription changed");
            state.subscription = matching;
            state.membership.needs_join = true;
        }
        Ok(())
    }

    async fn heartbeat(&self) -> Result<(), Error> {
        let (member_id, generation) = {
            let state = self.state();
            if state.subscription.is_empty()
                || state.membership.member_id.is_empty()
                || state.membership.needs_join
            {
                return Ok(());
            }
            (
                state.membership.member_id.clone(),
                state.membership.generation,
            )
        };
        let request = HeartbeatRequest {
            group_id: self.group_id()?.to_string(),
            generation_id: generation,
            member_id,
            group_instance_id: self.config.group_instance_id.clone(),
        };
        let (_, response) = self.coordinator().await?.call(request, 0).await?;
        match ErrorCode::from_code(response.error_code) {
            Some(ErrorCode::None) => {}
            Some(ErrorCode::UnknownMemberId) => self.membership_lost(true),
            Some(ErrorCode::FencedInstanceId) => self.fenced().await,
            Some(ErrorCode::IllegalGeneration) => self.membership_lost(false),
            _ => self.state().membership.needs_join = true,
        }
        self.wake_fetcher.notify_one();
        Ok(())
    }
}

async fn run(inner: Arc<Inner>, mut stop: watch::Receiver<bool>) {
    let mut last_auto_commit = tokio::time::Instant::now();
    let mut last_pattern_check: Option<tokio::time::Instant> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        let pattern_due = inner.state().pattern.is_some()
            && last_pattern_check.is_none_or(|at| {
                at.elapsed() >= Duration::from_millis(inner.config.metadata_max_age_ms)
            });
        if pattern_due {
            last_pattern_check = Some(tokio::time::Instant::now());
            if let Err(error) = inner.match_pattern().await {
                tracing::debug!(%error, "looking for topics matching the pattern failed");
            }
        }
        let needs_join = {
            let state = inner.state();
            !state.subscription.is_empty()
                && (state.membership.needs_join || state.membership.member_id.is_empty())
        };
        let step = async {
            if needs_join {
                inner.join().await?;
            }
            inner.resolve_positions().await?;
            inner.fetch_round().await
        };
        let outcome = tokio::select! {
            outcome = step => outcome,
            _ = stop.changed() => return,
        };
        if let Err(error) = outcome {
            tracing::debug!(%error, "consumer round failed; retrying");
            if !error.is_retriable()
                && !matches!(
                    error,
                    Error::Kafka {
                        code: ErrorCode::RebalanceInProgress
                            | ErrorCode::IllegalGeneration
                            | ErrorCode::UnknownMemberId,
                        ..
                    }
                )
            {
                inner.state().error = Some(error);
                inner.arrived.notify_waiters();
            }
            inner.state().membership.coordinator = None;
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = stop.changed() => return,
            }
        }
        if inner.config.enable_auto_commit
            && last_auto_commit.elapsed()
                >= Duration::from_millis(inner.config.auto_commit_interval_ms)
            && inner.config.group_id.is_some()
        {
            last_auto_commit = tokio::time::Instant::now();
            if let Err(error) = inner.commit(inner.consumed_positions()).await {
                tracing::debug!(%error, "auto commit failed");
            }
        }
        let idle = {
            let state = inner.state();
            state.assigned.values().all(|p| p.paused)
                || state.records.len() >= MAX_QUEUED_RECORDS
                || (state.subscription.is_empty() && state.assigned.is_empty())
        };
        if idle {
            tokio::select! {
                _ = inner.wake_fetcher.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

async fn heartbeats(inner: Arc<Inner>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(inner.config.heartbeat_interval_ms)) => {}
            _ = stop.changed() => return,
        }
        if let Err(error) = inner.heartbeat().await {
            tracing::debug!(%error, "heartbeat failed");
        }
    }
}

impl Consumer {
    /// A consumer for `config`, idle until [`Consumer::assign`] or [`Consumer::subscribe`].
    /// Starts its background tasks (group work and fetching; heartbeats) on the caller's
    /// tokio runtime or, outside one, on tidelog's shared runtime (see
    /// [`crate::runtime::handle`]). Connects lazily, so it cannot fail.
    pub fn new(config: ConsumerConfig) -> Consumer {
        let (stop, stop_signal) = watch::channel(false);
        let inner = Arc::new(Inner {
            cluster: Cluster::new(config.bootstrap_servers.clone(), &config.client_id),
            config,
            state: Mutex::new(State::default()),
            arrived: Notify::new(),
            wake_fetcher: Notify::new(),
            stop,
            listener: Mutex::new(None),
        });
        let runtime = crate::runtime::handle();
        runtime.spawn(run(inner.clone(), stop_signal.clone()));
        runtime.spawn(heartbeats(inner.clone(), stop_signal));
        Consumer { inner }
    }

    /// Sets the rebalance listener, replacing any previous one. It is called from the
    /// consumer's background task, which waits for it (and from [`Consumer::close`], on the
    /// caller's task). It must not call `set_rebalance_listener` (that would deadlock); the
    /// synchronous methods such as [`Consumer::seek`] are fine.
    pub fn set_rebalance_listener(
        &self,
        listener: impl Fn(RebalanceEvent) + Send + Sync + 'static,
    ) {
        self.set_rebalance_listener_async(move |event| {
            listener(event);
            std::future::ready(())
        });
    }

    /// As [`set_rebalance_listener`](Self::set_rebalance_listener), but the consumer
    /// waits for the future the listener returns before it goes on, as the Java client
    /// waits for `onPartitionsRevoked`: e.g. so that a callback served on another thread
    /// can commit the revoked partitions before they go to another member. The
    /// rebalance (or `close`) does not progress until the future completes.
    pub fn set_rebalance_listener_async<F>(
        &self,
        listener: impl Fn(RebalanceEvent) -> F + Send + Sync + 'static,
    ) where
        F: Future<Output = ()> + Send + 'static,
    {
        *self
            .inner
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner()) =
            Some(Arc::new(move |event| Box::pin(listener(event))));
    }

    /// Replaces the assignment with `partitions`, outside any group rebalancing, without
    /// listener events or commits. Positions start afresh, even for partitions that were
    /// already assigned: from the committed offsets if `group.id` is set, else from
    /// `auto.offset.reset`. Buffered records are dropped.
    ///
    /// It ends a [`Consumer::subscribe`] subscription without leaving the group (the
    /// session then times out), but not a [`Consumer::subscribe_pattern`] one: the next
    /// pattern match subscribes again.
    pub fn assign(&self, partitions: &[TopicPartition]) {
        let mut state = self.inner.state();
        state.subscription.clear();
        state.assigned = partitions
            .iter()
            .map(|tp| (tp.clone(), PartitionState::default()))
            .collect();
        state.records.clear();
        drop(state);
        self.inner.wake_fetcher.notify_one();
    }

    /// Subscribes to `topics` in the group `group.id`, replacing any topic or pattern
    /// subscription; the background task joins (or rejoins) the group and the partitions
    /// come with the rebalance ([`RebalanceEvent`]). The group leader asks for missing
    /// topics to be auto-created. An empty `topics` is not an unsubscribe: heartbeats stop
    /// but the current partitions stay assigned and fetched. As in librdkafka, a name
    /// starting with `^` is a regular expression: then the subscription is a pattern
    /// matching any of the expressions or the other names ([`Consumer::subscribe_pattern`]).
    ///
    /// # Errors
    /// [`Error::Config`] when `group.id` is not set or an expression is not valid.
    pub fn subscribe(&self, topics: &[String]) -> Result<(), Error> {
        if topics.iter().any(|t| t.starts_with('^')) {
            let alternatives: Vec<String> = topics
                .iter()
                .map(|t| match t.strip_prefix('^') {
                    Some(pattern) => format!("(?:{pattern})"),
                    None => regex::escape(t),
                })
                .collect();
            return self.subscribe_pattern(&alternatives.join("|"));
        }
        self.inner.group_id()?;
        let mut state = self.inner.state();
        state.pattern = None;
        state.subscription = topics.to_vec();
        state.membership.needs_join = true;
        drop(state);
        self.inner.wake_fetcher.notify_one();
        Ok(())
    }

    /// Joins the group subscribed to every topic whose whole name matches `pattern`, as the
    /// Java client's `subscribe(Pattern)`, replacing any previous subscription. The syntax
    /// is the `regex` crate's (no look-around or backreferences, unlike Java's). Matching
    /// topics are looked for with a Metadata request for all topics every
    /// `metadata.max.age.ms`, the first time as soon as the consumer first subscribes to a
    /// pattern (a later call waits for the next regular check), and a change rejoins the
    /// group. Internal topics never match.
    ///
    /// # Errors
    /// [`Error::Config`] when `group.id` is not set, or (key `subscription pattern`) when
    /// `pattern` is not a valid regex.
    pub fn subscribe_pattern(&self, pattern: &str) -> Result<(), Error> {
        self.inner.group_id()?;
        let anchored = format!("^(?:{pattern})$");
        let regex = regex::Regex::new(&anchored)
            .map_err(|e| invalid("subscription pattern", pattern, e.to_string()))?;
        let mut state = self.inner.state();
        state.pattern = Some(regex);
        state.subscription.clear();
        state.membership.needs_join = true;
        drop(state);
        self.inner.wake_fetcher.notify_one();
        Ok(())
    }

    /// The partitions currently assigned, sorted.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.inner.state().assigned.keys().cloned().collect()
    }

    /// The next record, waiting up to `timeout` for one to arrive; `Ok(None)` if none did.
    /// Returns one record per call and advances [`Consumer::position`] past it. Records
    /// already buffered for paused partitions are still returned.
    ///
    /// # Errors
    /// The latest error the background work recorded (see the [module docs](self#errors)),
    /// once, before any buffered record: [`Error::Kafka`] with OFFSET_OUT_OF_RANGE under
    /// `auto.offset.reset=none`, FENCED_INSTANCE_ID, GROUP_AUTHORIZATION_FAILED,
    /// TOPIC_AUTHORIZATION_FAILED, BROKER_NOT_AVAILABLE (a partition without a leader),
    /// INCONSISTENT_GROUP_PROTOCOL, ...; [`Error::Decode`], [`Error::Encode`] or
    /// [`Error::UnsupportedApi`].
    ///
    /// # Panics
    /// If it has to wait outside a tokio runtime with timers enabled.
    pub async fn poll(&self, timeout: Duration) -> Result<Option<ConsumerRecord>, Error> {
        Ok(self.poll_batch(1, timeout).await?.pop())
    }

    /// Up to `max` records (at least one is taken even for `max` 0), waiting up to
    /// `timeout` for the first to arrive; empty if none did. It returns at once with what
    /// is buffered, in the order [`Consumer::poll`] would return it, and advances
    /// [`Consumer::position`] past each: a binding takes many records per call.
    ///
    /// # Errors
    /// Those of [`Consumer::poll`].
    ///
    /// # Panics
    /// If it has to wait outside a tokio runtime with timers enabled.
    pub async fn poll_batch(
        &self,
        max: usize,
        timeout: Duration,
    ) -> Result<Vec<ConsumerRecord>, Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.inner.arrived.notified();
            {
                let mut state = self.inner.state();
                if let Some(error) = state.error.take() {
                    return Err(error);
                }
                let buffered = state.records.len();
                if buffered > 0 {
                    let taken = max.clamp(1, buffered);
                    let batch: Vec<ConsumerRecord> = state.records.drain(..taken).collect();
                    for record in &batch {
                        if let Some(p) = state
                            .assigned
                            .get_mut(&(record.topic.clone(), record.partition))
                        {
                            p.consumed_position = Some(record.offset + 1);
                        }
                    }
                    // The fetcher waits for the buffer to drain below half.
                    if buffered >= MAX_QUEUED_RECORDS / 2
                        && buffered - taken < MAX_QUEUED_RECORDS / 2
                    {
                        self.inner.wake_fetcher.notify_one();
                    }
                    return Ok(batch);
                }
            }
            self.inner.wake_fetcher.notify_one();
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return Ok(Vec::new());
            }
        }
    }

    /// The records as a [`Stream`](futures_util::Stream): each item is what
    /// [`Consumer::poll`] returns next, waiting as long as it takes for a record. The
    /// stream ends after [`Consumer::close`]; an error is an item, and the stream goes on
    /// after it. Dropping the stream loses nothing: a record is taken from the consumer
    /// only when the stream yields it.
    ///
    /// # Errors
    /// Items are those of [`Consumer::poll`].
    pub fn stream(
        &self,
    ) -> impl futures_util::Stream<Item = Result<ConsumerRecord, Error>> + Unpin + '_ {
        // Boxed so that the stream is Unpin: `StreamExt::next` works on it as it is.
        Box::pin(futures_util::stream::unfold(self, |consumer| async move {
            loop {
                if consumer.inner.state().closed {
                    return None;
                }
                match consumer.poll(STREAM_POLL_INTERVAL).await {
                    Ok(Some(record)) => return Some((Ok(record), consumer)),
                    Ok(None) => continue,
                    Err(error) => return Some((Err(error), consumer)),
                }
            }
        }))
    }

    /// Commits offsets (OffsetCommit v2+ to the group coordinator): the given
    /// `(partition, next offset to read)` pairs, or, with `None`, the
    /// [positions](Consumer::position) of every assigned partition that has one. Nothing is
    /// sent when there is nothing to commit. While subscribed it commits as the current
    /// member and generation; otherwise as a non-member (generation -1), which Kafka
    /// accepts only while the group has no members.
    ///
    /// # Errors
    /// - [`Error::Config`] without `group.id` (if there is something to commit).
    /// - Request errors (see the [module docs](self#errors)), and [`Error::Kafka`] with the
    ///   FindCoordinator error (COORDINATOR_NOT_AVAILABLE, GROUP_AUTHORIZATION_FAILED,
    ///   ...).
    /// - [`Error::Kafka`] with the first partition error: REBALANCE_IN_PROGRESS,
    ///   ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID (the consumer then rejoins the group),
    ///   FENCED_INSTANCE_ID, NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
    ///   OFFSET_METADATA_TOO_LARGE, TOPIC_AUTHORIZATION_FAILED, ...
    pub async fn commit(&self, offsets: Option<Vec<(TopicPartition, i64)>>) -> Result<(), Error> {
        let offsets = offsets.unwrap_or_else(|| self.inner.consumed_positions());
        self.inner.commit(offsets).await
    }

    /// The group's committed offsets for `partitions` (-1 where none), in the broker's
    /// order. Each call opens its own connections (an [`Admin`](super::admin::Admin)
    /// client's).
    ///
    /// # Errors
    /// [`Error::Config`] without `group.id`; otherwise those of
    /// [`Admin::list_group_offsets`](super::admin::Admin::list_group_offsets).
    pub async fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<Vec<(TopicPartition, i64)>, Error> {
        let admin = super::admin::Admin::new(super::admin::AdminConfig {
            bootstrap_servers: self.inner.config.bootstrap_servers.clone(),
            client_id: self.inner.config.client_id.clone(),
            request_timeout_ms: 30_000,
        });
        let found = admin
            .list_group_offsets(self.inner.group_id()?, Some(partitions))
            .await?;
        Ok(found
            .into_iter()
            .map(|(tp, offset, _)| (tp, offset))
            .collect())
    }

    /// The position of every assigned partition whose position is known: what
    /// `commit(None)` commits.
    pub fn positions(&self) -> Vec<(TopicPartition, i64)> {
        self.inner.consumed_positions()
    }

    /// The offset of the next record [`Consumer::poll`] returns for `partition` (what
    /// `commit(None)` stores); `None` if it is not assigned or its position is not
    /// resolved yet.
    pub fn position(&self, partition: &TopicPartition) -> Option<i64> {
        self.inner
            .state()
            .assigned
            .get(partition)
            .and_then(|p| p.consumed_position)
    }

    /// Moves `partition` to `offset`: its buffered records are dropped and the next poll
    /// returns records from there. [`OFFSET_BEGINNING`] (-2) and [`OFFSET_END`] (-1), the
    /// values librdkafka, confluent-kafka and KafkaJS use, are
    /// [`Consumer::seek_to_beginning`] and [`Consumer::seek_to_end`]; other negative
    /// offsets are ignored, and so is a partition not assigned (yet). An offset outside
    /// the log is reset per `auto.offset.reset` at the next fetch.
    pub fn seek(&self, partition: &TopicPartition, offset: i64) {
        match offset {
            OFFSET_BEGINNING => return self.seek_to_beginning(std::slice::from_ref(partition)),
            OFFSET_END => return self.seek_to_end(std::slice::from_ref(partition)),
            offset if offset < 0 => return,
            _ => {}
        }
        let mut state = self.inner.state();
        if let Some(p) = state.assigned.get_mut(partition) {
            p.fetch_position = Some(offset);
            p.consumed_position = Some(offset);
        }
        state
            .records
            .retain(|r| (r.topic.as_str(), r.partition) != (partition.0.as_str(), partition.1));
        drop(state);
        self.inner.wake_fetcher.notify_one();
    }

    /// For each (partition, timestamp in ms), the earliest offset whose record timestamp
    /// is at or after it, or -1 when there is none; as the Java client's
    /// `offsetsForTimes` (ListOffsets v1+, KIP-79).
    ///
    /// # Errors
    /// The first partition's error (UNKNOWN_TOPIC_OR_PARTITION, a network error...).
    pub async fn offsets_for_times(
        &self,
        partitions: &[(TopicPartition, i64)],
    ) -> Result<Vec<(TopicPartition, i64)>, Error> {
        let mut found = Vec::with_capacity(partitions.len());
        for (tp, timestamp) in partitions {
            found.push((tp.clone(), self.inner.offset_at(tp, *timestamp).await?));
        }
        Ok(found)
    }

    /// The partition's (log start offset, high watermark) from its leader (ListOffsets
    /// earliest and latest; the last stable offset instead of the high watermark with
    /// `read_committed`).
    ///
    /// # Errors
    /// UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, network errors.
    pub async fn watermark_offsets(&self, partition: &TopicPartition) -> Result<(i64, i64), Error> {
        let low = self.inner.offset_at(partition, -2).await?;
        let high = self.inner.offset_at(partition, -1).await?;
        Ok((low, high))
    }

    /// The cluster's brokers and the metadata of `topics` (every topic when `None`), from
    /// a fresh Metadata request that creates no topic (see [`Cluster::metadata`]).
    ///
    /// # Errors
    /// Request errors reaching any broker ([`Error::Io`], [`Error::Disconnected`], ...).
    pub async fn metadata(&self, topics: Option<&[String]>) -> Result<ClusterMetadata, Error> {
        self.inner.cluster.metadata(topics).await
    }

    /// Moves `partitions` to their first offset (the log start offset), as the Java
    /// client's `seekToBeginning`; the offset is looked up before the next fetch.
    pub fn seek_to_beginning(&self, partitions: &[TopicPartition]) {
        self.seek_to(partitions, OffsetReset::Earliest);
    }

    /// Moves `partitions` to their end (the high watermark, or the last stable offset
    /// with `read_committed`), as the Java client's `seekToEnd`.
    pub fn seek_to_end(&self, partitions: &[TopicPartition]) {
        self.seek_to(partitions, OffsetReset::Latest);
    }

    fn seek_to(&self, partitions: &[TopicPartition], reset_to: OffsetReset) {
        let mut state = self.inner.state();
        for tp in partitions {
            if let Some(p) = state.assigned.get_mut(tp) {
                *p = PartitionState {
                    reset_to: Some(reset_to),
                    paused: p.paused,
                    ..PartitionState::default()
                };
            }
        }
        state.records.retain(|r| {
            !partitions
                .iter()
                .any(|(t, p)| *t == r.topic && *p == r.partition)
        });
        drop(state);
        self.inner.wake_fetcher.notify_one();
    }

    /// Stops fetching `partitions` (assigned ones; others are ignored) until
    /// [`Consumer::resume`]. Records already buffered for them are kept, and
    /// [`Consumer::poll`] still returns them, unlike the Java client.
    pub fn pause(&self, partitions: &[TopicPartition]) {
        let mut state = self.inner.state();
        for tp in partitions {
            if let Some(p) = state.assigned.get_mut(tp) {
                p.paused = true;
            }
        }
    }

    /// Fetches `partitions` again (assigned ones; others are ignored).
    pub fn resume(&self, partitions: &[TopicPartition]) {
        let mut state = self.inner.state();
        for tp in partitions {
            if let Some(p) = state.assigned.get_mut(tp) {
                p.paused = false;
            }
        }
        drop(state);
        self.inner.wake_fetcher.notify_one();
    }

    /// Stops the background work, commits the positions when `enable.auto.commit` is on,
    /// leaves the group (LeaveGroup) if subscribed, and reports the assignment as
    /// [`RebalanceEvent::Revoked`]. A static member (`group.instance.id`) does not send
    /// LeaveGroup, so that it can come back without a rebalance (KIP-345); its partitions
    /// stay with it until `session.timeout.ms` passes.
    ///
    /// # Errors
    /// The auto commit's error (see [`Consumer::commit`]), else the LeaveGroup's (request
    /// errors, FindCoordinator errors, UNKNOWN_MEMBER_ID, ...); the consumer stops either
    /// way.
    pub async fn close(&self) -> Result<(), Error> {
        let _ = self.inner.stop.send(true);
        let mut result = Ok(());
        if self.inner.config.enable_auto_commit && self.inner.config.group_id.is_some() {
            result = self.inner.commit(self.inner.consumed_positions()).await;
        }
        // The listener hears Revoked while still a member, so that it can commit.
        self.inner.revoke_without_commit().await;
        let (member_id, subscribed) = {
            let mut state = self.inner.state();
            state.closed = true;
            (
                state.membership.member_id.clone(),
                !state.subscription.is_empty(),
            )
        };
        let leaving =
            subscribed && !member_id.is_empty() && self.inner.config.group_instance_id.is_none();
        let left = if leaving {
            self.inner.leave_group(member_id).await
        } else {
            Ok(())
        };
        result.and(left)
    }

    /// Leaves the group and drops the subscription (or the assignment): with
    /// `enable.auto.commit`, positions are committed and the listener hears `Revoked`
    /// first. The consumer stays usable: `subscribe` or `assign` again.
    ///
    /// # Errors
    /// The commit's or the LeaveGroup's error; the subscription is dropped either way.
    pub async fn unsubscribe(&self) -> Result<(), Error> {
        let owned: Vec<TopicPartition> = self.inner.state().assigned.keys().cloned().collect();
        self.inner.revoke(owned).await;
        let (member_id, subscribed) = {
            let mut state = self.inner.state();
            let subscribed = !state.subscription.is_empty();
            state.subscription.clear();
            state.pattern = None;
            state.membership.needs_join = false;
            (std::mem::take(&mut state.membership.member_id), subscribed)
        };
        if subscribed && !member_id.is_empty() && self.inner.config.group_instance_id.is_none() {
            self.inner.leave_group(member_id).await?;
        }
        Ok(())
    }
}

impl Inner {
    /// LeaveGroup: v0-2 name the member at the top level, v3+ in a list (KIP-345).
    async fn leave_group(&self, member_id: String) -> Result<(), Error> {
        let group = self.group_id()?.to_string();
        let coordinator = self.coordinator().await?;
        let version = coordinator.version_for(ApiKey::LeaveGroup, 0)?;
        let request = if version < 3 {
            LeaveGroupRequest {
                group_id: group,
                member_id,
                ..Default::default()
            }
        } else {
            LeaveGroupRequest {
                group_id: group,
                members: vec![leave_group_request::MemberIdentity {
                    member_id,
                    group_instance_id: None,
                    reason: None,
                }],
                ..Default::default()
            }
        };
        let response = coordinator.send(request, version).await?;
        Error::check(response.error_code, None)?;
        response
            .members
            .iter()
            .try_for_each(|m| Error::check(m.error_code, None))
    }

    async fn revoke_without_commit(&self) {
        let revoked: Vec<TopicPartition> = self.state().assigned.keys().cloned().collect();
        if !revoked.is_empty() {
            self.notify(RebalanceEvent::Revoked(revoked)).await;
        }
        let mut state = self.state();
        state.assigned.clear();
        state.records.clear();
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let _ = self.inner.stop.send(true);
    }
}
