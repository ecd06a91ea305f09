//! Request and response framing: the 4-byte size prefix, the request and response
//! headers, and which header version goes with which API version.
//!
//! Rules (Kafka protocol guide, "Headers"; KIP-482; KIP-511):
//! - a request uses header v2 in the API's flexible versions and v1 otherwise, except
//!   ControlledShutdown v0, which uses header v0;
//! - a response uses header v1 in flexible versions and v0 otherwise, except ApiVersions,
//!   whose response header is always v0 so that a client can read the error and the
//!   broker's supported range whatever version it asked for.
//!
//! Frames are `i32` size followed by that many bytes; the decoders here take the bytes
//! after the size.

use super::codec::{self, Decodable, DecodeError, Encodable, EncodeError};
use super::messages::{ApiKey, RequestHeader, RequestKind, Response, ResponseHeader, ResponseKind};
use bytes::{BufMut, Bytes, BytesMut};

/// Whether `version` of `api_key` uses flexible encodings. Versions above the highest
/// known one count as flexible when the API's flexible range is open-ended, as in Kafka.
pub fn is_flexible(api_key: ApiKey, version: i16) -> bool {
    api_key
        .flexible_versions()
        .is_some_and(|range| range.contains(version))
}

/// The request header version for `version` of `api_key`.
pub fn request_header_version(api_key: ApiKey, version: i16) -> i16 {
    match (api_key, version) {
        (ApiKey::ControlledShutdown, 0) => 0,
        _ if is_flexible(api_key, version) => 2,
        _ => 1,
    }
}

/// The response header version for `version` of `api_key`.
pub fn response_header_version(api_key: ApiKey, version: i16) -> i16 {
    match api_key {
        ApiKey::ApiVersions => 0,
        _ if is_flexible(api_key, version) => 1,
        _ => 0,
    }
}

/// Why a request frame could not be read. A broker answers [`FrameError::Body`] for a
/// known API with an error response, and closes the connection on the others (it cannot
/// trust a correlation id it could not read).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameError {
    /// The frame is shorter than the API key and version.
    #[error("request frame too short for a header")]
    TooShort,
    /// The API key is not one the codec knows.
    #[error("unknown API key {0}")]
    UnknownApiKey(i16),
    /// The request header is malformed.
    #[error("malformed request header: {0}")]
    Header(DecodeError),
    /// The header was read but the body was not.
    #[error("malformed {api_key:?} v{version} request body: {error}")]
    Body {
        header: Box<RequestHeader>,
        api_key: ApiKey,
        version: i16,
        error: DecodeError,
    },
}

/// Reads the API key and version from the first four bytes of a request frame without
/// consuming it.
///
/// # Errors
/// [`FrameError::TooShort`] for fewer than four bytes.
pub fn peek_api(frame: &[u8]) -> Result<(i16, i16), FrameError> {
    match frame {
        [k0, k1, v0, v1, ..] => Ok((
            i16::from_be_bytes([*k0, *k1]),
            i16::from_be_bytes([*v0, *v1]),
        )),
        _ => Err(FrameError::TooShort),
    }
}

/// Decodes the request header from the front of `frame`, leaving the body.
///
/// # Errors
/// [`FrameError::TooShort`], [`FrameError::UnknownApiKey`] or [`FrameError::Header`].
pub fn decode_request_header(frame: &mut Bytes) -> Result<(ApiKey, RequestHeader), FrameError> {
    let (key, version) = peek_api(frame)?;
    let api_key = ApiKey::from_i16(key).ok_or(FrameError::UnknownApiKey(key))?;
    let header = RequestHeader::decode(frame, request_header_version(api_key, version))
        .map_err(FrameError::Header)?;
    Ok((api_key, header))
}

