//! Idempotent producers (KIP-98) over real sockets. The broker side: InitProducerId, a
//! retried batch answered with its original offset, a gap refused, a new epoch taken
//! from sequence 0. The producer side: no duplicates after lost responses, and recovery
//! when a broker loses the producer's state (KIP-360).

use bytes::{Bytes, BytesMut};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tidelog::broker::{Broker, BrokerOptions, BrokerStorage};
use tidelog::client::admin::{Admin, AdminConfig, NewTopic, OffsetSpec};
use tidelog::client::connection::BrokerConnection;
use tidelog::client::consumer::{Consumer, ConsumerConfig};
use tidelog::client::producer::{Producer, ProducerConfig, ProducerRecord};
use tidelog::embedded::{EmbeddedBroker, EmbeddedOptions};
use tidelog::error::ErrorCode;
use tidelog::protocol::compression::Compression;
use tidelog::protocol::frame::{decode_request, decode_response, encode_request, encode_response};
use tidelog::protocol::messages::{
    fetch_request, produce_request, produce_response, ApiKey, FetchRequest, InitProducerIdRequest,
    ProduceRequest, ProduceResponse, RequestKind, ResponseKind,
};
use tidelog::protocol::records::{RecordBatch, RecordBatchBuilder, RecordBatches};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// Reads one size-prefixed Kafka frame, returning it without the size.
async fn read_frame(stream: &mut (impl AsyncReadExt + Unpin)) -> std::io::Result<Vec<u8>> {
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).await?;
    let mut frame = vec![0u8; i32::from_be_bytes(size) as usize];
    stream.read_exact(&mut frame).await?;
    Ok(frame)
}

async fn write_frame(
    stream: &mut (impl AsyncWriteExt + Unpin),
    frame: &[u8],
) -> std::io::Result<()> {
    stream
        .write_all(&(frame.len() as i32).to_be_bytes())
        .await?;
    stream.write_all(frame).await
}

/// What a [`produce_response_proxy`] does with a Produce response.
#[derive(Clone, Copy, PartialEq)]
enum Verdict {
    Forward,
    /// Closes the client's connection instead: the broker has appended the batch, but
    /// the producer never hears of it and must retry.
    Close,
    /// Keeps the connection and never sends the response: the request stays in flight.
    Withhold,
}

