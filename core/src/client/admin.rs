//! The admin client: topics, partitions, configs, consumer groups and their offsets,
//! offsets by time, DeleteRecords and the cluster description, against tidelog or any
//! Kafka cluster. Requests go to the right broker: partition leaders for ListOffsets and
//! DeleteRecords, the group coordinator for group APIs (FindCoordinator), any broker
//! otherwise.
//!
//! Calls that act on several items return one `Result` per item, as Kafka's admin APIs
//! do; the outer `Result` fails only when the request itself could not be made.
//!
//! # Errors
//!
//! The *request errors* that the `# Errors` sections below refer to are those of reaching
//! a broker and exchanging one request with it: [`Error::Io`], [`Error::Disconnected`],
//! [`Error::Decode`], [`Error::Encode`], [`Error::UnsupportedApi`] (the broker lacks the
//! API, or the version a call needs), and [`Error::Kafka`] from the ApiVersions exchange
//! on connect. Per-item errors are [`Error::Kafka`] with the code the broker reported.
//!
//! There is no client-side timeout: a call waits until the broker answers or the
//! connection fails. `request.timeout.ms` is only sent as the broker-side timeout of the
//! APIs that carry one.

#![warn(missing_docs)]

use super::assignor::decode_assignment;
use super::cluster::{BrokerInfo, Cluster, ClusterMetadata, TopicInfo};
use super::connection::BrokerConnection;
use crate::config::ConfigError;
use crate::error::{Error, ErrorCode};
use crate::protocol::codec::Uuid;
use crate::protocol::messages::*;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The pause before asking a group's coordinator again (the Java client's
/// `retry.backoff.ms`).
const RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// Admin client settings, by Kafka key.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// `bootstrap.servers` (required): `host:port` addresses to discover the cluster from.
    pub bootstrap_servers: Vec<String>,
    /// `client.id`, sent with every request. Default `tidelog-admin`.
    pub client_id: String,
    /// `request.timeout.ms` (ms, > 0, default 30000): the `timeout_ms` sent with
    /// CreateTopics, DeleteTopics, CreatePartitions and DeleteRecords, i.e. how long the
    /// broker may take to complete the operation. Not a client-side deadline.
    pub request_timeout_ms: i32,
}

impl AdminConfig {
    /// Parses Kafka-style settings: `bootstrap.servers` (required), `client.id`,
    /// `request.timeout.ms`; later pairs override earlier ones.
    ///
    /// # Errors
    /// [`Error::Config`]: `UnknownKey` for any other key; `InvalidValue` for a
    /// `bootstrap.servers` entry that is not `host:port`, a `request.timeout.ms` that is
    /// not a positive integer, or a missing `bootstrap.servers`.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<AdminConfig, Error> {
        let mut config = AdminConfig::defaults();
        for (key, value) in pairs {
            config.set(key, value)?;
        }
        super::require_bootstrap(&config.bootstrap_servers)?;
        Ok(config)
    }

    /// The defaults of every key, without `bootstrap.servers`.
    pub(crate) fn defaults() -> AdminConfig {
        AdminConfig {
            bootstrap_servers: Vec::new(),
            client_id: "tidelog-admin".into(),
            request_timeout_ms: 30_000,
        }
    }

    /// Sets one key from its string value, as [`AdminConfig::from_pairs`] does.
    ///
    /// # Errors
    /// [`Error::Config`] naming `key` if it is unknown or `value` is invalid for it.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), Error> {
        match key {
            "bootstrap.servers" => self.bootstrap_servers = super::bootstrap_servers(key, value)?,
            "client.id" => self.client_id = value.to_string(),
            "request.timeout.ms" => {
                self.request_timeout_ms =
                    super::whole_number(key, value, 1, i32::MAX.into())? as i32
            }
            _ => return Err(ConfigError::UnknownKey { key: key.into() }.into()),
        }
        Ok(())
    }
}

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    /// The topic name.
    pub name: String,
    /// The partition count; `None`: the broker's `num.partitions` (needs CreateTopics v4+,
    /// KIP-464).
    pub partitions: Option<i32>,
    /// The replication factor; `None`: the broker's `default.replication.factor` (needs
    /// CreateTopics v4+, KIP-464).
    pub replication_factor: Option<i16>,
    /// Topic-level configs, e.g. `("cleanup.policy", "compact")`.
    pub configs: Vec<(String, String)>,
}

/// Kafka's config resource types (`ConfigResource.Type`), with the wire value as
/// discriminant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceType {
    /// A topic's configs (wire value 2).
    Topic = 2,
    /// A broker's configs (wire value 4).
    Broker = 4,
}

/// A resource whose configs are described or altered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConfigResource {
    /// Whether `name` names a topic or a broker.
    pub kind: ResourceType,
    /// Topic name, or broker id as text.
    pub name: String,
}

/// One described config value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    /// The config key, e.g. `retention.ms`.
    pub name: String,
    /// The value as text; `None` when it is sensitive or has no value.
    pub value: Option<String>,
    /// Whether it cannot be changed while the broker runs.
    pub read_only: bool,
    /// Kafka's ConfigSource number (DescribeConfigs v1+): 1 topic, 2 dynamic broker, 3
    /// dynamic cluster-wide default, 4 static broker, 5 default, ...
    pub source: i8,
    /// Whether it is a password or similar, whose value the broker withholds.
    pub is_sensitive: bool,
}

