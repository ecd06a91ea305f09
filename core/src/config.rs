//! Broker and topic configuration, keyed by Kafka's own config names.
//!
//! Every key is declared once in a table ([`BROKER_CONFIGS`], [`TOPIC_CONFIGS`]) with its
//! type, default and documentation; values arrive as strings (flags, TOML, `--set`,
//! CreateTopics, IncrementalAlterConfigs) and are validated against the table. An unknown
//! key or a bad value is an error that names the key. Topic keys fall back to their
//! broker-level synonym (`retention.ms` <- `log.retention.ms`), as in Kafka.

use crate::log::LogConfig;
use std::collections::BTreeMap;
use std::fmt;

/// A config value's type, numbered as DescribeConfigs v3+ reports it (KIP-569).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Short = 4,
    Long = 5,
    Double = 6,
    List = 7,
}

/// One declared config key.
#[derive(Debug)]
pub struct ConfigKey {
    /// Kafka's name, e.g. `"retention.ms"`.
    pub name: &'static str,
    pub kind: ConfigType,
    /// The default as Kafka writes it.
    pub default: &'static str,
    /// Allowed values for enumerations (lists check each element); empty = any.
    pub allowed: &'static [&'static str],
    /// Smallest allowed number, for numeric keys.
    pub min: Option<f64>,
    pub doc: &'static str,
}

/// A topic-level key and the broker key that supplies its default.
#[derive(Debug)]
pub struct TopicConfigKey {
    pub key: ConfigKey,
    /// The broker-level synonym, e.g. `"log.retention.ms"` for `retention.ms`.
    pub broker_synonym: &'static str,
}

const LONG_MAX: &str = "9223372036854775807";

const fn key(
    name: &'static str,
    kind: ConfigType,
    default: &'static str,
    min: Option<f64>,
    doc: &'static str,
) -> ConfigKey {
    ConfigKey {
        name,
        kind,
        default,
        allowed: &[],
        min,
        doc,
    }
}

const fn choice(
    name: &'static str,
    kind: ConfigType,
    default: &'static str,
    allowed: &'static [&'static str],
    doc: &'static str,
) -> ConfigKey {
    ConfigKey {
        name,
        kind,
        default,
        allowed,
        min: None,
        doc,
    }
}

/// Topic-level configs the broker understands, with Kafka's defaults.
pub const TOPIC_CONFIGS: &[TopicConfigKey] = &[
    TopicConfigKey {
        key: choice("cleanup.policy", ConfigType::List, "delete", &["delete", "compact"], "Retention policy for old segments: delete, compact, or both."),
        broker_synonym: "log.cleanup.policy",
    },
    TopicConfigKey {
        key: choice(
            "compression.type",
            ConfigType::String,
            "producer",
            &["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"],
            "Final compression of stored batches; `producer` keeps what the producer sent.",
        ),
        broker_synonym: "compression.type",
    },
    TopicConfigKey {
        key: key("delete.retention.ms", ConfigType::Long, "86400000", Some(0.0), "How long tombstones are kept on compacted topics (ms)."),
        broker_synonym: "log.cleaner.delete.retention.ms",
    },
    TopicConfigKey {
        key: key("flush.messages", ConfigType::Long, LONG_MAX, Some(1.0), "fsync the log after this many messages; 1 fsyncs before every acknowledgement."),
        broker_synonym: "log.flush.interval.messages",
    },
    TopicConfigKey {
        key: key("flush.ms", ConfigType::Long, LONG_MAX, Some(0.0), "fsync the log when this long has passed since the last fsync (ms)."),
        broker_synonym: "log.flush.interval.ms",
    },
    TopicConfigKey {
        key: key("index.interval.bytes", ConfigType::Int, "4096", Some(0.0), "Bytes of log between offset index entries."),
        broker_synonym: "log.index.interval.bytes",
    },
    TopicConfigKey {
        key: key("max.message.bytes", ConfigType::Int, "1048588", Some(0.0), "Largest record batch the topic accepts (bytes)."),
        broker_synonym: "message.max.bytes",
    },
    TopicConfigKey {
        key: choice("message.timestamp.type", ConfigType::String, "CreateTime", &["CreateTime", "LogAppendTime"], "Whether record timestamps are the producer's or the broker's append time."),
        broker_synonym: "log.message.timestamp.type",
    },
    TopicConfigKey {
        key: key("message.timestamp.after.max.ms", ConfigType::Long, "3600000", Some(0.0), "How far ahead of the broker's clock a CreateTime record timestamp may be (ms, KIP-937)."),
        broker_synonym: "log.message.timestamp.after.max.ms",
    },
    TopicConfigKey {
        key: key("message.timestamp.before.max.ms", ConfigType::Long, LONG_MAX, Some(0.0), "How far behind the broker's clock a CreateTime record timestamp may be (ms, KIP-937)."),
        broker_synonym: "log.message.timestamp.before.max.ms",
    },
    TopicConfigKey {
        key: key("min.cleanable.dirty.ratio", ConfigType::Double, "0.5", Some(0.0), "Fraction of the log that must be uncompacted before the cleaner runs."),
        broker_synonym: "log.cleaner.min.cleanable.ratio",
    },
    TopicConfigKey {
        key: key("min.compaction.lag.ms", ConfigType::Long, "0", Some(0.0), "Minimum age of a record before it can be compacted (ms)."),
        broker_synonym: "log.cleaner.min.compaction.lag.ms",
    },
    TopicConfigKey {
        key: key("min.insync.replicas", ConfigType::Int, "1", Some(1.0), "In-sync replicas an acks=all write needs."),
        broker_synonym: "min.insync.replicas",
    },
    TopicConfigKey {
        key: key("retention.bytes", ConfigType::Long, "-1", Some(-1.0), "Largest size a partition may reach before old segments are deleted (bytes); -1 = no limit."),
        broker_synonym: "log.retention.bytes",
    },
    TopicConfigKey {
        key: key("retention.ms", ConfigType::Long, "604800000", Some(-1.0), "How long segments are kept (ms); -1 = forever."),
        broker_synonym: "log.retention.ms",
    },
    TopicConfigKey {
        key: key("segment.bytes", ConfigType::Int, "1073741824", Some(14.0), "Size at which a new segment is rolled (bytes)."),
        broker_synonym: "log.segment.bytes",
    },
    TopicConfigKey {
        key: key("segment.ms", ConfigType::Long, "604800000", Some(1.0), "Age at which a new segment is rolled (ms)."),
        broker_synonym: "log.roll.ms",
    },
];

