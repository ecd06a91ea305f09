//! The real `tidelog` binary against raw TCP: hostile and malformed frames, ApiVersions
//! negotiation (KIP-511), pipelined requests answered in order, and Kafka's error codes
//! for bad produce and admin requests. Requests are built with tidelog's own codec.

mod support;

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};
use support::{
    call, connect, decode_frame, kcat, kcat_consume_all, read_frame, request_frame, Server, TempDir,
};
use tidelog::protocol::codec::Encodable;
use tidelog::protocol::compression::Compression;
use tidelog::protocol::messages::{
    create_topics_request::CreatableTopic, fetch_request, metadata_request::MetadataRequestTopic,
    produce_request, ApiKey, ApiVersionsRequest, ApiVersionsResponse, CreateTopicsRequest,
    FetchRequest, FetchResponse, MetadataRequest, MetadataResponse, ProduceRequest,
    ProduceResponse, RequestHeader,
};
use tidelog::protocol::records::{RecordBatchBuilder, RecordBatches};

// Kafka error codes (https://kafka.apache.org/protocol#protocol_error_codes).
const NONE: i16 = 0;
const CORRUPT_MESSAGE: i16 = 2;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const MESSAGE_TOO_LARGE: i16 = 10;
const INVALID_TOPIC_EXCEPTION: i16 = 17;
const INVALID_REQUIRED_ACKS: i16 = 21;
const UNSUPPORTED_VERSION: i16 = 35;
const TOPIC_ALREADY_EXISTS: i16 = 36;

/// A small deterministic generator (xorshift64*), so a failing fuzz run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// The (key, min, max) list the broker must advertise, as `ApiVersion` triples.
fn advertised() -> Vec<(i16, i16, i16)> {
    tidelog::broker::supported_apis()
        .into_iter()
        .map(|(key, min, max)| (key as i16, min, max))
        .collect()
}

fn listed(response: &ApiVersionsResponse) -> Vec<(i16, i16, i16)> {
    response
        .api_keys
        .iter()
        .map(|api| (api.api_key, api.min_version, api.max_version))
        .collect()
}

fn api_versions_request() -> ApiVersionsRequest {
    ApiVersionsRequest {
        client_software_name: "tidelog-it".into(),
        client_software_version: "1.0".into(),
    }
}

fn metadata_request(topics: &[&str]) -> MetadataRequest {
    MetadataRequest {
        topics: Some(
            topics
                .iter()
                .map(|name| MetadataRequestTopic {
                    name: Some(name.to_string()),
                    ..Default::default()
                })
                .collect(),
        ),
        allow_auto_topic_creation: false,
        ..Default::default()
    }
}

/// A fresh, well-behaved connection gets a correct ApiVersions response and Metadata
/// for `topic` (`partitions` partitions led by node 0).
fn assert_healthy(server: &Server, topic: &str, partitions: usize, after: &str) {
    let mut stream = TcpStream::connect(&server.bootstrap)
        .unwrap_or_else(|e| panic!("broker unreachable after {after}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let versions = call(&mut stream, 3, api_versions_request());
    assert_eq!(versions.error_code, NONE, "ApiVersions after {after}");
    assert_eq!(
        listed(&versions),
        advertised(),
        "ApiVersions list after {after}"
    );
    let metadata: MetadataResponse = call(&mut stream, 9, metadata_request(&[topic]));
    assert_eq!(metadata.brokers.len(), 1, "Metadata brokers after {after}");
    let broker = &metadata.brokers[0];
    assert_eq!(
        (broker.node_id, format!("{}:{}", broker.host, broker.port)),
        (0, server.bootstrap.clone()),
        "Metadata broker after {after}"
    );
    assert_eq!(metadata.topics.len(), 1);
    let described = &metadata.topics[0];
    assert_eq!(described.error_code, NONE, "Metadata {topic} after {after}");
    assert_eq!(
        described.partitions.len(),
        partitions,
        "Metadata {topic} after {after}"
    );
    for partition in &described.partitions {
        assert_eq!(
            (partition.error_code, partition.leader_id),
            (NONE, 0),
            "after {after}"
        );
    }
}

/// Waits up to five seconds for the broker to close `stream` without answering: end of
/// stream or a reset. Fails if it sends anything or keeps the connection open.
fn assert_closed_without_answer(mut stream: TcpStream, what: &str) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 256];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!(
            "{what}: the broker answered {n} bytes instead of closing: {:?}",
            &buf[..n]
        ),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
            ) => {}
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            panic!("{what}: the broker kept the connection open")
        }
        Err(e) => panic!("{what}: unexpected error {e}"),
    }
}

