//! The consumer against a real broker (an EmbeddedBroker, or the cluster at
//! `TIDELOG_TEST_BOOTSTRAP`) over real sockets.

#[path = "support/broker.rs"]
mod broker;

use broker::{eventually, unique_name, TestBroker};
use std::collections::BTreeSet;
use std::time::Duration;
use tidelog::client::connection::BrokerConnection;
use tidelog::client::consumer::{Consumer, ConsumerConfig, ConsumerRecord, RebalanceEvent};
use tidelog::protocol::compression::Compression;
use tidelog::protocol::messages::{produce_request, ProduceRequest};
use tidelog::protocol::records::RecordBatchBuilder;

/// Creates `topic` with `partitions` and writes `per_partition` records ("p<n>-<i>") to each.
async fn seed(broker: &TestBroker, topic: &str, partitions: i32, per_partition: usize) {
    broker.create_topic(topic, partitions, &[]).await;
    let connection = BrokerConnection::connect(broker.bootstrap_servers(), "seed")
        .await
        .unwrap();
    for partition in 0..partitions {
        let mut builder = RecordBatchBuilder::new(Compression::Lz4);
        for i in 0..per_partition {
            builder
                .append(
                    1_000 + i as i64,
                    Some(format!("k{i}").as_bytes()),
                    Some(format!("p{partition}-{i}").as_bytes()),
                    &[("h", Some(b"v"))],
                )
                .unwrap();
        }
        let request = ProduceRequest {
            acks: -1,
            timeout_ms: 5_000,
            topic_data: vec![produce_request::TopicProduceData {
                name: topic.into(),
                partition_data: vec![produce_request::PartitionProduceData {
                    index: partition,
                    records: Some(builder.build().unwrap()),
                }],
            }],
            ..Default::default()
        };
        let (_, response) = connection.call(request, 3).await.unwrap();
        assert_eq!(response.responses[0].partition_responses[0].error_code, 0);
    }
}

fn consumer(bootstrap: &str, extra: &[(&str, &str)]) -> Consumer {
    let mut pairs = vec![
        ("bootstrap.servers", bootstrap),
        ("auto.offset.reset", "earliest"),
        ("fetch.max.wait.ms", "50"),
    ];
    pairs.extend_from_slice(extra);
    Consumer::new(ConsumerConfig::from_pairs(pairs).unwrap())
}

async fn take(consumer: &Consumer, count: usize) -> Vec<ConsumerRecord> {
    let mut out = Vec::new();
    while out.len() < count {
        match consumer.poll(Duration::from_secs(10)).await.unwrap() {
            Some(record) => out.push(record),
            None => panic!("only {} of {count} records arrived", out.len()),
        }
    }
    out
}

#[tokio::test]
async fn assigned_partitions_are_read_in_order_and_seek_and_pause_work() {
    let broker = TestBroker::start();
    let topic = unique_name("events");
    seed(&broker, &topic, 2, 500).await;
    let consumer = consumer(broker.bootstrap_servers(), &[]);
    consumer.assign(&[(topic.clone(), 0), (topic.clone(), 1)]);
    let records = take(&consumer, 1000).await;
    for partition in 0..2 {
        let mine: Vec<&ConsumerRecord> = records
            .iter()
            .filter(|r| r.partition == partition)
            .collect();
        assert_eq!(mine.len(), 500);
        for (i, record) in mine.iter().enumerate() {
            assert_eq!(record.offset, i as i64);
            assert_eq!(
                record.value.as_deref(),
                Some(format!("p{partition}-{i}").as_bytes())
            );
            assert_eq!(record.timestamp_ms, 1_000 + i as i64);
            assert_eq!(
                record.headers,
                vec![("h".to_string(), Some(bytes::Bytes::from_static(b"v")))]
            );
        }
    }
    assert_eq!(consumer.position(&(topic.clone(), 0)), Some(500));
    assert!(consumer
        .poll(Duration::from_millis(200))
        .await
        .unwrap()
        .is_none());

    consumer.seek(&(topic.clone(), 1), 490);
    let again = take(&consumer, 10).await;
    assert_eq!(
        again
            .iter()
            .map(|r| (r.partition, r.offset))
            .collect::<Vec<_>>(),
        (490..500).map(|o| (1, o)).collect::<Vec<_>>()
    );

    consumer.pause(&[(topic.clone(), 0)]);
    consumer.seek(&(topic.clone(), 0), 0);
    assert!(
        consumer
            .poll(Duration::from_millis(300))
            .await
            .unwrap()
            .is_none(),
        "a paused partition is not fetched"
    );
    consumer.resume(&[(topic.clone(), 0)]);
    assert_eq!(take(&consumer, 1).await[0].offset, 0);
    consumer.close().await.unwrap();
}