/// Broker-level configs that are not topic defaults.
pub const BROKER_CONFIGS: &[ConfigKey] = &[
    key(
        "node.id",
        ConfigType::Int,
        "0",
        Some(0.0),
        "This broker's id.",
    ),
    key(
        "listeners",
        ConfigType::List,
        "PLAINTEXT://127.0.0.1:9092",
        None,
        "Addresses to listen on.",
    ),
    key(
        "advertised.listeners",
        ConfigType::List,
        "",
        None,
        "Addresses clients are told to connect to; defaults to `listeners`.",
    ),
    key(
        "log.dirs",
        ConfigType::String,
        "./tidelog-data",
        None,
        "Directory holding the logs.",
    ),
    key(
        "num.partitions",
        ConfigType::Int,
        "1",
        Some(1.0),
        "Partitions of an auto-created topic, or of a created one that does not say.",
    ),
    key(
        "default.replication.factor",
        ConfigType::Short,
        "1",
        Some(1.0),
        "Replication factor of auto-created topics.",
    ),
    key(
        "auto.create.topics.enable",
        ConfigType::Boolean,
        "true",
        None,
        "Create a topic when Metadata or Produce names an unknown one.",
    ),
    key(
        "delete.topic.enable",
        ConfigType::Boolean,
        "true",
        None,
        "Allow DeleteTopics.",
    ),
    key(
        "socket.request.max.bytes",
        ConfigType::Int,
        "104857600",
        Some(1.0),
        "Largest request frame accepted; a larger one closes the connection (bytes).",
    ),
    key(
        "log.retention.check.interval.ms",
        ConfigType::Long,
        "300000",
        Some(1.0),
        "How often retention and time-based rolls are checked (ms).",
    ),
    key(
        "log.flush.scheduler.interval.ms",
        ConfigType::Long,
        "1000",
        Some(1.0),
        "How often flush.ms is checked (ms).",
    ),
    key(
        "fetch.max.bytes",
        ConfigType::Int,
        "57671680",
        Some(0.0),
        "Most record bytes one Fetch response carries, whatever the request asks (bytes).",
    ),
    key(
        "log.cleaner.backoff.ms",
        ConfigType::Long,
        "15000",
        Some(1.0),
        "How often compacted topics are checked for cleaning (ms).",
    ),
    key(
        "offsets.topic.num.partitions",
        ConfigType::Int,
        "50",
        Some(1.0),
        "Partitions of __consumer_offsets (fixed once the topic exists).",
    ),
    key(
        "offsets.topic.segment.bytes",
        ConfigType::Int,
        "104857600",
        Some(14.0),
        "Segment size of __consumer_offsets (bytes).",
    ),
    key(
        "offsets.retention.minutes",
        ConfigType::Int,
        "10080",
        Some(1.0),
        "How long offsets of an empty group are kept (minutes).",
    ),
    key(
        "offsets.retention.check.interval.ms",
        ConfigType::Long,
        "600000",
        Some(1.0),
        "How often expired offsets are removed (ms).",
    ),
    key(
        "offset.metadata.max.bytes",
        ConfigType::Int,
        "4096",
        Some(0.0),
        "Largest metadata string of a committed offset (bytes).",
    ),
    key(
        "group.initial.rebalance.delay.ms",
        ConfigType::Int,
        "3000",
        Some(0.0),
        "How long the first rebalance of an empty group waits for more members (ms).",
    ),
    key(
        "group.min.session.timeout.ms",
        ConfigType::Int,
        "6000",
        Some(0.0),
        "Smallest session.timeout.ms a member may ask for (ms).",
    ),
    key(
        "group.max.session.timeout.ms",
        ConfigType::Int,
        "1800000",
        Some(0.0),
        "Largest session.timeout.ms a member may ask for (ms).",
    ),
    key(
        "group.max.size",
        ConfigType::Int,
        "2147483647",
        Some(1.0),
        "Most members a group may have.",
    ),
];

