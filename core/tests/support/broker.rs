//! The broker the client tests talk to: a fresh `EmbeddedBroker` per test, or, when
//! `TIDELOG_TEST_BOOTSTRAP` is set (e.g. `127.0.0.1:9092`), the cluster at that address,
//! such as the Apache Kafka that `scripts/test-clients-against-kafka` starts.
//!
//! That cluster is shared by every test and may hold topics and groups of earlier runs,
//! so tests name what they make with [`unique_name`], create their topics with
//! [`TestBroker::create_topic`] and look only at what they made.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tidelog::client::admin::{Admin, AdminConfig, NewTopic, OffsetSpec};
use tidelog::embedded::{EmbeddedBroker, EmbeddedOptions};

pub enum TestBroker {
    Embedded(EmbeddedBroker),
    External { bootstrap_servers: String },
}

impl TestBroker {
    pub fn start() -> TestBroker {
        match std::env::var("TIDELOG_TEST_BOOTSTRAP") {
            Ok(bootstrap_servers) if !bootstrap_servers.is_empty() => {
                TestBroker::External { bootstrap_servers }
            }
            _ => TestBroker::Embedded(
                // As the script's Kafka: a test that forgets to create a topic fails here too.
                EmbeddedBroker::start(EmbeddedOptions {
                    auto_create_topics: false,
                    ..Default::default()
                })
                .unwrap(),
            ),
        }
    }

    pub fn bootstrap_servers(&self) -> &str {
        match self {
            TestBroker::Embedded(broker) => broker.bootstrap_servers(),
            TestBroker::External { bootstrap_servers } => bootstrap_servers,
        }
    }

    pub fn admin(&self) -> Admin {
        Admin::new(
            AdminConfig::from_pairs([("bootstrap.servers", self.bootstrap_servers())]).unwrap(),
        )
    }

    /// Creates `name` and waits until every partition's leader takes requests for it.
    pub async fn create_topic(&self, name: &str, partitions: i32, configs: &[(&str, &str)]) {
        let topic = NewTopic {
            name: name.into(),
            partitions: Some(partitions),
            replication_factor: None,
            configs: configs
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
        };
        let created = self.admin().create_topics(&[topic], false).await.unwrap();
        if let Err(error) = &created[0].1 {
            panic!("creating topic {name}: {error}");
        }
        // A Kafka broker takes requests for a new partition a moment after CreateTopics
        // returns, and even after Metadata names it the leader; ListOffsets answers once it
        // does. A fresh admin client each try, so that none caches metadata of a failed one.
        let partitions: Vec<_> = (0..partitions)
            .map(|partition| (name.to_string(), partition, OffsetSpec::Latest))
            .collect();
        eventually(
            &format!("every partition of {name} has a leader"),
            async || {
                let found = self.admin().list_offsets(&partitions).await.ok()?;
                (found.len() == partitions.len() && found.iter().all(|(_, offset)| offset.is_ok()))
                    .then_some(())
            },
        )
        .await
    }
}

/// Retries `check` until it yields a value. A Kafka cluster shows a new topic or partition,
/// a deletion or a config change in what brokers answer a moment after the request that
/// made it has returned.
pub async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "not within 10 s: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `prefix` with a suffix no other test or earlier run uses.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{millis}-{}-{n}", std::process::id())
}
