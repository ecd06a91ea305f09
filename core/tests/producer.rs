//! The producer against a real broker (an `EmbeddedBroker`, or the cluster at
//! `TIDELOG_TEST_BOOTSTRAP`) over real sockets. What it wrote is read back with raw Fetch
//! requests, so keys, values, headers, timestamps, placement, offsets and the batches
//! themselves are checked on the broker's side.

#[path = "support/broker.rs"]
mod broker;

use broker::{eventually, unique_name, TestBroker};
use bytes::Bytes;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tidelog::client::admin::{ConfigResource, ResourceType};
use tidelog::client::connection::BrokerConnection;
use tidelog::client::producer::{DeliveryFuture, Producer, ProducerRecord, RecordMetadata};
use tidelog::error::{Error, ErrorCode};
use tidelog::partitioner::murmur2_partition;
use tidelog::protocol::compression::Compression;
use tidelog::protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use tidelog::protocol::messages::{ApiKey, FetchRequest};
use tidelog::protocol::records::{Record, RecordBatches};

fn producer(broker: &TestBroker, settings: &[(&str, &str)]) -> Producer {
    let bootstrap = [("bootstrap.servers", broker.bootstrap_servers())];
    Producer::from_pairs(bootstrap.into_iter().chain(settings.iter().copied())).unwrap()
}

/// One partition's log as a consumer sees it.
#[derive(Default)]
struct Fetched {
    /// Each batch's codec and record count.
    batches: Vec<(Compression, i32)>,
    records: Vec<Record>,
}

