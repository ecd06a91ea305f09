//! The broker's shared state: configuration, identity, and the topic registry.

use super::group::{self, store, Group, GroupConfig, OFFSETS_TOPIC};
use super::metadata::{MetadataStore, TopicRecord};
use super::partition::{Partition, ReplicaState};
use super::BrokerStorage;
use crate::config::{BrokerConfig, TopicConfig};
use crate::error::ErrorCode;
use crate::log::{PartitionLog, Storage};
use crate::protocol::codec::Uuid;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

/// An error a handler reports to the client: a Kafka code and, where the response has
/// room for one, a message.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: Some(message.into()),
        }
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        ApiError {
            code,
            message: None,
        }
    }
}

/// A topic: immutable once built; changes replace the `Arc<Topic>` in the registry.
pub struct Topic {
    pub name: String,
    pub id: Uuid,
    pub partitions: Vec<Arc<Partition>>,
    pub config: TopicConfig,
}

impl Topic {
    pub fn partition(&self, index: i32) -> Option<&Arc<Partition>> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.partitions.get(i))
    }

    fn record(&self) -> TopicRecord {
        TopicRecord {
            name: self.name.clone(),
            id: self.id,
            partitions: self.partitions.len() as i32,
            overrides: self.config.overrides().clone(),
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A random, non-zero UUID (topic ids, cluster ids). Randomness comes from std's
/// per-process hash keys mixed with the clock; ids need uniqueness, not secrecy.
pub fn random_uuid() -> Uuid {
    let mut halves = [0u64; 2];
    for (i, half) in halves.iter_mut().enumerate() {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        hasher.write_usize(i);
        *half = hasher.finish();
    }
    Uuid::from(((halves[0] as u128) << 64 | halves[1] as u128).max(1))
}

/// Kafka's rule for topic names: 1 to 249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), ApiError> {
    let reason = if name.is_empty() {
        Some("the name is empty".to_string())
    } else if name == "." || name == ".." {
        Some(format!("`{name}` is not allowed"))
    } else if name.len() > 249 {
        Some(format!(
            "the name is {} characters, over the limit of 249",
            name.len()
        ))
    } else {
        name.chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
            .map(|c| format!("`{c}` is not one of [a-zA-Z0-9._-]"))
    };
    match reason {
        Some(reason) => Err(ApiError::new(
            ErrorCode::InvalidTopicException,
            format!("invalid topic name `{name}`: {reason}"),
        )),
        None => Ok(()),
    }
}

pub struct BrokerState {
    pub config: BrokerConfig,
    pub node_id: i32,
    pub cluster_id: String,
    pub advertised_host: String,
    pub advertised_port: i32,
    store: Option<MetadataStore>,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    /// Bumped whenever any partition's high watermark moves.
    pub progress: Arc<watch::Sender<u64>>,
    /// Consumer groups by id. Lock order: this before any partition's log.
    pub groups: std::sync::Mutex<std::collections::HashMap<String, Group>>,
    pub group_config: GroupConfig,
}

impl BrokerState {
    /// Opens the storage and loads every topic (recovering its logs).
    pub fn open(
        config: BrokerConfig,
        storage: &BrokerStorage,
        advertised_host: String,
        advertised_port: i32,
    ) -> Result<Self, String> {
        let node_id = config.node_id();
        let config_for_groups = config.group_config();
        let (store, cluster_id) = match storage {
            BrokerStorage::Disk(root) => {
                let (store, cluster_id) =
                    MetadataStore::open(root, node_id, || random_uuid().to_string())?;
                (Some(store), cluster_id)
            }
            BrokerStorage::Memory => (None, random_uuid().to_string()),
        };
        let state = BrokerState {
            config,
            node_id,
            cluster_id,
            advertised_host,
            advertised_port,
            store,
            topics: RwLock::new(BTreeMap::new()),
            progress: Arc::new(watch::channel(0).0),
            group_config: config_for_groups,
            groups: std::sync::Mutex::new(Default::default()),
        };
        if let Some(store) = &state.store {
            for record in store.load_topics()? {
                let config = state
                    .config
                    .topic_config(&record.overrides)
                    .map_err(|e| format!("topic {}: {e}", record.name))?;
                let partitions = (0..record.partitions)
                    .map(|index| state.open_partition(&record.name, index, &config))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| e.message.unwrap_or_default())?;
                tracing::info!(topic = %record.name, partitions = record.partitions, "loaded topic");
                let topic = Topic {
                    name: record.name.clone(),
                    id: record.id,
                    partitions,
                    config,
                };
                state.write_topics().insert(record.name, Arc::new(topic));
            }
        }
        state.load_groups()?;
        Ok(state)
    }

    /// The internal `__consumer_offsets` topic, created on first use as Kafka does
    /// (compacted, `offsets.topic.num.partitions` partitions).
    pub fn offsets_topic(&self) -> Result<Arc<Topic>, ApiError> {
        if let Some(topic) = self.topic(OFFSETS_TOPIC) {
            return Ok(topic);
        }
        let overrides: BTreeMap<String, String> = [
            ("cleanup.policy", "compact".to_string()),
            (
                "segment.bytes",
                self.config.offsets_topic_segment_bytes().to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        match self.create_topic(
            OFFSETS_TOPIC,
            Some(self.config.offsets_topic_partitions()),
            &overrides,
            false,
        ) {
            Err(ApiError {
                code: ErrorCode::TopicAlreadyExists,
                ..
            }) => self
                .topic(OFFSETS_TOPIC)
                .ok_or(ErrorCode::CoordinatorNotAvailable.into()),
            other => other,
        }
    }

    /// Rebuilds every group's offsets and membership from `__consumer_offsets`, if it exists.
    fn load_groups(&self) -> Result<(), String> {
        let Some(topic) = self.topic(OFFSETS_TOPIC) else {
            return Ok(());
        };
        let now = std::time::Instant::now();
        let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        let mut records = 0usize;
        for partition in &topic.partitions {
            let mut offset = partition.log_start_offset();
            let end = partition.high_watermark();
            while offset < end {
                let read = partition
                    .read(offset, 1 << 20, true)
                    .map_err(|e| e.to_string())?;
                if read.records.is_empty() {
                    break;
                }
                for batch in crate::protocol::records::RecordBatches::new(read.records) {
                    let batch =
                        batch.map_err(|e| format!("{OFFSETS_TOPIC}-{}: {e}", partition.index))?;
                    offset = batch.next_offset();
                    for record in batch.records().map_err(|e| e.to_string())? {
                        let record = record.map_err(|e| e.to_string())?;
                        let Some(key) = record.key else { continue };
                        if let Some(decoded) = store::decode(&key, record.value.as_ref())? {
                            group::replay(&mut groups, decoded, now);
                            records += 1;
                        }
                    }
                }
            }
        }
        if records > 0 {
            tracing::info!(
                groups = groups.len(),
                records,
                "loaded consumer groups from {OFFSETS_TOPIC}"
            );
        }
        Ok(())
    }

    /// Appends coordinator records (key, value or tombstone) for `group_id` to its
    /// `__consumer_offsets` partition. Returns what must be fsynced before answering,
    /// when the topic fsyncs before acknowledging.
    pub fn append_group_records(
        &self,
        group_id: &str,
        records: &[(Bytes, Option<Bytes>)],
    ) -> Result<Option<(Arc<Partition>, i64)>, ApiError> {
        let topic = self.offsets_topic()?;
        let index = store::partition_for(group_id, topic.partitions.len() as i32);
        let partition = topic
            .partition(index)
            .expect("partition of the offsets topic")
            .clone();
        let now = now_ms();
        let mut builder = crate::protocol::records::RecordBatchBuilder::new(
            crate::protocol::compression::Compression::None,
        );
        for (key, value) in records {
            builder
                .append(now, Some(key), value.as_deref(), &[])
                .map_err(|e| ApiError::new(ErrorCode::UnknownServerError, e.to_string()))?;
        }
        let batch = builder
            .build()
            .map_err(|e| ApiError::new(ErrorCode::UnknownServerError, e.to_string()))?;
        let fsync = topic.config.fsync_before_ack();
        let infos = partition
            .append(&[batch], None, now, !fsync)
            .map_err(|e| ApiError::new(ErrorCode::KafkaStorageError, e.to_string()))?;
        Ok(fsync.then(|| (partition, infos[0].last_offset + 1)))
    }

    fn read_topics(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Topic>>> {
        self.topics.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_topics(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<Topic>>> {
        self.topics.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.read_topics().get(name).cloned()
    }

    pub fn topic_by_id(&self, id: Uuid) -> Option<Arc<Topic>> {
        self.read_topics().values().find(|t| t.id == id).cloned()
    }

    pub fn topics(&self) -> Vec<Arc<Topic>> {
        self.read_topics().values().cloned().collect()
    }

    fn open_partition(
        &self,
        topic: &str,
        index: i32,
        config: &TopicConfig,
    ) -> Result<Arc<Partition>, ApiError> {
        let storage = match &self.store {
            Some(store) => Storage::Disk(store.partition_dir(topic, index)),
            None => Storage::Memory,
        };
        let log = PartitionLog::open(storage, config.log_config(), now_ms())
            .map_err(|e| ApiError::new(ErrorCode::KafkaStorageError, e.to_string()))?;
        let replica = ReplicaState {
            leader: self.node_id,
            leader_epoch: 0,
            replicas: vec![self.node_id],
            isr: vec![self.node_id],
        };
        Ok(Arc::new(Partition::new(
            index,
            log,
            replica,
            self.progress.clone(),
        )))
    }

    fn persist(&self, topic: &Topic) -> Result<(), ApiError> {
        match &self.store {
            Some(store) => store
                .save_topic(&topic.record())
                .map_err(|e| ApiError::new(ErrorCode::KafkaStorageError, e)),
            None => Ok(()),
        }
    }

    /// Creates a topic with `partitions` partitions (default `num.partitions` when
    /// `None`) and topic-level config `overrides`. With `validate_only`, checks without
    /// creating.
    pub fn create_topic(
        &self,
        name: &str,
        partitions: Option<i32>,
        overrides: &BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<Arc<Topic>, ApiError> {
        validate_topic_name(name)?;
        let count = partitions.unwrap_or_else(|| self.config.num_partitions());
        if count < 1 {
            return Err(ApiError::new(
                ErrorCode::InvalidPartitions,
                format!("number of partitions must be at least 1, got {count}"),
            ));
        }
        let config = self
            .config
            .topic_config(overrides)
            .map_err(|e| ApiError::new(ErrorCode::InvalidConfig, e.to_string()))?;
        let mut topics = self.write_topics();
        if topics.contains_key(name) {
            return Err(ApiError::new(
                ErrorCode::TopicAlreadyExists,
                format!("topic `{name}` already exists"),
            ));
        }
        if validate_only {
            return Ok(Arc::new(Topic {
                name: name.into(),
                id: Uuid::ZERO,
                partitions: Vec::new(),
                config,
            }));
        }
        let partitions = (0..count)
            .map(|i| self.open_partition(name, i, &config))
            .collect::<Result<Vec<_>, _>>()?;
        let topic = Arc::new(Topic {
            name: name.into(),
            id: random_uuid(),
            partitions,
            config,
        });
        self.persist(&topic)?;
        topics.insert(name.into(), topic.clone());
        tracing::info!(topic = name, partitions = count, "created topic");
        Ok(topic)
    }

    /// The topic, created with the defaults if it does not exist and auto creation is on
    /// (`auto.create.topics.enable` and the request allows it).
    pub fn get_or_create(
        &self,
        name: &str,
        allow_auto_create: bool,
    ) -> Result<Arc<Topic>, ApiError> {
        if let Some(topic) = self.topic(name) {
            return Ok(topic);
        }
        validate_topic_name(name)?;
        if !(allow_auto_create && self.config.auto_create_topics()) {
            return Err(ErrorCode::UnknownTopicOrPartition.into());
        }
        match self.create_topic(name, None, &BTreeMap::new(), false) {
            Err(ApiError {
                code: ErrorCode::TopicAlreadyExists,
                ..
            }) => self
                .topic(name)
                .ok_or(ErrorCode::UnknownTopicOrPartition.into()),
            other => other,
        }
    }

    /// Deletes a topic and its logs.
    pub fn delete_topic(&self, name: &str) -> Result<Uuid, ApiError> {
        if !self.config.delete_topic_enable() {
            return Err(ApiError::new(
                ErrorCode::TopicDeletionDisabled,
                "delete.topic.enable is false",
            ));
        }
        let topic = self
            .write_topics()
            .remove(name)
            .ok_or(ApiError::from(ErrorCode::UnknownTopicOrPartition))?;
        if let Some(store) = &self.store {
            store
                .delete_topic(name)
                .map_err(|e| ApiError::new(ErrorCode::KafkaStorageError, e))?;
        }
        for partition in &topic.partitions {
            if let Err(e) = partition.log().delete_files() {
                tracing::warn!(topic = name, partition = partition.index, error = %e, "could not delete partition files");
            }
        }
        tracing::info!(topic = name, "deleted topic");
        Ok(topic.id)
    }

    /// Grows a topic to `total` partitions.
    pub fn create_partitions(
        &self,
        name: &str,
        total: i32,
        validate_only: bool,
    ) -> Result<(), ApiError> {
        let mut topics = self.write_topics();
        let topic = topics
            .get(name)
            .cloned()
            .ok_or(ApiError::from(ErrorCode::UnknownTopicOrPartition))?;
        let current = topic.partitions.len() as i32;
        if total <= current {
            return Err(ApiError::new(
                ErrorCode::InvalidPartitions,
                format!(
                    "topic `{name}` has {current} partitions; the new count {total} must be larger"
                ),
            ));
        }
        if validate_only {
            return Ok(());
        }
        let mut partitions = topic.partitions.clone();
        for index in current..total {
            partitions.push(self.open_partition(name, index, &topic.config)?);
        }
        let grown = Arc::new(Topic {
            name: topic.name.clone(),
            id: topic.id,
            partitions,
            config: topic.config.clone(),
        });
        self.persist(&grown)?;
        topics.insert(name.into(), grown);
        tracing::info!(topic = name, partitions = total, "added partitions");
        Ok(())
    }

    /// Replaces a topic's config overrides.
    pub fn set_topic_config(
        &self,
        name: &str,
        overrides: &BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<(), ApiError> {
        let config = self
            .config
            .topic_config(overrides)
            .map_err(|e| ApiError::new(ErrorCode::InvalidConfig, e.to_string()))?;
        let mut topics = self.write_topics();
        let topic = topics
            .get(name)
            .cloned()
            .ok_or(ApiError::from(ErrorCode::UnknownTopicOrPartition))?;
        if validate_only {
            return Ok(());
        }
        let updated = Arc::new(Topic {
            name: topic.name.clone(),
            id: topic.id,
            partitions: topic.partitions.clone(),
            config,
        });
        self.persist(&updated)?;
        for partition in &updated.partitions {
            partition.log().set_config(updated.config.log_config());
        }
        topics.insert(name.into(), updated);
        tracing::info!(topic = name, "altered topic config");
        Ok(())
    }
}
