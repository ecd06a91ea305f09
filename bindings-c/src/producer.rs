//! `tl_producer_t`, as librdkafka's producer: `tl_produce` queues a record and returns
//! at once; delivery reports are served to the conf's callback on the thread that calls
//! `tl_poll` or `tl_flush`. The reports are gathered by the core's [`DeliveryReports`].

use crate::conf::tl_conf_t;
use crate::error::{catch, status, value_or, Failure};
use crate::message::{c_string, tl_headers_t, tl_message_t};
use crate::{borrowed, handle, text, timeout, tl_resp_err_t, Opaque};
use bytes::Bytes;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tidelog::client::producer::{DeliveryReports, Producer, ProducerConfig, RecordRef};
use tidelog::client::ClientKind;

/// A delivery report callback: `report` is the record's delivery report (tl_message_err,
/// tl_message_topic, tl_message_partition, tl_message_offset, tl_message_key,
/// tl_message_value and the record's tl_message_opaque), owned by the library and valid
/// only during the call; `opaque` is the conf's.
pub type tl_delivery_cb = Option<
    unsafe extern "C" fn(
        producer: *mut tl_producer_t,
        report: *const tl_message_t,
        opaque: *mut c_void,
    ),
>;

/// What a delivery report needs besides the outcome: the record as the application gave
/// it. Small, as one is held per record until its report is served: the key and value
/// are copied only when there is a delivery callback to read them.
struct Sent {
    partition: i32,
    opaque: Opaque,
    kept: Option<Box<Kept>>,
}

/// A record's key and value, for its delivery report.
struct Kept {
    key: Option<Bytes>,
    value: Option<Bytes>,
}

/// A Kafka producer.
pub struct tl_producer_t {
    producer: Producer,
    reports: DeliveryReports<Sent>,
    callback: tl_delivery_cb,
    opaque: Opaque,
}

/// A producer configured by `conf` (its producer keys: `bootstrap.servers`, `acks`,
/// `linger.ms`, `batch.size`, `compression.type`, `enable.idempotence`, ...; keys of other
/// clients are ignored) and its delivery callback. It connects on the first record.
///
/// Returns a handle owned by the caller (free it with tl_producer_destroy), or NULL with
/// the reason in `errstr`: a missing `bootstrap.servers`, settings that contradict each
/// other, a NULL `conf`. `conf` is only read. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_producer_new(
    conf: *const tl_conf_t,
    errstr: *mut c_char,
    errstr_size: usize,
) -> *mut tl_producer_t {
    let result = catch(|| {
        let conf = handle(conf, "conf")?;
        let config = ProducerConfig::from_pairs(conf.settings(ClientKind::Producer))?;
        Ok(Box::into_raw(Box::new(tl_producer_t {
            producer: Producer::new(config)?,
            reports: DeliveryReports::new(),
            callback: conf.delivery_cb,
            opaque: conf.opaque,
        })))
    });
    crate::error::made_or_null(result, errstr, errstr_size)
}

/// Queues a record for `topic` and returns at once; its delivery report comes to the
/// delivery callback from tl_poll or tl_flush, carrying `opaque`. The record's timestamp
/// is the time of the call (tl_produce_ts sets one).
///
/// `partition` is a partition number or TL_PARTITION_UA (the partitioner chooses: murmur2
/// of the key, sticky for null keys). `key`/`key_len` and `value`/`value_len` are copied
/// (into the record batch, and for the delivery report when there is a delivery
/// callback); NULL is null. `headers` (NULL: none) is copied; the caller keeps it.
///
/// Errors: TL_RESP_ERR__QUEUE_FULL when `buffer.memory` is full (call tl_poll and retry),
/// TL_RESP_ERR_MESSAGE_TOO_LARGE for a record above `max.request.size`,
/// TL_RESP_ERR_UNKNOWN_TOPIC_OR_PARTITION for a partition the topic does not have (when
/// known), TL_RESP_ERR_INVALID_REQUEST once the producer is flushed for destruction,
/// TL_RESP_ERR__INVALID_ARG for a NULL producer or topic.
///
/// Thread-safe: any number of threads may produce at once.
#[no_mangle]
pub unsafe extern "C" fn tl_produce(
    producer: *mut tl_producer_t,
    topic: *const c_char,
    partition: i32,
    key: *const c_void,
    key_len: usize,
    value: *const c_void,
    value_len: usize,
    headers: *const tl_headers_t,
    opaque: *mut c_void,
) -> tl_resp_err_t {
    tl_produce_ts(
        producer, topic, partition, key, key_len, value, value_len, headers, -1, opaque,
    )
}

