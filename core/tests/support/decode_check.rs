//! The property the request fuzzer checks, shared with `cargo test` so that every input
//! in the regression corpus is checked the same way (the fuzz target includes this file).
//!
//! Input layout: the whole input is first tried as a request frame (header then body);
//! then its first three bytes pick an API key, a version and a direction (request or
//! response) and the rest is decoded as that body. Decoding must never panic, and
//! whatever decodes must re-encode, and decode and re-encode again to the same bytes.

use bytes::{Bytes, BytesMut};
use tidelog::protocol::codec::EncodeError;
use tidelog::protocol::frame::decode_request;
use tidelog::protocol::messages::{ApiKey, RequestKind, ResponseKind};

pub fn check_decode(data: &[u8]) {
    let _ = decode_request(Bytes::copy_from_slice(data));

    let [key_selector, version_selector, direction, body @ ..] = data else {
        return;
    };
    let api_key = ApiKey::ALL[*key_selector as usize % ApiKey::ALL.len()];
    let range = api_key.versions();
    let version = range.min + (*version_selector as i16 % (range.max - range.min + 1));
    let mut input = Bytes::copy_from_slice(body);
    // Compared as bytes, not values: a float64 field may hold NaN.
    if direction & 1 == 0 {
        if let Ok(request) = RequestKind::decode(api_key, version, &mut input) {
            let first = encode(|buf| request.encode(buf, version));
            let again = RequestKind::decode(api_key, version, &mut first.clone())
                .expect("re-encoded request decodes");
            assert_eq!(encode(|buf| again.encode(buf, version)), first);
        }
    } else if let Ok(response) = ResponseKind::decode(api_key, version, &mut input) {
        let first = encode(|buf| response.encode(buf, version));
        let again = ResponseKind::decode(api_key, version, &mut first.clone())
            .expect("re-encoded response decodes");
        assert_eq!(encode(|buf| again.encode(buf, version)), first);
    }
}

fn encode(write: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>) -> Bytes {
    let mut buf = BytesMut::new();
    write(&mut buf).expect("a decoded message re-encodes");
    buf.freeze()
}