/// Opens a connection, sends `bytes`, and returns the connection.
fn send_raw(server: &Server, bytes: &[u8]) -> TcpStream {
    let mut stream = connect(&server.bootstrap);
    stream.write_all(bytes).unwrap();
    stream
}

/// kcat's lines in a stable order (it interleaves partitions as fetches complete).
fn sorted_lines(output: &str) -> Vec<String> {
    let mut lines: Vec<String> = output.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

fn size_prefixed(payload: &[u8]) -> Vec<u8> {
    let mut frame = (payload.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    frame
}

/// A request header at `header_version` followed by `body`, size-prefixed.
fn raw_request(
    api_key: i16,
    version: i16,
    header_version: i16,
    correlation_id: i32,
    body: &[u8],
) -> Vec<u8> {
    let header = RequestHeader {
        request_api_key: api_key,
        request_api_version: version,
        correlation_id,
        client_id: Some("tidelog-it".into()),
    };
    let mut buf = Default::default();
    header.encode(&mut buf, header_version).unwrap();
    let mut payload = buf.to_vec();
    payload.extend_from_slice(body);
    size_prefixed(&payload)
}

/// One uncompressed record batch of `count` records `<prefix>-<n>`.
fn batch(prefix: &str, count: usize) -> Vec<u8> {
    let mut builder = RecordBatchBuilder::new(Compression::None);
    for n in 0..count {
        let value = format!("{prefix}-{n}");
        builder
            .append(
                1_700_000_000_000 + n as i64,
                Some(b"k"),
                Some(value.as_bytes()),
                &[("h", Some(b"v"))],
            )
            .unwrap();
    }
    builder.build().unwrap().to_vec()
}

fn produce_request(topic: &str, partition: i32, acks: i16, records: Vec<u8>) -> ProduceRequest {
    ProduceRequest {
        acks,
        timeout_ms: 10_000,
        topic_data: vec![produce_request::TopicProduceData {
            name: topic.into(),
            partition_data: vec![produce_request::PartitionProduceData {
                index: partition,
                records: Some(records.into()),
            }],
        }],
        ..Default::default()
    }
}

fn fetch_request(topic: &str, partition: i32, max_wait_ms: i32, min_bytes: i32) -> FetchRequest {
    FetchRequest {
        max_wait_ms,
        min_bytes,
        topics: vec![fetch_request::FetchTopic {
            topic: topic.into(),
            partitions: vec![fetch_request::FetchPartition {
                partition,
                fetch_offset: 0,
                partition_max_bytes: 1 << 20,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The single partition result of a one-partition produce.
fn produce_result(response: &ProduceResponse) -> (i16, i64) {
    let partition = &response.responses[0].partition_responses[0];
    (partition.error_code, partition.base_offset)
}

#[test]
fn hostile_frames_do_not_harm_the_broker_or_other_clients() {
    let started = Instant::now();
    let dir = TempDir::new("hostile");
    // Every rejected connection logs a warning; hundreds of them are only noise here.
    let data_dir = dir.0.display().to_string();
    let server =
        support::start_with_log_level("error", &["--data-dir", &data_dir, "--partitions", "3"]);
    let precious = "precious";
    let mut input = String::new();
    for n in 0..300 {
        input.push_str(&format!("key-{}\tvalue-{n}\n", n % 17));
    }
    kcat(
        &[
            "-b",
            &server.bootstrap,
            "-P",
            "-t",
            precious,
            "-K",
            "\t",
            "-z",
            "zstd",
        ],
        input.as_bytes(),
    );
    let format = "%p|%o|%k|%s|%h\n";
    let before = sorted_lines(&kcat_consume_all(&server.bootstrap, precious, format));
    assert_eq!(before.len(), 300);
    assert_healthy(&server, precious, 3, "setup");

    // A frame that says 100 bytes, sends 10 and stays open: it must not hold up anyone.
    let stalled = send_raw(
        &server,
        &[&100i32.to_be_bytes()[..], &[0, 18, 0, 3, 0, 0, 0, 1, 0, 0]].concat(),
    );
    assert_healthy(&server, precious, 3, "a stalled partial frame");
    // ... and then closes mid-frame.
    stalled.shutdown(Shutdown::Write).unwrap();
    assert_closed_without_answer(stalled, "a frame truncated by the client");
    assert_healthy(&server, precious, 3, "a truncated frame");

    // A size prefix over socket.request.max.bytes (100 MiB) closes the connection at once,
    // without the client sending (or the broker waiting for) the body.
    let oversized = send_raw(&server, &(100 * 1024 * 1024 + 1i32).to_be_bytes());
    assert_closed_without_answer(oversized, "a 100 MiB + 1 size prefix");
    let huge = send_raw(&server, &i32::MAX.to_be_bytes());
    assert_closed_without_answer(huge, "an i32::MAX size prefix");
    assert_healthy(&server, precious, 3, "oversized size prefixes");

    for size in [-1i32, i32::MIN] {
        let negative = send_raw(&server, &size.to_be_bytes());
        assert_closed_without_answer(negative, &format!("size prefix {size}"));
    }
    assert_healthy(&server, precious, 3, "negative size prefixes");

    let garbage = send_raw(
        &server,
        &size_prefixed(&[
            0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8,
        ]),
    );
    assert_closed_without_answer(garbage, "garbage after a valid size");
    let short = send_raw(&server, &size_prefixed(&[0, 18]));
    assert_closed_without_answer(short, "a frame shorter than a request header");
    let empty = send_raw(&server, &size_prefixed(&[]));
    assert_closed_without_answer(empty, "an empty frame");
    assert_healthy(&server, precious, 3, "garbage frames");

    for key in [999i16, -1, 10_000] {
        let unknown = send_raw(&server, &raw_request(key, 0, 1, 7, &[]));
        assert_closed_without_answer(unknown, &format!("unknown API key {key}"));
    }
    assert_healthy(&server, precious, 3, "unknown API keys");

    // Metadata v1 whose topic array claims 2^31-1 entries: rejected without allocating.
    let metadata = send_raw(
        &server,
        &raw_request(ApiKey::Metadata as i16, 1, 1, 8, &[0x7f, 0xff, 0xff, 0xff]),
    );
    assert_closed_without_answer(metadata, "Metadata v1 with a 2^31-1 topic count");
    // The same for Produce v9 with a huge compact topic array.
    let produce = send_raw(
        &server,
        &raw_request(
            ApiKey::Produce as i16,
            9,
            2,
            9,
            &[
                0, 0xff, 0xff, 0, 0, 0x27, 0x10, 0xff, 0xff, 0xff, 0xff, 0x07,
            ],
        ),
    );
    assert_closed_without_answer(produce, "Produce v9 with a huge topic array");
    assert_healthy(&server, precious, 3, "huge array lengths");

    // Several hundred connections of seeded random input: raw bytes, random bodies behind
    // valid headers, and mutated valid requests.
    let seeds: Vec<Vec<u8>> = vec![
        request_frame(3, 1, api_versions_request()),
        request_frame(9, 2, metadata_request(&[precious, "fuzz-target"])),
        request_frame(
            1,
            3,
            MetadataRequest {
                allow_auto_topic_creation: true,
                ..metadata_request(&["fuzz-target"])
            },
        ),
        request_frame(9, 4, produce_request("fuzz-target", 0, 1, batch("fuzz", 5))),
        request_frame(
            3,
            5,
            produce_request("fuzz-target", 0, -1, batch("fuzz", 2)),
        ),
        request_frame(12, 6, fetch_request(precious, 0, 0, 1)),
        request_frame(
            7,
            7,
            CreateTopicsRequest {
                topics: vec![CreatableTopic {
                    name: "fuzz-created".into(),
                    num_partitions: 1,
                    replication_factor: 1,
                    ..Default::default()
                }],
                ..Default::default()
            },
        ),
    ];
    let handled: Vec<(i16, i16, i16)> = advertised();
    let mut rng = Rng(0x71de_1061_5eed);
    const CONNECTIONS: usize = 400;
    for round in 0..CONNECTIONS {
        let bytes = match rng.below(4) {
            0 => {
                let len = rng.below(64) as usize;
                rng.bytes(len)
            }
            1 => {
                let (key, _, max) = handled[rng.below(handled.len() as u64) as usize];
                let version = rng.below(max as u64 + 3) as i16 - 1;
                let mut payload = key.to_be_bytes().to_vec();
                payload.extend_from_slice(&version.to_be_bytes());
                payload.extend_from_slice(&(round as i32).to_be_bytes());
                let len = rng.below(96) as usize;
                payload.extend(rng.bytes(len));
                size_prefixed(&payload)
            }
            _ => {
                let mut frame = seeds[rng.below(seeds.len() as u64) as usize].clone();
                for _ in 0..=rng.below(4) {
                    // Mostly past the size prefix; now and then the prefix too.
                    let at = if rng.below(8) == 0 {
                        rng.below(4)
                    } else {
                        4 + rng.below(frame.len() as u64 - 4)
                    };
                    frame[at as usize] ^= 1 << rng.below(8);
                }
                if rng.below(4) == 0 {
                    let keep = rng.below(frame.len() as u64) as usize;
                    frame.truncate(keep);
                }
                frame
            }
        };
        let mut stream = connect(&server.bootstrap);
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        // The broker may close before everything is written; that is fine.
        let _ = stream.write_all(&bytes);
        let _ = stream.shutdown(Shutdown::Write);
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
        if round % 100 == 99 {
            assert_healthy(
                &server,
                precious,
                3,
                &format!("{} random connections", round + 1),
            );
        }
    }
    assert_healthy(&server, precious, 3, "the random connections");

    // Stock clients still work end to end, and the records from before are untouched.
    let mut input = String::new();
    for n in 0..500 {
        input.push_str(&format!("after-{n}\n"));
    }
    kcat(
        &[
            "-b",
            &server.bootstrap,
            "-P",
            "-t",
            "after-attack",
            "-z",
            "gzip",
        ],
        input.as_bytes(),
    );
    let consumed = kcat_consume_all(&server.bootstrap, "after-attack", "%s\n");
    let mut values: Vec<&str> = consumed.lines().collect();
    values.sort_by_key(|v| v.trim_start_matches("after-").parse::<usize>().unwrap());
    let expected: Vec<String> = (0..500).map(|n| format!("after-{n}")).collect();
    assert_eq!(values, expected, "kcat round trip after the attack");
    assert_eq!(
        sorted_lines(&kcat_consume_all(&server.bootstrap, precious, format)),
        before,
        "records produced before the attack"
    );
    server.stop();
    eprintln!("hostile frames: {:?}", started.elapsed());
}

#[test]
fn api_versions_every_version_and_kip_511_fallback() {
    let server = Server::start(&["--in-memory"]);
    let mut stream = connect(&server.bootstrap);
    for version in 0..=4i16 {
        let correlation_id = 100 + version as i32;
        stream
            .write_all(&request_frame(
                version,
                correlation_id,
                api_versions_request(),
            ))
            .unwrap();
        let frame = read_frame(&mut stream).unwrap();
        let (got, response) = decode_frame::<ApiVersionsResponse>(version, frame.clone());
        assert_eq!(got, correlation_id, "ApiVersions v{version} correlation id");
        assert_eq!(response.error_code, NONE, "ApiVersions v{version}");
        assert_eq!(
            listed(&response),
            advertised(),
            "ApiVersions v{version} list"
        );
        // The response is exactly the v`version` encoding after a v0 header (KIP-511: the
        // ApiVersions response header never has tagged fields): nothing missing or extra.
        let mut encoded = Default::default();
        response.encode(&mut encoded, version).unwrap();
        assert_eq!(
            &frame[4..],
            &encoded[..],
            "ApiVersions v{version} body bytes"
        );
    }
    let apis = advertised();
    assert!(
        apis.contains(&(ApiKey::ApiVersions as i16, 0, 4)),
        "ApiVersions v0-4 advertised: {apis:?}"
    );

    // A version newer than the broker knows, with a v3-style body and a flexible header:
    // a v0 response, error UNSUPPORTED_VERSION, and the supported ranges.
    for version in [5i16, 99, i16::MAX] {
        let mut body = Default::default();
        api_versions_request().encode(&mut body, 3).unwrap();
        let correlation_id = 4_000 + version as i32;
        stream
            .write_all(&raw_request(
                ApiKey::ApiVersions as i16,
                version,
                2,
                correlation_id,
                &body[..],
            ))
            .unwrap();
        let frame = read_frame(&mut stream)
            .unwrap_or_else(|e| panic!("no answer to ApiVersions v{version}: {e}"));
        let (got, response) = decode_frame::<ApiVersionsResponse>(0, frame.clone());
        assert_eq!(got, correlation_id, "ApiVersions v{version} correlation id");
        assert_eq!(
            response.error_code, UNSUPPORTED_VERSION,
            "ApiVersions v{version}"
        );
        assert_eq!(
            listed(&response),
            advertised(),
            "ApiVersions v{version} list"
        );
        // v0 layout: correlation id, error code, array of (key, min, max), nothing else.
        assert_eq!(
            frame.len(),
            4 + 2 + 4 + 6 * apis.len(),
            "ApiVersions v{version} answered in v0 format"
        );
    }
    // The client then retries with a version it knows, on the same connection.
    let response = call(&mut stream, 3, api_versions_request());
    assert_eq!(response.error_code, NONE);
    assert_eq!(listed(&response), advertised());
}

#[derive(Debug, Clone, Copy)]
enum Sent {
    ApiVersions,
    Metadata,
    Produce { partition: i32, records: i64 },
    Fetch { partition: i32 },
    SlowFetch,
}

/// Writes 50 mixed requests back to back on one connection, then reads 50 responses and
/// checks they come back in request order with the right contents. `exact` also checks
/// each fetch sees every record produced before it in the pipeline (when acks do not
/// wait for an fsync, the high watermark moves at append).
fn pipeline(server: &Server, exact: bool) {
    const TOPIC: &str = "pipe";
    support::create_topic(&server.bootstrap, TOPIC, 2);
    let mut stream = connect(&server.bootstrap);
    let mut sent = Vec::new();
    let mut bytes = Vec::new();
    for i in 0..50i32 {
        // Scrambled, so that sorting by id would not pass.
        let correlation_id = (i * 7_919) % 10_007 + 1;
        let partition = i % 2;
        let (what, frame) = match i % 6 {
            0 => (
                Sent::ApiVersions,
                request_frame(3, correlation_id, api_versions_request()),
            ),
            1 => (
                Sent::Metadata,
                request_frame(9, correlation_id, metadata_request(&[TOPIC])),
            ),
            2 | 4 => {
                let records = 1 + (i as i64 % 3);
                let acks = if i % 6 == 2 { 1 } else { -1 };
                (
                    Sent::Produce { partition, records },
                    request_frame(
                        9,
                        correlation_id,
                        produce_request(
                            TOPIC,
                            partition,
                            acks,
                            batch(&format!("p{i}"), records as usize),
                        ),
                    ),
                )
            }
            3 => (
                Sent::Fetch { partition },
                request_frame(12, correlation_id, fetch_request(TOPIC, partition, 0, 1)),
            ),
            // A long poll that cannot be satisfied: answered after max_wait_ms, while
            // the requests behind it are answered at once and must wait their turn.
            _ => (
                Sent::SlowFetch,
                request_frame(
                    12,
                    correlation_id,
                    fetch_request(TOPIC, partition, 150, i32::MAX),
                ),
            ),
        };
        sent.push((correlation_id, what));
        bytes.extend(frame);
    }
    stream.write_all(&bytes).unwrap();

    let mut produced: HashMap<i32, i64> = HashMap::new();
    let mut last_high_watermark: HashMap<i32, i64> = HashMap::new();
    for (index, (correlation_id, what)) in sent.iter().enumerate() {
        let frame = read_frame(&mut stream).unwrap_or_else(|e| panic!("response {index}: {e}"));
        let got = i32::from_be_bytes(frame[..4].try_into().unwrap());
        assert_eq!(
            got, *correlation_id,
            "response {index} ({what:?}) out of order"
        );
        match *what {
            Sent::ApiVersions => {
                let (_, response) = decode_frame::<ApiVersionsResponse>(3, frame);
                assert_eq!(response.error_code, NONE);
            }
            Sent::Metadata => {
                let (_, response) = decode_frame::<MetadataResponse>(9, frame);
                assert_eq!(response.topics[0].partitions.len(), 2);
            }
            Sent::Produce { partition, records } => {
                let (_, response) = decode_frame::<ProduceResponse>(9, frame);
                let end = produced.entry(partition).or_default();
                assert_eq!(
                    produce_result(&response),
                    (NONE, *end),
                    "produce {index} to partition {partition}: appended in request order"
                );
                *end += records;
            }
            Sent::Fetch { partition } => {
                let (_, response) = decode_frame::<FetchResponse>(12, frame);
                assert_eq!(response.error_code, NONE);
                let data = &response.responses[0].partitions[0];
                assert_eq!(data.error_code, NONE, "fetch {index}");
                let appended = produced.get(&partition).copied().unwrap_or(0);
                let last = last_high_watermark.entry(partition).or_default();
                assert!(
                    data.high_watermark >= *last && data.high_watermark <= appended,
                    "fetch {index}: high watermark {} outside {}..={appended}",
                    data.high_watermark,
                    *last
                );
                *last = data.high_watermark;
                if exact {
                    assert_eq!(
                        data.high_watermark, appended,
                        "fetch {index} sees the produces before it"
                    );
                }
                let records = data.records.clone().map_or(0, |bytes| {
                    RecordBatches::new(bytes)
                        .map(|batch| batch.unwrap().record_count() as i64)
                        .sum::<i64>()
                });
                assert_eq!(
                    records, data.high_watermark,
                    "fetch {index} returns every record below the high watermark"
                );
            }
            Sent::SlowFetch => {
                let (_, response) = decode_frame::<FetchResponse>(12, frame);
                assert_eq!(response.error_code, NONE);
                assert_eq!(response.responses[0].partitions[0].error_code, NONE);
            }
        }
    }
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = Server::start(&["--in-memory"]);
    pipeline(&server, true);
}

#[test]
fn pipelined_requests_are_answered_in_order_with_fsync_before_ack() {
    // Produce acknowledgements wait for an fsync here: deferred responses mixed with
    // immediate ones.
    let dir = TempDir::new("pipeline");
    let server = Server::on_disk(&dir.0, &["--flush", "always"]);
    pipeline(&server, false);
}

#[test]
fn error_codes_for_bad_produce_and_create_requests() {
    let server = Server::start(&[
        "--in-memory",
        "--set",
        "auto.create.topics.enable=false",
        "--set",
        "message.max.bytes=1000",
    ]);
    let mut stream = connect(&server.bootstrap);

    // Unknown topic, auto-creation off: Produce and Metadata say so and create nothing.
    for version in [3i16, 9] {
        let response = call(
            &mut stream,
            version,
            produce_request("nowhere", 0, 1, batch("x", 1)),
        );
        assert_eq!(response.responses[0].name, "nowhere");
        assert_eq!(
            produce_result(&response).0,
            UNKNOWN_TOPIC_OR_PARTITION,
            "Produce v{version} to an unknown topic"
        );
    }
    for _ in 0..2 {
        let metadata: MetadataResponse = call(&mut stream, 9, metadata_request(&["nowhere"]));
        assert_eq!(
            metadata.topics[0].error_code, UNKNOWN_TOPIC_OR_PARTITION,
            "Metadata for an unknown topic"
        );
    }
    let metadata: MetadataResponse = call(
        &mut stream,
        9,
        MetadataRequest {
            topics: None,
            ..Default::default()
        },
    );
    // Internal topics (`__consumer_offsets`, once groups are used) may be listed.
    assert!(
        metadata.topics.iter().all(|t| t.is_internal),
        "no topic was created: {:?}",
        metadata.topics
    );

    support::create_topic(&server.bootstrap, "errors", 1);
    // A partition the topic does not have.
    let response = call(
        &mut stream,
        9,
        produce_request("errors", 7, 1, batch("x", 1)),
    );
    assert_eq!(
        produce_result(&response).0,
        UNKNOWN_TOPIC_OR_PARTITION,
        "Produce to partition 7 of 1"
    );

    // A batch whose records were altered after the CRC was computed.
    let mut corrupted = batch("crc", 3);
    let last = corrupted.len() - 1;
    corrupted[last] ^= 0x01;
    let response = call(&mut stream, 9, produce_request("errors", 0, 1, corrupted));
    assert_eq!(
        produce_result(&response).0,
        CORRUPT_MESSAGE,
        "Produce with a bad CRC"
    );

    // Over message.max.bytes=1000 (the batch as sent, i.e. compressed, is what counts).
    let mut big = RecordBatchBuilder::new(Compression::None);
    big.append(0, None, Some(&[b'x'; 2_000][..]), &[]).unwrap();
    let response = call(
        &mut stream,
        9,
        produce_request("errors", 0, 1, big.build().unwrap().to_vec()),
    );
    assert_eq!(
        produce_result(&response).0,
        MESSAGE_TOO_LARGE,
        "Produce of a 2 KB batch"
    );
    let mut small = RecordBatchBuilder::new(Compression::Zstd);
    small
        .append(0, None, Some(&[b'x'; 5_000][..]), &[])
        .unwrap();
    let response = call(
        &mut stream,
        9,
        produce_request("errors", 0, 1, small.build().unwrap().to_vec()),
    );
    assert_eq!(
        produce_result(&response),
        (NONE, 0),
        "a zstd batch under 1000 bytes of 5000 bytes of records"
    );

    let response = call(
        &mut stream,
        9,
        produce_request("errors", 0, 2, batch("x", 1)),
    );
    assert_eq!(produce_result(&response).0, INVALID_REQUIRED_ACKS, "acks=2");

    // Nothing rejected was appended: the next good batch follows the one accepted.
    let response = call(
        &mut stream,
        9,
        produce_request("errors", 0, 1, batch("good", 2)),
    );
    assert_eq!(produce_result(&response), (NONE, 1), "the next good batch");

    let create = |name: &str, stream: &mut TcpStream| {
        let response = call(
            stream,
            7,
            CreateTopicsRequest {
                topics: vec![CreatableTopic {
                    name: name.into(),
                    num_partitions: 1,
                    replication_factor: -1,
                    ..Default::default()
                }],
                timeout_ms: 10_000,
                validate_only: false,
            },
        );
        assert_eq!(response.topics.len(), 1);
        assert_eq!(response.topics[0].name, name);
        response.topics[0].error_code
    };
    for bad in ["bad/name", "..", "", "spaced name", &"x".repeat(250)] {
        assert_eq!(
            create(bad, &mut stream),
            INVALID_TOPIC_EXCEPTION,
            "CreateTopics {bad:?}"
        );
    }
    assert_eq!(
        create("errors", &mut stream),
        TOPIC_ALREADY_EXISTS,
        "CreateTopics of an existing topic"
    );
    let metadata: MetadataResponse = call(
        &mut stream,
        9,
        MetadataRequest {
            topics: None,
            ..Default::default()
        },
    );
    let names: Vec<_> = metadata
        .topics
        .iter()
        .filter(|t| !t.is_internal)
        .map(|t| t.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["errors"]);
}

/// A few round trips on fresh connections: a margin for the broker to finish handling
/// frames it has already started reading on another connection.
fn settle(server: &Server) {
    for _ in 0..3 {
        let response = call(&mut connect(&server.bootstrap), 3, api_versions_request());
        assert_eq!(response.error_code, NONE);
    }
}

/// Produces about `megabytes` MB to partition 0 of `topic` in 1 KB records.
fn fill(server: &Server, topic: &str, megabytes: usize) {
    let mut producer = connect(&server.bootstrap);
    for n in 0..megabytes {
        let mut builder = RecordBatchBuilder::new(Compression::None);
        for i in 0..1_000 {
            builder
                .append(i, None, Some(&[b'a' + (n % 26) as u8; 1_000][..]), &[])
                .unwrap();
        }
        let response = call(
            &mut producer,
            9,
            produce_request(topic, 0, 1, builder.build().unwrap().to_vec()),
        );
        assert_eq!(produce_result(&response).0, NONE);
    }
}

#[test]
fn a_ready_response_is_not_held_back_by_a_long_poll_behind_it() {
    let server = Server::start(&["--in-memory"]);
    support::create_topic(&server.bootstrap, "bulk", 1);
    support::create_topic(&server.bootstrap, "quiet", 1);
    fill(&server, "bulk", 2);
    let mut stream = connect(&server.bootstrap);
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // In one write: three fetches answered at once with ~2 MB each (the broker's writer
    // is busy pushing them through the socket while the rest is handled), a Metadata
    // request answered at once, then a fetch that long-polls for 4 s. Responses go out
    // in request order; nothing orders the first four after the long poll, so they must
    // arrive right away.
    let mut bulk = fetch_request("bulk", 0, 0, 1);
    bulk.topics[0].partitions[0].partition_max_bytes = 8 << 20;
    let mut frames = Vec::new();
    for correlation_id in 1..=3 {
        frames.extend(request_frame(12, correlation_id, bulk.clone()));
    }
    frames.extend(request_frame(9, 4, metadata_request(&["quiet"])));
    frames.extend(request_frame(12, 5, fetch_request("quiet", 0, 4_000, 1)));
    let sent = Instant::now();
    stream.write_all(&frames).unwrap();
    for expected in 1..=3 {
        let (correlation_id, fetched) =
            decode_frame::<FetchResponse>(12, read_frame(&mut stream).unwrap());
        assert_eq!(correlation_id, expected);
        assert!(fetched.responses[0].partitions[0].high_watermark >= 2_000);
    }
    let frame = read_frame(&mut stream).unwrap();
    let waited = sent.elapsed();
    let (correlation_id, metadata) = decode_frame::<MetadataResponse>(9, frame);
    assert_eq!(correlation_id, 4);
    assert_eq!(metadata.topics[0].error_code, NONE);
    assert!(
        waited < Duration::from_secs(2),
        "the Metadata response took {waited:?}: held back until the 4 s long poll behind it ended"
    );
    let (correlation_id, _) = decode_frame::<FetchResponse>(12, read_frame(&mut stream).unwrap());
    assert_eq!(correlation_id, 5);
}

#[test]
fn sigterm_does_not_wait_for_a_pending_long_poll() {
    let server = Server::start(&["--in-memory"]);
    support::create_topic(&server.bootstrap, "quiet", 1);
    let mut stream = connect(&server.bootstrap);
    // The connection is being served (an answered ApiVersions), then a consumer
    // long-polls on it for data that never comes, for up to 60 s.
    let response = call(&mut stream, 3, api_versions_request());
    assert_eq!(response.error_code, NONE);
    stream
        .write_all(&request_frame(12, 2, fetch_request("quiet", 0, 60_000, 1)))
        .unwrap();
    settle(&server);
    // Kafka closes every connection at shutdown and drops delayed fetches; a clean stop
    // must not wait for max_wait_ms.
    let stopped = support::stop_within(server, Duration::from_secs(5));
    assert!(
        stopped.is_ok(),
        "SIGTERM with a 60 s long poll pending: {}",
        stopped.unwrap_err()
    );
    // The client sees its connection closed (after an answer to the fetch, or none).
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the long-polling connection was not closed at shutdown: {e}"),
    }
}

#[test]
fn sigterm_does_not_wait_for_a_client_that_does_not_read() {
    let server = Server::start(&["--in-memory"]);
    support::create_topic(&server.bootstrap, "unread", 1);
    fill(&server, "unread", 3);
    // 20 fetches of the whole ~3 MB partition, and never a read: the broker's writes
    // to this socket block once the kernel buffers are full.
    let mut stream = connect(&server.bootstrap);
    let mut fetch = fetch_request("unread", 0, 0, 1);
    fetch.topics[0].partitions[0].partition_max_bytes = 8 << 20;
    let mut frames = Vec::new();
    for i in 0..20 {
        frames.extend(request_frame(12, i, fetch.clone()));
    }
    stream.write_all(&frames).unwrap();
    // The first bytes of the first response: the broker has read the requests and is
    // writing ~60 MB of responses that nobody reads.
    let mut first = [0u8; 4];
    stream.read_exact(&mut first).unwrap();
    settle(&server);
    let stopped = support::stop_within(server, Duration::from_secs(5));
    assert!(
        stopped.is_ok(),
        "SIGTERM with a client not reading its responses: {}",
        stopped.unwrap_err()
    );
    drop(stream);
}
