//! Idempotent producers (KIP-98) over real sockets. The broker side: InitProducerId, a
//! retried batch answered with its original offset, a gap refused, a new epoch taken
//! from sequence 0. The producer side: no duplicates after lost responses.

use bytes::Bytes;
use tidelog::client::admin::{Admin, AdminConfig, NewTopic, OffsetSpec};
use tidelog::client::connection::BrokerConnection;
use tidelog::client::producer::{Producer, ProducerConfig, ProducerRecord};
use tidelog::embedded::{EmbeddedBroker, EmbeddedOptions};
use tidelog::error::ErrorCode;
use tidelog::protocol::compression::Compression;
use tidelog::protocol::messages::{
    fetch_request, produce_request, FetchRequest, InitProducerIdRequest, ProduceRequest,
    ProduceResponse,
};
use tidelog::protocol::records::{RecordBatch, RecordBatchBuilder, RecordBatches};

/// Creates `name` with `partitions` partitions.
async fn create_topic(bootstrap_servers: &str, name: &str, partitions: i32) -> Admin {
    let admin =
        Admin::new(AdminConfig::from_pairs([("bootstrap.servers", bootstrap_servers)]).unwrap());
    let topic = NewTopic {
        name: name.into(),
        partitions: Some(partitions),
        replication_factor: None,
        configs: Vec::new(),
    };
    admin.create_topics(&[topic], false).await.unwrap()[0]
        .1
        .as_ref()
        .unwrap();
    admin
}