/// Names accepted in place of a canonical key, converted on the way in (Kafka's
/// hours/minutes variants).
const ALIASES: &[(&str, &str, i64)] = &[
    ("log.retention.hours", "log.retention.ms", 3_600_000),
    ("log.retention.minutes", "log.retention.ms", 60_000),
    ("log.roll.hours", "log.roll.ms", 3_600_000),
];

/// A rejected config key or value. The message always names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown config key `{key}`")]
    UnknownKey { key: String },
    #[error("invalid value `{value}` for config `{key}`: {reason}")]
    InvalidValue {
        key: String,
        value: String,
        reason: String,
    },
}

/// An `InvalidValue` error naming `key`.
pub(crate) fn invalid(key: &str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

/// Checks `value` against `def`, returning it in canonical form. Errors name `key`, the
/// key as the user wrote it (a broker synonym of a topic key, say).
fn validate(def: &ConfigKey, key: &str, value: &str) -> Result<String, ConfigError> {
    let value = value.trim();
    let number = |parsed: Result<f64, String>| -> Result<String, ConfigError> {
        let n = parsed.map_err(|reason| invalid(key, value, reason))?;
        if let Some(min) = def.min {
            if n < min {
                return Err(invalid(key, value, format!("must be at least {min}")));
            }
        }
        Ok(value.to_string())
    };
    match def.kind {
        ConfigType::Boolean => match value.to_ascii_lowercase().as_str() {
            "true" | "false" => Ok(value.to_ascii_lowercase()),
            _ => Err(invalid(key, value, "expected true or false")),
        },
        ConfigType::Short => number(
            value
                .parse::<i16>()
                .map(f64::from)
                .map_err(|e| e.to_string()),
        ),
        ConfigType::Int => number(
            value
                .parse::<i32>()
                .map(f64::from)
                .map_err(|e| e.to_string()),
        ),
        ConfigType::Long => number(
            value
                .parse::<i64>()
                .map(|v| v as f64)
                .map_err(|e| e.to_string()),
        ),
        ConfigType::Double => number(value.parse::<f64>().map_err(|e| e.to_string())),
        ConfigType::String => {
            if !def.allowed.is_empty() && !def.allowed.contains(&value) {
                return Err(invalid(
                    key,
                    value,
                    format!("expected one of {}", def.allowed.join(", ")),
                ));
            }
            Ok(value.to_string())
        }
        ConfigType::List => {
            let items: Vec<&str> = value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            if let Some(bad) = items
                .iter()
                .find(|item| !def.allowed.is_empty() && !def.allowed.contains(item))
            {
                return Err(invalid(
                    key,
                    value,
                    format!("`{bad}` is not one of {}", def.allowed.join(", ")),
                ));
            }
            Ok(items.join(","))
        }
    }
}

/// Looks up a topic-level key.
pub fn topic_key(name: &str) -> Option<&'static TopicConfigKey> {
    TOPIC_CONFIGS.iter().find(|k| k.key.name == name)
}

