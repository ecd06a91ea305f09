//! The conformance runner for tidelog's Rust clients: drives one scenario file through the
//! public API of `tidelog::client` (the steps are in `conformance/README.md`). Exits 0
//! when the scenario passed, 1 when it failed, 2 when it does not apply.

mod scenario;

use bytes::Bytes;
use clap::Parser;
use scenario::{template, Step};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tidelog::client::admin::{
    Admin, AdminConfig, AlterConfigOp, ConfigResource, NewTopic, OffsetSpec, ResourceType,
};
use tidelog::client::consumer::{Consumer, ConsumerConfig, ConsumerRecord, TopicPartition};
use tidelog::client::producer::{Producer, ProducerConfig, ProducerRecord};
use tidelog::error::Error;

#[derive(Parser)]
#[command(about = "Runs one conformance scenario with tidelog's Rust clients")]
struct Args {
    /// The broker, `host:port`.
    #[arg(long)]
    bootstrap: String,
    /// Put before every topic and group name.
    #[arg(long, default_value = "")]
    prefix: String,
    /// What the driver offers: `restart`, `tidelog`, `no-auto-create`.
    #[arg(long, value_delimiter = ',', default_value = "")]
    capabilities: Vec<String>,
    /// Where `produce_vectors` files are.
    #[arg(long, default_value = "conformance/data")]
    data: PathBuf,
    /// The scenario file.
    scenario: PathBuf,
}

/// How a scenario ends other than by passing.
enum Stop {
    Failed(String),
    NotApplicable(String),
}

type Outcome<T = ()> = Result<T, Stop>;

impl From<String> for Stop {
    fn from(message: String) -> Stop {
        Stop::Failed(message)
    }
}

/// The steps this runner knows; a scenario with another does not apply.
const VERBS: &[&str] = &[
    "requires",
    "create_topic",
    "delete_topic",
    "create_partitions",
    "describe_topic",
    "alter_config",
    "expect_config",
    "list_offsets",
    "delete_records",
    "describe_group",
    "list_groups",
    "delete_group",
    "restart_broker",
    "sleep",
    "producer",
    "produce",
    "produce_vectors",
    "consumer",
    "subscribe",
    "assign",
    "consume",
    "expect_nothing",
    "expect_records",
    "expect_count",
    "clear",
    "commit",
    "expect_committed",
    "seek",
    "pause",
    "resume",
    "expect_position",
    "await_assignment",
    "expect_assignment",
    "close",
];

/// What this runner's client does that a `requires` may ask for besides the broker's
/// capabilities.
const CLIENT_TRAITS: &[&str] = &["java-default-partitioner"];

/// How long steps that wait for the cluster to settle wait.
const SETTLE: Duration = Duration::from_secs(10);

/// A consumer and what it has received.
struct Member {
    consumer: Consumer,
    received: Vec<ConsumerRecord>,
    /// The last offset handed out per partition, to check that offsets only grow.
    last: HashMap<TopicPartition, i64>,
}

impl Member {
    /// One poll of up to `wait`, keeping the record.
    async fn poll_once(&mut self, wait: Duration) -> Outcome<bool> {
        let Some(record) = self
            .consumer
            .poll(wait)
            .await
            .map_err(|e| format!("poll: {e}"))?
        else {
            return Ok(false);
        };
        let partition = (record.topic.clone(), record.partition);
        if let Some(last) = self.last.get(&partition) {
            if record.offset <= *last {
                return Err(Stop::Failed(format!(
                    "{}:{} went from offset {last} back to {}",
                    partition.0, partition.1, record.offset
                )));
            }
        }
        self.last.insert(partition, record.offset);
        self.received.push(record);
        Ok(true)
    }
}

struct Runner {
    args: Args,
    admin: Admin,
    producer: Option<Producer>,
    members: BTreeMap<String, Member>,
}

fn at(step: &Step, message: impl std::fmt::Display) -> Stop {
    Stop::Failed(format!("line {} ({}): {message}", step.line, step.verb))
}