/// Decodes a whole request frame (the bytes after the size prefix). `records` fields of
/// the body are zero-copy slices of `frame`.
///
/// # Errors
/// [`FrameError`]; a version outside the schema's range is a [`FrameError::Body`] with
/// [`DecodeError::UnsupportedVersion`].
pub fn decode_request(mut frame: Bytes) -> Result<(RequestHeader, RequestKind), FrameError> {
    let (api_key, header) = decode_request_header(&mut frame)?;
    let version = header.request_api_version;
    match RequestKind::decode(api_key, version, &mut frame) {
        Ok(body) => Ok((header, body)),
        Err(error) => Err(FrameError::Body {
            header: Box::new(header),
            api_key,
            version,
            error,
        }),
    }
}

/// Writes a size-prefixed frame whose payload `write` appends to `buf`.
fn write_frame(
    buf: &mut BytesMut,
    write: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let start = buf.len();
    buf.put_i32(0);
    if let Err(error) = write(buf) {
        buf.truncate(start);
        return Err(error);
    }
    let size = buf.len() - start - 4;
    let size = i32::try_from(size).map_err(|_| EncodeError::TooLong {
        field: "frame",
        length: size,
    })?;
    buf[start..start + 4].copy_from_slice(&size.to_be_bytes());
    Ok(())
}

/// Appends a size-prefixed request frame: `header` (whose API key and version must
/// match `body`) then the body at `header.request_api_version`.
///
/// # Errors
/// [`EncodeError`] if the body cannot be expressed at that version; `buf` is left as it was.
pub fn encode_request(
    buf: &mut BytesMut,
    header: &RequestHeader,
    body: &RequestKind,
) -> Result<(), EncodeError> {
    let api_key = body.api_key();
    debug_assert_eq!(header.request_api_key, api_key as i16);
    let version = header.request_api_version;
    write_frame(buf, |buf| {
        header.encode(buf, request_header_version(api_key, version))?;
        body.encode(buf, version)
    })
}

/// Appends a size-prefixed response frame for a request with `correlation_id` made at
/// `version`.
///
/// # Errors
/// [`EncodeError`] if the body cannot be expressed at that version; `buf` is left as it was.
pub fn encode_response(
    buf: &mut BytesMut,
    correlation_id: i32,
    version: i16,
    body: &ResponseKind,
) -> Result<(), EncodeError> {
    let header = ResponseHeader { correlation_id };
    write_frame(buf, |buf| {
        header.encode(buf, response_header_version(body.api_key(), version))?;
        body.encode(buf, version)
    })
}

/// Decodes a response frame (the bytes after the size prefix) to a request of
/// `api_key` made at `version`.
///
/// # Errors
/// [`DecodeError`] on malformed input.
pub fn decode_response(
    api_key: ApiKey,
    version: i16,
    mut frame: Bytes,
) -> Result<(ResponseHeader, ResponseKind), DecodeError> {
    let header = ResponseHeader::decode(&mut frame, response_header_version(api_key, version))?;
    Ok((header, ResponseKind::decode(api_key, version, &mut frame)?))
}

/// Decodes a response frame into the response type `R` directly.
///
/// # Errors
/// [`DecodeError`] on malformed input.
pub fn decode_response_as<R: Response>(
    version: i16,
    mut frame: Bytes,
) -> Result<(ResponseHeader, R), DecodeError> {
    let header = ResponseHeader::decode(&mut frame, response_header_version(R::API_KEY, version))?;
    Ok((header, R::decode(&mut frame, version)?))
}

