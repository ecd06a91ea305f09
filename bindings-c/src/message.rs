//! `tl_message_t` (a consumed record, an error event, or a delivery report),
//! `tl_headers_t` (record headers) and `tl_partition_list_t` (topic partitions with
//! offsets), with their accessors.

use crate::error::{catch, status, value_or, Failure};
use crate::{handle, payload, text, tl_resp_err_t, Opaque};
use bytes::Bytes;
use std::ffi::{c_char, c_void, CStr, CString};
use std::sync::Arc;
use tidelog::client::consumer::{ConsumerRecord, TopicPartition};
use tidelog::client::producer::HeaderRef;

// librdkafka's offset sentinels, for tl_assign, tl_seek and partition lists.

/// The partition's first offset.
pub const TL_OFFSET_BEGINNING: i64 = -2;
/// The partition's end: only records produced from now on.
pub const TL_OFFSET_END: i64 = -1;
/// The group's committed offset (else `auto.offset.reset`).
pub const TL_OFFSET_STORED: i64 = -1000;
/// No offset.
pub const TL_OFFSET_INVALID: i64 = -1001;

/// A C string from text that may hold a NUL (a topic or header name from the wire):
/// cut at the first NUL.
pub(crate) fn c_string(text: impl Into<Vec<u8>>) -> CString {
    let mut bytes = text.into();
    if let Some(nul) = bytes.iter().position(|b| *b == 0) {
        bytes.truncate(nul);
    }
    CString::new(bytes).expect("cut at the first NUL")
}

/// Record headers in order: keys may repeat, values may be null.
#[derive(Default)]
pub struct tl_headers_t {
    entries: Vec<(CString, Option<Bytes>)>,
}

impl tl_headers_t {
    /// The headers as a borrowed record carries them.
    pub(crate) fn to_refs(&self) -> Vec<HeaderRef<'_>> {
        (self.entries.iter())
            // Names were UTF-8 when added (tl_headers_add checks).
            .map(|(name, value)| (name.to_str().unwrap_or_default(), value.as_deref()))
            .collect()
    }

    fn from_record(headers: Vec<(String, Option<Bytes>)>) -> tl_headers_t {
        tl_headers_t {
            entries: headers
                .into_iter()
                .map(|(name, value)| (c_string(name), value))
                .collect(),
        }
    }
}

/// A new, empty header list for tl_produce.
///
/// Returns a handle owned by the caller: free it with tl_headers_destroy (tl_produce
/// copies it). NULL only if a panic was caught. Thread-safe; the list is not.
#[no_mangle]
pub extern "C" fn tl_headers_new() -> *mut tl_headers_t {
    value_or(
        catch(|| Ok(Box::into_raw(Box::default()))),
        std::ptr::null_mut(),
    )
}

/// Appends a header `name` with `size` bytes at `value` (copied; NULL: a null value).
///
/// Errors: TL_RESP_ERR__INVALID_ARG for a NULL `headers` or `name`, or a name that is not
/// UTF-8. Not thread-safe for the same list.
#[no_mangle]
pub unsafe extern "C" fn tl_headers_add(
    headers: *mut tl_headers_t,
    name: *const c_char,
    value: *const c_void,
    size: usize,
) -> tl_resp_err_t {
    status(catch(|| {
        let headers = headers.as_mut().ok_or_else(|| Failure::null("headers"))?;
        let name = c_string(text(name, "name")?);
        headers.entries.push((name, payload(value, size)));
        Ok(())
    }))
}

/// The number of headers; 0 for NULL. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_headers_count(headers: *const tl_headers_t) -> usize {
    headers.as_ref().map_or(0, |h| h.entries.len())
}

/// The header at `index` (0-based, in record order): its name in `*name`, its value in
/// `*value` and `*size` (NULL and 0 for a null value). Output pointers may be NULL.
///
/// The strings and bytes belong to `headers` and live as long as it does: do not free
/// them. Errors: TL_RESP_ERR__INVALID_ARG for a NULL `headers` or an index out of range.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_headers_get(
    headers: *const tl_headers_t,
    index: usize,
    name: *mut *const c_char,
    value: *mut *const c_void,
    size: *mut usize,
) -> tl_resp_err_t {
    status(catch(|| {
        let headers = handle(headers, "headers")?;
        let (key, data) = crate::at(&headers.entries, index, "header")?;
        if !name.is_null() {
            *name = key.as_ptr();
        }
        write_bytes(data.as_ref(), value, size);
        Ok(())
    }))
}

/// Frees a header list made by tl_headers_new; NULL is ignored. Never pass one returned
/// by tl_message_headers (the message owns it).
#[no_mangle]
pub unsafe extern "C" fn tl_headers_destroy(headers: *mut tl_headers_t) {
    crate::destroy(headers);
}

/// Writes `data` as a (pointer, size) pair into outputs that may be NULL.
unsafe fn write_bytes(data: Option<&Bytes>, pointer: *mut *const c_void, size: *mut usize) {
    if !pointer.is_null() {
        *pointer = data.map_or(std::ptr::null(), |d| d.as_ptr().cast());
    }
    if !size.is_null() {
        *size = data.map_or(0, |d| d.len());
    }
}