fn broker_key(name: &str) -> Option<&'static ConfigKey> {
    BROKER_CONFIGS.iter().find(|k| k.name == name).or_else(|| {
        TOPIC_CONFIGS
            .iter()
            .find(|k| k.broker_synonym == name)
            .map(|k| &k.key)
    })
}

/// Where a config value comes from, numbered as DescribeConfigs reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    DynamicTopic = 1,
    StaticBroker = 4,
    Default = 5,
}

/// The broker's configuration: validated string values by Kafka key, only the ones set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BrokerConfig {
    values: BTreeMap<String, String>,
}

impl BrokerConfig {
    /// Validates and collects broker settings (`node.id`, `log.dirs`, `log.retention.ms`,
    /// ...). `log.retention.hours`/`minutes` and `log.roll.hours` are converted to ms.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first unknown key or bad value.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ConfigError> {
        let mut config = BrokerConfig::default();
        for (key, value) in pairs {
            config.set(key, value)?;
        }
        Ok(config)
    }

    /// Sets one key, validating it.
    ///
    /// # Errors
    /// [`ConfigError`] naming the key.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        if let Some((_, canonical, factor)) = ALIASES.iter().find(|(alias, _, _)| *alias == key) {
            let amount: i64 = value
                .trim()
                .parse()
                .map_err(|_| invalid(key, value, "expected a whole number"))?;
            return self.set(canonical, &(amount.saturating_mul(*factor)).to_string());
        }
        let def = broker_key(key).ok_or_else(|| ConfigError::UnknownKey { key: key.into() })?;
        let canonical = validate(def, key, value)?;
        self.values.insert(key.to_string(), canonical);
        Ok(())
    }

    /// The effective value of a broker key (set or default), if the key exists.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .or_else(|| broker_key(key).map(|def| def.default))
    }

    /// Whether the key was set explicitly.
    pub fn is_set(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    fn parsed<T: std::str::FromStr>(&self, key: &str) -> T
    where
        T::Err: fmt::Debug,
    {
        // Values were validated on the way in, so parsing cannot fail.
        self.get(key)
            .expect("declared key")
            .parse()
            .expect("validated value")
    }

    pub fn node_id(&self) -> i32 {
        self.parsed("node.id")
    }
    pub fn num_partitions(&self) -> i32 {
        self.parsed("num.partitions")
    }
    pub fn auto_create_topics(&self) -> bool {
        self.parsed("auto.create.topics.enable")
    }
    pub fn delete_topic_enable(&self) -> bool {
        self.parsed("delete.topic.enable")
    }
    /// Largest request frame accepted (bytes).
    pub fn socket_request_max_bytes(&self) -> usize {
        self.parsed::<i32>("socket.request.max.bytes") as usize
    }
    /// Retention and roll check interval (ms).
    pub fn retention_check_interval_ms(&self) -> u64 {
        self.parsed::<i64>("log.retention.check.interval.ms") as u64
    }
    /// flush.ms check interval (ms).
    pub fn flush_check_interval_ms(&self) -> u64 {
        self.parsed::<i64>("log.flush.scheduler.interval.ms") as u64
    }
    /// Cap on a Fetch response's records (bytes).
    pub fn fetch_max_bytes(&self) -> usize {
        self.parsed::<i32>("fetch.max.bytes") as usize
    }
    /// Compaction check interval (ms).
    pub fn cleaner_backoff_ms(&self) -> u64 {
        self.parsed::<i64>("log.cleaner.backoff.ms") as u64
    }
    pub fn offsets_topic_partitions(&self) -> i32 {
        self.parsed("offsets.topic.num.partitions")
    }
    pub fn offsets_topic_segment_bytes(&self) -> i32 {
        self.parsed("offsets.topic.segment.bytes")
    }
    /// Expired-offset check interval (ms).
    pub fn offsets_retention_check_interval_ms(&self) -> u64 {
        self.parsed::<i64>("offsets.retention.check.interval.ms") as u64
    }

    /// The group coordinator's settings.
    pub fn group_config(&self) -> crate::broker::GroupConfig {
        crate::broker::GroupConfig {
            initial_rebalance_delay: std::time::Duration::from_millis(
                self.parsed::<i32>("group.initial.rebalance.delay.ms") as u64,
            ),
            min_session_timeout_ms: self.parsed("group.min.session.timeout.ms"),
            max_session_timeout_ms: self.parsed("group.max.session.timeout.ms"),
            max_group_size: self.parsed::<i32>("group.max.size") as usize,
            offset_metadata_max_bytes: self.parsed::<i32>("offset.metadata.max.bytes") as usize,
            offsets_retention: std::time::Duration::from_secs(
                self.parsed::<i32>("offsets.retention.minutes") as u64 * 60,
            ),
        }
    }

    /// Resolves a topic's configuration: `overrides` (topic-level keys) over this broker's
    /// synonyms over Kafka's defaults.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first unknown topic key or bad value.
    pub fn topic_config(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> Result<TopicConfig, ConfigError> {
        let mut validated = BTreeMap::new();
        for (key, value) in overrides {
            let def = topic_key(key).ok_or_else(|| ConfigError::UnknownKey { key: key.clone() })?;
            validated.insert(key.clone(), validate(&def.key, key, value)?);
        }
        Ok(TopicConfig {
            overrides: validated,
            broker: self.clone(),
        })
    }
}

/// A topic's effective configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicConfig {
    overrides: BTreeMap<String, String>,
    broker: BrokerConfig,
}