/// An IncrementalAlterConfigs operation (KIP-339): on a config key, with a value where
/// the operation takes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterConfigOp {
    /// SET (0): `(key, value)`.
    Set(String, String),
    /// DELETE (1): `key` goes back to its default.
    Delete(String),
    /// APPEND (2): adds `value` to the list-valued `key`.
    Append(String, String),
    /// SUBTRACT (3): removes `value` from the list-valued `key`.
    Subtract(String, String),
}

/// A group as ListGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    /// The group id.
    pub group_id: String,
    /// `consumer` for consumer groups; other users of the group protocol name their own
    /// (Kafka Connect: `connect`).
    pub protocol_type: String,
    /// Empty, PreparingRebalance, CompletingRebalance, Stable or Dead; an empty string
    /// from brokers before ListGroups v4 (KIP-518).
    pub state: String,
}

/// A group member, as DescribeGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// The member id the coordinator gave it.
    pub member_id: String,
    /// A static member's `group.instance.id` (KIP-345); `None` for dynamic members and
    /// from brokers before DescribeGroups v4.
    pub group_instance_id: Option<String>,
    /// The member's `client.id`.
    pub client_id: String,
    /// The member's host as the coordinator sees it (Kafka: `/` and the IP address).
    pub client_host: String,
    /// For consumer groups: the assigned (topic, partition)s, decoded; empty for other
    /// groups, while the group rebalances, or when the assignment cannot be read.
    pub assignment: Vec<(String, i32)>,
}

/// A group as DescribeGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// The group id.
    pub group_id: String,
    /// Empty, PreparingRebalance, CompletingRebalance, Stable or Dead (Kafka's answer
    /// for a group that does not exist).
    pub state: String,
    /// As [`GroupListing::protocol_type`].
    pub protocol_type: String,
    /// The assignor in use (e.g. `range`) when the group is stable; empty otherwise.
    pub protocol: String,
    /// The members, empty for Empty and Dead groups.
    pub members: Vec<GroupMember>,
}

/// Which offset ListOffsets should find (Kafka protocol guide: ListOffsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset (timestamp -2 on the wire).
    Earliest,
    /// The high watermark: the offset the next record will get (timestamp -1 on the
    /// wire; read_uncommitted, so open transactions do not hold it back).
    Latest,
    /// The record with the largest timestamp (KIP-734, ListOffsets v7+; timestamp -3 on
    /// the wire).
    MaxTimestamp,
    /// The first offset whose timestamp is at least this (ms since the epoch).
    Timestamp(i64),
}

impl OffsetSpec {
    fn timestamp(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::MaxTimestamp => -3,
            OffsetSpec::Timestamp(ts) => ts,
        }
    }
}

/// The cluster as DescribeCluster reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterDescription {
    /// The cluster id.
    pub cluster_id: String,
    /// The controller's node id as the answering broker reports it; -1 when unknown.
    pub controller_id: i32,
    /// The brokers the answering broker knows.
    pub brokers: Vec<BrokerInfo>,
}

/// A (topic, partition).
pub type TopicPartition = (String, i32);

/// The admin client. Cheap to clone; clones share metadata and connections.
#[derive(Clone)]
pub struct Admin {
    cluster: Arc<Cluster>,
    timeout_ms: i32,
}

fn kafka(code: i16, message: Option<String>) -> Result<(), Error> {
    Error::check(code, message)
}

/// Whether `code` says a group's coordinator cannot answer yet or is elsewhere: worth
/// asking again after a fresh FindCoordinator.
fn coordinator_not_ready(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::CoordinatorNotAvailable
            | ErrorCode::CoordinatorLoadInProgress
            | ErrorCode::NotCoordinator
    )
}

/// The first of a response's error `codes` that is [`coordinator_not_ready`], as an error.
fn coordinator_ready(codes: impl IntoIterator<Item = i16>) -> Result<(), Error> {
    match codes
        .into_iter()
        .filter_map(ErrorCode::from_code)
        .find(|code| coordinator_not_ready(*code))
    {
        Some(code) => Err(Error::Kafka {
            code,
            message: None,
        }),
        None => Ok(()),
    }
}

impl Admin {
    /// An admin client for the cluster at `config.bootstrap_servers`. Connects lazily, so
    /// it cannot fail: the first call finds out whether the cluster can be reached.
    pub fn new(config: AdminConfig) -> Admin {
        Admin {
            cluster: Cluster::new(config.bootstrap_servers, &config.client_id),
            timeout_ms: config.request_timeout_ms,
        }
    }

    async fn any(&self) -> Result<Arc<BrokerConnection>, Error> {
        self.cluster.any_connection().await
    }

