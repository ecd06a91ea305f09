//! The `--config` file of `tidelog serve`: a TOML table of Kafka config keys, plus the
//! serve flags by name (`listen`, `advertised-listener`, `data-dir`, `in-memory`) so one
//! file can hold every setting.
//!
//! A dotted key may be quoted (`"log.retention.ms" = 3600000`) or bare
//! (`num.partitions = 3`, which TOML reads as nested tables); both name the same Kafka key.

use crate::settings::parse_host_port;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tidelog::broker::BrokerStorage;
use toml::Value;

/// A parsed config file. Kafka values are not validated here: that happens when they are
/// applied to the broker configuration, in precedence order.
#[derive(Debug, PartialEq)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub listen: Option<String>,
    pub advertised_listener: Option<String>,
    /// `data-dir` or `in-memory = true`, whichever the file sets.
    pub storage: Option<BrokerStorage>,
    /// Kafka config keys with their values as strings, in key order.
    pub kafka_settings: Vec<(String, String)>,
}

impl ConfigFile {
    /// Reads and parses the file at `path`.
    ///
    /// # Errors
    /// A one-line message naming the file and, where there is one, the offending key.
    pub fn load(path: &Path) -> Result<ConfigFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| format!("config file {}: {err}", path.display()))?;
        ConfigFile::parse(path, &text)
    }

    fn parse(path: &Path, text: &str) -> Result<ConfigFile, String> {
        let in_file = |message: String| format!("config file {}: {message}", path.display());
        let table: toml::Table = text
            .parse()
            .map_err(|err| in_file(describe_syntax_error(text, &err)))?;
        let mut entries = BTreeMap::new();
        flatten("", table, &mut entries).map_err(in_file)?;

        let mut file = ConfigFile {
            path: path.to_path_buf(),
            listen: None,
            advertised_listener: None,
            storage: None,
            kafka_settings: Vec::new(),
        };
        let mut data_dir = None;
        let mut in_memory = false;
        for (key, value) in entries {
            match key.as_str() {
                "listen" => file.listen = Some(expect_address(&key, value).map_err(in_file)?),
                "advertised-listener" => {
                    file.advertised_listener = Some(expect_address(&key, value).map_err(in_file)?)
                }
                "data-dir" => data_dir = Some(expect_string(&key, value).map_err(in_file)?),
                "in-memory" => {
                    in_memory = match value {
                        Value::Boolean(flag) => flag,
                        other => return Err(in_file(wrong_type(&key, "a boolean", &other))),
                    }
                }
                _ => {
                    let value = scalar_to_string(&key, value).map_err(in_file)?;
                    file.kafka_settings.push((key, value));
                }
            }
        }
        file.storage = match (in_memory, data_dir) {
            (true, Some(_)) => {
                return Err(in_file("`data-dir` and `in-memory = true` conflict".into()))
            }
            (true, None) => Some(BrokerStorage::Memory),
            (false, data_dir) => data_dir.map(|dir| BrokerStorage::Disk(dir.into())),
        };
        Ok(file)
    }
}

/// Collects every leaf of `table` under its dotted key, rejecting a key written twice
/// (once quoted, once as nested tables).
fn flatten(
    prefix: &str,
    table: toml::Table,
    entries: &mut BTreeMap<String, Value>,
) -> Result<(), String> {
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            Value::Table(nested) => flatten(&key, nested, entries)?,
            leaf => {
                if entries.contains_key(&key) {
                    return Err(format!("`{key}` is set twice"));
                }
                entries.insert(key, leaf);
            }
        }
    }
    Ok(())
}

fn expect_string(key: &str, value: Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text),
        other => Err(wrong_type(key, "a string", &other)),
    }
}

/// A Kafka value as the config table takes it: strings as written, numbers and booleans
/// in their usual text form.
fn scalar_to_string(key: &str, value: Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text),
        Value::Integer(number) => Ok(number.to_string()),
        Value::Float(number) => Ok(number.to_string()),
        Value::Boolean(flag) => Ok(flag.to_string()),
        Value::Array(_) => Err(format!(
            "{}; write a list as one comma-separated string",
            wrong_type(key, "a string, number or boolean", &value)
        )),
        other => Err(wrong_type(key, "a string, number or boolean", &other)),
    }
}

