//! Regression corpus for the request decoders: truncated, oversized and hostile frames
//! (hand-made ones below, and inputs kept from fuzzing in `tests/corpus/decode_request/`).
//! None may panic; the ones that decode must re-encode consistently.

#[path = "support/decode_check.rs"]
mod decode_check;

use bytes::{BufMut, Bytes, BytesMut};
use decode_check::check_decode;
use tidelog::protocol::codec::{DecodeError, Encodable};
use tidelog::protocol::frame::{decode_request, FrameError};
use tidelog::protocol::messages::{ApiKey, RequestHeader};

fn header(api_key: ApiKey, version: i16) -> BytesMut {
    let mut buf = BytesMut::new();
    let header = RequestHeader {
        request_api_key: api_key as i16,
        request_api_version: version,
        correlation_id: 1,
        client_id: Some("hostile".into()),
    };
    let header_version = tidelog::protocol::frame::request_header_version(api_key, version);
    header.encode(&mut buf, header_version).unwrap();
    buf
}

#[test]
fn corpus_inputs_never_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/decode_request");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        check_decode(&data);
        count += 1;
    }
    assert!(count > 0, "the corpus at {} is empty", dir.display());
}

#[test]
fn metadata_v1_with_a_huge_topic_count_is_an_error() {
    // The 4-byte MetadataRequest v1 body `7f ff ff ff` claims 2^31-1 topics.
    let mut frame = header(ApiKey::Metadata, 1);
    frame.put_slice(&[0x7f, 0xff, 0xff, 0xff]);
    match decode_request(frame.freeze()) {
        Err(FrameError::Body {
            error: DecodeError::InvalidLength { length, .. },
            ..
        }) => assert_eq!(length, 0x7fff_ffff),
        other => panic!("expected an invalid length, got {other:?}"),
    }
}

#[test]
fn oversized_lengths_of_every_kind_are_errors() {
    // Produce v3 with a transactional id longer than the frame.
    let mut frame = header(ApiKey::Produce, 3);
    frame.put_i16(i16::MAX);
    assert!(matches!(
        decode_request(frame.freeze()),
        Err(FrameError::Body {
            error: DecodeError::InvalidLength { .. },
            ..
        })
    ));
    // Produce v9 (flexible): compact string length as a 5-byte varint of u32::MAX.
    let mut frame = header(ApiKey::Produce, 9);
    frame.put_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert!(matches!(
        decode_request(frame.freeze()),
        Err(FrameError::Body {
            error: DecodeError::InvalidLength { .. },
            ..
        })
    ));
    // A varint that never ends.
    let mut frame = header(ApiKey::Produce, 9);
    frame.put_slice(&[0xff; 16]);
    assert!(matches!(
        decode_request(frame.freeze()),
        Err(FrameError::Body {
            error: DecodeError::VarintTooLong { .. },
            ..
        })
    ));
    // Negative lengths other than -1.
    let mut frame = header(ApiKey::Metadata, 1);
    frame.put_i32(-2);
    assert!(matches!(
        decode_request(frame.freeze()),
        Err(FrameError::Body {
            error: DecodeError::InvalidLength { .. },
            ..
        })
    ));
    // A tagged field whose size runs past the end.
    let mut frame = header(ApiKey::ApiVersions, 3);
    frame.put_slice(&[0x01, b'x', 0x01, b'1']); // client software name and version
    frame.put_slice(&[0x01, 0x00, 0x7f]); // one tagged field, tag 0, size 127
    assert!(matches!(
        decode_request(frame.freeze()),
        Err(FrameError::Body {
            error: DecodeError::InvalidLength { .. },
            ..
        })
    ));
}

#[test]
fn headers_that_are_too_short_or_unknown_are_errors() {
    for frame in [&[][..], &[0][..], &[0, 0, 0][..]] {
        assert_eq!(
            decode_request(Bytes::copy_from_slice(frame)),
            Err(FrameError::TooShort)
        );
    }
    assert_eq!(
        decode_request(Bytes::from_static(&[0x40, 0, 0, 0])),
        Err(FrameError::UnknownApiKey(0x4000))
    );
    assert_eq!(
        decode_request(Bytes::from_static(&[0xff, 0xff, 0, 0])),
        Err(FrameError::UnknownApiKey(-1))
    );
    // Known key, header cut inside the client id.
    assert!(matches!(
        decode_request(Bytes::from_static(&[0, 3, 0, 1, 0, 0, 0, 1, 0, 9, b'a'])),
        Err(FrameError::Header(DecodeError::InvalidLength { .. }))
    ));
}

#[test]
fn every_truncation_of_a_real_request_is_an_error() {
    // A Produce v9 request with a topic, a partition and records, cut at every byte.
    let mut frame = header(ApiKey::Produce, 9);
    frame.put_slice(&[0x00]); // transactional id: null
    frame.put_i16(-1); // acks
    frame.put_i32(30_000); // timeout
    frame.put_slice(&[0x02, 0x04, b'a', b'b', b'c', 0x02]); // 1 topic "abc", 1 partition
    frame.put_i32(0); // partition index
    frame.put_slice(&[0x05, 1, 2, 3, 4]); // 4 bytes of records
    frame.put_slice(&[0x00, 0x00, 0x00]); // tagged fields: partition, topic, request
    let frame = frame.freeze();
    assert!(decode_request(frame.clone()).is_ok());
    for cut in 0..frame.len() {
        assert!(
            decode_request(frame.slice(..cut)).is_err(),
            "a {cut}-byte prefix decoded"
        );
    }
}