    /// Creates topics (CreateTopics v2+, sent to any broker); with `validate_only` the
    /// broker only checks them. Returns, in the broker's order, each topic's id (KIP-516;
    /// [`Uuid::ZERO`] before CreateTopics v7) or its error: TOPIC_ALREADY_EXISTS,
    /// INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR,
    /// INVALID_CONFIG, POLICY_VIOLATION, TOPIC_AUTHORIZATION_FAILED, REQUEST_TIMED_OUT
    /// (not done within `request.timeout.ms`), ...
    ///
    /// # Errors
    /// Request errors (see the [module docs](self#errors)).
    pub async fn create_topics(
        &self,
        topics: &[NewTopic],
        validate_only: bool,
    ) -> Result<Vec<(String, Result<Uuid, Error>)>, Error> {
        let request = CreateTopicsRequest {
            topics: topics
                .iter()
                .map(|t| create_topics_request::CreatableTopic {
                    name: t.name.clone(),
                    num_partitions: t.partitions.unwrap_or(-1),
                    replication_factor: t.replication_factor.unwrap_or(-1),
                    assignments: Vec::new(),
                    configs: t
                        .configs
                        .iter()
                        .map(
                            |(name, value)| create_topics_request::CreatableTopicConfig {
                                name: name.clone(),
                                value: Some(value.clone()),
                            },
                        )
                        .collect(),
                })
                .collect(),
            timeout_ms: self.timeout_ms,
            validate_only,
        };
        let (_, response) = self.any().await?.call(request, 2).await?;
        Ok(response
            .topics
            .into_iter()
            .map(|t| {
                (
                    t.name,
                    kafka(t.error_code, t.error_message).map(|()| t.topic_id),
                )
            })
            .collect())
    }

    /// Deletes topics by name (DeleteTopics v1+, sent to any broker) and forgets them from
    /// the cached metadata. Returns, in the broker's order, each topic's result:
    /// UNKNOWN_TOPIC_OR_PARTITION, TOPIC_DELETION_DISABLED, TOPIC_AUTHORIZATION_FAILED,
    /// REQUEST_TIMED_OUT (not done within `request.timeout.ms`), ...
    ///
    /// # Errors
    /// Request errors (see the [module docs](self#errors)).
    pub async fn delete_topics(
        &self,
        names: &[String],
    ) -> Result<Vec<(String, Result<(), Error>)>, Error> {
        let connection = self.any().await?;
        let version = connection.version_for(ApiKey::DeleteTopics, 1)?;
        let mut request = DeleteTopicsRequest {
            timeout_ms: self.timeout_ms,
            ..Default::default()
        };
        if version >= 6 {
            request.topics = names
                .iter()
                .map(|n| delete_topics_request::DeleteTopicState {
                    name: Some(n.clone()),
                    topic_id: Uuid::ZERO,
                })
                .collect();
        } else {
            request.topic_names = names.to_vec();
        }
        let response = connection.send(request, version).await?;
        for name in names {
            self.cluster.invalidate(name);
        }
        Ok(response
            .responses
            .into_iter()
            .map(|r| {
                (
                    r.name.unwrap_or_default(),
                    kafka(r.error_code, r.error_message),
                )
            })
            .collect())
    }

    /// Grows topics to the given total partition counts, `(topic, new count)`
    /// (CreatePartitions, KIP-195, sent to any broker); with `validate_only` the broker
    /// only checks. Returns, in the broker's order, each topic's result:
    /// INVALID_PARTITIONS (a count not above the current one), UNKNOWN_TOPIC_OR_PARTITION,
    /// POLICY_VIOLATION, TOPIC_AUTHORIZATION_FAILED, REQUEST_TIMED_OUT, ...
    ///
    /// # Errors
    /// Request errors (see the [module docs](self#errors)).
    pub async fn create_partitions(
        &self,
        totals: &[(String, i32)],
        validate_only: bool,
    ) -> Result<Vec<(String, Result<(), Error>)>, Error> {
        let request = CreatePartitionsRequest {
            topics: totals
                .iter()
                .map(
                    |(name, count)| create_partitions_request::CreatePartitionsTopic {
                        name: name.clone(),
                        count: *count,
                        assignments: None,
                    },
                )
                .collect(),
            timeout_ms: self.timeout_ms,
            validate_only,
        };
        let (_, response) = self.any().await?.call(request, 0).await?;
        for (name, _) in totals {
            self.cluster.invalidate(name);
        }
        Ok(response
            .results
            .into_iter()
            .map(|r| (r.name, kafka(r.error_code, r.error_message)))
            .collect())
    }

    /// Every topic with its partitions (Metadata for all topics), sorted by name; internal
    /// topics (`__consumer_offsets`, ...) only with `include_internal`. Topics the broker
    /// reports with an error (e.g. LEADER_NOT_AVAILABLE) are included, with
    /// [`TopicInfo::error`] set.
    ///
    /// # Errors
    /// Request errors (see the [module docs](self#errors)).
    pub async fn list_topics(&self, include_internal: bool) -> Result<Vec<TopicInfo>, Error> {
        self.cluster.refresh(None, false).await?;
        let mut topics: Vec<TopicInfo> = self
            .cluster
            .topics()
            .into_iter()
            .filter(|t| include_internal || !t.is_internal)
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(topics)
    }

    /// The cluster's brokers, id and controller, and the metadata of `topics` (every topic,
    /// internal ones included, when `None`), from one Metadata request that creates no
    /// topic (see [`Cluster::metadata`]).
    ///
    /// # Errors
    /// Request errors (see the [module docs](self#errors)).
    pub async fn metadata(&self, topics: Option<&[String]>) -> Result<ClusterMetadata, Error> {
        self.cluster.metadata(topics).await
    }

