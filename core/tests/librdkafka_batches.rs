//! Record batches written by librdkafka decode with our reader, with every codec.
//!
//! A tiny Kafka listener, built on our codec, answers `kcat`'s ApiVersions, Metadata and
//! Produce requests over a real socket and keeps the record batches it is sent. Those
//! batches must decode, in our reader and in the independent `kafka-protocol` crate, to
//! the records kcat was given; and batches our builder writes from the same records must
//! decode identically in both.

use bytes::{Buf, Bytes, BytesMut};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use tidelog::protocol::compression::Compression;
use tidelog::protocol::frame::{decode_request, encode_response};
use tidelog::protocol::messages::*;
use tidelog::protocol::records::{RecordBatch, RecordBatchBuilder, RecordBatches};

const TOPIC: &str = "capture";

/// A record as both decoders can describe it.
#[derive(Debug, Clone, PartialEq)]
struct Decoded {
    offset: i64,
    timestamp: i64,
    key: Option<Bytes>,
    value: Option<Bytes>,
    headers: Vec<(Bytes, Option<Bytes>)>,
}

fn read_frame(stream: &mut TcpStream) -> Option<Bytes> {
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).ok()?;
    let mut payload = vec![0u8; i32::from_be_bytes(size) as usize];
    stream.read_exact(&mut payload).ok()?;
    Some(payload.into())
}

