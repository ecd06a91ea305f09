//! `tl_consumer_t`, as librdkafka's consumer. The rebalance callback runs on the thread
//! that calls `tl_consumer_poll` (or a consumer call that waits), and the rebalance waits
//! for it, through the core's [`RebalanceEvents`].

use crate::conf::tl_conf_t;
use crate::error::{catch, status, value_or, Failure};
use crate::message::{tl_message_t, tl_partition_list_t, TL_OFFSET_BEGINNING};
use crate::{handle, text, timeout, tl_resp_err_t, Opaque};
use std::collections::VecDeque;
use std::ffi::{c_char, c_int, c_void};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tidelog::client::consumer::{
    Consumer, ConsumerConfig, RebalanceEvent, RebalanceEvents, TopicPartition,
};
use tidelog::client::ClientKind;

/// What a rebalance did to the partitions passed to the rebalance callback.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tl_rebalance_event_t {
    /// The partitions are now this consumer's (tl_assign may set where each starts).
    TL_REBALANCE_ASSIGNED = 1,
    /// The partitions are given up in an orderly way: commit what was processed.
    TL_REBALANCE_REVOKED = 2,
    /// The group no longer counts this consumer as their owner (its session expired or it
    /// was fenced): another member may already own them, so do not commit.
    TL_REBALANCE_LOST = 3,
}

/// A rebalance callback: `partitions` (owned by the library, valid during the call) are
/// assigned, revoked or lost as `event` says; `opaque` is the conf's. It may call the
/// consumer's functions (tl_assign to set start offsets, tl_commit, tl_seek, ...).
pub type tl_rebalance_cb = Option<
    unsafe extern "C" fn(
        consumer: *mut tl_consumer_t,
        event: tl_rebalance_event_t,
        partitions: *const tl_partition_list_t,
        opaque: *mut c_void,
    ),
>;

/// An offset commit callback: `err` is how an asynchronous commit ended
/// (TL_RESP_ERR_NONE, or the coordinator's or the request's error, as tl_commit returns
/// them), `offsets` (owned by the library, valid during the call) what it committed (each
/// the next offset to read; with a NULL list given to tl_commit, the positions it took),
/// `opaque` the conf's. It may call the consumer's functions.
pub type tl_offset_commit_cb = Option<
    unsafe extern "C" fn(
        consumer: *mut tl_consumer_t,
        err: tl_resp_err_t,
        offsets: *const tl_partition_list_t,
        opaque: *mut c_void,
    ),
>;

/// Asynchronous commits that finished, for the offset commit callback.
type Committed = Mutex<VecDeque<(tl_resp_err_t, Vec<(TopicPartition, i64)>)>>;

/// A Kafka consumer.
pub struct tl_consumer_t {
    consumer: Arc<Consumer>,
    /// With a rebalance callback: the events waiting for it.
    events: Option<Arc<RebalanceEvents>>,
    callback: tl_rebalance_cb,
    commit_callback: tl_offset_commit_cb,
    committed: Arc<Committed>,
    opaque: Opaque,
    /// Set while the rebalance callback runs: tl_assign then sets positions only.
    in_callback: AtomicBool,
    closed: AtomicBool,
}

/// A consumer configured by `conf` (its consumer keys: `bootstrap.servers`, `group.id`,
/// `auto.offset.reset`, `enable.auto.commit`, `partition.assignment.strategy`, ...; keys
/// of other clients are ignored) and its rebalance callback. Idle until tl_subscribe or
/// tl_assign.
///
/// Returns a handle owned by the caller (free it with tl_consumer_destroy), or NULL with
/// the reason in `errstr` (a missing `bootstrap.servers`, a NULL `conf`). `conf` is only
/// read. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_consumer_new(
    conf: *const tl_conf_t,
    errstr: *mut c_char,
    errstr_size: usize,
) -> *mut tl_consumer_t {
    let result = catch(|| {
        let conf = handle(conf, "conf")?;
        let config = ConsumerConfig::from_pairs(conf.settings(ClientKind::Consumer))?;
        let consumer = Arc::new(Consumer::new(config));
        let events = conf
            .rebalance_cb
            .map(|_| RebalanceEvents::listen(&consumer, |_| true));
        Ok(Box::into_raw(Box::new(tl_consumer_t {
            consumer,
            events,
            callback: conf.rebalance_cb,
            commit_callback: conf.offset_commit_cb,
            committed: Arc::default(),
            opaque: conf.opaque,
            in_callback: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        })))
    });
    crate::error::made_or_null(result, errstr, errstr_size)
}

