//! What a client knows about the cluster: brokers, topics and partition leaders (from
//! Metadata requests, Kafka protocol guide: Metadata), and one connection per broker,
//! opened on first use and reopened after a failure.
//!
//! Metadata is cached until refreshed: a topic is looked up again only when it is unknown,
//! was last reported with a topic-level error, or was [invalidated](Cluster::invalidate).
//!
//! Errors reaching a broker are those of [`BrokerConnection::connect`]: [`Error::Io`],
//! [`Error::Disconnected`], [`Error::Decode`], [`Error::Kafka`] (ApiVersions) and
//! [`Error::UnsupportedApi`]; requests add [`Error::Encode`].

#![warn(missing_docs)]

use super::connection::BrokerConnection;
use crate::error::{Error, ErrorCode};
use crate::protocol::codec::Uuid;
use crate::protocol::messages::metadata_request::MetadataRequestTopic;
use crate::protocol::messages::MetadataRequest;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One partition's leadership, as Metadata reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// The partition index.
    pub partition: i32,
    /// The leader's node id; -1 when there is none.
    pub leader: i32,
    /// The leader epoch (KIP-320); -1 when unknown (Metadata before v7).
    pub leader_epoch: i32,
    /// Node ids of all replicas, the preferred leader first.
    pub replicas: Vec<i32>,
    /// Node ids of the in-sync replicas.
    pub isr: Vec<i32>,
    /// The partition's error, e.g. LEADER_NOT_AVAILABLE; NONE when healthy. Codes this
    /// client does not know become UNKNOWN_SERVER_ERROR.
    pub error: ErrorCode,
}

/// One topic, as Metadata reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// The topic name.
    pub name: String,
    /// The topic id (KIP-516); [`Uuid::ZERO`] when the broker sends none (Metadata
    /// before v10).
    pub topic_id: Uuid,
    /// Whether it is an internal topic such as `__consumer_offsets`.
    pub is_internal: bool,
    /// Its partitions, in the order the broker listed them.
    pub partitions: Vec<PartitionInfo>,
    /// The topic's error, e.g. UNKNOWN_TOPIC_OR_PARTITION or LEADER_NOT_AVAILABLE (while
    /// an auto-created topic is being set up); NONE when healthy. Codes this client does
    /// not know become UNKNOWN_SERVER_ERROR.
    pub error: ErrorCode,
}

/// A broker's id and advertised address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    /// The broker's node id (`node.id` / `broker.id`).
    pub node_id: i32,
    /// The advertised host name or IP address.
    pub host: String,
    /// The advertised TCP port.
    pub port: i32,
}

impl BrokerInfo {
    /// `host:port`, for connecting. An IPv6 host is not put in brackets.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// What one Metadata request told about the cluster: what confluent-kafka's and
/// librdkafka's `list_topics` return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterMetadata {
    /// The cluster id (Metadata v2+); `None` from older brokers.
    pub cluster_id: Option<String>,
    /// The controller's node id; -1 when the broker names none.
    pub controller_id: i32,
    /// Every broker, sorted by node id.
    pub brokers: Vec<BrokerInfo>,
    /// The topics asked for (every topic, internal ones included, when none were named),
    /// sorted by name, each possibly with its error (UNKNOWN_TOPIC_OR_PARTITION, ...).
    pub topics: Vec<TopicInfo>,
}

#[derive(Default)]
struct Known {
    brokers: HashMap<i32, BrokerInfo>,
    topics: HashMap<String, TopicInfo>,
    cluster_id: Option<String>,
    controller: i32,
}

/// The cluster as one client sees it. Shared by a client's tasks; every method takes
/// `&self`.
pub struct Cluster {
    bootstrap: Vec<String>,
    client_id: String,
    known: Mutex<Known>,
    connections: tokio::sync::Mutex<HashMap<String, Arc<BrokerConnection>>>,
}