    /// The given topics with their partitions, leaders and ISRs (Metadata, never creating
    /// a topic), in the order given. Per topic: the topic-level error the broker reports
    /// (UNKNOWN_TOPIC_OR_PARTITION, TOPIC_AUTHORIZATION_FAILED, LEADER_NOT_AVAILABLE, ...),
    /// or UNKNOWN_TOPIC_OR_PARTITION if it does not mention the topic.
    ///
    /// # Errors
    /// Request errors (see the [module docs](self#errors)).
    pub async fn describe_topics(
        &self,
        names: &[String],
    ) -> Result<Vec<(String, Result<TopicInfo, Error>)>, Error> {
        self.cluster.refresh(Some(names), false).await?;
        Ok(names
            .iter()
            .map(|name| {
                let result = match self.cluster.topic(name) {
                    Some(info) if info.error == ErrorCode::None => Ok(info),
                    Some(info) => Err(Error::Kafka {
                        code: info.error,
                        message: Some(format!("topic `{name}`")),
                    }),
                    None => Err(Error::Kafka {
                        code: ErrorCode::UnknownTopicOrPartition,
                        message: Some(format!("topic `{name}`")),
                    }),
                };
                (name.clone(), result)
            })
            .collect())
    }

    /// Every config of each resource (DescribeConfigs v1+, without synonyms or
    /// documentation, sent to any broker). Results are paired with `resources` by position,
    /// as Kafka answers in request order. Per resource: UNKNOWN_TOPIC_OR_PARTITION,
    /// TOPIC_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED, INVALID_REQUEST, ...
    /// Kafka describes a broker's configs only on that broker (other brokers answer
    /// INVALID_REQUEST), so on a multi-broker Kafka cluster a [`ResourceType::Broker`]
    /// resource may fail.
    ///
    /// # Errors
    /// Request errors (see the [module docs](self#errors)).
    pub async fn describe_configs(
        &self,
        resources: &[ConfigResource],
    ) -> Result<Vec<(ConfigResource, Result<Vec<ConfigEntry>, Error>)>, Error> {
        let request = DescribeConfigsRequest {
            resources: resources
                .iter()
                .map(|r| describe_configs_request::DescribeConfigsResource {
                    resource_type: r.kind as i8,
                    resource_name: r.name.clone(),
                    configuration_keys: None,
                })
                .collect(),
            ..Default::default()
        };
        let (_, response) = self.any().await?.call(request, 1).await?;
        Ok(resources
            .iter()
            .cloned()
            .zip(response.results)
            .map(|(resource, result)| {
                let entries = kafka(result.error_code, result.error_message).map(|()| {
                    result
                        .configs
                        .into_iter()
                        .map(|c| ConfigEntry {
                            name: c.name,
                            value: c.value,
                            read_only: c.read_only,
                            source: c.config_source,
                            is_sensitive: c.is_sensitive,
                        })
                        .collect()
                });
                (resource, entries)
            })
            .collect())
    }

    /// Changes configs key by key (IncrementalAlterConfigs, KIP-339, sent to any broker);
    /// with `validate_only` the broker only checks. Results are paired with `changes` by
    /// position. Per resource: INVALID_CONFIG, INVALID_REQUEST, POLICY_VIOLATION,
    /// UNKNOWN_TOPIC_OR_PARTITION, TOPIC_AUTHORIZATION_FAILED,
    /// CLUSTER_AUTHORIZATION_FAILED, ...
    ///
    /// # Errors
    /// Request errors (see the [module docs](self#errors)).
    pub async fn incremental_alter_configs(
        &self,
        changes: &[(ConfigResource, Vec<AlterConfigOp>)],
        validate_only: bool,
    ) -> Result<Vec<(ConfigResource, Result<(), Error>)>, Error> {
        let request = IncrementalAlterConfigsRequest {
            resources: changes
                .iter()
                .map(
                    |(resource, ops)| incremental_alter_configs_request::AlterConfigsResource {
                        resource_type: resource.kind as i8,
                        resource_name: resource.name.clone(),
                        configs: ops
                            .iter()
                            .map(|op| {
                                let (name, operation, value) = match op {
                                    AlterConfigOp::Set(n, v) => (n, 0, Some(v.clone())),
                                    AlterConfigOp::Delete(n) => (n, 1, None),
                                    AlterConfigOp::Append(n, v) => (n, 2, Some(v.clone())),
                                    AlterConfigOp::Subtract(n, v) => (n, 3, Some(v.clone())),
                                };
                                incremental_alter_configs_request::AlterableConfig {
                                    name: name.clone(),
                                    config_operation: operation,
                                    value,
                                }
                            })
                            .collect(),
                    },
                )
                .collect(),
            validate_only,
        };
        let (_, response) = self.any().await?.call(request, 0).await?;
        Ok(changes
            .iter()
            .map(|(r, _)| r.clone())
            .zip(response.responses)
            .map(|(r, result)| (r, kafka(result.error_code, result.error_message)))
            .collect())
    }