/// Checks a call's result against the step's `error=`: `Some(value)` when it succeeded as
/// expected, `None` when it failed as expected.
fn expected<T>(step: &Step, result: Result<T, Error>) -> Outcome<Option<T>> {
    match (step.get("error"), result) {
        (None, Ok(value)) => Ok(Some(value)),
        (None, Err(error)) => Err(at(step, error)),
        (Some(want), Ok(_)) => Err(at(step, format!("succeeded; expected {want}"))),
        (Some(want), Err(error)) if want.split('|').any(|w| w == error.code().name()) => Ok(None),
        (Some(want), Err(error)) => Err(at(
            step,
            format!(
                "expected {want}, failed with {}: {error}",
                error.code().name()
            ),
        )),
    }
}

/// The outcome of the one thing an admin call was asked about.
fn only<K, T>(results: Vec<(K, T)>) -> Outcome<T> {
    results
        .into_iter()
        .next()
        .map(|(_, outcome)| outcome)
        .ok_or_else(|| Stop::Failed("the broker answered about nothing".into()))
}

impl Runner {
    fn name(&self, logical: &str) -> String {
        format!("{}{logical}", self.args.prefix)
    }

    /// `T:P` or `T:P@O`, the topic prefixed.
    fn partition(&self, step: &Step, text: &str) -> Outcome<(TopicPartition, Option<i64>)> {
        let (partition, offset) = match text.split_once('@') {
            Some((p, o)) => (p, Some(o.parse().map_err(|_| at(step, "bad offset"))?)),
            None => (text, None),
        };
        let (topic, number) = partition
            .rsplit_once(':')
            .ok_or_else(|| at(step, format!("`{text}` is not TOPIC:PARTITION")))?;
        let number = number.parse().map_err(|_| at(step, "bad partition"))?;
        Ok(((self.name(topic), number), offset))
    }