/// Reads the correlation id at the front of a response frame, which every response
/// header version starts with.
pub fn peek_correlation_id(frame: &Bytes) -> Result<i32, DecodeError> {
    codec::get_i32(&mut frame.slice(..frame.len().min(4)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::messages::*;

    fn header(api_key: ApiKey, version: i16) -> RequestHeader {
        RequestHeader {
            request_api_key: api_key as i16,
            request_api_version: version,
            correlation_id: 7,
            client_id: Some("tidelog-test".into()),
        }
    }

    #[test]
    fn header_versions_follow_kafka_rules() {
        assert_eq!(request_header_version(ApiKey::Produce, 8), 1);
        assert_eq!(request_header_version(ApiKey::Produce, 9), 2);
        assert_eq!(request_header_version(ApiKey::ControlledShutdown, 0), 0);
        assert_eq!(request_header_version(ApiKey::ApiVersions, 3), 2);
        // A version newer than we know is still read with the flexible header (KIP-511).
        assert_eq!(request_header_version(ApiKey::ApiVersions, 99), 2);
        assert_eq!(response_header_version(ApiKey::ApiVersions, 4), 0);
        assert_eq!(response_header_version(ApiKey::Fetch, 12), 1);
        assert_eq!(response_header_version(ApiKey::Fetch, 11), 0);
    }

    #[test]
    fn request_frame_round_trips_with_zero_copy_records() {
        let records = Bytes::from(vec![0xab; 4096]);
        let body = ProduceRequest {
            acks: -1,
            timeout_ms: 30_000,
            topic_data: vec![produce_request::TopicProduceData {
                name: "events".into(),
                partition_data: vec![produce_request::PartitionProduceData {
                    index: 3,
                    records: Some(records.clone()),
                }],
            }],
            ..Default::default()
        };
        for version in [3, 8, 9, 11] {
            let mut buf = BytesMut::new();
            encode_request(
                &mut buf,
                &header(ApiKey::Produce, version),
                &body.clone().into(),
            )
            .unwrap();
            let frame = buf.freeze();
            let size = i32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
            assert_eq!(size, frame.len() - 4);
            let payload = frame.slice(4..);
            let (decoded_header, decoded) = decode_request(payload.clone()).unwrap();
            assert_eq!(decoded_header, header(ApiKey::Produce, version));
            let RequestKind::Produce(decoded) = decoded else {
                panic!("wrong kind")
            };
            assert_eq!(decoded, body);
            // The records are a view into the frame, not a copy.
            let got = decoded.topic_data[0].partition_data[0]
                .records
                .as_ref()
                .unwrap();
            let frame_range = payload.as_ptr() as usize..payload.as_ptr() as usize + payload.len();
            assert!(frame_range.contains(&(got.as_ptr() as usize)));
        }
    }

    #[test]
    fn api_versions_response_header_is_always_v0() {
        let body = ResponseKind::from(ApiVersionsResponse {
            error_code: 35,
            ..Default::default()
        });
        let mut buf = BytesMut::new();
        encode_response(&mut buf, 42, 3, &body).unwrap();
        // size, correlation id, then straight into the body: error_code (no tagged fields).
        assert_eq!(&buf[4..8], &42i32.to_be_bytes());
        assert_eq!(&buf[8..10], &35i16.to_be_bytes());
        let (header, decoded) =
            decode_response(ApiKey::ApiVersions, 3, buf.freeze().slice(4..)).unwrap();
        assert_eq!(header.correlation_id, 42);
        assert_eq!(decoded, body);
    }

    #[test]
    fn bad_frames_are_errors() {
        assert_eq!(
            decode_request(Bytes::from_static(&[0, 1])),
            Err(FrameError::TooShort)
        );
        assert_eq!(
            decode_request(Bytes::from_static(&[0x7f, 0, 0, 0])),
            Err(FrameError::UnknownApiKey(0x7f00))
        );
        // MetadataRequest v1 whose topics array claims 0x7fffffff entries.
        let mut buf = BytesMut::new();
        header(ApiKey::Metadata, 1).encode(&mut buf, 1).unwrap();
        buf.put_slice(&[0x7f, 0xff, 0xff, 0xff]);
        assert!(matches!(
            decode_request(buf.freeze()),
            Err(FrameError::Body {
                error: DecodeError::InvalidLength { .. },
                ..
            })
        ));
        // An unknown version of a known API is a body error carrying the header.
        let mut buf = BytesMut::new();
        header(ApiKey::Produce, 99).encode(&mut buf, 2).unwrap();
        match decode_request(buf.freeze()) {
            Err(FrameError::Body {
                header,
                error: DecodeError::UnsupportedVersion { .. },
                ..
            }) => {
                assert_eq!(header.correlation_id, 7)
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