/// Serves one client connection until it closes, keeping every produced `records` field.
fn serve(mut stream: TcpStream, port: u16, captured: Arc<Mutex<Vec<Bytes>>>) {
    while let Some(frame) = read_frame(&mut stream) {
        let (header, body) = decode_request(frame).expect("kcat's request decodes");
        let version = header.request_api_version;
        let response: ResponseKind = match body {
            RequestKind::ApiVersions(_) => ApiVersionsResponse {
                // librdkafka infers broker features from the APIs advertised: it writes
                // record batches v2 only if Fetch v4+ is there too, and lz4 only if
                // FindCoordinator is. A producer sends neither.
                api_keys: [
                    ApiKey::ApiVersions,
                    ApiKey::Metadata,
                    ApiKey::Produce,
                    ApiKey::Fetch,
                    ApiKey::FindCoordinator,
                ]
                .iter()
                .map(|key| api_versions_response::ApiVersion {
                    api_key: *key as i16,
                    min_version: key.versions().min,
                    max_version: key.versions().max,
                })
                .collect(),
                ..Default::default()
            }
            .into(),
            RequestKind::Metadata(request) => MetadataResponse {
                brokers: vec![metadata_response::MetadataResponseBroker {
                    node_id: 0,
                    host: "127.0.0.1".into(),
                    port: port as i32,
                    rack: None,
                }],
                cluster_id: Some("capture-cluster".into()),
                controller_id: 0,
                topics: request
                    .topics
                    .unwrap_or_default()
                    .into_iter()
                    .map(|topic| metadata_response::MetadataResponseTopic {
                        name: topic.name,
                        partitions: vec![metadata_response::MetadataResponsePartition {
                            partition_index: 0,
                            leader_id: 0,
                            leader_epoch: 0,
                            replica_nodes: vec![0],
                            isr_nodes: vec![0],
                            ..Default::default()
                        }],
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }
            .into(),
            RequestKind::Produce(request) => {
                let mut responses = Vec::new();
                for topic in request.topic_data {
                    let mut partitions = Vec::new();
                    for partition in topic.partition_data {
                        captured.lock().unwrap().extend(partition.records);
                        partitions.push(produce_response::PartitionProduceResponse {
                            index: partition.index,
                            ..Default::default()
                        });
                    }
                    responses.push(produce_response::TopicProduceResponse {
                        name: topic.name,
                        partition_responses: partitions,
                    });
                }
                if request.acks == 0 {
                    continue;
                }
                ProduceResponse {
                    responses,
                    ..Default::default()
                }
                .into()
            }
            other => panic!("the capture listener does not serve {:?}", other.api_key()),
        };
        let mut out = BytesMut::new();
        encode_response(&mut out, header.correlation_id, version, &response).unwrap();
        if stream.write_all(&out).is_err() {
            return;
        }
    }
}

/// Runs kcat as a producer of `lines` (`key:value`, or a bare value for a null key) with
/// `codec`, and returns the record batches it sent.
fn capture_from_kcat(codec: Compression, lines: &[String]) -> Vec<Bytes> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let captured = Arc::new(Mutex::new(Vec::new()));
    let sink = captured.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let sink = sink.clone();
            std::thread::spawn(move || serve(stream, port, sink));
        }
    });

    let mut child = Command::new("kcat")
        .args([
            "-b",
            &format!("127.0.0.1:{port}"),
            "-t",
            TOPIC,
            "-P",
            "-K",
            ":",
            "-z",
            codec.name(),
        ])
        .args(
            std::env::var("KCAT_DEBUG")
                .map(|d| vec!["-d".to_string(), d])
                .unwrap_or_default(),
        )
        .args([
            "-H",
            "trace=abc",
            "-H",
            "origin=kcat",
            "-X",
            "linger.ms=20",
            "-X",
            "batch.num.messages=400",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kcat is installed (scripts/test-all installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all((lines.join("\n") + "\n").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    if std::env::var("KCAT_DEBUG").is_ok() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    }
    assert!(
        output.status.success(),
        "kcat failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let batches = captured.lock().unwrap().clone();
    batches
}

fn decode_ours(records: &Bytes) -> Vec<Decoded> {
    let mut out = Vec::new();
    let mut batches = RecordBatches::strict(records.clone());
    for batch in &mut batches {
        let batch = batch.expect("batch parses");
        batch.verify_crc().expect("CRC-32C matches");
        batch.validate().expect("batch passes produce validation");
        for record in batch.records().expect("records decode") {
            let record = record.expect("record decodes");
            out.push(Decoded {
                offset: record.offset,
                timestamp: record.timestamp,
                key: record.key,
                value: record.value,
                headers: record
                    .headers
                    .into_iter()
                    .map(|h| (h.key, h.value))
                    .collect(),
            });
        }
    }
    out
}

fn decode_theirs(records: &Bytes) -> Vec<Decoded> {
    let mut buf = records.clone();
    let mut out = Vec::new();
    while buf.has_remaining() {
        let set = kafka_protocol::records::RecordBatchDecoder::decode(&mut buf)
            .expect("kafka-protocol decodes");
        for record in set.records {
            out.push(Decoded {
                offset: record.offset,
                timestamp: record.timestamp,
                key: record.key,
                value: record.value,
                headers: record
                    .headers
                    .into_iter()
                    .map(|(key, value)| (Bytes::copy_from_slice(key.as_bytes()), value))
                    .collect(),
            });
        }
    }
    out
}

/// Offsets restart at 0 in every batch a producer sends; renumber across the capture.
fn renumbered(mut records: Vec<Decoded>) -> Vec<Decoded> {
    for (offset, record) in records.iter_mut().enumerate() {
        record.offset = offset as i64;
    }
    records
}

fn input_lines() -> Vec<String> {
    // Repetitive values so that every codec actually shrinks the batch (librdkafka sends
    // a batch uncompressed when compression does not pay).
    (0..2000)
        .map(|i| match i % 10 {
            0 => format!("value without a key, number {i:05}, padding padding padding"),
            _ => format!(
                "key-{:03}:value {i:05} for key {:03}, padding padding padding",
                i % 37,
                i % 37
            ),
        })
        .collect()
}

#[test]
fn librdkafka_batches_decode_with_every_codec() {
    let lines = input_lines();
    let expected: Vec<(Option<Bytes>, Bytes)> = lines
        .iter()
        .map(|line| match line.split_once(':') {
            Some((key, value)) => (
                Some(Bytes::copy_from_slice(key.as_bytes())),
                Bytes::copy_from_slice(value.as_bytes()),
            ),
            None => (None, Bytes::copy_from_slice(line.as_bytes())),
        })
        .collect();
    let headers = vec![
        (
            Bytes::from_static(b"trace"),
            Some(Bytes::from_static(b"abc")),
        ),
        (
            Bytes::from_static(b"origin"),
            Some(Bytes::from_static(b"kcat")),
        ),
    ];

    for codec in Compression::ALL {
        let captured = capture_from_kcat(codec, &lines);
        assert!(!captured.is_empty(), "{codec}: kcat sent no records");

        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        // librdkafka sends a batch uncompressed when compressing it does not pay, which
        // can happen to a short final batch; every other batch must use the codec.
        let codecs: Vec<Compression> = captured
            .iter()
            .flat_map(|records| RecordBatches::strict(records.clone()))
            .map(|batch| batch.unwrap().compression().unwrap())
            .collect();
        let compressed = codecs.iter().filter(|c| **c == codec).count();
        assert!(
            codecs
                .iter()
                .all(|c| *c == codec || *c == Compression::None)
                && compressed * 2 > codecs.len(),
            "{codec}: librdkafka's batches used {codecs:?}"
        );
        for records in &captured {
            ours.extend(decode_ours(records));
            theirs.extend(decode_theirs(records));
        }
        assert_eq!(
            ours, theirs,
            "{codec}: our decoder and kafka-protocol's disagree"
        );
        let got: Vec<(Option<Bytes>, Bytes)> = ours
            .iter()
            .map(|r| (r.key.clone(), r.value.clone().unwrap()))
            .collect();
        assert_eq!(
            got, expected,
            "{codec}: records differ from what kcat was given"
        );
        assert!(
            ours.iter().all(|r| r.headers == headers),
            "{codec}: headers differ"
        );

        // Our builder, fed the same records, must produce batches both decoders read
        // back to exactly these records.
        let mut builder = RecordBatchBuilder::new(codec);
        for record in &ours {
            let header_refs: Vec<(&str, Option<&[u8]>)> = record
                .headers
                .iter()
                .map(|(k, v)| (std::str::from_utf8(k).unwrap(), v.as_deref()))
                .collect();
            builder
                .append(
                    record.timestamp,
                    record.key.as_deref(),
                    record.value.as_deref(),
                    &header_refs,
                )
                .unwrap();
        }
        let built = builder.build().unwrap();
        assert_eq!(
            RecordBatch::parse(built.clone())
                .unwrap()
                .compression()
                .unwrap(),
            codec
        );
        let expected_records = renumbered(ours.clone());
        assert_eq!(
            decode_ours(&built),
            expected_records,
            "{codec}: our builder's batch, read by us"
        );
        assert_eq!(
            decode_theirs(&built),
            expected_records,
            "{codec}: our builder's batch, read by kafka-protocol"
        );
    }
}