/// The open consumer behind `consumer`.
unsafe fn open<'a>(consumer: *const tl_consumer_t) -> Result<&'a tl_consumer_t, Failure> {
    let this = handle(consumer, "consumer")?;
    if this.closed.load(Ordering::Relaxed) {
        return Err(Failure::closed("the consumer"));
    }
    Ok(this)
}

/// `count` topic names from `topics` (NULL only with 0).
unsafe fn topic_names(topics: *const *const c_char, count: usize) -> Result<Vec<String>, Failure> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if topics.is_null() {
        return Err(Failure::null("topics"));
    }
    std::slice::from_raw_parts(topics, count)
        .iter()
        .map(|t| text(*t, "topics[i]").map(str::to_string))
        .collect()
}

/// Subscribes to `count` topics (names; a name starting with `^` is a regular expression)
/// in the group `group.id`, replacing any subscription. Partitions come with the
/// rebalance (see the rebalance callback) at a later tl_consumer_poll.
///
/// Errors: TL_RESP_ERR__INVALID_ARG without `group.id` or for an invalid expression or a
/// NULL argument, TL_RESP_ERR__STATE once closed. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_subscribe(
    consumer: *mut tl_consumer_t,
    topics: *const *const c_char,
    count: usize,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = open(consumer)?;
        let topics = topic_names(topics, count)?;
        Ok(this.consumer.subscribe(&topics)?)
    }))
}

/// Leaves the group and drops the subscription; with `enable.auto.commit` the positions
/// are committed and the rebalance callback hears TL_REBALANCE_REVOKED first (on this
/// thread). Blocks until done.
///
/// Errors: the commit's or LeaveGroup's error, TL_RESP_ERR__STATE once closed,
/// TL_RESP_ERR__INVALID_ARG for a NULL consumer. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_unsubscribe(consumer: *mut tl_consumer_t) -> tl_resp_err_t {
    status(catch(|| {
        let this = open(consumer)?;
        let core = this.consumer.clone();
        Ok(serving(consumer, this, async move {
            core.unsubscribe().await
        })??)
    }))
}

/// Takes the partitions of `partitions` outside any group rebalancing, each starting at
/// its offset (an offset, TL_OFFSET_BEGINNING, TL_OFFSET_END, or TL_OFFSET_STORED /
/// TL_OFFSET_INVALID: the committed offset, else `auto.offset.reset`). NULL or an empty
/// list drops the assignment. Called from the rebalance callback, it only sets those
/// start offsets.
///
/// Errors: TL_RESP_ERR__STATE once closed, TL_RESP_ERR__INVALID_ARG for a NULL consumer.
/// `partitions` stays the caller's. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_assign(
    consumer: *mut tl_consumer_t,
    partitions: *const tl_partition_list_t,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = open(consumer)?;
        let offsets = partitions
            .as_ref()
            .map(tl_partition_list_t::offsets)
            .unwrap_or_default();
        if !this.in_callback.load(Ordering::Relaxed) {
            let assigned: Vec<_> = offsets.iter().map(|(tp, _)| tp.clone()).collect();
            this.consumer.assign(&assigned);
        }
        for (partition, offset) in &offsets {
            this.consumer.seek(partition, *offset);
        }
        Ok(())
    }))
}

/// The partitions assigned now, in `*partitions` (a new list owned by the caller: free it
/// with tl_partition_list_destroy; offsets are each partition's position, or
/// TL_OFFSET_INVALID when not known yet).
///
/// Errors: TL_RESP_ERR__INVALID_ARG for a NULL argument. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_assignment(
    consumer: *mut tl_consumer_t,
    partitions: *mut *mut tl_partition_list_t,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = handle(consumer, "consumer")?;
        if partitions.is_null() {
            return Err(Failure::null("partitions"));
        }
        let list = tl_partition_list_t::of(this.consumer.assignment().into_iter().map(|tp| {
            let offset = this
                .consumer
                .position(&tp)
                .unwrap_or(crate::message::TL_OFFSET_INVALID);
            (tp, offset)
        }));
        *partitions = Box::into_raw(Box::new(list));
        Ok(())
    }))
}

