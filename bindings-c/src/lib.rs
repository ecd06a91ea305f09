//! `libtidelog`: the C face of tidelog's Rust clients and embedded broker, in the style of
//! librdkafka (opaque handles, `key=value` string config, error codes plus a message in a
//! caller's buffer). It converts types and errors and bridges blocking calls to tidelog's
//! runtime; the behaviour lives in the `tidelog` crate. `include/tidelog.h` is generated
//! from this crate by cbindgen (`tests/header.rs` checks it is current).
//!
//! Every exported function catches panics (they become `TL_RESP_ERR__FAIL`) and treats a
//! NULL handle or string as `TL_RESP_ERR__INVALID_ARG`.

#![allow(non_camel_case_types)]
// Exported functions check their pointers for NULL; the caller vouches for the rest, as
// the header says.
#![allow(clippy::missing_safety_doc)]

mod admin;
mod broker;
mod conf;
mod consumer;
mod error;
mod error_codes;
mod message;
mod producer;

use std::ffi::{c_char, c_int, CStr};
use std::time::Duration;

pub use error_codes::tl_resp_err_t;
pub use message::{TL_OFFSET_BEGINNING, TL_OFFSET_END, TL_OFFSET_INVALID, TL_OFFSET_STORED};

/// `partition` for "let the partitioner choose" (librdkafka's `RD_KAFKA_PARTITION_UA`).
pub const TL_PARTITION_UA: i32 = -1;

/// Kafka's "wait forever" for a negative `timeout_ms`.
const FOREVER: Duration = Duration::from_secs(365 * 24 * 3600);

/// A C timeout in ms (negative: no limit) as a duration.
fn timeout(timeout_ms: c_int) -> Duration {
    u64::try_from(timeout_ms).map_or(FOREVER, Duration::from_millis)
}

/// A NUL-terminated UTF-8 argument as `&str`.
///
/// # Safety
/// `text` is NULL or points to a NUL-terminated string that outlives `'a`.
unsafe fn text<'a>(text: *const c_char, what: &str) -> Result<&'a str, error::Failure> {
    if text.is_null() {
        return Err(error::Failure::null(what));
    }
    CStr::from_ptr(text)
        .to_str()
        .map_err(|_| error::Failure::invalid(format!("`{what}` is not valid UTF-8")))
}

/// A `(pointer, length)` byte argument, borrowed; NULL is a null key or value (distinct
/// from empty).
///
/// # Safety
/// `data` is NULL or points to `len` readable bytes that outlive `'a`.
unsafe fn borrowed<'a>(data: *const std::ffi::c_void, len: usize) -> Option<&'a [u8]> {
    if data.is_null() {
        return None;
    }
    Some(std::slice::from_raw_parts(data.cast::<u8>(), len))
}

/// A `(pointer, length)` byte argument, copied; NULL is null.
///
/// # Safety
/// As [`borrowed`].
unsafe fn payload(data: *const std::ffi::c_void, len: usize) -> Option<bytes::Bytes> {
    borrowed(data, len).map(bytes::Bytes::copy_from_slice)
}

/// A handle argument as a reference.
///
/// # Safety
/// `handle` is NULL or points to a live `T` made by this library.
unsafe fn handle<'a, T>(handle: *const T, what: &str) -> Result<&'a T, error::Failure> {
    handle.as_ref().ok_or_else(|| error::Failure::null(what))
}

/// The application's `opaque` pointer, carried to its callbacks on other threads. The
/// library never dereferences it.
#[derive(Clone, Copy)]
struct Opaque(*mut std::ffi::c_void);

// SAFETY: only handed back to the application, which owns what it points to.
unsafe impl Send for Opaque {}
unsafe impl Sync for Opaque {}

/// Frees a handle made with `Box::into_raw`; NULL is ignored.
///
/// # Safety
/// `handle` is NULL or a live handle of this type that is not used afterwards.
unsafe fn destroy<T>(handle: *mut T) {
    if !handle.is_null() {
        let _ = error::catch(|| {
            drop(Box::from_raw(handle));
            Ok(())
        });
    }
}

/// The entry at `index` of a list, or an error naming the index (`what`: the entry kind).
fn at<'a, T>(entries: &'a [T], index: usize, what: &str) -> Result<&'a T, error::Failure> {
    entries.get(index).ok_or_else(|| {
        error::Failure::invalid(format!(
            "{what} index {index} out of range ({} entries)",
            entries.len()
        ))
    })
}

/// A `key=value` setting from C strings, checked by `check` (the core's parsing for the
/// kind of config it is for).
///
/// # Safety
/// `key` and `value` are NULL or NUL-terminated strings.
unsafe fn setting<E: std::fmt::Display>(
    key: *const c_char,
    value: *const c_char,
    check: impl FnOnce(&str, &str) -> Result<(), E>,
) -> Result<(String, String), error::Failure> {
    let key = text(key, "key")?;
    let value = text(value, "value")?;
    check(key, value).map_err(|e| error::Failure::invalid(e.to_string()))?;
    Ok((key.to_string(), value.to_string()))
}