/// A consumed record, a consumer error event (`tl_message_err` set, no record), or a
/// producer's delivery report.
pub struct tl_message_t {
    /// Shared by the delivery reports of one batch.
    pub(crate) topic: Option<Arc<CStr>>,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) timestamp_ms: i64,
    pub(crate) key: Option<Bytes>,
    pub(crate) value: Option<Bytes>,
    pub(crate) headers: Option<tl_headers_t>,
    pub(crate) err: tl_resp_err_t,
    pub(crate) errstr: Option<CString>,
    pub(crate) opaque: Opaque,
}

impl tl_message_t {
    /// A consumed record.
    pub(crate) fn consumed(record: ConsumerRecord) -> tl_message_t {
        tl_message_t {
            topic: Some(c_string(record.topic).into()),
            partition: record.partition,
            offset: record.offset,
            timestamp_ms: record.timestamp_ms,
            key: record.key,
            value: record.value,
            headers: (!record.headers.is_empty())
                .then(|| tl_headers_t::from_record(record.headers)),
            err: tl_resp_err_t::TL_RESP_ERR_NONE,
            errstr: None,
            opaque: Opaque(std::ptr::null_mut()),
        }
    }

    /// An error event or a failed delivery: `failure`'s code and message.
    pub(crate) fn failed(failure: Failure) -> tl_message_t {
        tl_message_t {
            topic: None,
            partition: -1,
            offset: -1,
            timestamp_ms: -1,
            key: None,
            value: None,
            headers: None,
            err: failure.code,
            errstr: Some(c_string(failure.message)),
            opaque: Opaque(std::ptr::null_mut()),
        }
    }
}

/// The record's topic; NULL for an error event without one or a NULL message.
/// Owned by the message (valid until tl_message_destroy, or the end of the delivery
/// callback). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_message_topic(message: *const tl_message_t) -> *const c_char {
    message
        .as_ref()
        .and_then(|m| m.topic.as_ref())
        .map_or(std::ptr::null(), |t| t.as_ptr())
}

/// The record's partition; -1 when unknown or for a NULL message. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_message_partition(message: *const tl_message_t) -> i32 {
    message.as_ref().map_or(-1, |m| m.partition)
}

/// The record's offset; -1 when unknown (a failed delivery, acks=0) or for a NULL
/// message. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_message_offset(message: *const tl_message_t) -> i64 {
    message.as_ref().map_or(-1, |m| m.offset)
}

/// The record's timestamp in ms since the Unix epoch (CreateTime, or LogAppendTime as the
/// topic says); -1 when unknown or for a NULL message. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_message_timestamp(message: *const tl_message_t) -> i64 {
    message.as_ref().map_or(-1, |m| m.timestamp_ms)
}

/// The record's key: returns a pointer to its bytes and writes their count to `*size`
/// (if `size` is not NULL); NULL (and 0) for a null key or a NULL message.
/// The bytes are owned by the message (valid until tl_message_destroy, or the end of the
/// delivery callback). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_message_key(
    message: *const tl_message_t,
    size: *mut usize,
) -> *const c_void {
    let mut pointer = std::ptr::null();
    write_bytes(
        message.as_ref().and_then(|m| m.key.as_ref()),
        &mut pointer,
        size,
    );
    pointer
}

/// The record's value, as tl_message_key gives the key. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_message_value(
    message: *const tl_message_t,
    size: *mut usize,
) -> *const c_void {
    let mut pointer = std::ptr::null();
    write_bytes(
        message.as_ref().and_then(|m| m.value.as_ref()),
        &mut pointer,
        size,
    );
    pointer
}

/// The record's headers (read them with tl_headers_count and tl_headers_get); NULL when
/// it has none, for delivery reports, and for a NULL message.
/// Owned by the message: never pass it to tl_headers_destroy. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_message_headers(message: *const tl_message_t) -> *const tl_headers_t {
    message
        .as_ref()
        .and_then(|m| m.headers.as_ref())
        .map_or(std::ptr::null(), |h| h as *const tl_headers_t)
}

/// TL_RESP_ERR_NONE for a record or a successful delivery; otherwise the error of an error
/// event or a failed delivery (TL_RESP_ERR__MSG_TIMED_OUT, TL_RESP_ERR__TRANSPORT, a
/// Kafka code, ...). TL_RESP_ERR__INVALID_ARG for a NULL message. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_message_err(message: *const tl_message_t) -> tl_resp_err_t {
    message
        .as_ref()
        .map_or(tl_resp_err_t::TL_RESP_ERR__INVALID_ARG, |m| m.err)
}

/// The error's message (NULL when tl_message_err is TL_RESP_ERR_NONE, or for a NULL
/// message). Owned by the message. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_message_errstr(message: *const tl_message_t) -> *const c_char {
    message
        .as_ref()
        .and_then(|m| m.errstr.as_ref())
        .map_or(std::ptr::null(), |e| e.as_ptr())
}