/// The next record or error event, waiting up to `timeout_ms` (negative: no limit);
/// serves the rebalance callback on this thread meanwhile.
///
/// Returns a message owned by the caller (free it with tl_message_destroy): a record, or
/// an error event whose tl_message_err is set (TL_RESP_ERR_OFFSET_OUT_OF_RANGE under
/// `auto.offset.reset=none`, authorization errors, ...). NULL when nothing arrived in
/// time, and for a NULL or closed consumer (see tl_last_error).
///
/// Thread-safe; each message goes to one of the threads that poll.
#[no_mangle]
pub unsafe extern "C" fn tl_consumer_poll(
    consumer: *mut tl_consumer_t,
    timeout_ms: c_int,
) -> *mut tl_message_t {
    let polled = catch(|| {
        let this = open(consumer)?;
        let runtime = tidelog::runtime::handle();
        let deadline = Instant::now() + timeout(timeout_ms);
        loop {
            serve_events(consumer, this);
            let left = deadline.saturating_duration_since(Instant::now());
            let polled = runtime.block_on(async {
                match &this.events {
                    Some(events) => tokio::select! {
                        polled = this.consumer.poll(left) => Some(polled),
                        _ = events.arrived() => None,
                    },
                    None => Some(this.consumer.poll(left).await),
                }
            });
            match polled {
                Some(Ok(Some(record))) => return Ok(Some(tl_message_t::consumed(record))),
                Some(Err(error)) => return Ok(Some(tl_message_t::failed(error.into()))),
                Some(Ok(None)) => return Ok(None),
                None => {}
            }
        }
    });
    match value_or(polled, None) {
        Some(message) => Box::into_raw(Box::new(message)),
        None => std::ptr::null_mut(),
    }
}

/// Calls the rebalance callback for queued events; each rebalance goes on once its
/// callback returns.
unsafe fn serve_events(consumer: *mut tl_consumer_t, this: &tl_consumer_t) {
    if let Some(callback) = this.commit_callback {
        // Taken one at a time: the callback may commit again.
        loop {
            let next = this
                .committed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front();
            let Some((err, offsets)) = next else { break };
            let list = tl_partition_list_t::of(offsets);
            callback(consumer, err, &list, this.opaque.0);
        }
    }
    let (Some(events), Some(callback)) = (&this.events, this.callback) else {
        return;
    };
    while let Some((event, _served)) = events.next() {
        let (kind, partitions) = match event {
            RebalanceEvent::Assigned(p) => (tl_rebalance_event_t::TL_REBALANCE_ASSIGNED, p),
            RebalanceEvent::Revoked(p) => (tl_rebalance_event_t::TL_REBALANCE_REVOKED, p),
            RebalanceEvent::Lost(p) => (tl_rebalance_event_t::TL_REBALANCE_LOST, p),
        };
        let list = tl_partition_list_t::of(
            partitions
                .into_iter()
                .map(|tp| (tp, crate::message::TL_OFFSET_INVALID)),
        );
        this.in_callback.store(true, Ordering::Relaxed);
        callback(consumer, kind, &list, this.opaque.0);
        this.in_callback.store(false, Ordering::Relaxed);
    }
}

/// Waits for `future` on tidelog's runtime while serving the rebalance callback on this
/// thread, for the calls that may take part in a rebalance: commit, unsubscribe, close.
unsafe fn serving<T: Send + 'static>(
    consumer: *mut tl_consumer_t,
    this: &tl_consumer_t,
    future: impl Future<Output = T> + Send + 'static,
) -> Result<T, Failure> {
    let runtime = tidelog::runtime::handle();
    let mut task = std::pin::pin!(runtime.spawn(future));
    loop {
        serve_events(consumer, this);
        let finished = runtime.block_on(async {
            match &this.events {
                Some(events) => tokio::select! {
                    done = &mut task => Some(done),
                    _ = events.arrived() => None,
                },
                None => Some((&mut task).await),
            }
        });
        if let Some(done) = finished {
            return done.map_err(|e| Failure::fail(format!("internal error: {e}")));
        }
    }
}

