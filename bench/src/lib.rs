//! Helpers shared by the benchmark binaries in `src/bin`.

use tidelog::client::admin::{Admin, AdminConfig, NewTopic};

/// Creates `topic` with `partitions` partitions (the broker's default replication factor)
/// on the cluster at `bootstrap` (`host:port`), and waits for the broker's answer.
///
/// # Panics
/// If the admin client cannot be configured, the request fails, or the broker refuses to
/// create the topic (benchmarks have nothing to fall back on).
pub async fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
    let admin = Admin::new(
        AdminConfig::from_pairs([("bootstrap.servers", bootstrap)]).expect("admin config"),
    );
    let created = admin
        .create_topics(
            &[NewTopic {
                name: topic.to_string(),
                partitions: Some(partitions),
                replication_factor: None,
                configs: Vec::new(),
            }],
            false,
        )
        .await
        .expect("create topic");
    created[0].1.as_ref().expect("topic created");
}

/// The command line as `--flag value` pairs, in order.
///
/// # Panics
/// If the last flag has no value.
pub fn flag_pairs() -> Vec<(String, String)> {
    let mut iter = std::env::args().skip(1);
    let mut pairs = Vec::new();
    while let Some(flag) = iter.next() {
        let value = iter
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        pairs.push((flag, value));
    }
    pairs
}
