//! Decode cost of Produce requests (broker side) and Fetch responses (client side) as
//! the record payload grows from 1 KiB to 16 MiB. The records are zero-copy slices of
//! the frame, so the time must stay flat: decoding never touches the record bytes.
//!
//! Run: `cargo bench -p tidelog-bench --bench decode`.

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tidelog::protocol::frame::{decode_request, decode_response, encode_request, encode_response};
use tidelog::protocol::messages::*;

const SIZES: &[(usize, &str)] = &[(1 << 10, "1KiB"), (1 << 20, "1MiB"), (16 << 20, "16MiB")];

fn produce_frame(records: Bytes) -> Bytes {
    let header = RequestHeader {
        request_api_key: ApiKey::Produce as i16,
        request_api_version: 11,
        correlation_id: 1,
        client_id: Some("bench".into()),
    };
    let body = ProduceRequest {
        acks: -1,
        timeout_ms: 30_000,
        topic_data: vec![produce_request::TopicProduceData {
            name: "bench".into(),
            partition_data: vec![produce_request::PartitionProduceData {
                index: 0,
                records: Some(records),
            }],
        }],
        ..Default::default()
    };
    let mut buf = BytesMut::new();
    encode_request(&mut buf, &header, &body.into()).unwrap();
    buf.freeze().slice(4..)
}

fn fetch_frame(records: Bytes) -> Bytes {
    let body = FetchResponse {
        responses: vec![fetch_response::FetchableTopicResponse {
            topic_id: 7u128.into(),
            partitions: vec![fetch_response::PartitionData {
                high_watermark: 1_000_000,
                records: Some(records),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut buf = BytesMut::new();
    encode_response(&mut buf, 1, 16, &body.into()).unwrap();
    buf.freeze().slice(4..)
}

fn points_into(slice: &Bytes, frame: &Bytes) -> bool {
    let start = frame.as_ptr() as usize;
    (start..start + frame.len()).contains(&(slice.as_ptr() as usize))
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for &(size, label) in SIZES {
        let records = Bytes::from(vec![0x5a; size]);
        group.throughput(Throughput::Bytes(size as u64));

        let frame = produce_frame(records.clone());
        let (_, RequestKind::Produce(request)) = decode_request(frame.clone()).unwrap() else {
            unreachable!()
        };
        assert!(points_into(
            request.topic_data[0].partition_data[0]
                .records
                .as_ref()
                .unwrap(),
            &frame
        ));
        group.bench_with_input(
            BenchmarkId::new("produce_request_v11", label),
            &frame,
            |b, frame| b.iter(|| black_box(decode_request(frame.clone()).unwrap())),
        );

        let frame = fetch_frame(records);
        let (_, ResponseKind::Fetch(response)) =
            decode_response(ApiKey::Fetch, 16, frame.clone()).unwrap()
        else {
            unreachable!()
        };
        assert!(points_into(
            response.responses[0].partitions[0]
                .records
                .as_ref()
                .unwrap(),
            &frame
        ));
        group.bench_with_input(
            BenchmarkId::new("fetch_response_v16", label),
            &frame,
            |b, frame| {
                b.iter(|| black_box(decode_response(ApiKey::Fetch, 16, frame.clone()).unwrap()))
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