    /// The cluster id, controller and brokers (DescribeCluster, KIP-700, asking for broker
    /// endpoints, KIP-919).
    ///
    /// # Errors
    /// Request errors (see the [module docs](self#errors)), [`Error::UnsupportedApi`] in
    /// particular from brokers without DescribeCluster (Kafka before 2.8), and
    /// [`Error::Kafka`] with the error the broker reports.
    pub async fn describe_cluster(&self) -> Result<ClusterDescription, Error> {
        let (_, response) = self
            .any()
            .await?
            .call(
                DescribeClusterRequest {
                    endpoint_type: 1,
                    ..Default::default()
                },
                0,
            )
            .await?;
        kafka(response.error_code, response.error_message)?;
        Ok(ClusterDescription {
            cluster_id: response.cluster_id,
            controller_id: response.controller_id,
            brokers: response
                .brokers
                .into_iter()
                .map(|b| BrokerInfo {
                    node_id: b.broker_id,
                    host: b.host,
                    port: b.port,
                })
                .collect(),
        })
    }

    /// Groups the partitions by leader and sends each group to its leader.
    async fn per_leader<T>(
        &self,
        partitions: &[TopicPartition],
        mut each: impl FnMut(
            Arc<BrokerConnection>,
            Vec<TopicPartition>,
        ) -> std::pin::Pin<
            Box<
                dyn std::future::Future<
                        Output = Result<Vec<(TopicPartition, Result<T, Error>)>, Error>,
                    > + Send,
            >,
        >,
    ) -> Result<Vec<(TopicPartition, Result<T, Error>)>, Error> {
        let mut by_leader: BTreeMap<i32, Vec<TopicPartition>> = BTreeMap::new();
        let mut results = Vec::new();
        for (topic, partition) in partitions {
            let leader = self
                .cluster
                .topic_info(topic, false)
                .await
                .and_then(|info| {
                    info.partitions
                        .iter()
                        .find(|p| p.partition == *partition)
                        .map(|p| p.leader)
                        .ok_or(Error::Kafka {
                            code: ErrorCode::UnknownTopicOrPartition,
                            message: None,
                        })
                });
            match leader {
                Ok(leader) => by_leader
                    .entry(leader)
                    .or_default()
                    .push((topic.clone(), *partition)),
                Err(error) => results.push(((topic.clone(), *partition), Err(error))),
            }
        }
        for (leader, partitions) in by_leader {
            let connection = self.cluster.connection(leader).await?;
            results.extend(each(connection, partitions).await?);
        }
        Ok(results)
    }

    /// Offsets by time (ListOffsets v1+, read_uncommitted, sent to each partition's leader
    /// per the cached metadata): for each `(topic, partition, spec)` the `(offset,
    /// timestamp)` found, timestamp in ms since the epoch, -1 for
    /// [`OffsetSpec::Earliest`] / [`OffsetSpec::Latest`]. Kafka answers offset -1 when no
    /// record has a timestamp at or after [`OffsetSpec::Timestamp`]. Results come in no
    /// particular order; a partition named twice is asked once, with the last spec.
    ///
    /// Per partition: the error of looking up its leader (the topic's error,
    /// UNKNOWN_TOPIC_OR_PARTITION for a partition the metadata lacks, or a request error of
    /// the Metadata refresh), or the leader's: NOT_LEADER_OR_FOLLOWER,
    /// LEADER_NOT_AVAILABLE, OFFSET_NOT_AVAILABLE, ... Leaders come from the cached
    /// metadata, which only [`Admin::describe_topics`] and [`Admin::list_topics`] refresh:
    /// call one after NOT_LEADER_OR_FOLLOWER before retrying.
    ///
    /// # Errors
    /// Request errors (see the [module docs](self#errors)) with any leader; and
    /// [`Error::Kafka`] with BROKER_NOT_AVAILABLE if a partition has no leader in the
    /// metadata. Either fails the whole call.
    pub async fn list_offsets(
        &self,
        wanted: &[(String, i32, OffsetSpec)],
    ) -> Result<Vec<(TopicPartition, Result<(i64, i64), Error>)>, Error> {
        let specs: BTreeMap<TopicPartition, OffsetSpec> = wanted
            .iter()
            .map(|(t, p, s)| ((t.clone(), *p), *s))
            .collect();
        let partitions: Vec<TopicPartition> = specs.keys().cloned().collect();
        self.per_leader(&partitions, move |connection, partitions| {
            let mut topics: BTreeMap<String, Vec<list_offsets_request::ListOffsetsPartition>> =
                BTreeMap::new();
            for (topic, partition) in &partitions {
                topics.entry(topic.clone()).or_default().push(
                    list_offsets_request::ListOffsetsPartition {
                        partition_index: *partition,
                        current_leader_epoch: -1,
                        timestamp: specs[&(topic.clone(), *partition)].timestamp(),
                        max_num_offsets: 1,
                    },
                );
            }
            let request = ListOffsetsRequest {
                replica_id: -1,
                topics: topics
                    .into_iter()
                    .map(
                        |(name, partitions)| list_offsets_request::ListOffsetsTopic {
                            name,
                            partitions,
                        },
                    )
                    .collect(),
                ..Default::default()
            };
            Box::pin(async move {
                let (_, response) = connection.call(request, 1).await?;
                Ok(response
                    .topics
                    .into_iter()
                    .flat_map(|t| {
                        let name = t.name;
                        t.partitions.into_iter().map(move |p| {
                            (
                                (name.clone(), p.partition_index),
                                kafka(p.error_code, None).map(|()| (p.offset, p.timestamp)),
                            )
                        })
                    })
                    .collect())
            })
        })
        .await
    }