/// The `opaque` given to tl_produce for this record (delivery reports); NULL otherwise.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_message_opaque(message: *const tl_message_t) -> *mut c_void {
    message
        .as_ref()
        .map_or(std::ptr::null_mut(), |m| m.opaque.0)
}

/// Frees a message returned by tl_consumer_poll; NULL is ignored. Never pass the message
/// of a delivery callback (the library owns it). Any thread, once.
#[no_mangle]
pub unsafe extern "C" fn tl_message_destroy(message: *mut tl_message_t) {
    crate::destroy(message);
}

/// One entry of a partition list.
pub(crate) struct PartitionEntry {
    pub topic: CString,
    pub partition: i32,
    pub offset: i64,
    pub err: tl_resp_err_t,
}

/// Topic partitions with an offset and an error each, in order.
#[derive(Default)]
pub struct tl_partition_list_t {
    pub(crate) entries: Vec<PartitionEntry>,
}

impl tl_partition_list_t {
    /// The core's (topic, partition) pairs.
    pub(crate) fn partitions(&self) -> Vec<TopicPartition> {
        self.entries
            .iter()
            .map(|e| (e.topic.to_string_lossy().into_owned(), e.partition))
            .collect()
    }

    /// The core's ((topic, partition), offset) pairs.
    pub(crate) fn offsets(&self) -> Vec<(TopicPartition, i64)> {
        self.entries
            .iter()
            .map(|e| {
                (
                    (e.topic.to_string_lossy().into_owned(), e.partition),
                    e.offset,
                )
            })
            .collect()
    }

    /// A list of `partitions` at `offset`.
    pub(crate) fn of(
        partitions: impl IntoIterator<Item = (TopicPartition, i64)>,
    ) -> tl_partition_list_t {
        tl_partition_list_t {
            entries: partitions
                .into_iter()
                .map(|((topic, partition), offset)| PartitionEntry {
                    topic: c_string(topic),
                    partition,
                    offset,
                    err: tl_resp_err_t::TL_RESP_ERR_NONE,
                })
                .collect(),
        }
    }
}

/// A new, empty partition list.
///
/// Returns a handle owned by the caller: free it with tl_partition_list_destroy. NULL only
/// if a panic was caught. Thread-safe; the list is not.
#[no_mangle]
pub extern "C" fn tl_partition_list_new() -> *mut tl_partition_list_t {
    value_or(
        catch(|| Ok(Box::into_raw(Box::default()))),
        std::ptr::null_mut(),
    )
}

/// Appends `topic` / `partition` at `offset` (an offset, TL_OFFSET_BEGINNING,
/// TL_OFFSET_END, TL_OFFSET_STORED or TL_OFFSET_INVALID, as the call it is for takes).
///
/// Errors: TL_RESP_ERR__INVALID_ARG for a NULL list or topic, or a negative partition.
/// Not thread-safe for the same list.
#[no_mangle]
pub unsafe extern "C" fn tl_partition_list_add(
    list: *mut tl_partition_list_t,
    topic: *const c_char,
    partition: i32,
    offset: i64,
) -> tl_resp_err_t {
    status(catch(|| {
        let list = list.as_mut().ok_or_else(|| Failure::null("list"))?;
        let topic = c_string(text(topic, "topic")?);
        if partition < 0 {
            return Err(Failure::invalid(format!(
                "partition {partition} is negative"
            )));
        }
        list.entries.push(PartitionEntry {
            topic,
            partition,
            offset,
            err: tl_resp_err_t::TL_RESP_ERR_NONE,
        });
        Ok(())
    }))
}

/// The number of entries; 0 for NULL. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_partition_list_count(list: *const tl_partition_list_t) -> usize {
    list.as_ref().map_or(0, |l| l.entries.len())
}

/// The entry at `index`: its topic, partition, offset and error (set by calls that report
/// per partition, such as tl_admin_list_offsets). Output pointers may be NULL.
///
/// The topic string belongs to the list. Errors: TL_RESP_ERR__INVALID_ARG for a NULL list
/// or an index out of range. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_partition_list_get(
    list: *const tl_partition_list_t,
    index: usize,
    topic: *mut *const c_char,
    partition: *mut i32,
    offset: *mut i64,
    err: *mut tl_resp_err_t,
) -> tl_resp_err_t {
    status(catch(|| {
        let list = handle(list, "list")?;
        let entry = crate::at(&list.entries, index, "partition")?;
        if !topic.is_null() {
            *topic = entry.topic.as_ptr();
        }
        if !partition.is_null() {
            *partition = entry.partition;
        }
        if !offset.is_null() {
            *offset = entry.offset;
        }
        if !err.is_null() {
            *err = entry.err;
        }
        Ok(())
    }))
}

/// Frees a list made by tl_partition_list_new; NULL is ignored. Never pass the list of a
/// rebalance callback (the library owns it).
#[no_mangle]
pub unsafe extern "C" fn tl_partition_list_destroy(list: *mut tl_partition_list_t) {
    crate::destroy(list);
}