/// Commits offsets: the offsets of `offsets` (each the next offset to read), or, with
/// NULL, the positions of every assigned partition. With `async_commit` non-zero it
/// returns at once (a failure is logged, not reported); otherwise it waits, serving the
/// rebalance callback.
///
/// Errors (synchronous commits): TL_RESP_ERR__INVALID_ARG without `group.id`, the
/// coordinator's errors (TL_RESP_ERR_REBALANCE_IN_PROGRESS, TL_RESP_ERR_ILLEGAL_GENERATION,
/// ...), TL_RESP_ERR__TRANSPORT, TL_RESP_ERR__STATE once closed. `offsets` stays the
/// caller's. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_commit(
    consumer: *mut tl_consumer_t,
    offsets: *const tl_partition_list_t,
    async_commit: c_int,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = open(consumer)?;
        commit(
            consumer,
            this,
            offsets.as_ref().map(tl_partition_list_t::offsets),
            async_commit,
        )
    }))
}

/// Commits `message`'s offset + 1 for its partition, as tl_commit does.
///
/// Errors: as tl_commit; TL_RESP_ERR__INVALID_ARG for a NULL message or one without an
/// offset (an error event). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_commit_message(
    consumer: *mut tl_consumer_t,
    message: *const tl_message_t,
    async_commit: c_int,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = open(consumer)?;
        let message = handle(message, "message")?;
        let (Some(topic), true) = (&message.topic, message.offset >= 0) else {
            return Err(Failure::invalid(
                "the message has no offset to commit".into(),
            ));
        };
        let partition = (topic.to_string_lossy().into_owned(), message.partition);
        commit(
            consumer,
            this,
            Some(vec![(partition, message.offset + 1)]),
            async_commit,
        )
    }))
}

unsafe fn commit(
    consumer: *mut tl_consumer_t,
    this: &tl_consumer_t,
    offsets: Option<Vec<((String, i32), i64)>>,
    async_commit: c_int,
) -> Result<(), Failure> {
    let core = this.consumer.clone();
    if async_commit != 0 {
        let Some(_) = this.commit_callback else {
            tidelog::runtime::handle().spawn(async move {
                if let Err(error) = core.commit(offsets).await {
                    tracing::warn!(%error, "asynchronous commit failed");
                }
            });
            return Ok(());
        };
        // What the callback is told was committed: the offsets given, or the positions now.
        let offsets = offsets.unwrap_or_else(|| core.positions());
        let committed = this.committed.clone();
        tidelog::runtime::handle().spawn(async move {
            let err = match core.commit(Some(offsets.clone())).await {
                Ok(()) => tl_resp_err_t::TL_RESP_ERR_NONE,
                Err(error) => Failure::from(error).code,
            };
            committed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push_back((err, offsets));
        });
        return Ok(());
    }
    let commit = async move { core.commit(offsets).await };
    Ok(serving(consumer, this, commit)??)
}

/// Looks up the group's committed offsets for the entries of `partitions` (OffsetFetch)
/// and writes each into its entry's offset: the next offset to read, or
/// TL_OFFSET_INVALID where the group has committed none. Waits up to `timeout_ms`
/// (negative: no limit), serving the rebalance callback meanwhile.
///
/// Errors: TL_RESP_ERR__INVALID_ARG without `group.id` or for a NULL argument, the
/// coordinator's errors (TL_RESP_ERR_COORDINATOR_NOT_AVAILABLE, ...), request errors,
/// TL_RESP_ERR__TIMED_OUT, TL_RESP_ERR__STATE once closed. `partitions` stays the
/// caller's. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_committed(
    consumer: *mut tl_consumer_t,
    partitions: *mut tl_partition_list_t,
    timeout_ms: c_int,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = open(consumer)?;
        let list = partitions
            .as_mut()
            .ok_or_else(|| Failure::null("partitions"))?;
        let core = this.consumer.clone();
        let wanted = list.partitions();
        let limit = timeout(timeout_ms);
        let found = serving(consumer, this, async move {
            tokio::time::timeout(limit, core.committed(&wanted)).await
        })?
        .map_err(|_| tidelog::error::Error::Timeout {
            operation: "committed".into(),
            timeout_ms: limit.as_millis() as u64,
        })??;
        for entry in &mut list.entries {
            let key = (entry.topic.to_string_lossy().into_owned(), entry.partition);
            entry.offset = found
                .iter()
                .find(|(tp, _)| *tp == key)
                .map(|(_, offset)| *offset)
                .filter(|offset| *offset >= 0)
                .unwrap_or(crate::message::TL_OFFSET_INVALID);
            entry.err = tl_resp_err_t::TL_RESP_ERR_NONE;
        }
        Ok(())
    }))
}

