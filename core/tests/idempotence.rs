//! The broker side of idempotent producers (KIP-98) over real sockets: InitProducerId,
//! a retried batch answered with its original offset, a gap refused.

use tidelog::client::admin::{Admin, AdminConfig, NewTopic, OffsetSpec};
use tidelog::client::connection::BrokerConnection;
use tidelog::embedded::{EmbeddedBroker, EmbeddedOptions};
use tidelog::error::ErrorCode;
use tidelog::protocol::compression::Compression;
use tidelog::protocol::messages::{produce_request, InitProducerIdRequest, ProduceRequest};
use tidelog::protocol::records::RecordBatchBuilder;

fn produce(records: bytes::Bytes) -> ProduceRequest {
    ProduceRequest {
        acks: -1,
        timeout_ms: 5_000,
        topic_data: vec![produce_request::TopicProduceData {
            name: "idempotent".into(),
            partition_data: vec![produce_request::PartitionProduceData {
                index: 0,
                records: Some(records),
            }],
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn a_retried_batch_gets_its_original_offset_and_a_gap_is_refused() {
    let broker = EmbeddedBroker::start(EmbeddedOptions::default()).unwrap();
    let admin = Admin::new(
        AdminConfig::from_pairs([("bootstrap.servers", broker.bootstrap_servers())]).unwrap(),
    );
    let topic = NewTopic {
        name: "idempotent".into(),
        partitions: Some(1),
        replication_factor: None,
        configs: Vec::new(),
    };
    admin.create_topics(&[topic], false).await.unwrap()[0]
        .1
        .as_ref()
        .unwrap();
    let connection = BrokerConnection::connect(broker.bootstrap_servers(), "test")
        .await
        .unwrap();

    let (_, init) = connection
        .call(
            InitProducerIdRequest {
                transactional_id: None,
                transaction_timeout_ms: 60_000,
                producer_id: -1,
                producer_epoch: -1,
            },
            0,
        )
        .await
        .unwrap();
    assert_eq!(init.error_code, 0);
    assert!(init.producer_id >= 0);
    let batch = |first: i32| {
        let mut builder = RecordBatchBuilder::new(Compression::Zstd).with_producer(
            init.producer_id,
            init.producer_epoch,
            first,
        );
        for i in 0..4 {
            builder
                .append(
                    1,
                    Some(b"k"),
                    Some(format!("v{}", first + i).as_bytes()),
                    &[],
                )
                .unwrap();
        }
        builder.build().unwrap()
    };
    let answer = |response: tidelog::protocol::messages::ProduceResponse| {
        let partition = &response.responses[0].partition_responses[0];
        (partition.error_code, partition.base_offset)
    };
    assert_eq!(
        answer(connection.call(produce(batch(0)), 3).await.unwrap().1),
        (0, 0)
    );
    assert_eq!(
        answer(connection.call(produce(batch(4)), 3).await.unwrap().1),
        (0, 4)
    );
    // The response to the second batch was "lost": the producer sends it again.
    assert_eq!(
        answer(connection.call(produce(batch(4)), 3).await.unwrap().1),
        (0, 4)
    );
    assert_eq!(
        answer(connection.call(produce(batch(12)), 3).await.unwrap().1).0,
        ErrorCode::OutOfOrderSequenceNumber.code()
    );
    let end = admin
        .list_offsets(&[("idempotent".into(), 0, OffsetSpec::Latest)])
        .await
        .unwrap();
    assert_eq!(
        end[0].1.as_ref().unwrap().0,
        8,
        "no duplicate and nothing from the refused batch"
    );
}

#[tokio::test]
async fn the_producer_writes_idempotent_batches_by_default() {
    use tidelog::client::producer::{Producer, ProducerConfig, ProducerRecord};
    use tidelog::protocol::messages::{fetch_request, FetchRequest};
    use tidelog::protocol::records::RecordBatches;

    let broker = EmbeddedBroker::start(EmbeddedOptions::default()).unwrap();
    let config = ProducerConfig::from_pairs([
        ("bootstrap.servers", broker.bootstrap_servers()),
        ("batch.size", "2000"),
    ])
    .unwrap();
    assert!(
        config.idempotent(),
        "idempotence is the default, as in Kafka"
    );
    let producer = Producer::new(config).unwrap();
    let deliveries: Vec<_> = (0..300)
        .map(|i| {
            producer
                .send(ProducerRecord::new("seq", format!("value-{i}")).with_partition(0))
                .unwrap()
        })
        .collect();
    for (i, delivery) in deliveries.into_iter().enumerate() {
        assert_eq!(delivery.await.unwrap().offset, i as i64);
    }

    let connection = BrokerConnection::connect(broker.bootstrap_servers(), "check")
        .await
        .unwrap();
    let request = FetchRequest {
        replica_id: -1,
        max_bytes: 1 << 20,
        session_epoch: -1,
        topics: vec![fetch_request::FetchTopic {
            topic: "seq".into(),
            partitions: vec![fetch_request::FetchPartition {
                partition: 0,
                fetch_offset: 0,
                partition_max_bytes: 1 << 20,
                current_leader_epoch: -1,
                last_fetched_epoch: -1,
                log_start_offset: -1,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let response = connection.send(request, 12).await.unwrap();
    let records = response.responses[0].partitions[0].records.clone().unwrap();
    let mut expected_sequence = 0;
    let mut batches = 0;
    let mut producer_ids = std::collections::BTreeSet::new();
    for batch in RecordBatches::strict(records) {
        let batch = batch.unwrap();
        producer_ids.insert(batch.producer_id());
        assert_eq!(
            batch.base_sequence(),
            expected_sequence,
            "sequences continue from batch to batch"
        );
        assert_eq!(
            batch.base_sequence() as i64,
            batch.base_offset(),
            "one partition, so sequence = offset"
        );
        expected_sequence += batch.record_count();
        batches += 1;
    }
    assert_eq!(expected_sequence, 300);
    assert!(batches > 1, "several batches ({batches})");
    assert_eq!(producer_ids.len(), 1);
    assert!(*producer_ids.iter().next().unwrap() >= 0);
}

/// A TCP proxy between clients and the broker that, for the first `drops` Produce
/// responses after the first one, closes the client's connection instead of forwarding
/// the response: the broker has appended the batch, but the producer never hears of it
/// and must retry.
async fn response_dropping_proxy(
    listener: tokio::net::TcpListener,
    broker: std::net::SocketAddr,
    drops: usize,
) -> std::sync::Arc<std::sync::atomic::AtomicUsize> {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dropped = Arc::new(AtomicUsize::new(0));
    let produce_responses = Arc::new(AtomicUsize::new(0));
    let counter = dropped.clone();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let Ok(upstream) = tokio::net::TcpStream::connect(broker).await else {
                return;
            };
            let (mut client_read, mut client_write) = client.into_split();
            let (mut upstream_read, mut upstream_write) = upstream.into_split();
            // Correlation id -> API key of each request on this connection.
            let api_of: Arc<Mutex<HashMap<i32, i16>>> = Arc::default();
            let requests = api_of.clone();
            tokio::spawn(async move {
                let mut size = [0u8; 4];
                while client_read.read_exact(&mut size).await.is_ok() {
                    let mut frame = vec![0u8; i32::from_be_bytes(size) as usize];
                    if client_read.read_exact(&mut frame).await.is_err() {
                        return;
                    }
                    let api_key = i16::from_be_bytes([frame[0], frame[1]]);
                    let correlation_id =
                        i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
                    requests.lock().unwrap().insert(correlation_id, api_key);
                    if upstream_write.write_all(&size).await.is_err()
                        || upstream_write.write_all(&frame).await.is_err()
                    {
                        return;
                    }
                }
            });
            let (dropped, produce_responses) = (counter.clone(), produce_responses.clone());
            tokio::spawn(async move {
                let mut size = [0u8; 4];
                while upstream_read.read_exact(&mut size).await.is_ok() {
                    let mut frame = vec![0u8; i32::from_be_bytes(size) as usize];
                    if upstream_read.read_exact(&mut frame).await.is_err() {
                        return;
                    }
                    let correlation_id =
                        i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
                    let is_produce = api_of.lock().unwrap().remove(&correlation_id) == Some(0);
                    if is_produce {
                        let n = produce_responses.fetch_add(1, Ordering::SeqCst);
                        if n >= 1 && dropped.load(Ordering::SeqCst) < drops {
                            dropped.fetch_add(1, Ordering::SeqCst);
                            // Dropping both halves closes the client's connection.
                            return;
                        }
                    }
                    if client_write.write_all(&size).await.is_err()
                        || client_write.write_all(&frame).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    dropped
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_responses_cause_no_duplicates_and_no_gaps() {
    use tidelog::broker::{Broker, BrokerOptions, BrokerStorage};
    use tidelog::client::consumer::{Consumer, ConsumerConfig};
    use tidelog::client::producer::{Producer, ProducerConfig, ProducerRecord};

    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_address = proxy.local_addr().unwrap().to_string();
    // Clients are told the proxy's address, so every connection goes through it.
    let broker = Broker::start(BrokerOptions {
        listen: "127.0.0.1:0".into(),
        advertised_listener: Some(proxy_address.clone()),
        storage: BrokerStorage::Memory,
        config: Default::default(),
    })
    .await
    .unwrap();
    let dropped = response_dropping_proxy(proxy, broker.local_addr(), 5).await;

    let config = ProducerConfig::from_pairs([
        ("bootstrap.servers", proxy_address.as_str()),
        ("batch.size", "2000"),
        ("linger.ms", "1"),
        ("retry.backoff.ms", "10"),
    ])
    .unwrap();
    let producer = Producer::new(config).unwrap();
    let count = 3_000;
    let deliveries: Vec<_> = (0..count)
        .map(|i| {
            producer
                .send(ProducerRecord::new("lossy", format!("value-{i}")).with_partition(0))
                .unwrap()
        })
        .collect();
    for delivery in deliveries {
        delivery
            .await
            .expect("every record is delivered in the end");
    }
    assert_eq!(
        dropped.load(std::sync::atomic::Ordering::SeqCst),
        5,
        "the proxy dropped responses"
    );

    let consumer = Consumer::new(
        ConsumerConfig::from_pairs([
            ("bootstrap.servers", proxy_address.as_str()),
            ("auto.offset.reset", "earliest"),
        ])
        .unwrap(),
    );
    consumer.assign(&[("lossy".into(), 0)]);
    let mut values = Vec::new();
    while values.len() < count {
        let record = consumer
            .poll(std::time::Duration::from_secs(10))
            .await
            .unwrap()
            .expect("records keep coming");
        assert_eq!(record.offset, values.len() as i64, "offsets are contiguous");
        values.push(String::from_utf8(record.value.unwrap().to_vec()).unwrap());
    }
    assert!(
        consumer
            .poll(std::time::Duration::from_millis(300))
            .await
            .unwrap()
            .is_none(),
        "nothing beyond the {count} records"
    );
    let expected: Vec<String> = (0..count).map(|i| format!("value-{i}")).collect();
    assert_eq!(values, expected, "each record exactly once, in order");
    consumer.close().await.unwrap();
    broker.shutdown().await.unwrap();
}