    /// Deletes records (DeleteRecords, KIP-107, sent to each partition's leader per the
    /// cached metadata): for each `(topic, partition, offset)`, moves the log start offset
    /// up to `offset` (-1: the high watermark). Returns each partition's new low watermark
    /// (log start offset), in no particular order; a partition named twice is sent once,
    /// with the last offset.
    ///
    /// Per partition: the leader lookup's error as in [`Admin::list_offsets`], or the
    /// leader's: OFFSET_OUT_OF_RANGE (beyond the high watermark), NOT_LEADER_OR_FOLLOWER,
    /// POLICY_VIOLATION, TOPIC_AUTHORIZATION_FAILED, REQUEST_TIMED_OUT, ...
    ///
    /// # Errors
    /// As [`Admin::list_offsets`].
    pub async fn delete_records(
        &self,
        before: &[(String, i32, i64)],
    ) -> Result<Vec<(TopicPartition, Result<i64, Error>)>, Error> {
        let offsets: BTreeMap<TopicPartition, i64> = before
            .iter()
            .map(|(t, p, o)| ((t.clone(), *p), *o))
            .collect();
        let partitions: Vec<TopicPartition> = offsets.keys().cloned().collect();
        let timeout_ms = self.timeout_ms;
        self.per_leader(&partitions, move |connection, partitions| {
            let mut topics: BTreeMap<String, Vec<delete_records_request::DeleteRecordsPartition>> =
                BTreeMap::new();
            for (topic, partition) in &partitions {
                topics.entry(topic.clone()).or_default().push(
                    delete_records_request::DeleteRecordsPartition {
                        partition_index: *partition,
                        offset: offsets[&(topic.clone(), *partition)],
                    },
                );
            }
            let request = DeleteRecordsRequest {
                topics: topics
                    .into_iter()
                    .map(
                        |(name, partitions)| delete_records_request::DeleteRecordsTopic {
                            name,
                            partitions,
                        },
                    )
                    .collect(),
                timeout_ms,
            };
            Box::pin(async move {
                let (_, response) = connection.call(request, 0).await?;
                Ok(response
                    .topics
                    .into_iter()
                    .flat_map(|t| {
                        let name = t.name;
                        t.partitions.into_iter().map(move |p| {
                            (
                                (name.clone(), p.partition_index),
                                kafka(p.error_code, None).map(|()| p.low_watermark),
                            )
                        })
                    })
                    .collect())
            })
        })
        .await
    }

    /// The coordinator of `group` (FindCoordinator).
    async fn coordinator(&self, group: &str) -> Result<Arc<BrokerConnection>, Error> {
        let connection = self.any().await?;
        let version = connection.version_for(ApiKey::FindCoordinator, 0)?;
        let request = if version >= 4 {
            FindCoordinatorRequest {
                coordinator_keys: vec![group.to_string()],
                ..Default::default()
            }
        } else {
            FindCoordinatorRequest {
                key: group.to_string(),
                ..Default::default()
            }
        };
        let response = connection.send(request, version).await?;
        let (error, message, host, port) = match response.coordinators.into_iter().next() {
            Some(c) => (c.error_code, c.error_message, c.host, c.port),
            None => (
                response.error_code,
                response.error_message,
                response.host,
                response.port,
            ),
        };
        kafka(error, message)?;
        self.cluster.connection_to(&format!("{host}:{port}")).await
    }

    /// Runs `call` on `group`'s coordinator. While FindCoordinator or `call` fails with an
    /// error that is [`coordinator_not_ready`], looks the coordinator up and calls again
    /// until `request.timeout.ms`, as the Java admin client does: Kafka answers so while it
    /// creates `__consumer_offsets` on first use and loads a partition of it.
    async fn on_coordinator<T, F>(
        &self,
        group: &str,
        call: impl Fn(Arc<BrokerConnection>) -> F,
    ) -> Result<T, Error>
    where
        F: Future<Output = Result<T, Error>>,
    {
        let deadline = Instant::now() + Duration::from_millis(self.timeout_ms as u64);
        loop {
            let result = match self.coordinator(group).await {
                Ok(connection) => call(connection).await,
                Err(error) => Err(error),
            };
            match result {
                Err(error) if coordinator_not_ready(error.code()) && Instant::now() < deadline => {
                    tokio::time::sleep(RETRY_BACKOFF).await
                }
                result => return result,
            }
        }
    }

    /// Sends `request` to `group`'s coordinator as [`Admin::on_coordinator`] does, asking
    /// again while the `error_codes` of the response say the coordinator is not ready.
    async fn call_coordinator<R, I>(
        &self,
        group: &str,
        request: R,
        min_version: i16,
        error_codes: impl Fn(&R::Response) -> I,
    ) -> Result<R::Response, Error>
    where
        R: Request + Clone,
        I: IntoIterator<Item = i16>,
    {
        self.on_coordinator(group, |connection| {
            let request = request.clone();
            let error_codes = &error_codes;
            async move {
                let (_, response) = connection.call(request, min_version).await?;
                coordinator_ready(error_codes(&response))?;
                Ok(response)
            }
        })
        .await
    }