async fn fetch(bootstrap: &str, topic: &str, partition: i32) -> Fetched {
    let connection = BrokerConnection::connect(bootstrap, "producer-test-reader")
        .await
        .unwrap();
    // v12 is the last version that names topics instead of using their ids.
    let version = connection.version_for(ApiKey::Fetch, 4).unwrap().min(12);
    let mut fetched = Fetched::default();
    let mut offset = 0;
    loop {
        let request = FetchRequest {
            max_bytes: 16 << 20,
            topics: vec![FetchTopic {
                topic: topic.to_string(),
                partitions: vec![FetchPartition {
                    partition,
                    fetch_offset: offset,
                    partition_max_bytes: 8 << 20,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let response = connection.send(request, version).await.unwrap();
        let data = &response.responses[0].partitions[0];
        assert_eq!(data.error_code, 0, "fetch {topic}-{partition}");
        let bytes = data.records.clone().unwrap_or_default();
        if bytes.is_empty() {
            break;
        }
        for batch in RecordBatches::new(bytes) {
            let batch = batch.unwrap();
            if batch.next_offset() <= offset {
                continue;
            }
            fetched
                .batches
                .push((batch.compression().unwrap(), batch.record_count()));
            for record in batch.records().unwrap() {
                let record = record.unwrap();
                if record.offset >= offset {
                    fetched.records.push(record);
                }
            }
            offset = batch.next_offset();
        }
        if offset >= data.high_watermark {
            break;
        }
    }
    fetched
}

/// Fetches until `count` records are there (acks=0 reports before the broker appends).
async fn fetch_at_least(bootstrap: &str, topic: &str, partition: i32, count: usize) -> Fetched {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let fetched = fetch(bootstrap, topic, partition).await;
        if fetched.records.len() >= count || Instant::now() > deadline {
            return fetched;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Deletes `name` and waits until the broker no longer describes it.
async fn delete_topic(broker: &TestBroker, name: &str) {
    let admin = broker.admin();
    let deleted = admin.delete_topics(&[name.to_string()]).await.unwrap();
    if let Err(error) = &deleted[0].1 {
        panic!("deleting topic {name}: {error}");
    }
    eventually(&format!("{name} is gone"), async || {
        let described = admin.describe_topics(&[name.to_string()]).await.unwrap();
        described[0].1.is_err().then_some(())
    })
    .await
}

/// Whether the cluster creates a topic when a client merely names it
/// (`auto.create.topics.enable`), which tests of missing topics cannot run against; says so.
async fn topics_are_auto_created(broker: &TestBroker) -> bool {
    let admin = broker.admin();
    let node = admin.describe_cluster().await.unwrap().brokers[0].node_id;
    let resource = ConfigResource {
        kind: ResourceType::Broker,
        name: node.to_string(),
    };
    let described = admin.describe_configs(&[resource]).await.unwrap();
    let auto_created = described[0]
        .1
        .as_ref()
        .unwrap()
        .iter()
        .any(|e| e.name == "auto.create.topics.enable" && e.value.as_deref() == Some("true"));
    if auto_created {
        eprintln!(
            "skipped: {} creates topics on first use (auto.create.topics.enable=true)",
            broker.bootstrap_servers()
        );
    }
    auto_created
}

/// Whether `delivery` has already completed, without waiting.
async fn is_done(delivery: &mut DeliveryFuture) -> bool {
    tokio::time::timeout(Duration::ZERO, delivery).await.is_ok()
}

async fn delivered(deliveries: Vec<DeliveryFuture>) -> Vec<RecordMetadata> {
    let mut reports = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        reports.push(delivery.await.unwrap());
    }
    reports
}

/// Per partition, the offsets reported are exactly 0..n.
fn assert_contiguous(reports: &[RecordMetadata]) {
    let mut offsets: HashMap<i32, Vec<i64>> = HashMap::new();
    for report in reports {
        offsets
            .entry(report.partition)
            .or_default()
            .push(report.offset);
    }
    for (partition, mut offsets) in offsets {
        offsets.sort_unstable();
        let expected: Vec<i64> = (0..offsets.len() as i64).collect();
        assert_eq!(offsets, expected, "offsets of partition {partition}");
    }
}

fn sample_record(topic: &str, i: usize) -> ProducerRecord {
    let mut record = ProducerRecord::new(topic, format!("value-{i}-{}", "x".repeat(i % 50)))
        .with_header("index", Some(Bytes::from(i.to_string())))
        .with_header("null", None)
        .with_timestamp(1_700_000_000_000 + i as i64);
    // Every tenth record has no key: those are placed by the sticky partitioner.
    if !i.is_multiple_of(10) {
        record = record.with_key(format!("key-{i}"));
    }
    record
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_writes_what_was_sent() {
    const RECORDS: usize = 10_000;
    const PARTITIONS: i32 = 3;
    let broker = TestBroker::start();
    let bootstrap = broker.bootstrap_servers().to_string();
    for codec in Compression::ALL {
        let topic = unique_name(&format!("codec-{codec}"));
        broker.create_topic(&topic, PARTITIONS, &[]).await;
        let producer = producer(&broker, &[("compression.type", codec.name())]);
        let sent: Vec<ProducerRecord> = (0..RECORDS).map(|i| sample_record(&topic, i)).collect();
        let deliveries = sent
            .iter()
            .map(|record| producer.send(record.clone()).unwrap())
            .collect();
        let reports = delivered(deliveries).await;
        assert_contiguous(&reports);

        let mut logs = HashMap::new();
        for partition in 0..PARTITIONS {
            logs.insert(partition, fetch(&bootstrap, &topic, partition).await);
        }
        let batches: usize = logs.values().map(|log| log.batches.len()).sum();
        assert!(
            batches < RECORDS / 10,
            "{codec}: {batches} batches for {RECORDS} records"
        );
        for log in logs.values() {
            assert!(log.batches.iter().all(|(c, _)| *c == codec), "{codec}");
        }
        for (record, report) in sent.iter().zip(&reports) {
            assert_eq!(*report.topic, *topic);
            assert_eq!(report.timestamp_ms, record.timestamp_ms.unwrap());
            if let Some(key) = &record.key {
                assert_eq!(report.partition, murmur2_partition(key, PARTITIONS));
            }
            let stored = &logs[&report.partition].records[report.offset as usize];
            assert_eq!(stored.offset, report.offset);
            assert_eq!(stored.key, record.key);
            assert_eq!(stored.value, record.value);
            assert_eq!(Some(stored.timestamp), record.timestamp_ms);
            let headers: Vec<(String, Option<Bytes>)> = stored
                .headers
                .iter()
                .map(|h| (h.key_str().unwrap().to_string(), h.value.clone()))
                .collect();
            assert_eq!(headers, record.headers);
        }
        producer.close().await;
    }
}

#[tokio::test]
async fn acks_zero_one_and_all() {
    let broker = TestBroker::start();
    let bootstrap = broker.bootstrap_servers().to_string();
    for acks in ["0", "1", "all"] {
        let topic = unique_name(&format!("acks-{acks}"));
        broker.create_topic(&topic, 1, &[]).await;
        let producer = producer(&broker, &[("acks", acks)]);
        let deliveries = (0..200)
            .map(|i| {
                producer
                    .send(ProducerRecord::new(&*topic, format!("v{i}")))
                    .unwrap()
            })
            .collect();
        let reports = delivered(deliveries).await;
        if acks == "0" {
            assert!(
                reports.iter().all(|r| r.offset == -1),
                "acks=0 has no offsets"
            );
        } else {
            assert_contiguous(&reports);
        }
        let log = fetch_at_least(&bootstrap, &topic, 0, 200).await;
        let values: Vec<_> = log
            .records
            .iter()
            .map(|r| r.value.clone().unwrap())
            .collect();
        let expected: Vec<_> = (0..200).map(|i| Bytes::from(format!("v{i}"))).collect();
        assert_eq!(values, expected, "acks={acks}");
    }
}

#[tokio::test]
async fn explicit_partitions_and_missing_ones() {
    let broker = TestBroker::start();
    let bootstrap = broker.bootstrap_servers().to_string();
    let topic = unique_name("explicit");
    broker.create_topic(&topic, 3, &[]).await;
    let producer = producer(&broker, &[("linger.ms", "0")]);

    // The topic's metadata is not known yet: the report carries the error.
    let missing = ProducerRecord::new(&*topic, "nowhere").with_partition(7);
    let error = match producer.send(missing.clone()) {
        Ok(delivery) => delivery.await.unwrap_err(),
        Err(error) => error,
    };
    assert_eq!(error.code(), ErrorCode::UnknownTopicOrPartition, "{error}");

    let report = producer
        .send(ProducerRecord::new(&*topic, "two").with_partition(2))
        .unwrap()
        .await
        .unwrap();
    assert_eq!((report.partition, report.offset), (2, 0));
    let log = fetch(&bootstrap, &topic, 2).await;
    assert_eq!(log.records[0].value.as_deref(), Some(&b"two"[..]));

    // Now it is known: `send` refuses at once.
    let error = producer.send(missing).unwrap_err();
    assert_eq!(error.code(), ErrorCode::UnknownTopicOrPartition, "{error}");
    assert!(error.to_string().contains("partition 7"), "{error}");
}

#[tokio::test]
async fn keyless_records_stick_to_one_partition_per_batch() {
    let broker = TestBroker::start();
    let topic = unique_name("sticky");
    broker.create_topic(&topic, 6, &[]).await;
    let producer = producer(&broker, &[("linger.ms", "100")]);
    let deliveries = (0..50)
        .map(|i| {
            producer
                .send(ProducerRecord::new(&*topic, format!("v{i}")))
                .unwrap()
        })
        .collect();
    let reports = delivered(deliveries).await;
    let first = reports[0].partition;
    assert!(reports.iter().all(|r| r.partition == first), "{reports:?}");
    assert_contiguous(&reports);
}

#[tokio::test]
async fn batch_size_and_linger_make_batches() {
    let broker = TestBroker::start();
    let bootstrap = broker.bootstrap_servers().to_string();
    let [by_size, by_time] = ["by-size", "by-time"].map(unique_name);
    for topic in [&by_size, &by_time] {
        broker.create_topic(topic, 1, &[]).await;
    }

    // batch.size: about ten 100-byte records fit in 1024 bytes.
    let small = producer(&broker, &[("batch.size", "1024"), ("linger.ms", "20")]);
    let deliveries = (0..100)
        .map(|_| {
            small
                .send(ProducerRecord::new(&*by_size, vec![7u8; 100]))
                .unwrap()
        })
        .collect();
    assert_contiguous(&delivered(deliveries).await);
    let log = fetch(&bootstrap, &by_size, 0).await;
    let batches = log.batches.len();
    assert!(
        (8..=20).contains(&batches),
        "{batches} batches of 100 records"
    );
    assert!(
        log.batches.iter().all(|(_, count)| *count <= 10),
        "{:?}",
        log.batches
    );

    // linger.ms: records sent together wait, then leave in one batch.
    let lingering = producer(&broker, &[("linger.ms", "300")]);
    let started = Instant::now();
    let deliveries = (0..50)
        .map(|i| {
            lingering
                .send(ProducerRecord::new(&*by_time, format!("v{i}")))
                .unwrap()
        })
        .collect();
    assert_contiguous(&delivered(deliveries).await);
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    let log = fetch(&bootstrap, &by_time, 0).await;
    assert_eq!(log.batches, vec![(Compression::None, 50)]);
}

#[tokio::test]
async fn flush_sends_at_once_and_waits() {
    let broker = TestBroker::start();
    let topic = unique_name("flushed");
    broker.create_topic(&topic, 3, &[]).await;
    let producer = producer(&broker, &[("linger.ms", "30000")]);
    let mut deliveries: Vec<DeliveryFuture> = (0..30)
        .map(|i| producer.send(sample_record(&topic, i)).unwrap())
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!is_done(&mut deliveries[0]).await, "lingering for 30 s");
    let started = Instant::now();
    producer.flush().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    for delivery in &mut deliveries {
        assert!(is_done(delivery).await, "flush returned before a report");
    }
    assert_eq!(producer.pending_batches(), 0);
    assert_contiguous(&delivered(deliveries).await);
}

#[test]
fn works_from_plain_threads_without_a_runtime() {
    let broker = TestBroker::start();
    let topic = unique_name("plain");
    tidelog::runtime::handle().block_on(broker.create_topic(&topic, 3, &[]));
    let producer = producer(&broker, &[]);
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let producer = producer.clone();
            let topic = topic.clone();
            std::thread::spawn(move || {
                let deliveries: Vec<_> = (0..100)
                    .map(|i| {
                        let key = format!("key-{t}-{i}");
                        let record = ProducerRecord::new(&*topic, "v").with_key(key.clone());
                        (key, producer.send(record).unwrap())
                    })
                    .collect();
                deliveries
                    .into_iter()
                    .map(|(key, d)| (key, d.wait_timeout(Duration::from_secs(10)).unwrap()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut reports = Vec::new();
    for thread in threads {
        for (key, report) in thread.join().unwrap() {
            assert_eq!(report.partition, murmur2_partition(key.as_bytes(), 3));
            reports.push(report);
        }
    }
    assert_contiguous(&reports);
    let last = producer.send(ProducerRecord::new(&*topic, "last")).unwrap();
    producer
        .flush_blocking(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(producer.pending_batches(), 0);
    assert_eq!(*last.wait().unwrap().topic, *topic);
}

#[tokio::test]
async fn buffer_memory_pushes_back() {
    let broker = TestBroker::start();
    let topic = unique_name("memory");
    broker.create_topic(&topic, 1, &[]).await;
    let producer = producer(
        &broker,
        &[
            ("buffer.memory", "20000"),
            ("linger.ms", "30000"),
            ("batch.size", "1000000"),
            ("max.block.ms", "300"),
        ],
    );
    let mut held = Vec::new();
    let error = loop {
        match producer.send(ProducerRecord::new(&*topic, vec![1u8; 1000])) {
            Ok(delivery) => held.push(delivery),
            Err(error) => break error,
        }
        assert!(held.len() < 100, "buffer.memory is not enforced");
    };
    assert!(
        (10..=20).contains(&held.len()),
        "{} records fit",
        held.len()
    );
    assert!(matches!(error, Error::Timeout { .. }), "{error}");
    assert!(error.to_string().contains("buffer.memory full"), "{error}");

    // send_async waits max.block.ms for room, then gives up.
    let started = Instant::now();
    let error = producer
        .send_async(ProducerRecord::new(&*topic, vec![2u8; 1000]))
        .await
        .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert!(error.to_string().contains("buffer.memory full"), "{error}");

    // ... and succeeds as soon as delivered records free room.
    let waiting = {
        let producer = producer.clone();
        tokio::spawn(async move {
            producer
                .send_async(ProducerRecord::new(&*topic, vec![3u8; 1000]))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiting.is_finished());
    producer.flush().await;
    let delivery = waiting.await.unwrap().unwrap();
    producer.flush().await;
    let report = delivery.await.unwrap();
    assert_eq!(report.offset, held.len() as i64);
    assert_contiguous(&delivered(held).await);
}

#[test]
fn bad_config_is_named() {
    for (key, value) in [
        ("linger.mss", "5"),
        ("acks", "2"),
        ("compression.type", "brotli"),
        ("batch.size", "big"),
        ("partitioner", "fancy"),
        ("enable.idempotence", "maybe"),
    ] {
        let pairs = [("bootstrap.servers", "127.0.0.1:9092"), (key, value)];
        let error = Producer::from_pairs(pairs).unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{error}");
        assert!(error.to_string().contains(key), "{key}: {error}");
    }
    let error = Producer::from_pairs([("acks", "1")]).unwrap_err();
    assert!(error.to_string().contains("bootstrap.servers"), "{error}");
}

#[tokio::test]
async fn retries_until_the_topic_is_back() {
    let broker = TestBroker::start();
    if topics_are_auto_created(&broker).await {
        return;
    }
    let bootstrap = broker.bootstrap_servers().to_string();
    let topic = unique_name("phoenix");
    broker.create_topic(&topic, 1, &[]).await;
    let producer = producer(&broker, &[("linger.ms", "0"), ("retry.backoff.ms", "50")]);
    let first = producer
        .send(ProducerRecord::new(&*topic, "first"))
        .unwrap()
        .await
        .unwrap();
    assert_eq!(first.offset, 0);

    // The producer still believes in the topic: its Produce gets
    // UNKNOWN_TOPIC_OR_PARTITION, which is retriable, until the topic exists again.
    delete_topic(&broker, &topic).await;
    let mut second = producer
        .send(ProducerRecord::new(&*topic, "second"))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!is_done(&mut second).await, "the batch should be retrying");
    broker.create_topic(&topic, 1, &[]).await;
    let report = tokio::time::timeout(Duration::from_secs(10), second)
        .await
        .expect("delivered after the topic came back")
        .unwrap();
    assert_eq!((report.partition, report.offset), (0, 0));
    let log = fetch(&bootstrap, &topic, 0).await;
    assert_eq!(log.records.len(), 1);
    assert_eq!(log.records[0].value.as_deref(), Some(&b"second"[..]));
}

#[tokio::test]
async fn gives_up_after_delivery_timeout() {
    // No such topic, and the broker does not create topics.
    let broker = TestBroker::start();
    if topics_are_auto_created(&broker).await {
        return;
    }
    let producer = producer(
        &broker,
        &[
            ("delivery.timeout.ms", "1500"),
            ("request.timeout.ms", "1000"),
            ("linger.ms", "0"),
            ("retry.backoff.ms", "50"),
        ],
    );
    let started = Instant::now();
    let error = producer
        .send(ProducerRecord::new(unique_name("never"), "lost"))
        .unwrap()
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::UnknownTopicOrPartition, "{error}");
    assert!(error.to_string().contains("delivery.timeout.ms"), "{error}");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(1400) && elapsed < Duration::from_secs(5));
    assert_eq!(producer.pending_batches(), 0);
}

#[tokio::test]
async fn log_append_time_is_reported() {
    let broker = TestBroker::start();
    let topic = unique_name("appended");
    let log_append_time = [("message.timestamp.type", "LogAppendTime")];
    broker.create_topic(&topic, 1, &log_append_time).await;
    let producer = producer(&broker, &[("linger.ms", "0")]);
    let report = producer
        .send(ProducerRecord::new(&*topic, "v").with_timestamp(1000))
        .unwrap()
        .await
        .unwrap();
    assert!(report.timestamp_ms > 1_600_000_000_000, "{report:?}");
}

/// Delivery reports collected per batch: every tracked record's report comes out once,
/// with its own offset (contiguous per partition, as the broker assigned them) and its
/// context, whether taken or discarded.
#[test]
fn delivery_reports_come_per_batch_with_each_records_offset() {
    use tidelog::client::producer::DeliveryReports;
    let broker = TestBroker::start();
    let topic = unique_name("reports");
    tidelog::runtime::handle().block_on(broker.create_topic(&topic, 3, &[]));
    let producer = producer(&broker, &[("linger.ms", "20"), ("batch.size", "4000")]);
    let reports = DeliveryReports::new();
    for i in 0..3000 {
        let record = ProducerRecord::new(&*topic, format!("v{i}")).with_partition(i % 3);
        reports.track(producer.send(record).unwrap(), i);
    }
    let mut taken = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while taken.len() < 2000 && Instant::now() < deadline {
        taken.extend(reports.take(Duration::from_millis(100)));
    }
    let mut discarded = 0;
    while taken.len() + discarded < 3000 && Instant::now() < deadline {
        discarded += reports.discard(Duration::from_millis(100));
    }
    assert_eq!(taken.len() + discarded, 3000);
    assert_eq!(reports.unserved(), 0);
    let mut offsets: HashMap<i32, Vec<(i32, i64)>> = HashMap::new();
    for (result, i) in &taken {
        let metadata = result.as_ref().unwrap();
        assert_eq!((&*metadata.topic, metadata.partition), (&*topic, i % 3));
        offsets
            .entry(metadata.partition)
            .or_default()
            .push((*i, metadata.offset));
    }
    for records in offsets.values_mut() {
        // Records sent in order to one partition get consecutive offsets in that order.
        records.sort();
        for pair in records.windows(2) {
            let gap = (pair[1].0 - pair[0].0) / 3;
            assert_eq!(pair[1].1 - pair[0].1, i64::from(gap), "{pair:?}");
        }
    }
}