/// A TCP proxy between clients and the broker that forwards everything except Produce
/// responses, which it treats as `verdict` says given how many came before.
async fn produce_response_proxy(
    listener: tokio::net::TcpListener,
    broker: SocketAddr,
    verdict: impl Fn(usize) -> Verdict + Send + Sync + 'static,
) {
    use std::collections::HashMap;

    let verdict = Arc::new(verdict);
    let produce_responses = Arc::new(AtomicUsize::new(0));
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
                while let Ok(frame) = read_frame(&mut client_read).await {
                    let api_key = i16::from_be_bytes([frame[0], frame[1]]);
                    let correlation_id =
                        i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
                    requests.lock().unwrap().insert(correlation_id, api_key);
                    if write_frame(&mut upstream_write, &frame).await.is_err() {
                        return;
                    }
                }
            });
            let (verdict, produce_responses) = (verdict.clone(), produce_responses.clone());
            tokio::spawn(async move {
                while let Ok(frame) = read_frame(&mut upstream_read).await {
                    let correlation_id =
                        i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
                    let is_produce = api_of.lock().unwrap().remove(&correlation_id) == Some(0);
                    if is_produce {
                        match verdict(produce_responses.fetch_add(1, Ordering::SeqCst)) {
                            Verdict::Forward => {}
                            // Dropping both halves closes the client's connection.
                            Verdict::Close => return,
                            Verdict::Withhold => continue,
                        }
                    }
                    if write_frame(&mut client_write, &frame).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
}

/// A [`produce_response_proxy`] that closes the connection instead of forwarding the
/// first `drops` Produce responses after the first one; counts those it dropped.
async fn response_dropping_proxy(
    listener: tokio::net::TcpListener,
    broker: SocketAddr,
    drops: usize,
) -> Arc<AtomicUsize> {
    let dropped = Arc::new(AtomicUsize::new(0));
    let counter = dropped.clone();
    produce_response_proxy(listener, broker, move |n| {
        if n >= 1 && counter.load(Ordering::SeqCst) < drops {
            counter.fetch_add(1, Ordering::SeqCst);
            Verdict::Close
        } else {
            Verdict::Forward
        }
    })
    .await;
    dropped
}

/// Starts a broker (in memory, or on disk under `data_dir`) that tells clients to
/// connect to `advertised`, if given, instead of its own address.
async fn start_broker(
    listen: &str,
    advertised: Option<String>,
    data_dir: Option<&std::path::Path>,
) -> Broker {
    Broker::start(BrokerOptions {
        listen: listen.into(),
        advertised_listener: advertised,
        storage: data_dir.map_or(BrokerStorage::Memory, |dir| {
            BrokerStorage::Disk(dir.to_path_buf())
        }),
        config: Default::default(),
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_responses_cause_no_duplicates_and_no_gaps() {
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_address = proxy.local_addr().unwrap().to_string();
    // Clients are told the proxy's address, so every connection goes through it.
    let broker = start_broker("127.0.0.1:0", Some(proxy_address.clone()), None).await;
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
        dropped.load(Ordering::SeqCst),
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

/// What an [`amnesiac_proxy`] saw and did.
#[derive(Default)]
struct Amnesia {
    /// The producer id and epoch it forgot, once it has.
    forgotten: Mutex<Option<(i64, i16)>>,
    /// Batches it answered with UNKNOWN_PRODUCER_ID.
    refused: AtomicUsize,
    /// InitProducerId requests it passed on.
    init_producer_id_requests: AtomicUsize,
}

/// How an [`amnesiac_proxy`] forgets.
#[derive(Clone, Copy)]
struct Forgetting {
    /// The partition (of the test's topic) whose producer state is lost.
    partition: i32,
    /// Produce requests it lets through before it forgets.
    after: usize,
    /// The first batch of the forgotten producer is passed on and appended, but its
    /// response is lost with the connection, so the producer cannot know it was written.
    lose_first_response: bool,
}

/// The producer id and epoch of `produce`'s batch for `topic`-`partition`, if it has one.
fn producer_in(produce: &ProduceRequest, topic: &str, partition: i32) -> Option<(i64, i16)> {
    let records = produce
        .topic_data
        .iter()
        .filter(|t| t.name == topic)
        .flat_map(|t| &t.partition_data)
        .find(|p| p.index == partition)?
        .records
        .clone()?;
    let batch = RecordBatches::new(records).next()?.unwrap();
    Some((batch.producer_id(), batch.producer_epoch()))
}

/// A TCP proxy that plays a broker which lost `forgetting.partition`'s producer state,
/// as brokers before Kafka 2.5 did when retention removed a producer's last records:
/// after `forgetting.after` Produce requests, it forgets the producer id and epoch of
/// the next batch for that partition, and answers every later batch of theirs there
/// with UNKNOWN_PRODUCER_ID instead of passing it on. Other partitions of a request are
/// passed on. It handles one request at a time per connection, so responses keep their
/// order.
async fn amnesiac_proxy(
    listener: tokio::net::TcpListener,
    broker: SocketAddr,
    topic: &'static str,
    forgetting: Forgetting,
) -> Arc<Amnesia> {
    let amnesia = Arc::new(Amnesia::default());
    let produce_requests = Arc::new(AtomicUsize::new(0));
    let seen = amnesia.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let Ok(mut upstream) = tokio::net::TcpStream::connect(broker).await else {
                return;
            };
            let (amnesia, produce_requests) = (seen.clone(), produce_requests.clone());
            tokio::spawn(async move {
                let mut forward = async |frame: &[u8]| {
                    write_frame(&mut upstream, frame).await?;
                    read_frame(&mut upstream).await
                };
                while let Ok(frame) = read_frame(&mut client).await {
                    let (header, request) = decode_request(Bytes::from(frame.clone())).unwrap();
                    let version = header.request_api_version;
                    let mut produce = match request {
                        RequestKind::Produce(produce) => Some(produce),
                        RequestKind::InitProducerId(_) => {
                            amnesia
                                .init_producer_id_requests
                                .fetch_add(1, Ordering::SeqCst);
                            None
                        }
                        _ => None,
                    };
                    let identity = produce
                        .as_ref()
                        .and_then(|p| producer_in(p, topic, forgetting.partition));
                    let earlier_produce_requests = match produce {
                        Some(_) => produce_requests.fetch_add(1, Ordering::SeqCst),
                        None => 0,
                    };
                    let (refuse, forgetting_now) = {
                        let mut forgotten = amnesia.forgotten.lock().unwrap();
                        let forgetting_now = identity.is_some()
                            && forgotten.is_none()
                            && earlier_produce_requests >= forgetting.after;
                        if forgetting_now {
                            *forgotten = identity;
                        }
                        (identity.is_some() && *forgotten == identity, forgetting_now)
                    };
                    if forgetting_now && forgetting.lose_first_response {
                        let _ = forward(&frame).await;
                        // Closing the connection loses the response.
                        return;
                    }
                    let Some(produce) = produce.as_mut().filter(|_| refuse) else {
                        let Ok(response) = forward(&frame).await else {
                            return;
                        };
                        if write_frame(&mut client, &response).await.is_err() {
                            return;
                        }
                        continue;
                    };
                    amnesia.refused.fetch_add(1, Ordering::SeqCst);
                    // The rest of the request goes on to the broker.
                    for data in &mut produce.topic_data {
                        if data.name == topic {
                            data.partition_data
                                .retain(|p| p.index != forgetting.partition);
                        }
                    }
                    produce.topic_data.retain(|t| !t.partition_data.is_empty());
                    let mut response = if produce.topic_data.is_empty() {
                        ProduceResponse::default()
                    } else {
                        let mut request = BytesMut::new();
                        let produce = RequestKind::Produce(std::mem::take(produce));
                        encode_request(&mut request, &header, &produce).unwrap();
                        let Ok(frame) = forward(&request[4..]).await else {
                            return;
                        };
                        match decode_response(ApiKey::Produce, version, Bytes::from(frame)) {
                            Ok((_, ResponseKind::Produce(response))) => response,
                            other => panic!("not a Produce response: {other:?}"),
                        }
                    };
                    let refusal = produce_response::PartitionProduceResponse {
                        index: forgetting.partition,
                        error_code: ErrorCode::UnknownProducerId.code(),
                        base_offset: -1,
                        log_append_time_ms: -1,
                        log_start_offset: 0,
                        ..Default::default()
                    };
                    match response.responses.iter_mut().find(|t| t.name == topic) {
                        Some(answers) => answers.partition_responses.push(refusal),
                        None => response
                            .responses
                            .push(produce_response::TopicProduceResponse {
                                name: topic.into(),
                                partition_responses: vec![refusal],
                            }),
                    }
                    let mut answer = BytesMut::new();
                    let response = ResponseKind::Produce(response);
                    encode_response(&mut answer, header.correlation_id, version, &response)
                        .unwrap();
                    if client.write_all(&answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    amnesia
}

/// A broker behind an [`amnesiac_proxy`] (clients are told the proxy's address), with
/// `topic` created with two partitions, and a producer through the proxy.
async fn producer_facing_amnesia(
    topic: &'static str,
    forgetting: Forgetting,
    settings: &[(&str, &str)],
) -> (Broker, Arc<Amnesia>, Producer) {
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_address = proxy.local_addr().unwrap().to_string();
    let broker = start_broker("127.0.0.1:0", Some(proxy_address.clone()), None).await;
    let amnesia = amnesiac_proxy(proxy, broker.local_addr(), topic, forgetting).await;
    create_topic(&proxy_address, topic, 2).await;
    let mut config = vec![
        ("bootstrap.servers", proxy_address.as_str()),
        ("batch.size", "1000"),
        ("linger.ms", "1"),
        ("retry.backoff.ms", "10"),
    ];
    config.extend_from_slice(settings);
    let producer = Producer::new(ProducerConfig::from_pairs(config).unwrap()).unwrap();
    (broker, amnesia, producer)
}

/// Sends `count` records to `topic`, alternating between partitions 0 and 1, with
/// values `value-{i}`, and waits for their reports.
async fn send_alternating(
    producer: &Producer,
    topic: &str,
    count: usize,
) -> Vec<Result<tidelog::client::producer::RecordMetadata, tidelog::error::Error>> {
    let deliveries: Vec<_> = (0..count)
        .map(|i| {
            let record = ProducerRecord::new(topic, format!("value-{i}"));
            producer.send(record.with_partition(i as i32 % 2)).unwrap()
        })
        .collect();
    let mut reports = Vec::new();
    for delivery in deliveries {
        reports.push(delivery.await);
    }
    reports
}

/// The values [`send_alternating`] sent to `partition`.
fn sent_to(partition: i32, count: usize) -> Vec<String> {
    (0..count)
        .filter(|i| *i as i32 % 2 == partition)
        .map(|i| format!("value-{i}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_broker_loses_the_producer_state_the_epoch_is_bumped_and_every_record_arrives_once_in_order(
) {
    let forgetting = Forgetting {
        partition: 0,
        after: 3,
        lose_first_response: false,
    };
    let (broker, amnesia, producer) = producer_facing_amnesia("amnesia", forgetting, &[]).await;
    let count = 2_000;
    for (i, report) in send_alternating(&producer, "amnesia", count)
        .await
        .into_iter()
        .enumerate()
    {
        report.unwrap_or_else(|error| panic!("record {i}: {error}"));
    }
    assert!(
        amnesia.refused.load(Ordering::SeqCst) > 0,
        "the proxy forgot"
    );
    assert_eq!(
        amnesia.init_producer_id_requests.load(Ordering::SeqCst),
        1,
        "the producer bumps its epoch itself, as the Java client and librdkafka do"
    );

    let address = broker.local_addr().to_string();
    let forgotten_partition = read_batches(&address, "amnesia", 0).await;
    assert_eq!(values_of(&forgotten_partition), sent_to(0, count));
    assert_eq!(
        epochs_of(&forgotten_partition),
        [0, 1],
        "renumbered from 0 under epoch 1"
    );
    let other_partition = read_batches(&address, "amnesia", 1).await;
    assert_eq!(values_of(&other_partition), sent_to(1, count));
    epochs_of(&other_partition);
    assert_eq!(
        (
            forgotten_partition[0].producer_id(),
            forgotten_partition[0].producer_epoch()
        ),
        amnesia.forgotten.lock().unwrap().unwrap()
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_may_already_be_written_is_failed_rather_than_written_twice() {
    let forgetting = Forgetting {
        partition: 0,
        after: 3,
        lose_first_response: true,
    };
    // One request at a time, so that only the batch whose response is lost may be written.
    let settings = [("max.in.flight.requests.per.connection", "1")];
    let (broker, amnesia, producer) =
        producer_facing_amnesia("unsure", forgetting, &settings).await;
    let count = 600;
    let reports = send_alternating(&producer, "unsure", count).await;
    assert!(
        amnesia.refused.load(Ordering::SeqCst) > 0,
        "the proxy forgot"
    );

    // The attempt whose response was lost wrote its batch: it is there once, and the
    // rest follows, renumbered under a new epoch.
    let address = broker.local_addr().to_string();
    let forgotten_partition = read_batches(&address, "unsure", 0).await;
    assert_eq!(values_of(&forgotten_partition), sent_to(0, count));
    assert_eq!(epochs_of(&forgotten_partition), [0, 1]);
    assert_eq!(
        values_of(&read_batches(&address, "unsure", 1).await),
        sent_to(1, count)
    );
    // Its records are reported failed, saying that they may have been written.
    let failed: Vec<usize> = (0..count).filter(|i| reports[*i].is_err()).collect();
    assert!(
        !failed.is_empty(),
        "the batch whose response was lost fails"
    );
    for i in &failed {
        let error = reports[*i].as_ref().unwrap_err();
        assert_eq!(i % 2, 0, "only the forgotten partition: {error}");
        assert_eq!(error.code(), ErrorCode::UnknownProducerId, "{error}");
        assert!(
            error.to_string().contains("may have been written"),
            "{error}"
        );
    }
    broker.shutdown().await.unwrap();
}

/// A directory under the system's temporary one, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "tidelog-idempotence-{label}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Cuts `topic`-0's log under `data_dir` before the batch at `offset`, and removes the
/// clean-shutdown marker: what a crash does to records that were acknowledged but not
/// yet on disk.
fn lose_tail(data_dir: &std::path::Path, topic: &str, offset: i64) {
    let partition_dir = data_dir.join(format!("{topic}-0"));
    let segment = partition_dir.join(format!("{:020}.log", 0));
    let bytes = std::fs::read(&segment).unwrap();
    let mut position = 0;
    for batch in RecordBatches::strict(Bytes::from(bytes)) {
        let batch = batch.unwrap();
        if batch.base_offset() == offset {
            break;
        }
        position += batch.size_in_bytes();
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap();
    file.set_len(position as u64).unwrap();
    std::fs::remove_file(partition_dir.join("clean-shutdown")).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_broker_loses_acknowledged_records_the_next_batch_fails_loudly_and_later_ones_continue(
) {
    let dir = TempDir::new("lost-tail");
    let broker = start_broker("127.0.0.1:0", None, Some(&dir.0)).await;
    let address = broker.local_addr().to_string();
    let producer = Producer::new(
        ProducerConfig::from_pairs([
            ("bootstrap.servers", address.as_str()),
            ("linger.ms", "0"),
            ("retry.backoff.ms", "10"),
        ])
        .unwrap(),
    )
    .unwrap();
    let send = async |value: &str| {
        let record = ProducerRecord::new("fragile", value.to_string()).with_partition(0);
        producer.send(record).unwrap().await
    };
    for i in 0..10 {
        // One batch per record.
        assert_eq!(send(&format!("value-{i}")).await.unwrap().offset, i);
    }
    broker.shutdown().await.unwrap();
    lose_tail(&dir.0, "fragile", 7);
    let broker = start_broker(&address, None, Some(&dir.0)).await;

    let error = send("after-the-crash").await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::OutOfOrderSequenceNumber, "{error}");
    assert!(
        error
            .to_string()
            .contains("acknowledged records may have been lost"),
        "{error}"
    );
    assert_eq!(
        send("later").await.unwrap().offset,
        7,
        "the producer goes on under a new epoch"
    );

    let batches = read_batches(&address, "fragile", 0).await;
    let mut expected: Vec<String> = (0..7).map(|i| format!("value-{i}")).collect();
    expected.push("later".into());
    assert_eq!(values_of(&batches), expected);
    assert_eq!(epochs_of(&batches), [0, 1]);
    broker.shutdown().await.unwrap();
}

/// With no broker reachable, InitProducerId never succeeds; records must still fail at
/// `delivery.timeout.ms` and close must return, as in the Java client.
#[tokio::test]
async fn records_expire_while_no_broker_grants_a_producer_id() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nobody = unused.local_addr().unwrap().to_string();
    drop(unused);
    let producer = Producer::from_pairs([
        ("bootstrap.servers", nobody.as_str()),
        ("enable.idempotence", "true"),
        ("delivery.timeout.ms", "1200"),
        ("request.timeout.ms", "1000"),
        ("linger.ms", "0"),
        ("retry.backoff.ms", "50"),
    ])
    .unwrap();
    let started = std::time::Instant::now();
    let delivery = producer
        .send(ProducerRecord::new("unreachable", "lost"))
        .unwrap();
    let error = tokio::time::timeout(std::time::Duration::from_secs(10), delivery)
        .await
        .expect("the record fails at delivery.timeout.ms, not never")
        .unwrap_err();
    assert!(error.to_string().contains("delivery.timeout.ms"), "{error}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(1100));
    tokio::time::timeout(std::time::Duration::from_secs(5), producer.close())
        .await
        .expect("close returns once nothing is held");
}

/// `purge` (librdkafka's rd_kafka_purge): a record whose Produce response never comes is
/// reported at once as purged in flight, one still lingering as purged from the queue,
/// and neither is retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_reports_queued_and_in_flight_records_at_once() {
    use tidelog::error::{Error, LocalCode};
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_address = proxy.local_addr().unwrap().to_string();
    let broker = start_broker("127.0.0.1:0", Some(proxy_address.clone()), None).await;
    produce_response_proxy(proxy, broker.local_addr(), |_| Verdict::Withhold).await;
    let producer = Producer::from_pairs([
        ("bootstrap.servers", proxy_address.as_str()),
        ("request.timeout.ms", "30000"),
        ("linger.ms", "0"),
    ])
    .unwrap();
    let sent = producer
        .send(ProducerRecord::new("purged", "sent").with_partition(0))
        .unwrap();
    let admin = Admin::new(
        AdminConfig::from_pairs([("bootstrap.servers", proxy_address.as_str())]).unwrap(),
    );
    // The broker appends the record; only its response is withheld.
    let started = std::time::Instant::now();
    loop {
        let offsets = admin
            .list_offsets(&[("purged".into(), 0, OffsetSpec::Latest)])
            .await
            .unwrap();
        if offsets[0].1.as_ref().is_ok_and(|(offset, _)| *offset == 1) {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 10,
            "the record reaches the broker"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    producer.purge(false, true);
    let error = tokio::time::timeout(std::time::Duration::from_secs(2), sent)
        .await
        .expect("reported at once, not at request.timeout.ms")
        .unwrap_err();
    assert!(
        matches!(error, Error::Purged { in_flight: true }),
        "{error}"
    );
    assert_eq!(error.client_code(true), LocalCode::PurgeInflight.code());

    let lingering = Producer::from_pairs([
        (
            "bootstrap.servers",
            broker.local_addr().to_string().as_str(),
        ),
        ("linger.ms", "60000"),
    ])
    .unwrap();
    let queued = lingering
        .send(ProducerRecord::new("purged", "queued").with_partition(0))
        .unwrap();
    lingering.purge(true, false);
    let error = queued.await.unwrap_err();
    assert!(
        matches!(error, Error::Purged { in_flight: false }),
        "{error}"
    );
    assert_eq!(error.client_code(true), LocalCode::PurgeQueue.code());
    assert_eq!(lingering.pending_batches(), 0);
    tokio::time::timeout(std::time::Duration::from_secs(2), producer.flush())
        .await
        .expect("nothing left to wait for");
    let offsets = admin
        .list_offsets(&[("purged".into(), 0, OffsetSpec::Latest)])
        .await
        .unwrap();
    assert_eq!(
        offsets[0].1.as_ref().unwrap().0,
        1,
        "the queued record was never sent"
    );
}