    /// Every group (consumer groups and other users of the group protocol), sorted by id;
    /// with `states` non-empty only those in one of them (e.g. `"Stable"`; ListGroups v4+,
    /// KIP-518). Refreshes the metadata of every topic, then asks every broker, as each
    /// coordinates its own groups.
    ///
    /// # Errors
    /// Request errors (see the [module docs](self#errors)) with any broker,
    /// [`Error::Encode`] in particular when `states` is set and a broker lacks ListGroups
    /// v4; [`Error::Kafka`] with the error a broker reports
    /// (COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, ...). Either fails the
    /// whole call.
    pub async fn list_groups(&self, states: &[String]) -> Result<Vec<GroupListing>, Error> {
        self.cluster.refresh(None, false).await?;
        let mut listings = Vec::new();
        for broker in self.cluster.brokers() {
            let connection = self.cluster.connection(broker.node_id).await?;
            let (_, response) = connection
                .call(
                    ListGroupsRequest {
                        states_filter: states.to_vec(),
                        ..Default::default()
                    },
                    0,
                )
                .await?;
            kafka(response.error_code, None)?;
            listings.extend(response.groups.into_iter().map(|g| GroupListing {
                group_id: g.group_id,
                protocol_type: g.protocol_type,
                state: g.group_state,
            }));
        }
        listings.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        Ok(listings)
    }

    /// Describes groups: state, assignor, members and (for consumer groups) their
    /// assigned partitions (FindCoordinator, then DescribeGroups to the coordinator, group
    /// by group). A group that does not exist is described as Dead, with no members.
    ///
    /// Per group: failing to find or reach its coordinator (COORDINATOR_NOT_AVAILABLE,
    /// GROUP_AUTHORIZATION_FAILED, a request error), or the error DescribeGroups reports
    /// (COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR, GROUP_AUTHORIZATION_FAILED, ...).
    ///
    /// # Errors
    /// Request errors (see the [module docs](self#errors)) of a DescribeGroups request
    /// fail the whole call.
    pub async fn describe_groups(
        &self,
        groups: &[String],
    ) -> Result<Vec<(String, Result<GroupDescription, Error>)>, Error> {
        let mut results = Vec::new();
        for group in groups {
            let request = DescribeGroupsRequest {
                groups: vec![group.clone()],
                include_authorized_operations: false,
            };
            let described = self
                .call_coordinator(group, request, 0, |response| {
                    response
                        .groups
                        .iter()
                        .map(|g| g.error_code)
                        .collect::<Vec<_>>()
                })
                .await;
            let response = match described {
                Ok(response) => response,
                Err(error @ Error::Kafka { .. }) => {
                    results.push((group.clone(), Err(error)));
                    continue;
                }
                Err(error) => return Err(error),
            };
            for described in response.groups {
                let consumer = described.protocol_type == "consumer";
                let result = kafka(described.error_code, None).map(|()| GroupDescription {
                    group_id: described.group_id.clone(),
                    state: described.group_state,
                    protocol_type: described.protocol_type,
                    protocol: described.protocol_data,
                    members: described
                        .members
                        .into_iter()
                        .map(|m| GroupMember {
                            assignment: if consumer {
                                decode_assignment(m.member_assignment)
                            } else {
                                Vec::new()
                            },
                            member_id: m.member_id,
                            group_instance_id: m.group_instance_id,
                            client_id: m.client_id,
                            client_host: m.client_host,
                        })
                        .collect(),
                });
                results.push((described.group_id, result));
            }
        }
        Ok(results)
    }

    /// Deletes empty groups and their committed offsets (FindCoordinator, then
    /// DeleteGroups, KIP-229, to the coordinator, group by group). Per group:
    /// NON_EMPTY_GROUP while it has members, GROUP_ID_NOT_FOUND for unknown ones,
    /// GROUP_AUTHORIZATION_FAILED, NOT_COORDINATOR, ...
    ///
    /// # Errors
    /// Request errors (see the [module docs](self#errors)), and [`Error::Kafka`] with the
    /// FindCoordinator error (COORDINATOR_NOT_AVAILABLE, GROUP_AUTHORIZATION_FAILED, ...),
    /// for any group: unlike [`Admin::describe_groups`], either fails the whole call.
    pub async fn delete_groups(
        &self,
        groups: &[String],
    ) -> Result<Vec<(String, Result<(), Error>)>, Error> {
        let mut results = Vec::new();
        for group in groups {
            let request = DeleteGroupsRequest {
                groups_names: vec![group.clone()],
            };
            let response = self
                .call_coordinator(group, request, 0, |response| {
                    response
                        .results
                        .iter()
                        .map(|r| r.error_code)
                        .collect::<Vec<_>>()
                })
                .await?;
            results.extend(
                response
                    .results
                    .into_iter()
                    .map(|r| (r.group_id, kafka(r.error_code, None))),
            );
        }
        Ok(results)
    }

