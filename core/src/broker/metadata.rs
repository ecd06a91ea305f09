//! Durable cluster metadata of a single-node broker: the cluster id and node id
//! (`meta.properties`, as Kafka names it) and one file per topic under `topics/`
//! (id, partition count, config overrides). Files are written atomically: a temporary
//! file, fsync, rename, fsync of the directory. The controller quorum replaces this
//! store when replication arrives.

use crate::protocol::codec::Uuid;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A topic as the metadata store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicRecord {
    pub name: String,
    pub id: Uuid,
    pub partitions: i32,
    pub overrides: BTreeMap<String, String>,
}

pub struct MetadataStore {
    root: PathBuf,
}

fn io_error(path: &Path, error: std::io::Error) -> String {
    format!("{}: {error}", path.display())
}

/// Writes `contents` to `path` so that a crash leaves either the old or the new file.
fn write_atomically(path: &Path, contents: &str) -> Result<(), String> {
    let temporary = path.with_extension("tmp");
    let mut file = fs::File::create(&temporary).map_err(|e| io_error(&temporary, e))?;
    file.write_all(contents.as_bytes())
        .map_err(|e| io_error(&temporary, e))?;
    file.sync_all().map_err(|e| io_error(&temporary, e))?;
    fs::rename(&temporary, path).map_err(|e| io_error(path, e))?;
    let dir = path.parent().expect("file in a directory");
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir, e))
}

/// Parses `key=value` lines; blank lines and `#` comments are skipped.
fn parse_properties(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn parse_uuid(text: &str) -> Option<Uuid> {
    u128::from_str_radix(text, 16).ok().map(Uuid::from)
}

impl MetadataStore {
    /// Opens the store under `root` (the data directory), creating it, and checks or
    /// records the node id. Returns the store and the cluster id.
    pub fn open(
        root: &Path,
        node_id: i32,
        new_cluster_id: impl FnOnce() -> String,
    ) -> Result<(Self, String), String> {
        fs::create_dir_all(root.join("topics")).map_err(|e| io_error(root, e))?;
        let meta_path = root.join("meta.properties");
        let cluster_id = match fs::read_to_string(&meta_path) {
            Ok(text) => {
                let props = parse_properties(&text);
                let stored_node = props.get("node.id").and_then(|v| v.parse::<i32>().ok());
                if stored_node != Some(node_id) {
                    return Err(format!(
                        "{} belongs to node.id {}, not {node_id}",
                        meta_path.display(),
                        props.get("node.id").map(String::as_str).unwrap_or("?")
                    ));
                }
                props
                    .get("cluster.id")
                    .cloned()
                    .ok_or_else(|| format!("{}: no cluster.id", meta_path.display()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let cluster_id = new_cluster_id();
                write_atomically(
                    &meta_path,
                    &format!("version=1\ncluster.id={cluster_id}\nnode.id={node_id}\n"),
                )?;
                cluster_id
            }
            Err(e) => return Err(io_error(&meta_path, e)),
        };
        Ok((
            MetadataStore {
                root: root.to_path_buf(),
            },
            cluster_id,
        ))
    }

    fn topic_path(&self, name: &str) -> PathBuf {
        self.root.join("topics").join(format!("{name}.properties"))
    }

    /// The directory of one partition's log: `<root>/<topic>-<partition>`, as in Kafka.
    pub fn partition_dir(&self, topic: &str, partition: i32) -> PathBuf {
        self.root.join(format!("{topic}-{partition}"))
    }

    pub fn load_topics(&self) -> Result<Vec<TopicRecord>, String> {
        let dir = self.root.join("topics");
        let mut topics = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| io_error(&dir, e))? {
            let path = entry.map_err(|e| io_error(&dir, e))?.path();
            if path.extension().is_none_or(|ext| ext != "properties") {
                continue;
            }
            let props =
                parse_properties(&fs::read_to_string(&path).map_err(|e| io_error(&path, e))?);
            let corrupt = |what: &str| format!("{}: missing or bad {what}", path.display());
            topics.push(TopicRecord {
                name: props.get("name").cloned().ok_or_else(|| corrupt("name"))?,
                id: props
                    .get("topic.id")
                    .and_then(|v| parse_uuid(v))
                    .ok_or_else(|| corrupt("topic.id"))?,
                partitions: props
                    .get("partitions")
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| corrupt("partitions"))?,
                overrides: props
                    .iter()
                    .filter_map(|(k, v)| {
                        k.strip_prefix("config.")
                            .map(|k| (k.to_string(), v.clone()))
                    })
                    .collect(),
            });
        }
        Ok(topics)
    }

    pub fn save_topic(&self, topic: &TopicRecord) -> Result<(), String> {
        let mut text = format!(
            "name={}\ntopic.id={:032x}\npartitions={}\n",
            topic.name,
            topic.id.as_u128(),
            topic.partitions
        );
        for (key, value) in &topic.overrides {
            text.push_str(&format!("config.{key}={value}\n"));
        }
        write_atomically(&self.topic_path(&topic.name), &text)
    }

    pub fn delete_topic(&self, name: &str) -> Result<(), String> {
        let path = self.topic_path(name);
        fs::remove_file(&path).map_err(|e| io_error(&path, e))
    }
}