impl Cluster {
    /// A cluster reached through `bootstrap` addresses (`host:port`); `client_id` goes in
    /// every request header. Connects lazily, so it cannot fail.
    pub fn new(bootstrap: Vec<String>, client_id: &str) -> Arc<Cluster> {
        Arc::new(Cluster {
            bootstrap,
            client_id: client_id.to_string(),
            known: Mutex::new(Known::default()),
            connections: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The connection to `address` (`host:port`), opened if there is none or the last one
    /// closed. Connections are opened one at a time: while one is being opened, other
    /// lookups wait.
    ///
    /// # Errors
    /// Those of [`BrokerConnection::connect`] ([`Error::Io`] if the broker cannot be
    /// reached, ...).
    pub async fn connection_to(&self, address: &str) -> Result<Arc<BrokerConnection>, Error> {
        let mut connections = self.connections.lock().await;
        if let Some(connection) = connections.get(address).filter(|c| c.is_open()) {
            return Ok(connection.clone());
        }
        let connection = BrokerConnection::connect(address, &self.client_id).await?;
        connections.insert(address.to_string(), connection.clone());
        Ok(connection)
    }

    /// The connection to broker `node_id`, whose address is known from metadata.
    ///
    /// # Errors
    /// [`Error::Kafka`] with BROKER_NOT_AVAILABLE for a node not in the last Metadata
    /// response (including -1, "no leader"), or the errors of
    /// [`Cluster::connection_to`].
    pub async fn connection(&self, node_id: i32) -> Result<Arc<BrokerConnection>, Error> {
        let address = self.known().brokers.get(&node_id).map(BrokerInfo::address);
        match address {
            Some(address) => self.connection_to(&address).await,
            None => Err(Error::Kafka {
                code: ErrorCode::BrokerNotAvailable,
                message: Some(format!("node {node_id} is not in the metadata")),
            }),
        }
    }

    /// A connection to any broker: the known brokers first (in no particular order), then
    /// the bootstrap servers, trying each in turn.
    ///
    /// # Errors
    /// The last one's error from [`Cluster::connection_to`] when none can be reached;
    /// [`Error::Kafka`] with BROKER_NOT_AVAILABLE when there is no address at all.
    pub async fn any_connection(&self) -> Result<Arc<BrokerConnection>, Error> {
        let mut candidates: Vec<String> = self
            .known()
            .brokers
            .values()
            .map(BrokerInfo::address)
            .collect();
        candidates.extend(self.bootstrap.iter().cloned());
        let mut last = None;
        for address in candidates {
            match self.connection_to(&address).await {
                Ok(connection) => return Ok(connection),
                Err(error) => last = Some(error),
            }
        }
        Err(last.unwrap_or(Error::Kafka {
            code: ErrorCode::BrokerNotAvailable,
            message: Some("no bootstrap servers".into()),
        }))
    }

    /// Refreshes the brokers, the cluster id and controller, and the metadata of `topics`
    /// (every topic when `None`, which also forgets topics that no longer exist), with a
    /// Metadata request (v1+) to any broker. Missing topics are created when
    /// `allow_auto_create` is set and the broker allows it (`auto.create.topics.enable`).
    ///
    /// # Errors
    /// The errors of [`Cluster::any_connection`] and of [`BrokerConnection::call`]
    /// ([`Error::Encode`] for `allow_auto_create = false` with a broker before Metadata v4,
    /// which cannot express it). Per-topic and per-partition errors are not errors here
    /// but recorded in [`TopicInfo::error`] and [`PartitionInfo::error`].
    pub async fn refresh(
        &self,
        topics: Option<&[String]>,
        allow_auto_create: bool,
    ) -> Result<(), Error> {
        let connection = self.any_connection().await?;
        let request = MetadataRequest {
            topics: topics.map(|names| {
                names
                    .iter()
                    .map(|name| MetadataRequestTopic {
                        name: Some(name.clone()),
                        ..Default::default()
                    })
                    .collect()
            }),
            allow_auto_topic_creation: allow_auto_create,
            ..Default::default()
        };
        let (_, response) = connection.call(request, 1).await?;
        let mut known = self.known();
        known.brokers = response
            .brokers
            .into_iter()
            .map(|b| {
                (
                    b.node_id,
                    BrokerInfo {
                        node_id: b.node_id,
                        host: b.host,
                        port: b.port,
                    },
                )
            })
            .collect();
        known.cluster_id = response.cluster_id;
        known.controller = response.controller_id;
        if topics.is_none() {
            // A full listing also forgets topics that no longer exist.
            let listed: std::collections::HashSet<&str> = response
                .topics
                .iter()
                .filter_map(|t| t.name.as_deref())
                .collect();
            known
                .topics
                .retain(|name, _| listed.contains(name.as_str()));
        }
        for topic in response.topics {
            let Some(name) = topic.name else { continue };
            let info = TopicInfo {
                name: name.clone(),
                topic_id: topic.topic_id,
                is_internal: topic.is_internal,
                partitions: topic
                    .partitions
                    .into_iter()
                    .map(|p| PartitionInfo {
                        partition: p.partition_index,
                        leader: p.leader_id,
                        leader_epoch: p.leader_epoch,
                        replicas: p.replica_nodes,
                        isr: p.isr_nodes,
                        error: ErrorCode::from_code(p.error_code)
                            .unwrap_or(ErrorCode::UnknownServerError),
                    })
                    .collect(),
                error: ErrorCode::from_code(topic.error_code)
                    .unwrap_or(ErrorCode::UnknownServerError),
            };
            known.topics.insert(name, info);
        }
        Ok(())
    }

    /// What is cached about `topic`, if anything (no request; it may carry an error).
    pub fn topic(&self, topic: &str) -> Option<TopicInfo> {
        self.known().topics.get(topic).cloned()
    }

    /// Every cached topic, in no particular order, including those cached with an error.
    pub fn topics(&self) -> Vec<TopicInfo> {
        self.known().topics.values().cloned().collect()
    }

    /// Every broker in the last Metadata response, in no particular order.
    pub fn brokers(&self) -> Vec<BrokerInfo> {
        self.known().brokers.values().cloned().collect()
    }

    /// The cluster id and the controller's node id from the last Metadata response;
    /// `(None, 0)` before the first one. The controller is -1 when the broker names none.
    pub fn cluster_id(&self) -> (Option<String>, i32) {
        let known = self.known();
        (known.cluster_id.clone(), known.controller)
    }

    /// Asks for the metadata of `topics` (every topic when `None`; never creating one) and
    /// returns it with the brokers, cluster id and controller.
    ///
    /// # Errors
    /// Those of [`Cluster::refresh`].
    pub async fn metadata(&self, topics: Option<&[String]>) -> Result<ClusterMetadata, Error> {
        self.refresh(topics, false).await?;
        let known = self.known();
        let mut brokers: Vec<BrokerInfo> = known.brokers.values().cloned().collect();
        brokers.sort_by_key(|b| b.node_id);
        let mut listed: Vec<TopicInfo> = match topics {
            None => known.topics.values().cloned().collect(),
            Some(names) => names
                .iter()
                .filter_map(|name| known.topics.get(name).cloned())
                .collect(),
        };
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        listed.dedup_by(|a, b| a.name == b.name);
        Ok(ClusterMetadata {
            cluster_id: known.cluster_id.clone(),
            controller_id: known.controller,
            brokers,
            topics: listed,
        })
    }

    /// `topic`'s metadata: the cached one if it has no topic-level error, else refreshed
    /// (creating the topic if `allow_auto_create`, see [`Cluster::refresh`]). A cached
    /// entry may be stale (an old leader, a partition without one): call
    /// [`Cluster::invalidate`] after errors that say so.
    ///
    /// # Errors
    /// Those of [`Cluster::refresh`], and [`Error::Kafka`] with the topic's error
    /// (UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, TOPIC_AUTHORIZATION_FAILED,
    /// INVALID_TOPIC_EXCEPTION, ...), UNKNOWN_TOPIC_OR_PARTITION if the response does not
    /// mention it.
    pub async fn topic_info(
        &self,
        topic: &str,
        allow_auto_create: bool,
    ) -> Result<TopicInfo, Error> {
        if let Some(info) = self.topic(topic).filter(|t| t.error == ErrorCode::None) {
            return Ok(info);
        }
        self.refresh(Some(&[topic.to_string()]), allow_auto_create)
            .await?;
        match self.topic(topic) {
            Some(info) if info.error == ErrorCode::None => Ok(info),
            Some(info) => Err(Error::Kafka {
                code: info.error,
                message: Some(format!("topic `{topic}`")),
            }),
            None => Err(Error::Kafka {
                code: ErrorCode::UnknownTopicOrPartition,
                message: Some(format!("topic `{topic}`")),
            }),
        }
    }

    /// Forgets `topic` so that the next [`Cluster::topic_info`] refreshes it (after
    /// NOT_LEADER_OR_FOLLOWER and the like).
    pub fn invalidate(&self, topic: &str) {
        self.known().topics.remove(topic);
    }
}