    /// A group's committed offsets, `((topic, partition), offset, metadata)`, the offset
    /// being the next one to consume: every committed partition with `None`, else the given
    /// partitions, -1 for those without a commit (OffsetFetch v1+ to the coordinator;
    /// v8+ in the batched form, KIP-709). In the broker's order.
    ///
    /// # Errors
    /// Request errors (see the [module docs](self#errors)); [`Error::Kafka`] with the
    /// FindCoordinator error, or with any group- or partition-level error OffsetFetch
    /// reports (GROUP_AUTHORIZATION_FAILED, COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR,
    /// UNKNOWN_TOPIC_OR_PARTITION, TOPIC_AUTHORIZATION_FAILED, ...): one failing partition
    /// fails the whole call.
    pub async fn list_group_offsets(
        &self,
        group: &str,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<Vec<(TopicPartition, i64, Option<String>)>, Error> {
        let topics = partitions.map(|partitions| {
            let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
            for (topic, partition) in partitions {
                by_topic.entry(topic.clone()).or_default().push(*partition);
            }
            by_topic
        });
        // Coordinator errors come as the group's error code, which `on_coordinator` retries.
        self.on_coordinator(group, |connection| {
            Self::fetch_group_offsets(connection, group, topics.clone())
        })
        .await
    }

    /// OffsetFetch from `group`'s coordinator: the offsets of `topics`' partitions, or of
    /// every partition when `None`.
    async fn fetch_group_offsets(
        connection: Arc<BrokerConnection>,
        group: &str,
        topics: Option<BTreeMap<String, Vec<i32>>>,
    ) -> Result<Vec<(TopicPartition, i64, Option<String>)>, Error> {
        let version = connection.version_for(ApiKey::OffsetFetch, 1)?;
        let mut out = Vec::new();
        if version >= 8 {
            let request = OffsetFetchRequest {
                groups: vec![offset_fetch_request::OffsetFetchRequestGroup {
                    group_id: group.to_string(),
                    member_id: None,
                    member_epoch: -1,
                    topics: topics.map(|t| {
                        t.into_iter()
                            .map(|(name, partition_indexes)| {
                                offset_fetch_request::OffsetFetchRequestTopics {
                                    name,
                                    partition_indexes,
                                }
                            })
                            .collect()
                    }),
                }],
                ..Default::default()
            };
            let response = connection.send(request, version).await?;
            for g in response.groups {
                kafka(g.error_code, None)?;
                for t in g.topics {
                    for p in t.partitions {
                        kafka(p.error_code, None)?;
                        out.push((
                            (t.name.clone(), p.partition_index),
                            p.committed_offset,
                            p.metadata,
                        ));
                    }
                }
            }
        } else {
            let request = OffsetFetchRequest {
                group_id: group.to_string(),
                topics: topics.map(|t| {
                    t.into_iter()
                        .map(|(name, partition_indexes)| {
                            offset_fetch_request::OffsetFetchRequestTopic {
                                name,
                                partition_indexes,
                            }
                        })
                        .collect()
                }),
                ..Default::default()
            };
            let response = connection.send(request, version).await?;
            kafka(response.error_code, None)?;
            for t in response.topics {
                for p in t.partitions {
                    kafka(p.error_code, None)?;
                    out.push((
                        (t.name.clone(), p.partition_index),
                        p.committed_offset,
                        p.metadata,
                    ));
                }
            }
        }
        Ok(out)
    }

    /// Sets a group's committed offsets, `(topic, partition, next offset to consume)`, with
    /// empty metadata (OffsetCommit v2+ to the coordinator, as an admin: no member,
    /// generation -1), which Kafka allows only while the group is empty. Per partition, in
    /// the broker's order: UNKNOWN_MEMBER_ID while the group has members,
    /// REBALANCE_IN_PROGRESS, GROUP_AUTHORIZATION_FAILED, TOPIC_AUTHORIZATION_FAILED,
    /// OFFSET_METADATA_TOO_LARGE, ...
    ///
    /// # Errors
    /// Request errors (see the [module docs](self#errors)), and [`Error::Kafka`] with the
    /// FindCoordinator error (COORDINATOR_NOT_AVAILABLE, GROUP_AUTHORIZATION_FAILED, ...).
    pub async fn alter_group_offsets(
        &self,
        group: &str,
        offsets: &[(String, i32, i64)],
    ) -> Result<Vec<(TopicPartition, Result<(), Error>)>, Error> {
        let mut by_topic: BTreeMap<
            String,
            Vec<offset_commit_request::OffsetCommitRequestPartition>,
        > = BTreeMap::new();
        for (topic, partition, offset) in offsets {
            by_topic.entry(topic.clone()).or_default().push(
                offset_commit_request::OffsetCommitRequestPartition {
                    partition_index: *partition,
                    committed_offset: *offset,
                    committed_leader_epoch: -1,
                    commit_timestamp: -1,
                    committed_metadata: Some(String::new()),
                },
            );
        }
        let request = OffsetCommitRequest {
            group_id: group.to_string(),
            generation_id_or_member_epoch: -1,
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
        let response = self
            .call_coordinator(group, request, 2, |response| {
                let partitions = response.topics.iter().flat_map(|t| &t.partitions);
                partitions.map(|p| p.error_code).collect::<Vec<_>>()
            })
            .await?;
        Ok(response
            .topics
            .into_iter()
            .flat_map(|t| {
                let name = t.name;
                t.partitions
                    .into_iter()
                    .map(move |p| ((name.clone(), p.partition_index), kafka(p.error_code, None)))
            })
            .collect())
    }
}