/// As tl_produce, with the record's timestamp: `timestamp_ms` in ms since the Unix epoch
/// (the CreateTime the broker stores and checks against the topic's
/// `message.timestamp.before.max.ms` / `after.max.ms`: a record outside them fails its
/// delivery with TL_RESP_ERR_INVALID_TIMESTAMP), or a negative value for the time of the
/// call.
///
/// Errors: as tl_produce. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_produce_ts(
    producer: *mut tl_producer_t,
    topic: *const c_char,
    partition: i32,
    key: *const c_void,
    key_len: usize,
    value: *const c_void,
    value_len: usize,
    headers: *const tl_headers_t,
    timestamp_ms: i64,
    opaque: *mut c_void,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = handle(producer, "producer")?;
        let topic = text(topic, "topic")?;
        if partition < crate::TL_PARTITION_UA {
            return Err(Failure::invalid(format!(
                "partition {partition} is not valid"
            )));
        }
        let key = borrowed(key, key_len);
        let value = borrowed(value, value_len);
        let headers = headers.as_ref().map(tl_headers_t::to_refs);
        let record = RecordRef {
            topic,
            partition: (partition >= 0).then_some(partition),
            key,
            value,
            headers: headers.as_deref().unwrap_or_default(),
            timestamp_ms: (timestamp_ms >= 0).then_some(timestamp_ms),
        };
        let delivery = this.producer.send_ref(&record)?;
        let kept = this.callback.map(|_| {
            Box::new(Kept {
                key: key.map(Bytes::copy_from_slice),
                value: value.map(Bytes::copy_from_slice),
            })
        });
        let sent = Sent {
            partition,
            opaque: Opaque(opaque),
            kept,
        };
        this.reports.track(delivery, sent);
        Ok(())
    }))
}

/// Serves delivery reports: waits up to `timeout_ms` (negative: no limit) for at least one
/// and calls the delivery callback for each report that is in, on this thread.
///
/// Returns how many reports it served (0 on timeout), or a negative tl_resp_err_t
/// (TL_RESP_ERR__INVALID_ARG for a NULL producer).
///
/// Thread-safe; reports go to whichever thread polls.
#[no_mangle]
pub unsafe extern "C" fn tl_poll(producer: *mut tl_producer_t, timeout_ms: c_int) -> c_int {
    let served = catch(|| {
        let this = handle(producer, "producer")?;
        Ok(serve(producer, this, timeout(timeout_ms)))
    });
    match served {
        Ok(count) => c_int::try_from(count).unwrap_or(c_int::MAX),
        Err(failure) => status(Err(failure)) as c_int,
    }
}

/// Waits up to `timeout` for delivery reports and calls the delivery callback for each
/// that is in (without a callback, only counts them). Returns how many it served.
unsafe fn serve(producer: *mut tl_producer_t, this: &tl_producer_t, timeout: Duration) -> usize {
    let Some(callback) = this.callback else {
        return this.reports.discard(timeout);
    };
    let reports = this.reports.take(timeout);
    let count = reports.len();
    // The reports of a batch share their topic: one C string for a run of them.
    let mut topic: Option<(Arc<str>, Arc<CStr>)> = None;
    for (result, sent) in reports {
        let Kept { key, value } = *sent.kept.expect("kept while there is a callback");
        let report = match result {
            Ok(metadata) => tl_message_t {
                topic: Some(match &topic {
                    Some((name, c_name)) if Arc::ptr_eq(name, &metadata.topic) => c_name.clone(),
                    _ => {
                        let c_name: Arc<CStr> = c_string(metadata.topic.as_bytes()).into();
                        topic = Some((metadata.topic.clone(), c_name.clone()));
                        c_name
                    }
                }),
                partition: metadata.partition,
                offset: metadata.offset,
                timestamp_ms: metadata.timestamp_ms,
                key,
                value,
                headers: None,
                err: tl_resp_err_t::TL_RESP_ERR_NONE,
                errstr: None,
                opaque: sent.opaque,
            },
            Err(error) => tl_message_t {
                partition: sent.partition,
                key,
                value,
                opaque: sent.opaque,
                ..tl_message_t::failed(Failure::of(&error, true))
            },
        };
        callback(producer, &report, this.opaque.0);
    }
    count
}

/// Sends everything queued now and serves delivery reports (as tl_poll) until every
/// record produced before the call is reported, or `timeout_ms` passes (negative: no
/// limit).
///
/// Errors: TL_RESP_ERR__TIMED_OUT if records are still unreported after `timeout_ms` (see
/// tl_outq_len), TL_RESP_ERR__INVALID_ARG for a NULL producer.
///
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_flush(
    producer: *mut tl_producer_t,
    timeout_ms: c_int,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = handle(producer, "producer")?;
        let flushing = this.producer.clone();
        tidelog::runtime::handle().spawn(async move { flushing.flush().await });
        let deadline = Instant::now() + timeout(timeout_ms);
        while this.reports.unserved() > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(tidelog::error::Error::Timeout {
                    operation: format!("flush: {} records unreported", this.reports.unserved()),
                    timeout_ms: u64::try_from(timeout_ms).unwrap_or(0),
                }
                .into());
            }
            serve(producer, this, left);
        }
        Ok(())
    }))
}

/// Records produced whose delivery report has not been served yet (queued, in flight, or
/// waiting for tl_poll); 0 for a NULL producer. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_outq_len(producer: *const tl_producer_t) -> usize {
    value_or(
        catch(|| Ok(handle(producer, "producer")?.reports.unserved())),
        0,
    )
}

/// Frees the producer; NULL is ignored. Records still queued are sent in the background,
/// but their delivery reports are dropped: call tl_flush first. Not concurrently with
/// other calls on the same producer.
#[no_mangle]
pub unsafe extern "C" fn tl_producer_destroy(producer: *mut tl_producer_t) {
    crate::destroy(producer);
}