#[tokio::test]
async fn a_group_splits_partitions_and_resumes_from_committed_offsets() {
    let broker = TestBroker::start();
    let topic = unique_name("orders");
    seed(&broker, &topic, 4, 100).await;
    let group = unique_name("billing");
    let settings = [
        ("group.id", group.as_str()),
        ("enable.auto.commit", "false"),
        ("heartbeat.interval.ms", "100"),
        ("session.timeout.ms", "6000"),
    ];
    let first = consumer(broker.bootstrap_servers(), &settings);
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = events.clone();
    first.set_rebalance_listener(move |event| seen.lock().unwrap().push(event));
    first.subscribe(std::slice::from_ref(&topic)).unwrap();
    let second = consumer(broker.bootstrap_servers(), &settings);
    second.subscribe(std::slice::from_ref(&topic)).unwrap();
    // Neither reads before both hold their share, so no partition changes hands mid-read
    // (which, without commits, would rightly deliver some records twice).
    eventually("each member holds two partitions", async || {
        let sizes = (first.assignment().len(), second.assignment().len());
        (sizes == (2, 2)).then_some(())
    })
    .await;

    // Both members end up with two partitions each, and together read all 400 records once.
    let mut seen_offsets = BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while seen_offsets.len() < 400 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} records consumed",
            seen_offsets.len()
        );
        for member in [&first, &second] {
            if let Some(record) = member.poll(Duration::from_millis(50)).await.unwrap() {
                assert!(
                    seen_offsets.insert((record.partition, record.offset)),
                    "consumed twice: {record:?}"
                );
            }
        }
    }
    assert_eq!(
        (first.assignment().len(), second.assignment().len()),
        (2, 2)
    );
    let mut all: Vec<_> = first
        .assignment()
        .into_iter()
        .chain(second.assignment())
        .collect();
    all.sort();
    assert_eq!(all, (0..4).map(|p| (topic.clone(), p)).collect::<Vec<_>>());
    assert!(events
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, RebalanceEvent::Assigned(p) if p.len() == 2)));

    first.commit(None).await.unwrap();
    second.commit(None).await.unwrap();
    first.close().await.unwrap();
    second.close().await.unwrap();
    // Closing left the group at once: it is empty well before any session timeout.
    let described = broker
        .admin()
        .describe_groups(std::slice::from_ref(&group))
        .await
        .unwrap();
    assert_eq!(described[0].1.as_ref().unwrap().state, "Empty");

    // A new member of the group starts where the group left off.
    seed_more(broker.bootstrap_servers(), &topic).await;
    let third = consumer(broker.bootstrap_servers(), &settings);
    third.subscribe(std::slice::from_ref(&topic)).unwrap();
    let next = take(&third, 4).await;
    assert!(
        next.iter().all(|r| r.offset == 100),
        "resumed at the committed offsets: {next:?}"
    );
    let committed = third.committed(&[(topic.clone(), 0)]).await.unwrap();
    assert_eq!(committed, vec![((topic.clone(), 0), 100)]);
    third.close().await.unwrap();
}

/// One more record in each of the 4 partitions of `topic`.
async fn seed_more(bootstrap: &str, topic: &str) {
    let connection = BrokerConnection::connect(bootstrap, "seed").await.unwrap();
    for partition in 0..4 {
        let mut builder = RecordBatchBuilder::new(Compression::None);
        builder
            .append(5_000, Some(b"k"), Some(b"late"), &[])
            .unwrap();
        let request = ProduceRequest {
            acks: -1,
            timeout_ms: 5_000,
            topic_data: vec![produce_request::TopicProduceData {
                name: topic.into(),
                partition_data: vec![produce_request::PartitionProduceData {
                    index: partition,
                    records: Some(builder.build().unwrap()),
                }],
            }],
            ..Default::default()
        };
        connection.call(request, 3).await.unwrap();
    }
}