/// One resolved topic config entry, for DescribeConfigs.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigEntry {
    pub name: &'static str,
    pub value: String,
    pub source: ConfigSource,
    pub kind: ConfigType,
    pub doc: &'static str,
    /// The broker synonym's value when the broker sets it.
    pub broker_value: Option<(&'static str, String)>,
}

impl TopicConfig {
    /// The topic-level overrides (as CreateTopics / IncrementalAlterConfigs set them).
    pub fn overrides(&self) -> &BTreeMap<String, String> {
        &self.overrides
    }

    /// Every topic key with its effective value and where it comes from.
    pub fn entries(&self) -> Vec<ConfigEntry> {
        TOPIC_CONFIGS
            .iter()
            .map(|def| {
                let broker_value = self
                    .broker
                    .values
                    .get(def.broker_synonym)
                    .map(|v| (def.broker_synonym, v.clone()));
                let (value, source) = match (self.overrides.get(def.key.name), &broker_value) {
                    (Some(v), _) => (v.clone(), ConfigSource::DynamicTopic),
                    (None, Some((_, v))) => (v.clone(), ConfigSource::StaticBroker),
                    (None, None) => (def.key.default.to_string(), ConfigSource::Default),
                };
                ConfigEntry {
                    name: def.key.name,
                    value,
                    source,
                    kind: def.key.kind,
                    doc: def.key.doc,
                    broker_value,
                }
            })
            .collect()
    }

    /// The effective value of a topic key.
    pub fn get(&self, name: &str) -> Option<String> {
        let def = topic_key(name)?;
        Some(
            self.overrides
                .get(name)
                .cloned()
                .or_else(|| self.broker.values.get(def.broker_synonym).cloned())
                .unwrap_or_else(|| def.key.default.to_string()),
        )
    }

    fn number(&self, name: &str) -> i64 {
        self.get(name)
            .expect("declared key")
            .parse()
            .expect("validated value")
    }

    /// Largest accepted record batch (bytes).
    pub fn max_message_bytes(&self) -> usize {
        self.number("max.message.bytes") as usize
    }
    /// Whether the broker stamps batches with LogAppendTime.
    pub fn log_append_time(&self) -> bool {
        self.get("message.timestamp.type").as_deref() == Some("LogAppendTime")
    }
    /// The CreateTime timestamps a record may have when the broker's clock reads `now`
    /// (ms): `message.timestamp.before.max.ms` behind it to
    /// `message.timestamp.after.max.ms` ahead of it (KIP-937); `None` below when any age
    /// is accepted.
    pub fn accepted_timestamps(&self, now: i64) -> (Option<i64>, i64) {
        let before = self.number("message.timestamp.before.max.ms");
        let after = self.number("message.timestamp.after.max.ms");
        let earliest = (before != i64::MAX).then(|| now.saturating_sub(before));
        (earliest, now.saturating_add(after))
    }
    /// Whether `cleanup.policy` includes `compact`.
    pub fn compacted(&self) -> bool {
        self.get("cleanup.policy")
            .unwrap_or_default()
            .split(',')
            .any(|p| p == "compact")
    }
    /// Whether every append is fsynced before it is acknowledged (`flush.messages=1`).
    pub fn fsync_before_ack(&self) -> bool {
        self.number("flush.messages") == 1
    }
    pub fn min_insync_replicas(&self) -> i32 {
        self.number("min.insync.replicas") as i32
    }