/// A Produce request (acks=all) of one batch for partition 0 of `idempotent`.
fn produce(records: Bytes) -> ProduceRequest {
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

/// Four records from producer `id` at `epoch`, sequences `first..first + 4`.
fn idempotent_batch(id: i64, epoch: i16, first: i32) -> Bytes {
    let mut builder = RecordBatchBuilder::new(Compression::Zstd).with_producer(id, epoch, first);
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
}

/// The error code and base offset of a one-partition Produce response.
fn answer(response: ProduceResponse) -> (i16, i64) {
    let partition = &response.responses[0].partition_responses[0];
    (partition.error_code, partition.base_offset)
}

async fn init_producer_id(
    connection: &BrokerConnection,
    producer_id: i64,
    producer_epoch: i16,
) -> tidelog::protocol::messages::InitProducerIdResponse {
    let request = InitProducerIdRequest {
        transactional_id: None,
        transaction_timeout_ms: 60_000,
        producer_id,
        producer_epoch,
    };
    // v3+ carries the current id and epoch (KIP-360).
    connection.call(request, 3).await.unwrap().1
}

#[tokio::test]
async fn a_retried_batch_gets_its_original_offset_and_a_gap_is_refused() {
    let broker = EmbeddedBroker::start(EmbeddedOptions::default()).unwrap();
    let admin = create_topic(broker.bootstrap_servers(), "idempotent", 1).await;
    let connection = BrokerConnection::connect(broker.bootstrap_servers(), "test")
        .await
        .unwrap();

    let init = init_producer_id(&connection, -1, -1).await;
    assert_eq!(init.error_code, 0);
    assert!(init.producer_id >= 0);
    let batch = |first| idempotent_batch(init.producer_id, init.producer_epoch, first);
    let send = async |first| answer(connection.call(produce(batch(first)), 3).await.unwrap().1);
    assert_eq!(send(0).await, (0, 0));
    assert_eq!(send(4).await, (0, 4));
    // The response to the second batch was "lost": the producer sends it again.
    assert_eq!(send(4).await, (0, 4));
    assert_eq!(send(12).await.0, ErrorCode::OutOfOrderSequenceNumber.code());
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
async fn init_producer_id_grants_new_ids_and_a_bumped_epoch_starts_from_sequence_0() {
    let broker = EmbeddedBroker::start(EmbeddedOptions::default()).unwrap();
    create_topic(broker.bootstrap_servers(), "idempotent", 1).await;
    let connection = BrokerConnection::connect(broker.bootstrap_servers(), "test")
        .await
        .unwrap();

    let first = init_producer_id(&connection, -1, -1).await;
    assert_eq!((first.error_code, first.producer_epoch), (0, 0));
    // As Kafka does without a transactional id: a current id and epoch get a new id.
    let again = init_producer_id(&connection, first.producer_id, 0).await;
    assert_eq!((again.error_code, again.producer_epoch), (0, 0));
    assert_ne!(again.producer_id, first.producer_id);
    for (id, epoch) in [(first.producer_id, -1), (-1, 0)] {
        assert_eq!(
            init_producer_id(&connection, id, epoch).await.error_code,
            ErrorCode::InvalidRequest.code(),
            "an id without an epoch, or an epoch without an id"
        );
    }

    // An idempotent producer bumps its own epoch: the broker takes it from sequence 0.
    let id = first.producer_id;
    let send = async |epoch, sequence| {
        answer(
            connection
                .call(produce(idempotent_batch(id, epoch, sequence)), 3)
                .await
                .unwrap()
                .1,
        )
    };
    assert_eq!(send(0, 0).await, (0, 0));
    assert_eq!(
        send(1, 4).await.0,
        ErrorCode::OutOfOrderSequenceNumber.code(),
        "a new epoch starts at sequence 0"
    );
    assert_eq!(send(1, 0).await, (0, 4));
    assert_eq!(send(1, 4).await, (0, 8));
    assert_eq!(
        send(0, 4).await.0,
        ErrorCode::InvalidProducerEpoch.code(),
        "the old epoch is fenced"
    );
}

/// Every batch of `topic`-`partition`, read with one Fetch from offset 0.
async fn read_batches(bootstrap_servers: &str, topic: &str, partition: i32) -> Vec<RecordBatch> {
    let connection = BrokerConnection::connect(bootstrap_servers, "check")
        .await
        .unwrap();
    let request = FetchRequest {
        replica_id: -1,
        max_bytes: 16 << 20,
        session_epoch: -1,
        topics: vec![fetch_request::FetchTopic {
            topic: topic.into(),
            partitions: vec![fetch_request::FetchPartition {
                partition,
                fetch_offset: 0,
                partition_max_bytes: 16 << 20,
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
    RecordBatches::strict(records)
        .map(|batch| batch.unwrap())
        .collect()
}

/// The values of the records in `batches`, checking that their offsets run from 0
/// without a gap.
fn values_of(batches: &[RecordBatch]) -> Vec<String> {
    let mut values = Vec::new();
    for batch in batches {
        for record in batch.records().unwrap() {
            let record = record.unwrap();
            assert_eq!(record.offset, values.len() as i64, "offsets are contiguous");
            values.push(String::from_utf8(record.value.unwrap().to_vec()).unwrap());
        }
    }
    values
}

/// Checks that `batches` come from one producer id, with epochs that never go back and
/// sequences that start at 0 with each epoch and then follow on without a gap; returns
/// the epochs seen.
fn epochs_of(batches: &[RecordBatch]) -> Vec<i16> {
    let mut epochs: Vec<i16> = Vec::new();
    let mut expected_sequence = 0;
    for batch in batches {
        assert_eq!(
            batch.producer_id(),
            batches[0].producer_id(),
            "one producer id"
        );
        if epochs.last() != Some(&batch.producer_epoch()) {
            assert!(
                epochs.last() < Some(&batch.producer_epoch()),
                "epochs never go back: {epochs:?} then {}",
                batch.producer_epoch()
            );
            epochs.push(batch.producer_epoch());
            expected_sequence = 0;
        }
        assert_eq!(
            batch.base_sequence(),
            expected_sequence,
            "sequences follow on within epoch {}",
            batch.producer_epoch()
        );
        expected_sequence += batch.record_count();
    }
    epochs
}

#[tokio::test]
async fn the_producer_writes_idempotent_batches_by_default() {
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

    let batches = read_batches(broker.bootstrap_servers(), "seq", 0).await;
    assert!(batches.len() > 1, "several batches ({})", batches.len());
    assert_eq!(epochs_of(&batches), [0]);
    assert!(batches[0].producer_id() >= 0);
    for batch in &batches {
        assert_eq!(
            batch.base_sequence() as i64,
            batch.base_offset(),
            "one partition, so sequence = offset"
        );
    }
    assert_eq!(values_of(&batches).len(), 300);
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