#[test]
fn config_errors_name_the_key() {
    let error = ConsumerConfig::from_pairs([
        ("bootstrap.servers", "x:1"),
        ("auto.offset.reset", "sideways"),
    ])
    .err()
    .unwrap();
    assert!(error.to_string().contains("auto.offset.reset"), "{error}");
    let error = ConsumerConfig::from_pairs([
        ("bootstrap.servers", "x:1"),
        ("partition.assignment.strategy", "sticky"),
    ])
    .err()
    .unwrap();
    assert!(
        error.to_string().contains("partition.assignment.strategy"),
        "{error}"
    );
    let error = ConsumerConfig::from_pairs([("bootstrap.servers", "x:1"), ("group.idd", "g")])
        .err()
        .unwrap();
    assert!(error.to_string().contains("group.idd"), "{error}");
}

#[tokio::test]
async fn a_pattern_subscription_follows_matching_topics() {
    let broker = TestBroker::start();
    let metrics = unique_name("metrics");
    let [cpu, disk, net] = ["cpu", "disk", "net"].map(|m| format!("{metrics}-{m}"));
    seed(&broker, &cpu, 2, 10).await;
    seed(&broker, &disk, 1, 10).await;
    seed(&broker, &unique_name("orders"), 1, 10).await;
    let group = unique_name("dashboards");
    let consumer = consumer(
        broker.bootstrap_servers(),
        &[
            ("group.id", group.as_str()),
            ("metadata.max.age.ms", "200"),
            ("heartbeat.interval.ms", "100"),
        ],
    );
    assert!(consumer
        .subscribe_pattern("(")
        .unwrap_err()
        .to_string()
        .contains("pattern"));
    consumer
        .subscribe_pattern(&format!("{metrics}-.*"))
        .unwrap();
    let first = take(&consumer, 30).await;
    assert!(
        first.iter().all(|r| r.topic.starts_with(&metrics)),
        "only matching topics"
    );
    let mut assigned = consumer.assignment();
    assigned.sort();
    assert_eq!(assigned, vec![(cpu.clone(), 0), (cpu, 1), (disk, 0)]);

    // A topic created later that matches is picked up at the next metadata check.
    seed(&broker, &net, 1, 5).await;
    let later = take(&consumer, 5).await;
    assert!(later.iter().all(|r| r.topic == net), "{later:?}");
    assert!(consumer.assignment().contains(&(net, 0)));
    consumer.close().await.unwrap();
}

#[tokio::test]
async fn the_record_stream_yields_in_order_and_ends_at_close() {
    use futures_util::StreamExt;
    let broker = TestBroker::start();
    let topic = unique_name("streamed");
    seed(&broker, &topic, 1, 300).await;
    let consumer = consumer(broker.bootstrap_servers(), &[]);
    consumer.assign(&[(topic.clone(), 0)]);
    let first: Vec<i64> = consumer
        .stream()
        .take(200)
        .map(|r| r.unwrap().offset)
        .collect()
        .await;
    assert_eq!(first, (0..200).collect::<Vec<_>>());
    // A dropped stream took nothing it did not yield: a new one goes on at 200.
    let rest: Vec<i64> = consumer
        .stream()
        .take(100)
        .map(|r| r.unwrap().offset)
        .collect()
        .await;
    assert_eq!(rest, (200..300).collect::<Vec<_>>());
    consumer.close().await.unwrap();
    let after_close = tokio::time::timeout(Duration::from_secs(5), consumer.stream().next())
        .await
        .expect("a closed consumer's stream ends");
    assert!(after_close.is_none());
}

#[tokio::test]
async fn poll_batch_takes_many_records_per_call_in_order_and_advances_positions() {
    let broker = TestBroker::start();
    let topic = unique_name("batches");
    seed(&broker, &topic, 1, 300).await;
    let consumer = consumer(broker.bootstrap_servers(), &[]);
    consumer.assign(&[(topic.clone(), 0)]);
    let mut offsets = Vec::new();
    let mut calls = 0;
    while offsets.len() < 300 {
        let batch = consumer
            .poll_batch(128, Duration::from_secs(10))
            .await
            .unwrap();
        assert!(!batch.is_empty(), "records stopped at {}", offsets.len());
        assert!(batch.len() <= 128, "{} records for max 128", batch.len());
        offsets.extend(batch.iter().map(|r| r.offset));
        calls += 1;
    }
    assert_eq!(offsets, (0..300).collect::<Vec<i64>>());
    assert!(calls < 300, "one record per call");
    assert_eq!(consumer.position(&(topic.clone(), 0)), Some(300));
    let empty = consumer
        .poll_batch(10, Duration::from_millis(200))
        .await
        .unwrap();
    assert!(empty.is_empty());
    consumer.close().await.unwrap();
}
