//! Fuzzes request and response decoding; the property is in
//! `core/tests/support/decode_check.rs`, which `cargo test` also runs over the corpus.

#![no_main]

#[path = "../../tests/support/decode_check.rs"]
mod decode_check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| decode_check::check_decode(data));