/// Moves the assigned partition `topic` / `partition` to `offset` (an offset,
/// TL_OFFSET_BEGINNING or TL_OFFSET_END): the next tl_consumer_poll returns records from
/// there. A partition not assigned is ignored.
///
/// Errors: TL_RESP_ERR__INVALID_ARG for a NULL argument or another negative offset,
/// TL_RESP_ERR__STATE once closed. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_seek(
    consumer: *mut tl_consumer_t,
    topic: *const c_char,
    partition: i32,
    offset: i64,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = open(consumer)?;
        let topic = text(topic, "topic")?;
        if offset < TL_OFFSET_BEGINNING {
            return Err(Failure::invalid(format!("cannot seek to offset {offset}")));
        }
        this.consumer.seek(&(topic.to_string(), partition), offset);
        Ok(())
    }))
}

/// Stops fetching the partitions of `partitions` (assigned ones) until tl_resume. Records
/// already fetched for them are still returned.
///
/// Errors: TL_RESP_ERR__INVALID_ARG for a NULL argument, TL_RESP_ERR__STATE once closed.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_pause(
    consumer: *mut tl_consumer_t,
    partitions: *const tl_partition_list_t,
) -> tl_resp_err_t {
    on_partitions(consumer, partitions, Consumer::pause)
}

/// Fetches the partitions of `partitions` again after tl_pause.
///
/// Errors: TL_RESP_ERR__INVALID_ARG for a NULL argument, TL_RESP_ERR__STATE once closed.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_resume(
    consumer: *mut tl_consumer_t,
    partitions: *const tl_partition_list_t,
) -> tl_resp_err_t {
    on_partitions(consumer, partitions, Consumer::resume)
}

/// Applies `act` to the partitions of `partitions`.
unsafe fn on_partitions(
    consumer: *mut tl_consumer_t,
    partitions: *const tl_partition_list_t,
    act: fn(&Consumer, &[(String, i32)]),
) -> tl_resp_err_t {
    status(catch(|| {
        let this = open(consumer)?;
        act(
            &this.consumer,
            &handle(partitions, "partitions")?.partitions(),
        );
        Ok(())
    }))
}

/// Closes the consumer: commits (with `enable.auto.commit`), serves the rebalance
/// callback's TL_REBALANCE_REVOKED on this thread, leaves the group and stops. Later
/// calls fail with TL_RESP_ERR__STATE; closing twice is harmless. Blocks until done.
///
/// Errors: the auto commit's or LeaveGroup's error (the consumer is closed anyway),
/// TL_RESP_ERR__INVALID_ARG for a NULL consumer. Not concurrently with other calls on the
/// same consumer.
#[no_mangle]
pub unsafe extern "C" fn tl_consumer_close(consumer: *mut tl_consumer_t) -> tl_resp_err_t {
    status(catch(|| close(consumer)))
}

unsafe fn close(consumer: *mut tl_consumer_t) -> Result<(), Failure> {
    let this = handle(consumer, "consumer")?;
    if this.closed.load(Ordering::Relaxed) {
        return Ok(());
    }
    let core = this.consumer.clone();
    // Marked closed only afterwards: the revoke callback may still commit.
    let closed = serving(consumer, this, async move { core.close().await });
    this.closed.store(true, Ordering::Relaxed);
    Ok(closed??)
}

/// Closes the consumer if tl_consumer_close was not called (ignoring errors), and frees
/// it; NULL is ignored. Not concurrently with other calls on the same consumer.
#[no_mangle]
pub unsafe extern "C" fn tl_consumer_destroy(consumer: *mut tl_consumer_t) {
    if !consumer.is_null() {
        let _ = catch(|| {
            let _ = close(consumer);
            drop(Box::from_raw(consumer));
            Ok(())
        });
    }
}