    /// The log's view of this configuration.
    pub fn log_config(&self) -> LogConfig {
        let optional = |name: &str| {
            let v = self.number(name);
            (v >= 0 && v != i64::MAX).then_some(v as u64)
        };
        LogConfig {
            segment_bytes: self.number("segment.bytes") as u64,
            segment_ms: self.number("segment.ms") as u64,
            index_interval_bytes: self.number("index.interval.bytes") as u32,
            retention_ms: optional("retention.ms"),
            retention_bytes: optional("retention.bytes"),
            flush_messages: optional("flush.messages"),
            flush_ms: optional("flush.ms"),
            compact: self.compacted(),
            delete: self
                .get("cleanup.policy")
                .unwrap_or_default()
                .split(',')
                .any(|p| p == "delete"),
            delete_retention_ms: self.number("delete.retention.ms") as u64,
            min_compaction_lag_ms: self.number("min.compaction.lag.ms") as u64,
            min_cleanable_dirty_ratio: self
                .get("min.cleanable.dirty.ratio")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overrides(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn errors_name_the_key() {
        let err = BrokerConfig::from_pairs([("log.retention.mss", "5")]).unwrap_err();
        assert_eq!(err.to_string(), "unknown config key `log.retention.mss`");
        let err = BrokerConfig::from_pairs([("num.partitions", "zero")]).unwrap_err();
        assert!(err.to_string().contains("`num.partitions`"), "{err}");
        let err = BrokerConfig::default()
            .topic_config(&overrides(&[("cleanup.policy", "delete,shred")]))
            .unwrap_err();
        assert!(
            err.to_string().contains("`cleanup.policy`") && err.to_string().contains("shred"),
            "{err}"
        );
        let err = BrokerConfig::default()
            .topic_config(&overrides(&[("segment.bytes", "3")]))
            .unwrap_err();
        assert!(err.to_string().contains("at least 14"), "{err}");
    }

    #[test]
    fn topic_values_resolve_override_then_broker_then_default() {
        let broker =
            BrokerConfig::from_pairs([("log.retention.hours", "2"), ("log.segment.bytes", "1000")])
                .unwrap();
        let topic = broker
            .topic_config(&overrides(&[("segment.bytes", "5000")]))
            .unwrap();
        assert_eq!(topic.get("retention.ms").as_deref(), Some("7200000"));
        assert_eq!(topic.get("segment.bytes").as_deref(), Some("5000"));
        assert_eq!(topic.get("max.message.bytes").as_deref(), Some("1048588"));
        let entries = topic.entries();
        let source = |name: &str| entries.iter().find(|e| e.name == name).unwrap().source;
        assert_eq!(source("segment.bytes"), ConfigSource::DynamicTopic);
        assert_eq!(source("retention.ms"), ConfigSource::StaticBroker);
        assert_eq!(source("cleanup.policy"), ConfigSource::Default);
        let log = topic.log_config();
        assert_eq!(
            (
                log.segment_bytes,
                log.retention_ms,
                log.retention_bytes,
                log.flush_messages
            ),
            (5000, Some(7_200_000), None, None)
        );
    }

    #[test]
    fn every_typed_accessor_reads_a_declared_key() {
        let config = BrokerConfig::default();
        let _ = config.fetch_max_bytes();
        let _ = (
            config.node_id(),
            config.num_partitions(),
            config.auto_create_topics(),
            config.delete_topic_enable(),
        );
        let _ = (
            config.socket_request_max_bytes(),
            config.retention_check_interval_ms(),
            config.flush_check_interval_ms(),
        );
        let _ = (
            config.fetch_max_bytes(),
            config.cleaner_backoff_ms(),
            config.offsets_topic_partitions(),
            config.offsets_topic_segment_bytes(),
        );
        let _ = (
            config.offsets_retention_check_interval_ms(),
            config.group_config(),
        );
        let topic = config.topic_config(&BTreeMap::new()).unwrap();
        let _ = (
            topic.max_message_bytes(),
            topic.log_append_time(),
            topic.compacted(),
            topic.fsync_before_ack(),
        );
        let _ = (topic.min_insync_replicas(), topic.log_config());
    }

    #[test]
    fn flush_messages_one_means_fsync_before_ack() {
        let broker = BrokerConfig::from_pairs([("log.flush.interval.messages", "1")]).unwrap();
        assert!(broker
            .topic_config(&BTreeMap::new())
            .unwrap()
            .fsync_before_ack());
        assert!(!BrokerConfig::default()
            .topic_config(&BTreeMap::new())
            .unwrap()
            .fsync_before_ack());
    }
}
