//! `tidelog serve`'s flags and how they combine with the config file into
//! [`BrokerOptions`]: built-in defaults, then the `--config` file, then each `--set` in
//! order, then the other flags. Every key and value is validated before the broker starts.

use crate::config_file::ConfigFile;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use tidelog::broker::{BrokerOptions, BrokerStorage};
use tidelog::config::{topic_key, BrokerConfig, ConfigError};

/// The broker key behind `--flush`: fsync after this many messages.
const FLUSH_MESSAGES: &str = "log.flush.interval.messages";
/// The broker key for fsync by elapsed time.
const FLUSH_INTERVAL_MS: &str = "log.flush.interval.ms";

/// Kafka keys the broker takes from its options rather than its config, each with the
/// flag (and config file key) that sets it.
const SET_BY_FLAG: &[(&str, &str)] = &[
    ("listeners", "listen"),
    ("advertised.listeners", "advertised-listener"),
    ("log.dirs", "data-dir"),
];

/// The flags of `tidelog serve` (its help text is on `Command::Serve`).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to accept Kafka clients on; port 0 picks a free port
    /// [default: 127.0.0.1:9092]
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_host_port)]
    pub listen: Option<String>,

    /// Address clients are told to connect to (in Metadata and FindCoordinator responses)
    /// [default: the bound listen address]
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_host_port)]
    pub advertised_listener: Option<String>,

    /// Directory holding the logs and broker metadata, created if missing
    /// [default: ./tidelog-data]
    #[arg(long, value_name = "DIR", conflicts_with = "in_memory")]
    pub data_dir: Option<PathBuf>,

    /// Keep every log in memory only: nothing touches the disk and everything is lost
    /// when the broker stops
    #[arg(long)]
    pub in_memory: bool,

    /// This broker's id (Kafka's `node.id`) [default: 0]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub node_id: Option<u32>,

    /// Partition count of a new topic that does not give one, auto-created topics
    /// included (Kafka's `num.partitions`) [default: 1]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub partitions: Option<u32>,

    /// When appended records are fsynced to disk [default: os]
    #[arg(long, value_enum, value_name = "MODE")]
    pub flush: Option<FlushMode>,

    /// TOML file of settings: Kafka config keys (`"log.retention.ms" = 3600000`) and the
    /// flags `listen`, `advertised-listener`, `data-dir` and `in-memory` by name
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Set a Kafka broker config or topic default, e.g. `log.retention.ms=3600000`
    /// (durations in ms, sizes in bytes, as Kafka names them); repeatable
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub settings: Vec<(String, String)>,
}

/// When the broker fsyncs appended records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlushMode {
    /// Kafka's default: acknowledge once records are in the page cache and fsync
    /// according to log.flush.interval.messages and log.flush.interval.ms
    Os,
    /// fsync before every acknowledgement (log.flush.interval.messages=1)
    Always,
}

fn parse_key_value(setting: &str) -> Result<(String, String), String> {
    match setting.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err("expected KEY=VALUE".into()),
    }
}

/// Checks the `HOST:PORT` form (an IPv6 host in brackets) of a listen or advertised
/// address; whether the host resolves is up to the broker.
pub fn parse_host_port(address: &str) -> Result<String, String> {
    match address.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            Ok(address.to_string())
        }
        _ => Err("expected HOST:PORT with a port from 0 to 65535".into()),
    }
}

impl ServeArgs {
    /// The broker options these flags describe, over `file`'s settings and the defaults.
    ///
    /// # Errors
    /// A one-line message naming where the setting came from and the key.
    pub fn resolve(&self, file: Option<&ConfigFile>) -> Result<BrokerOptions, String> {
        let mut options = BrokerOptions::default();

        if let Some(file) = file {
            if let Some(listen) = &file.listen {
                options.listen = listen.clone();
            }
            if let Some(advertised) = &file.advertised_listener {
                options.advertised_listener = Some(advertised.clone());
            }
            if let Some(storage) = &file.storage {
                options.storage = storage.clone();
            }
            let origin = format!("config file {}", file.path.display());
            for (key, value) in &file.kafka_settings {
                set(&mut options.config, key, value, &origin)?;
            }
        }

        for (key, value) in &self.settings {
            set(&mut options.config, key, value, "--set")?;
        }

        if let Some(listen) = &self.listen {
            options.listen = listen.clone();
        }
        if let Some(advertised) = &self.advertised_listener {
            options.advertised_listener = Some(advertised.clone());
        }
        if let Some(dir) = &self.data_dir {
            options.storage = BrokerStorage::Disk(dir.clone());
        }
        if self.in_memory {
            options.storage = BrokerStorage::Memory;
        }
        if let Some(node_id) = self.node_id {
            set(
                &mut options.config,
                "node.id",
                &node_id.to_string(),
                "--node-id",
            )?;
        }
        if let Some(partitions) = self.partitions {
            let partitions = partitions.to_string();
            set(
                &mut options.config,
                "num.partitions",
                &partitions,
                "--partitions",
            )?;
        }
        match self.flush {
            Some(FlushMode::Always) => set(&mut options.config, FLUSH_MESSAGES, "1", "--flush")?,
            // Back to Kafka's default, overriding whatever the file or --set said.
            Some(FlushMode::Os) if options.config.is_set(FLUSH_MESSAGES) => {
                let default = BrokerConfig::default();
                let kafka_default = default.get(FLUSH_MESSAGES).unwrap_or_default();
                set(
                    &mut options.config,
                    FLUSH_MESSAGES,
                    kafka_default,
                    "--flush",
                )?;
            }
            Some(FlushMode::Os) | None => {}
        }
        Ok(options)
    }
}