    fn partitions(&self, step: &Step, key: &str) -> Outcome<Vec<(TopicPartition, Option<i64>)>> {
        step.need(key)?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|p| self.partition(step, p))
            .collect()
    }

    fn member(&mut self, step: &Step) -> Outcome<&mut Member> {
        let name = step.need("consumer")?;
        self.members
            .get_mut(name)
            .ok_or_else(|| at(step, format!("no consumer {name}")))
    }

    fn producer(&self, step: &Step) -> Outcome<&Producer> {
        self.producer
            .as_ref()
            .ok_or_else(|| at(step, "no producer: a `producer` step comes first"))
    }

    async fn run(&mut self, steps: &[Step]) -> Outcome {
        for step in steps {
            if !VERBS.contains(&step.verb.as_str()) {
                return Err(Stop::NotApplicable(format!(
                    "line {}: no `{}` step in this runner",
                    step.line, step.verb
                )));
            }
            if step.verb == "requires" {
                let wanted = step.word.clone().unwrap_or_default();
                if !self.args.capabilities.contains(&wanted)
                    && !CLIENT_TRAITS.contains(&wanted.as_str())
                {
                    return Err(Stop::NotApplicable(format!("needs {wanted}")));
                }
            }
        }
        for step in steps {
            self.step(step).await?;
        }
        Ok(())
    }

    async fn step(&mut self, step: &Step) -> Outcome {
        match step.verb.as_str() {
            "requires" => Ok(()),
            "create_topic" => {
                let topic = NewTopic {
                    name: self.name(step.need("topic")?),
                    partitions: Some(step.number("partitions")? as i32),
                    replication_factor: Some(1),
                    configs: step.prefixed("config"),
                };
                let results = self
                    .admin
                    .create_topics(&[topic], false)
                    .await
                    .map_err(|e| at(step, e))?;
                expected(step, only(results)?)?;
                Ok(())
            }
            "delete_topic" => {
                let results = self
                    .admin
                    .delete_topics(&[self.name(step.need("topic")?)])
                    .await
                    .map_err(|e| at(step, e))?;
                expected(step, only(results)?)?;
                Ok(())
            }
            "create_partitions" => {
                let totals = [(self.name(step.need("topic")?), step.number("total")? as i32)];
                let results = self
                    .admin
                    .create_partitions(&totals, false)
                    .await
                    .map_err(|e| at(step, e))?;
                expected(step, only(results)?)?;
                Ok(())
            }
            "describe_topic" => self.describe_topic(step).await,
            "alter_config" => {
                let resource = ConfigResource {
                    kind: ResourceType::Topic,
                    name: self.name(step.need("topic")?),
                };
                let ops = step
                    .prefixed("config")
                    .into_iter()
                    .map(|(k, v)| AlterConfigOp::Set(k, v))
                    .collect();
                let results = self
                    .admin
                    .incremental_alter_configs(&[(resource, ops)], false)
                    .await
                    .map_err(|e| at(step, e))?;
                expected(step, only(results)?)?;
                Ok(())
            }
            "expect_config" => {
                let resource = ConfigResource {
                    kind: ResourceType::Topic,
                    name: self.name(step.need("topic")?),
                };
                let results = self
                    .admin
                    .describe_configs(&[resource])
                    .await
                    .map_err(|e| at(step, e))?;
                let entries = only(results)?.map_err(|e| at(step, e))?;
                let key = step.need("key")?;
                let value = entries
                    .iter()
                    .find(|e| e.name == key)
                    .and_then(|e| e.value.clone());
                if value.as_deref() != Some(step.need("value")?) {
                    return Err(at(step, format!("{key} is {value:?}")));
                }
                Ok(())
            }
            "list_offsets" => {
                let spec = match step.need("spec")? {
                    "earliest" => OffsetSpec::Earliest,
                    "latest" => OffsetSpec::Latest,
                    ms => OffsetSpec::Timestamp(step.number("spec").map_err(|_| {
                        at(step, format!("spec={ms}: earliest, latest or a timestamp"))
                    })?),
                };
                let wanted = [(
                    self.name(step.need("topic")?),
                    step.number("partition")? as i32,
                    spec,
                )];
                let results = self
                    .admin
                    .list_offsets(&wanted)
                    .await
                    .map_err(|e| at(step, e))?;
                let found = only(results)?;
                if let Some((offset, _)) = expected(step, found)? {
                    let want = step.number("offset")?;
                    if offset != want {
                        return Err(at(step, format!("offset {offset}, expected {want}")));
                    }
                }
                Ok(())
            }
            "delete_records" => {
                let before = [(
                    self.name(step.need("topic")?),
                    step.number("partition")? as i32,
                    step.number("before")?,
                )];
                let results = self
                    .admin
                    .delete_records(&before)
                    .await
                    .map_err(|e| at(step, e))?;
                let found = only(results)?;
                if let Some(low) = expected(step, found)? {
                    if low != before[0].2 {
                        return Err(at(step, format!("log start offset is {low}")));
                    }
                }
                Ok(())
            }
            "describe_group" => self.describe_group(step).await,
            "list_groups" => {
                let group = self.name(step.need("contains")?);
                let groups = self.admin.list_groups(&[]).await.map_err(|e| at(step, e))?;
                if !groups.iter().any(|g| g.group_id == group) {
                    return Err(at(step, format!("{group} is not listed")));
                }
                Ok(())
            }
            "delete_group" => {
                let results = self
                    .admin
                    .delete_groups(&[self.name(step.need("group")?)])
                    .await
                    .map_err(|e| at(step, e))?;
                expected(step, only(results)?)?;
                Ok(())
            }
            "restart_broker" => {
                let command = std::env::var("CONFORMANCE_RESTART")
                    .map_err(|_| at(step, "CONFORMANCE_RESTART is not set"))?;
                let status = std::process::Command::new("sh")
                    .args(["-c", &command])
                    .status()
                    .map_err(|e| at(step, e))?;
                if !status.success() {
                    return Err(at(step, format!("`{command}` failed: {status}")));
                }
                Ok(())
            }
            "sleep" => {
                tokio::time::sleep(Duration::from_millis(step.number("ms")? as u64)).await;
                Ok(())
            }
            "producer" => {
                if let Some(old) = self.producer.take() {
                    old.close().await;
                }
                let mut pairs =
                    vec![("bootstrap.servers".to_string(), self.args.bootstrap.clone())];
                pairs.extend(step.prefixed("config"));
                let config =
                    ProducerConfig::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                self.producer = expected(step, config.and_then(Producer::new))?;
                Ok(())
            }
            "produce" => self.produce(step).await,
            "produce_vectors" => self.produce_vectors(step).await,
            "consumer" => {
                let mut pairs =
                    vec![("bootstrap.servers".to_string(), self.args.bootstrap.clone())];
                if let Some(group) = step.get("group") {
                    pairs.push(("group.id".into(), self.name(group)));
                }
                pairs.extend(step.prefixed("config"));
                let config =
                    ConsumerConfig::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                if let Some(config) = expected(step, config)? {
                    let member = Member {
                        consumer: Consumer::new(config),
                        received: Vec::new(),
                        last: HashMap::new(),
                    };
                    self.members.insert(step.need("name")?.to_string(), member);
                }
                Ok(())
            }
            "subscribe" => {
                let topics: Vec<String> = step
                    .need("topics")?
                    .split(',')
                    .map(|t| self.name(t))
                    .collect();
                let member = self.member(step)?;
                let result = member.consumer.subscribe(&topics);
                expected(step, result)?;
                Ok(())
            }
            "assign" => {
                let partitions = self.partitions(step, "partitions")?;
                let member = self.member(step)?;
                let list: Vec<TopicPartition> = partitions.iter().map(|(p, _)| p.clone()).collect();
                member.consumer.assign(&list);
                for (partition, offset) in partitions {
                    if let Some(offset) = offset {
                        member.consumer.seek(&partition, offset);
                    }
                }
                member.last.clear();
                Ok(())
            }
            "consume" => {
                let count = step.number("count")? as usize;
                let timeout = Duration::from_millis(step.number_or("timeout_ms", 20_000)? as u64);
                let member = self.member(step)?;
                let deadline = Instant::now() + timeout;
                while member.received.len() < count {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(at(
                            step,
                            format!("{} of {count} records arrived", member.received.len()),
                        ));
                    }
                    member
                        .poll_once(left.min(Duration::from_millis(200)))
                        .await?;
                }
                Ok(())
            }
            "expect_nothing" => {
                let wait = Duration::from_millis(step.number("ms")? as u64);
                let member = self.member(step)?;
                let before = member.received.len();
                let deadline = Instant::now() + wait;
                while Instant::now() < deadline {
                    member
                        .poll_once(deadline.saturating_duration_since(Instant::now()))
                        .await?;
                }
                if member.received.len() != before {
                    let record = &member.received[before];
                    return Err(at(
                        step,
                        format!(
                            "received {}:{}@{}",
                            record.topic, record.partition, record.offset
                        ),
                    ));
                }
                Ok(())
            }
            "expect_records" => self.expect_records(step),
            "expect_count" => {
                let topic = step.get("topic").map(|t| self.name(t));
                let partition = step
                    .get("partition")
                    .map(|_| step.number("partition"))
                    .transpose()?;
                let want = step.number("count")? as usize;
                let member = self.member(step)?;
                let count = member
                    .received
                    .iter()
                    .filter(|r| topic.as_ref().is_none_or(|t| &r.topic == t))
                    .filter(|r| partition.is_none_or(|p| r.partition as i64 == p))
                    .count();
                if count != want {
                    return Err(at(step, format!("{count} records, expected {want}")));
                }
                Ok(())
            }
            "clear" => {
                self.member(step)?.received.clear();
                Ok(())
            }
            "commit" => {
                let offsets = match step.get("offsets") {
                    Some(_) => Some(
                        self.partitions(step, "offsets")?
                            .into_iter()
                            .map(|(p, o)| (p, o.unwrap_or(0)))
                            .collect(),
                    ),
                    None => None,
                };
                let result = self.member(step)?.consumer.commit(offsets).await;
                expected(step, result)?;
                Ok(())
            }
            "expect_committed" => {
                let wanted = self.partitions(step, "partitions")?;
                let list: Vec<TopicPartition> = wanted.iter().map(|(p, _)| p.clone()).collect();
                let committed = self
                    .member(step)?
                    .consumer
                    .committed(&list)
                    .await
                    .map_err(|e| at(step, e))?;
                for (partition, offset) in wanted {
                    let found = committed
                        .iter()
                        .find(|(p, _)| *p == partition)
                        .map(|(_, o)| *o);
                    if found != offset {
                        return Err(at(
                            step,
                            format!("{}:{} committed {found:?}", partition.0, partition.1),
                        ));
                    }
                }
                Ok(())
            }
            "seek" => {
                let (partition, _) = self.partition(step, step.need("partition")?)?;
                let offset = step.need("offset")?.to_string();
                let member = self.member(step)?;
                match offset.as_str() {
                    "earliest" => member
                        .consumer
                        .seek_to_beginning(std::slice::from_ref(&partition)),
                    "latest" => member
                        .consumer
                        .seek_to_end(std::slice::from_ref(&partition)),
                    _ => member.consumer.seek(&partition, step.number("offset")?),
                }
                member.last.remove(&partition);
                Ok(())
            }
            "pause" | "resume" => {
                let list: Vec<TopicPartition> = self
                    .partitions(step, "partitions")?
                    .into_iter()
                    .map(|(p, _)| p)
                    .collect();
                let member = self.member(step)?;
                if step.verb == "pause" {
                    member.consumer.pause(&list);
                } else {
                    member.consumer.resume(&list);
                }
                Ok(())
            }
            "expect_position" => {
                let (partition, _) = self.partition(step, step.need("partition")?)?;
                let want = step.number("offset")?;
                let position = self.member(step)?.consumer.position(&partition);
                if position != Some(want) {
                    return Err(at(step, format!("position {position:?}, expected {want}")));
                }
                Ok(())
            }
            "await_assignment" => self.await_assignment(step).await,
            "expect_assignment" => {
                let want: BTreeSet<TopicPartition> = self
                    .partitions(step, "partitions")?
                    .into_iter()
                    .map(|(p, _)| p)
                    .collect();
                let have: BTreeSet<TopicPartition> = self
                    .member(step)?
                    .consumer
                    .assignment()
                    .into_iter()
                    .collect();
                if have != want {
                    return Err(at(step, format!("assignment {have:?}, expected {want:?}")));
                }
                Ok(())
            }
            "close" => {
                let member = self.member(step)?;
                let result = member.consumer.close().await;
                expected(step, result)?;
                Ok(())
            }
            other => Err(at(step, format!("unknown step {other}"))),
        }
    }

    async fn describe_topic(&mut self, step: &Step) -> Outcome {
        let name = self.name(step.need("topic")?);
        let deadline = Instant::now() + SETTLE;
        loop {
            let results = self
                .admin
                .describe_topics(std::slice::from_ref(&name))
                .await
                .map_err(|e| at(step, e))?;
            let found = only(results)?;
            let settled = match (step.get("error"), &found) {
                (Some(_), _) => true,
                (None, Ok(info)) => info.partitions.len() as i64 == step.number("partitions")?,
                (None, Err(_)) => false,
            };
            if settled || Instant::now() > deadline {
                if let Some(info) = expected(step, found)? {
                    let want = step.number("partitions")?;
                    if info.partitions.len() as i64 != want {
                        return Err(at(
                            step,
                            format!("{} partitions, expected {want}", info.partitions.len()),
                        ));
                    }
                }
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn describe_group(&mut self, step: &Step) -> Outcome {
        let group = self.name(step.need("group")?);
        let deadline = Instant::now() + SETTLE;
        loop {
            let results = self
                .admin
                .describe_groups(std::slice::from_ref(&group))
                .await
                .map_err(|e| at(step, e))?;
            let found = only(results)?;
            let mismatch = match &found {
                Ok(description) => {
                    let mut mismatch = None;
                    if let Some(state) = step.get("state") {
                        if description.state != state {
                            mismatch = Some(format!("state {}", description.state));
                        }
                    }
                    if let Some(members) = step.get("members") {
                        if description.members.len().to_string() != members {
                            mismatch = Some(format!("{} members", description.members.len()));
                        }
                    }
                    mismatch
                }
                Err(_) => None,
            };
            match mismatch {
                Some(what) if Instant::now() > deadline => return Err(at(step, what)),
                Some(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                None => {
                    expected(step, found)?;
                    return Ok(());
                }
            }
        }
    }

    fn record(&self, step: &Step, index: i64, partition: Option<i32>) -> Outcome<ProducerRecord> {
        let value = match (step.get("size"), step.get("value")) {
            (Some(_), _) => Some(Bytes::from(vec![b'x'; step.number("size")? as usize])),
            (None, Some(v)) => Some(Bytes::from(template(v, index))),
            (None, None) => None,
        };
        let mut record = ProducerRecord::new(self.name(step.need("topic")?), Bytes::new());
        record.value = value;
        record.key = step.get("key").map(|k| Bytes::from(template(k, index)));
        if let Some(partition) = partition {
            record = record.with_partition(partition);
        }
        for (name, value) in step.prefixed("header") {
            record = record.with_header(name, Some(Bytes::from(template(&value, index))));
        }
        if step.get("timestamp").is_some() {
            record = record.with_timestamp(step.number("timestamp")?);
        }
        Ok(record)
    }

    async fn produce(&mut self, step: &Step) -> Outcome {
        let count = step.number_or("count", 1)?;
        let partition = step
            .get("partition")
            .map(|_| step.number("partition"))
            .transpose()?;
        let mut deliveries = Vec::new();
        for index in 0..count {
            let record = self.record(step, index, partition.map(|p| p as i32))?;
            match self.producer(step)?.send(record) {
                Ok(delivery) => deliveries.push(delivery),
                Err(error) => {
                    expected::<()>(step, Err(error))?;
                    return Ok(());
                }
            }
        }
        let landing = step
            .get("partition_of")
            .map(|_| step.number("partition_of"))
            .transpose()?;
        let first = step
            .get("offset")
            .map(|_| step.number("offset"))
            .transpose()?;
        for (index, delivery) in deliveries.into_iter().enumerate() {
            let Some(metadata) = expected(step, delivery.await)? else {
                continue;
            };
            if let Some(want) = landing {
                if metadata.partition as i64 != want {
                    return Err(at(
                        step,
                        format!(
                            "record {index} on partition {}, expected {want}",
                            metadata.partition
                        ),
                    ));
                }
            }
            if let Some(first) = first {
                if metadata.offset != first + index as i64 {
                    return Err(at(
                        step,
                        format!(
                            "record {index} at offset {}, expected {}",
                            metadata.offset,
                            first + index as i64
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    async fn produce_vectors(&mut self, step: &Step) -> Outcome {
        let path = self.args.data.join(step.need("file")?);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| at(step, format!("{}: {e}", path.display())))?;
        let topic = self.name(step.need("topic")?);
        let mut deliveries = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (key, partition) = line
                .split_once('\t')
                .ok_or_else(|| at(step, format!("`{line}` is not KEY<TAB>PARTITION")))?;
            let want: i32 = partition.parse().map_err(|_| at(step, "bad partition"))?;
            let record =
                ProducerRecord::new(topic.clone(), Bytes::from("v")).with_key(key.to_string());
            let delivery = self.producer(step)?.send(record).map_err(|e| at(step, e))?;
            deliveries.push((key.to_string(), want, delivery));
        }
        for (key, want, delivery) in deliveries {
            let metadata = delivery.await.map_err(|e| at(step, e))?;
            if metadata.partition != want {
                return Err(at(
                    step,
                    format!("key {key:?} on {}, expected {want}", metadata.partition),
                ));
            }
        }
        Ok(())
    }

    fn expect_records(&mut self, step: &Step) -> Outcome {
        let topic = self.name(step.need("topic")?);
        let partition = step.number("partition")? as i32;
        let from = step.number("from")?;
        let count = step.number("count")?;
        let headers = step.prefixed("header");
        let member = self.member(step)?;
        let mut seen = BTreeMap::new();
        for record in &member.received {
            if record.topic == topic
                && record.partition == partition
                && (from..from + count).contains(&record.offset)
                && seen.insert(record.offset, record).is_some()
            {
                return Err(at(step, format!("offset {} received twice", record.offset)));
            }
        }
        for index in 0..count {
            let offset = from + index;
            let record = seen
                .get(&offset)
                .ok_or_else(|| at(step, format!("offset {offset} not received")))?;
            let fields = [("key", &record.key), ("value", &record.value)];
            for (field, actual) in fields {
                let Some(want) = step.get(field) else {
                    continue;
                };
                let want = (want != "null").then(|| template(want, index));
                let actual = actual
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned());
                if actual != want {
                    return Err(at(
                        step,
                        format!("offset {offset}: {field} {actual:?}, expected {want:?}"),
                    ));
                }
            }
            for (name, want) in &headers {
                let want = template(want, index);
                let actual = record
                    .headers
                    .iter()
                    .find(|(k, _)| k == name)
                    .and_then(|(_, v)| v.as_ref())
                    .map(|b| String::from_utf8_lossy(b).into_owned());
                if actual.as_deref() != Some(want.as_str()) {
                    return Err(at(
                        step,
                        format!("offset {offset}: header {name} {actual:?}, expected {want:?}"),
                    ));
                }
            }
            if step.get("timestamp").is_some() && record.timestamp_ms != step.number("timestamp")? {
                return Err(at(
                    step,
                    format!("offset {offset}: timestamp {}", record.timestamp_ms),
                ));
            }
        }
        Ok(())
    }

    async fn await_assignment(&mut self, step: &Step) -> Outcome {
        let names: Vec<String> = step
            .need("consumers")?
            .split(',')
            .map(String::from)
            .collect();
        let topic = self.name(step.need("topic")?);
        let partitions = step.number("partitions")? as usize;
        let timeout = Duration::from_millis(step.number_or("timeout_ms", 30_000)? as u64);
        let deadline = Instant::now() + timeout;
        loop {
            let mut sizes = Vec::new();
            let mut all = BTreeSet::new();
            let mut overlap = false;
            for name in &names {
                let member = self
                    .members
                    .get_mut(name)
                    .ok_or_else(|| at(step, format!("no consumer {name}")))?;
                member.poll_once(Duration::from_millis(20)).await?;
                let mine: Vec<i32> = member
                    .consumer
                    .assignment()
                    .into_iter()
                    .filter(|(t, _)| *t == topic)
                    .map(|(_, p)| p)
                    .collect();
                sizes.push(mine.len());
                for p in mine {
                    overlap |= !all.insert(p);
                }
            }
            let balanced = sizes.iter().max().unwrap_or(&0) - sizes.iter().min().unwrap_or(&0) <= 1;
            let covered = all == (0..partitions as i32).collect::<BTreeSet<_>>();
            if !overlap && covered && balanced {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(at(
                    step,
                    format!("assignment sizes {sizes:?}, partitions {all:?}"),
                ));
            }
        }
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    // The client's own logs, on stderr, when RUST_LOG asks for them (to diagnose a failure).
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let (code, message) = match run(args).await {
        Ok(()) => (0, "passed".to_string()),
        Err(Stop::Failed(message)) => (1, format!("failed: {message}")),
        Err(Stop::NotApplicable(reason)) => (2, format!("not applicable: {reason}")),
    };
    println!("{message}");
    std::process::exit(code);
}

async fn run(args: Args) -> Outcome {
    let text = std::fs::read_to_string(&args.scenario)
        .map_err(|e| format!("{}: {e}", args.scenario.display()))?;
    let steps = scenario::parse(&text)?;
    let admin = Admin::new(
        AdminConfig::from_pairs([("bootstrap.servers", args.bootstrap.as_str())])
            .map_err(|e| e.to_string())?,
    );
    let mut runner = Runner {
        args,
        admin,
        producer: None,
        members: BTreeMap::new(),
    };
    let result = runner.run(&steps).await;
    for member in runner.members.values() {
        let _ = member.consumer.close().await;
    }
    if let Some(producer) = runner.producer.take() {
        producer.close().await;
    }
    result
}

#[cfg(test)]
mod tests {
    use tidelog::error::ErrorCode;

    /// `conformance/data/error-codes.tsv` is Kafka's error codes and names as the core
    /// knows them, for runners whose clients report numbers or other names. Rewrite it
    /// with `TIDELOG_BLESS=1 cargo test -p tidelog-conformance`.
    #[test]
    fn the_error_code_table_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/error-codes.tsv");
        let mut table = String::from("# code\tname, as Kafka's protocol guide spells them\n");
        for code in ErrorCode::ALL {
            table.push_str(&format!("{}\t{}\n", code.code(), code.name()));
        }
        if std::env::var_os("TIDELOG_BLESS").is_some() {
            std::fs::write(path, &table).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == table,
            "{path} is stale: rerun with TIDELOG_BLESS=1"
        );
    }
}
