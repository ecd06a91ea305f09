//! Cooperative rebalancing (KIP-429) and static membership (KIP-345) with tidelog's
//! consumer, against a real broker (EmbeddedBroker) over real sockets.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tidelog::client::admin::{Admin, AdminConfig, NewTopic};
use tidelog::client::consumer::{Consumer, ConsumerConfig, RebalanceEvent, TopicPartition};
use tidelog::client::producer::{Producer, ProducerRecord};
use tidelog::embedded::{EmbeddedBroker, EmbeddedOptions};
use tidelog::error::ErrorCode;

/// Creates `topic` with `partitions` and writes `per_partition` records to each.
async fn seed(bootstrap: &str, topic: &str, partitions: i32, per_partition: usize) {
    let admin = Admin::new(AdminConfig::from_pairs([("bootstrap.servers", bootstrap)]).unwrap());
    let new_topic = NewTopic {
        name: topic.into(),
        partitions: Some(partitions),
        replication_factor: None,
        configs: Vec::new(),
    };
    admin.create_topics(&[new_topic], false).await.unwrap()[0]
        .1
        .as_ref()
        .unwrap();
    let producer = Producer::from_pairs([("bootstrap.servers", bootstrap)]).unwrap();
    let mut deliveries = Vec::new();
    for partition in 0..partitions {
        for i in 0..per_partition {
            let record =
                ProducerRecord::new(topic, format!("p{partition}-{i}")).with_partition(partition);
            deliveries.push(producer.send(record).unwrap());
        }
    }
    for delivery in deliveries {
        delivery.await.unwrap();
    }
    producer.close().await;
}

type Events = Arc<Mutex<Vec<RebalanceEvent>>>;

fn member(bootstrap: &str, group: &str, extra: &[(&str, &str)]) -> (Consumer, Events) {
    let mut pairs = vec![
        ("bootstrap.servers", bootstrap),
        ("group.id", group),
        ("auto.offset.reset", "earliest"),
        ("fetch.max.wait.ms", "50"),
        ("heartbeat.interval.ms", "100"),
    ];
    pairs.extend_from_slice(extra);
    let consumer = Consumer::new(ConsumerConfig::from_pairs(pairs).unwrap());
    let events: Events = Arc::default();
    let sink = events.clone();
    consumer.set_rebalance_listener(move |event| sink.lock().unwrap().push(event));
    (consumer, events)
}

fn revoked(events: &Events) -> Vec<Vec<TopicPartition>> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            RebalanceEvent::Revoked(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_joining_member_takes_partitions_without_the_owner_revoking_the_rest() {
    let broker = EmbeddedBroker::start(EmbeddedOptions::default()).unwrap();
    let bootstrap = broker.bootstrap_servers();
    seed(bootstrap, "moves", 4, 100).await;
    let settings = [("partition.assignment.strategy", "cooperative-sticky")];
    let (first, first_events) = member(bootstrap, "coop", &settings);
    first.subscribe(&["moves".into()]).unwrap();

    // (partition, offset) -> how many times it was handed out, over both members.
    let mut seen: BTreeMap<(i32, i64), usize> = BTreeMap::new();
    let mut first_offsets: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    while seen.len() < 200 {
        let record = first
            .poll(Duration::from_secs(10))
            .await
            .unwrap()
            .expect("a record");
        *seen.entry((record.partition, record.offset)).or_default() += 1;
        first_offsets
            .entry(record.partition)
            .or_default()
            .push(record.offset);
    }
    assert_eq!(first.assignment().len(), 4);

    let (second, second_events) = member(bootstrap, "coop", &settings);
    second.subscribe(&["moves".into()]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.values().sum::<usize>() < 400 || second.assignment().len() != 2 {
        assert!(
            Instant::now() < deadline,
            "rebalance did not settle: {seen:?}"
        );
        if let Some(record) = first.poll(Duration::from_millis(20)).await.unwrap() {
            *seen.entry((record.partition, record.offset)).or_default() += 1;
            first_offsets
                .entry(record.partition)
                .or_default()
                .push(record.offset);
        }
        if let Some(record) = second.poll(Duration::from_millis(20)).await.unwrap() {
            *seen.entry((record.partition, record.offset)).or_default() += 1;
        }
    }

    let kept: BTreeSet<TopicPartition> = first.assignment().into_iter().collect();
    let moved: BTreeSet<TopicPartition> = second.assignment().into_iter().collect();
    assert_eq!((kept.len(), moved.len()), (2, 2));
    assert!(kept.is_disjoint(&moved));
    // The first member gave up exactly the two partitions that moved, in one revocation.
    assert_eq!(
        revoked(&first_events),
        vec![moved.iter().cloned().collect::<Vec<_>>()]
    );
    assert!(revoked(&second_events).is_empty());
    // What the second member was assigned, over all its Assigned events, is what it has.
    let second_assigned: BTreeSet<TopicPartition> = second_events
        .lock()
        .unwrap()
        .iter()
        .flat_map(|e| match e {
            RebalanceEvent::Assigned(p) => p.clone(),
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(second_assigned, moved);
    // Kept partitions were read straight through the rebalance: no offset twice, none
    // skipped.
    for (_, partition) in &kept {
        let offsets = &first_offsets[partition];
        assert_eq!(
            *offsets,
            (0..100).collect::<Vec<i64>>(),
            "partition {partition}"
        );
    }
    // Auto-commit on revocation handed the moved partitions over at the right offset:
    // every record was consumed exactly once by the group.
    assert_eq!(seen.len(), 400);
    assert!(seen.values().all(|&n| n == 1), "duplicates: {seen:?}");
    first.close().await.unwrap();
    second.close().await.unwrap();
}

#[tokio::test]
async fn a_consumer_fenced_by_its_static_twin_loses_its_partitions() {
    let broker = EmbeddedBroker::start(EmbeddedOptions::default()).unwrap();
    let bootstrap = broker.bootstrap_servers();
    seed(bootstrap, "static", 2, 10).await;
    let settings = [
        ("partition.assignment.strategy", "cooperative-sticky"),
        ("group.instance.id", "worker-1"),
    ];
    let (original, original_events) = member(bootstrap, "statics", &settings);
    original.subscribe(&["static".into()]).unwrap();
    original
        .poll(Duration::from_secs(10))
        .await
        .unwrap()
        .expect("a record");

    let (twin, _) = member(bootstrap, "statics", &settings);
    twin.subscribe(&["static".into()]).unwrap();
    twin.poll(Duration::from_secs(10))
        .await
        .unwrap()
        .expect("a record");

    let deadline = Instant::now() + Duration::from_secs(10);
    let error = loop {
        assert!(Instant::now() < deadline, "the original was never fenced");
        match original.poll(Duration::from_millis(100)).await {
            Err(error) => break error,
            Ok(_) => continue,
        }
    };
    assert_eq!(error.code(), ErrorCode::FencedInstanceId);
    assert!(original.assignment().is_empty());
    let events = original_events.lock().unwrap().clone();
    assert_eq!(
        events.last(),
        Some(&RebalanceEvent::Lost(vec![
            ("static".to_string(), 0),
            ("static".to_string(), 1)
        ]))
    );
    assert!(revoked(&original_events).is_empty(), "{events:?}");
    // The twin keeps the group's partitions: the fenced consumer did not fight back.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(twin.assignment().len(), 2);
    twin.close().await.unwrap();
}