/// Sets one Kafka key, the error naming `origin` and the key (and, for a topic-level key
/// given where a broker key belongs, the broker key to use; for a key the broker takes from
/// its options, the flag to use).
fn set(config: &mut BrokerConfig, key: &str, value: &str, origin: &str) -> Result<(), String> {
    if let Some((_, flag)) = SET_BY_FLAG.iter().find(|(kafka_key, _)| *kafka_key == key) {
        return Err(format!(
            "{origin}: config `{key}` is set with --{flag} (`{flag}` in a config file)"
        ));
    }
    config.set(key, value).map_err(|err| match &err {
        ConfigError::UnknownKey { .. } => match topic_key(key) {
            Some(topic) => format!(
                "{origin}: {err}; the broker-wide default of topic config `{key}` is `{}`",
                topic.broker_synonym
            ),
            None => format!("{origin}: {err}"),
        },
        ConfigError::InvalidValue { .. } => format!("{origin}: {err}"),
    })
}

/// The broker's default flush policy in words, for the log.
pub fn describe_flush(config: &BrokerConfig) -> String {
    let setting = |key| config.get(key).and_then(|value| value.parse::<i64>().ok());
    let messages = setting(FLUSH_MESSAGES).filter(|&n| n != i64::MAX);
    let interval_ms = setting(FLUSH_INTERVAL_MS).filter(|&n| n != i64::MAX);
    match (messages, interval_ms) {
        (Some(1), _) => "always (fsync before every acknowledgement)".into(),
        (None, None) => "os (acknowledge from the page cache, fsync left to the OS)".into(),
        (Some(messages), None) => {
            format!("os (acknowledge from the page cache, fsync every {messages} messages)")
        }
        (None, Some(ms)) => format!("os (acknowledge from the page cache, fsync every {ms} ms)"),
        (Some(messages), Some(ms)) => format!(
            "os (acknowledge from the page cache, fsync every {messages} messages or {ms} ms)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn args(flags: &[&str]) -> ServeArgs {
        Serve::try_parse_from(std::iter::once("serve").chain(flags.iter().copied()))
            .unwrap()
            .args
    }

    fn config_file(listen: &str, storage: BrokerStorage, kafka: &[(&str, &str)]) -> ConfigFile {
        ConfigFile {
            path: "tidelog.toml".into(),
            listen: Some(listen.into()),
            advertised_listener: None,
            storage: Some(storage),
            kafka_settings: kafka
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
        }
    }

    #[test]
    fn defaults_are_the_brokers() {
        let options = args(&[]).resolve(None).unwrap();
        assert_eq!(options.listen, "127.0.0.1:9092");
        assert_eq!(options.advertised_listener, None);
        assert_eq!(
            options.storage,
            BrokerStorage::Disk("./tidelog-data".into())
        );
        assert_eq!(options.config, BrokerConfig::default());
        assert_eq!(
            describe_flush(&options.config),
            "os (acknowledge from the page cache, fsync left to the OS)"
        );
    }

    #[test]
    fn file_then_set_then_flags() {
        let file = config_file(
            "0.0.0.0:9093",
            BrokerStorage::Memory,
            &[
                ("num.partitions", "2"),
                ("node.id", "4"),
                ("log.retention.ms", "1000"),
            ],
        );
        let options = args(&["--set", "num.partitions=3", "--set", "node.id=5"])
            .resolve(Some(&file))
            .unwrap();
        assert_eq!(options.listen, "0.0.0.0:9093");
        assert_eq!(options.storage, BrokerStorage::Memory);
        assert_eq!(options.config.get("log.retention.ms"), Some("1000"));
        assert_eq!(options.config.num_partitions(), 3);
        assert_eq!(options.config.node_id(), 5);

        let options = args(&[
            "--set",
            "num.partitions=3",
            "--partitions",
            "7",
            "--node-id",
            "9",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            "/srv/tidelog",
            "--advertised-listener",
            "broker.example:9092",
        ])
        .resolve(Some(&file))
        .unwrap();
        assert_eq!(options.listen, "127.0.0.1:0");
        assert_eq!(
            options.advertised_listener.as_deref(),
            Some("broker.example:9092")
        );
        assert_eq!(options.storage, BrokerStorage::Disk("/srv/tidelog".into()));
        assert_eq!(options.config.num_partitions(), 7);
        assert_eq!(options.config.node_id(), 9);

        let disk_file = config_file("127.0.0.1:1", BrokerStorage::Disk("/d".into()), &[]);
        let options = args(&["--in-memory"]).resolve(Some(&disk_file)).unwrap();
        assert_eq!(options.storage, BrokerStorage::Memory);
    }

    #[test]
    fn repeated_set_keeps_the_last() {
        let options = args(&[
            "--set",
            "log.retention.hours=1",
            "--set",
            "log.retention.ms=5",
        ])
        .resolve(None)
        .unwrap();
        assert_eq!(options.config.get("log.retention.ms"), Some("5"));
    }

    #[test]
    fn flush_flag_overrides_the_message_interval() {
        let always = args(&["--flush", "always"]).resolve(None).unwrap();
        assert_eq!(always.config.get(FLUSH_MESSAGES), Some("1"));
        assert_eq!(
            describe_flush(&always.config),
            "always (fsync before every acknowledgement)"
        );

        let os = args(&["--set", "log.flush.interval.messages=1", "--flush", "os"])
            .resolve(None)
            .unwrap();
        assert!(!os
            .config
            .topic_config(&Default::default())
            .unwrap()
            .fsync_before_ack());
        assert_eq!(
            describe_flush(&os.config),
            "os (acknowledge from the page cache, fsync left to the OS)"
        );

        let untouched = args(&["--flush", "os"]).resolve(None).unwrap();
        assert!(!untouched.config.is_set(FLUSH_MESSAGES));

        let periodic = args(&["--set", "log.flush.interval.ms=1000"])
            .resolve(None)
            .unwrap();
        assert_eq!(
            describe_flush(&periodic.config),
            "os (acknowledge from the page cache, fsync every 1000 ms)"
        );
    }

    #[test]
    fn errors_name_the_origin_and_the_key() {
        let err = |flags: &[&str]| args(flags).resolve(None).unwrap_err();
        assert_eq!(
            err(&["--set", "no.such.key=1"]),
            "--set: unknown config key `no.such.key`"
        );
        assert!(err(&["--set", "num.partitions=zero"])
            .starts_with("--set: invalid value `zero` for config `num.partitions`"));
        assert_eq!(
            err(&["--set", "retention.ms=1"]),
            "--set: unknown config key `retention.ms`; the broker-wide default of topic \
             config `retention.ms` is `log.retention.ms`"
        );
        assert_eq!(
            err(&["--set", "log.dirs=/srv"]),
            "--set: config `log.dirs` is set with --data-dir (`data-dir` in a config file)"
        );
        assert!(err(&["--partitions", "0"])
            .starts_with("--partitions: invalid value `0` for config `num.partitions`"));
        assert!(err(&["--node-id", "4000000000"])
            .starts_with("--node-id: invalid value `4000000000` for config `node.id`"));

        let bad_file = config_file(
            "127.0.0.1:0",
            BrokerStorage::Memory,
            &[("log.retention.mss", "5")],
        );
        assert_eq!(
            args(&[]).resolve(Some(&bad_file)).unwrap_err(),
            "config file tidelog.toml: unknown config key `log.retention.mss`"
        );
    }

    #[test]
    fn flag_syntax_is_checked_by_the_parser() {
        let reject = |flags: &[&str]| {
            Serve::try_parse_from(std::iter::once("serve").chain(flags.iter().copied()))
                .err()
                .map(|err| err.to_string())
                .unwrap_or_default()
        };
        assert!(reject(&["--flush", "sometimes"]).contains("--flush"));
        assert!(reject(&["--set", "num.partitions"]).contains("expected KEY=VALUE"));
        assert!(reject(&["--set", "=3"]).contains("expected KEY=VALUE"));
        assert!(reject(&["--in-memory", "--data-dir", "/d"]).contains("cannot be used with"));
        assert!(reject(&["--node-id", "-1"]).contains("'-1' for '--node-id <N>'"));
        assert!(reject(&["--listen", "9092"]).contains("'9092' for '--listen <HOST:PORT>'"));
        assert!(reject(&["--advertised-listener", "broker:http"])
            .contains("'broker:http' for '--advertised-listener <HOST:PORT>'"));
        assert!(reject(&["--listen", "[::1]:0"]).is_empty());
    }
}