fn expect_address(key: &str, value: Value) -> Result<String, String> {
    let address = expect_string(key, value)?;
    parse_host_port(&address).map_err(|reason| format!("`{key}` = {address:?}: {reason}"))
}

fn wrong_type(key: &str, expected: &str, value: &Value) -> String {
    format!("`{key}` must be {expected}, not {}", value.type_str())
}

/// The parser's message with the line and column it points at, on one line.
fn describe_syntax_error(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim().replace('\n', " ");
    match err.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.chars().rev().take_while(|&c| c != '\n').count() + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfigFile, String> {
        ConfigFile::parse(Path::new("tidelog.toml"), text)
    }

    fn settings(file: &ConfigFile) -> Vec<(&str, &str)> {
        file.kafka_settings
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect()
    }

    #[test]
    fn quoted_and_bare_dotted_keys_name_kafka_keys_with_scalar_values() {
        let file = parse(
            r#"
            "log.retention.ms" = 3600000
            num.partitions = 3
            auto.create.topics.enable = false
            "log.cleaner.min.cleanable.ratio" = 0.25
            "log.cleanup.policy" = "compact,delete"
            [log.segment]
            bytes = 1048576
            "#,
        )
        .unwrap();
        assert_eq!(
            settings(&file),
            [
                ("auto.create.topics.enable", "false"),
                ("log.cleaner.min.cleanable.ratio", "0.25"),
                ("log.cleanup.policy", "compact,delete"),
                ("log.retention.ms", "3600000"),
                ("log.segment.bytes", "1048576"),
                ("num.partitions", "3"),
            ]
        );
        assert_eq!((file.listen, file.storage), (None, None));
    }

    #[test]
    fn serve_flags_by_name() {
        let file = parse(
            r#"
            listen = "0.0.0.0:9093"
            advertised-listener = "kafka.internal:9093"
            data-dir = "/var/lib/tidelog"
            "#,
        )
        .unwrap();
        assert_eq!(file.listen.as_deref(), Some("0.0.0.0:9093"));
        assert_eq!(
            file.advertised_listener.as_deref(),
            Some("kafka.internal:9093")
        );
        assert_eq!(
            file.storage,
            Some(BrokerStorage::Disk("/var/lib/tidelog".into()))
        );
        assert!(file.kafka_settings.is_empty());

        let file = parse("in-memory = true").unwrap();
        assert_eq!(file.storage, Some(BrokerStorage::Memory));
        let file = parse("in-memory = false").unwrap();
        assert_eq!(file.storage, None);
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let err = |text: &str| parse(text).unwrap_err();
        assert_eq!(
            err("data-dir = \"/d\"\nin-memory = true"),
            "config file tidelog.toml: `data-dir` and `in-memory = true` conflict"
        );
        assert_eq!(
            err("in-memory = \"yes\""),
            "config file tidelog.toml: `in-memory` must be a boolean, not string"
        );
        assert_eq!(
            err("advertised-listener = \"broker\""),
            "config file tidelog.toml: `advertised-listener` = \"broker\": expected HOST:PORT \
             with a port from 0 to 65535"
        );
        assert_eq!(
            err("listen = 9092"),
            "config file tidelog.toml: `listen` must be a string, not integer"
        );
        assert!(err("\"log.cleanup.policy\" = [\"compact\"]")
            .contains("`log.cleanup.policy` must be a string, number or boolean, not array"));
        assert_eq!(
            err("\"num.partitions\" = 1\n[num]\npartitions = 2"),
            "config file tidelog.toml: `num.partitions` is set twice"
        );
        let syntax = err("num.partitions = 1\nlog.retention.ms = \n");
        assert!(
            syntax.starts_with("config file tidelog.toml: line 2, column ")
                && !syntax.contains('\n'),
            "{syntax}"
        );
    }
}
