//! What a client knows about the cluster: brokers, topics and partition leaders (from
//! Metadata requests), and one connection per broker, opened on first use and reopened
//! after a failure.

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
    pub partition: i32,
    /// The leader's node id; -1 when there is none.
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub error: ErrorCode,
}

/// One topic, as Metadata reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub topic_id: Uuid,
    pub is_internal: bool,
    pub partitions: Vec<PartitionInfo>,
    pub error: ErrorCode,
}

/// A broker's id and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
}

impl BrokerInfo {
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

#[derive(Default)]
struct Known {
    brokers: HashMap<i32, BrokerInfo>,
    topics: HashMap<String, TopicInfo>,
    cluster_id: Option<String>,
    controller: i32,
}

/// The cluster as one client sees it.
pub struct Cluster {
    bootstrap: Vec<String>,
    client_id: String,
    known: Mutex<Known>,
    connections: tokio::sync::Mutex<HashMap<String, Arc<BrokerConnection>>>,
}

impl Cluster {
    /// A cluster reached through `bootstrap` addresses (`host:port`).
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

    /// The connection to `address`, opened if needed.
    ///
    /// # Errors
    /// [`Error::Io`] if the broker cannot be reached.
    pub async fn connection_to(&self, address: &str) -> Result<Arc<BrokerConnection>, Error> {
        let mut connections = self.connections.lock().await;
        if let Some(connection) = connections.get(address).filter(|c| c.is_open()) {
            return Ok(connection.clone());
        }
        let connection = BrokerConnection::connect(address, &self.client_id).await?;
        connections.insert(address.to_string(), connection.clone());
        Ok(connection)
    }

    /// The connection to broker `node_id`, known from metadata.
    ///
    /// # Errors
    /// [`Error::Kafka`] with BROKER_NOT_AVAILABLE for an unknown node, or the connect error.
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

    /// A connection to any broker: a known one, else a bootstrap server.
    ///
    /// # Errors
    /// The last connect error when none can be reached.
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

    /// Refreshes metadata for `topics` (every topic when `None`), creating missing ones
    /// when the broker allows and `allow_auto_create` is set.
    ///
    /// # Errors
    /// Connection errors; per-topic errors are recorded in [`TopicInfo::error`].
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

    /// What is known about `topic`, if anything.
    pub fn topic(&self, topic: &str) -> Option<TopicInfo> {
        self.known().topics.get(topic).cloned()
    }

    /// Every known topic.
    pub fn topics(&self) -> Vec<TopicInfo> {
        self.known().topics.values().cloned().collect()
    }

    /// Every known broker.
    pub fn brokers(&self) -> Vec<BrokerInfo> {
        self.known().brokers.values().cloned().collect()
    }

    /// The cluster id and controller from the last Metadata response.
    pub fn cluster_id(&self) -> (Option<String>, i32) {
        let known = self.known();
        (known.cluster_id.clone(), known.controller)
    }

    /// `topic`'s metadata, fetched if it is not known yet.
    ///
    /// # Errors
    /// [`Error::Kafka`] with the topic's error (UNKNOWN_TOPIC_OR_PARTITION, ...).
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

    /// Forgets `topic` so that the next lookup refreshes it (after NOT_LEADER_OR_FOLLOWER
    /// and the like).
    pub fn invalidate(&self, topic: &str) {
        self.known().topics.remove(topic);
    }
}
