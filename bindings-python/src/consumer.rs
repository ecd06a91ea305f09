//! `Consumer`, as confluent-kafka's. Rebalance callbacks (`on_assign`, `on_revoke`,
//! `on_lost`) run on the thread that calls `poll`, `consume` or `close`, and the
//! rebalance waits for them (as librdkafka's does), so `on_revoke` can still commit.

use crate::error;
use crate::message::{Message, TopicPartition, OFFSET_BEGINNING, OFFSET_INVALID};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tidelog::client::consumer::{
    Consumer as CoreConsumer, ConsumerConfig, RebalanceEvent, RebalanceEvents, Served,
    TopicPartition as CorePartition,
};
use tidelog::error::Error;

#[derive(Default)]
struct Callbacks {
    on_assign: Option<Py<PyAny>>,
    on_revoke: Option<Py<PyAny>>,
    on_lost: Option<Py<PyAny>>,
}

impl Callbacks {
    /// The callback for `event`: lost partitions go to `on_revoke` when there is no
    /// `on_lost`, as in confluent-kafka.
    fn for_event(&self, event: &RebalanceEvent) -> Option<&Py<PyAny>> {
        match event {
            RebalanceEvent::Assigned(_) => self.on_assign.as_ref(),
            RebalanceEvent::Revoked(_) => self.on_revoke.as_ref(),
            RebalanceEvent::Lost(_) => self.on_lost.as_ref().or(self.on_revoke.as_ref()),
        }
    }
}

/// A Kafka consumer configured by a confluent-kafka style dict (`bootstrap.servers`,
/// `group.id`, `auto.offset.reset`, `enable.auto.commit`, `partition.assignment.strategy`,
/// ...). Raises `KafkaException(_INVALID_ARG)` naming the key for a bad key or value.
#[pyclass(module = "tidelog._native", frozen)]
pub struct Consumer {
    consumer: Arc<CoreConsumer>,
    /// Rebalance events waiting for a callback on the application's thread.
    events: Arc<RebalanceEvents>,
    callbacks: Arc<Mutex<Callbacks>>,
    /// The event `tidelog.aio` is serving with a coroutine callback, held until
    /// `_rebalance_done` lets its rebalance go on.
    awaited_event: Mutex<Option<Served>>,
    /// Set while a rebalance callback runs: `assign` then sets positions instead of
    /// replacing the group's assignment.
    in_callback: AtomicBool,
    closed: Arc<AtomicBool>,
}

fn partitions_of(list: &[Bound<'_, TopicPartition>]) -> Vec<CorePartition> {
    list.iter()
        .map(|tp| {
            let tp = tp.borrow();
            (tp.topic.clone(), tp.partition)
        })
        .collect()
}

/// The (partition, timestamp in ms) pairs of an `offsets_for_times` argument, whose
/// offsets hold the timestamps.
fn timestamps_of(list: &[Bound<'_, TopicPartition>]) -> Vec<(CorePartition, i64)> {
    list.iter()
        .map(|tp| {
            let tp = tp.borrow();
            ((tp.topic.clone(), tp.partition), tp.offset)
        })
        .collect()
}

fn python_list<'py>(
    py: Python<'py>,
    partitions: impl IntoIterator<Item = (CorePartition, i64)>,
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for ((topic, partition), offset) in partitions {
        list.append(Bound::new(
            py,
            TopicPartition::at(topic, partition, offset),
        )?)?;
    }
    Ok(list)
}

/// What `commit` commits: `message`'s offset + 1, the `offsets` list, or (None) the
/// positions of every assigned partition.
fn commit_offsets(
    message: Option<PyRef<'_, Message>>,
    offsets: Option<Vec<Bound<'_, TopicPartition>>>,
) -> PyResult<Option<Vec<(CorePartition, i64)>>> {
    Ok(match (message, offsets) {
        (Some(_), Some(_)) => {
            return Err(error::invalid_argument(
                "give message or offsets, not both".into(),
            ))
        }
        (Some(message), None) => {
            let (Some(topic), Some(partition), Some(offset)) =
                (message.topic(), message.partition(), message.offset())
            else {
                return Err(error::invalid_argument(
                    "the message has no offset to commit".into(),
                ));
            };
            Some(vec![((topic, partition), offset + 1)])
        }
        (None, Some(offsets)) => Some(
            offsets
                .iter()
                .map(|tp| {
                    let tp = tp.borrow();
                    ((tp.topic.clone(), tp.partition), tp.offset)
                })
                .collect(),
        ),
        (None, None) => None,
    })
}

/// The partitions a commit of `explicit` offsets (None: the positions) committed.
fn committed_list<'py>(
    py: Python<'py>,
    consumer: &CoreConsumer,
    explicit: Option<Vec<(CorePartition, i64)>>,
) -> PyResult<Bound<'py, PyList>> {
    let committed = match explicit {
        Some(offsets) => offsets,
        None => consumer
            .assignment()
            .into_iter()
            .filter_map(|tp| consumer.position(&tp).map(|o| (tp, o)))
            .collect(),
    };
    python_list(py, committed)
}

#[pymethods]
impl Consumer {
    #[new]
    #[pyo3(signature = (config = None, **kwargs))]
    fn new(
        py: Python<'_>,
        config: Option<&Bound<'_, PyDict>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Consumer> {
        let (pairs, _) = crate::client_config(py, config, kwargs, &[])?;
        let config =
            ConsumerConfig::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .map_err(error::raise)?;
        let consumer = Arc::new(CoreConsumer::new(config));
        let callbacks: Arc<Mutex<Callbacks>> = Arc::default();
        let wanted = callbacks.clone();
        let events = RebalanceEvents::listen(&consumer, move |event| {
            wanted
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .for_event(event)
                .is_some()
        });
        Ok(Consumer {
            consumer,
            events,
            callbacks,
            awaited_event: Mutex::new(None),
            in_callback: AtomicBool::new(false),
            closed: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Subscribes to `topics` (names; one starting with `^` is a regular expression),
    /// replacing any subscription. The callbacks take `(consumer, [TopicPartition])`.
    #[pyo3(signature = (topics, on_assign = None, on_revoke = None, on_lost = None))]
    fn subscribe(
        &self,
        topics: Vec<String>,
        on_assign: Option<Py<PyAny>>,
        on_revoke: Option<Py<PyAny>>,
        on_lost: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        self.check_open()?;
        *self.callbacks.lock().unwrap_or_else(|p| p.into_inner()) = Callbacks {
            on_assign,
            on_revoke,
            on_lost,
        };
        self.consumer.subscribe(&topics).map_err(error::raise)
    }

    /// Leaves the group and drops the subscription (on_revoke runs first).
    fn unsubscribe(slf: &Bound<'_, Self>) -> PyResult<()> {
        let consumer = slf.get().consumer.clone();
        Self::serving(slf, async move { consumer.unsubscribe().await })?.map_err(error::raise)
    }

    /// Takes `partitions` outside any group rebalancing; a partition's `offset` (if not
    /// OFFSET_INVALID / OFFSET_STORED) is where reading starts. Called from `on_assign`,
    /// it only sets those positions, as confluent-kafka's does.
    fn assign(&self, partitions: Vec<Bound<'_, TopicPartition>>) -> PyResult<()> {
        self.check_open()?;
        if !self.in_callback.load(Ordering::Relaxed) {
            self.consumer.assign(&partitions_of(&partitions));
        }
        for tp in &partitions {
            self.seek_to(&tp.borrow());
        }
        Ok(())
    }

    /// As `assign` from a cooperative `on_assign` callback.
    fn incremental_assign(&self, partitions: Vec<Bound<'_, TopicPartition>>) -> PyResult<()> {
        self.assign(partitions)
    }

    /// Drops the assignment.
    fn unassign(&self) -> PyResult<()> {
        self.check_open()?;
        if !self.in_callback.load(Ordering::Relaxed) {
            self.consumer.assign(&[]);
        }
        Ok(())
    }

    /// The partitions assigned now, as a list of TopicPartition.
    fn assignment<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        python_list(
            py,
            self.consumer
                .assignment()
                .into_iter()
                .map(|tp| (tp, OFFSET_INVALID)),
        )
    }

    /// The next record, an error event (`msg.error()` set), or None after `timeout`
    /// seconds (None or -1: no limit). Serves rebalance callbacks while it waits.
    #[pyo3(signature = (timeout = None))]
    fn poll(slf: &Bound<'_, Self>, timeout: Option<f64>) -> PyResult<Option<Message>> {
        let py = slf.py();
        let this = slf.get();
        this.check_open()?;
        let deadline = Instant::now() + crate::timeout(timeout);
        loop {
            Self::serve_events(slf)?;
            let left = deadline.saturating_duration_since(Instant::now());
            let slice = left.min(crate::SIGNAL_CHECK);
            let consumer = &this.consumer;
            let events = &this.events;
            let polled = py.detach(|| {
                tidelog::runtime::handle().block_on(async {
                    tokio::select! {
                        polled = consumer.poll(slice) => Some(polled),
                        _ = events.arrived() => None,
                    }
                })
            });
            match polled {
                Some(Ok(Some(record))) => return Message::consumed(py, record).map(Some),
                Some(Err(error)) => {
                    let error = error::kafka_error(py, &error, false)?.unbind();
                    return Ok(Some(Message::failed(error)));
                }
                Some(Ok(None)) if left <= slice => return Ok(None),
                _ => py.check_signals()?,
            }
        }
    }

    /// Up to `num_messages` records (and error events), waiting at most `timeout` seconds
    /// (None or -1: no limit) for them.
    #[pyo3(signature = (num_messages = 1, timeout = None))]
    fn consume(
        slf: &Bound<'_, Self>,
        num_messages: usize,
        timeout: Option<f64>,
    ) -> PyResult<Vec<Message>> {
        if !(1..=1_000_000).contains(&num_messages) {
            return Err(error::invalid_argument(format!(
                "num_messages must be between 1 and 1000000, not {num_messages}"
            )));
        }
        let deadline = Instant::now() + crate::timeout(timeout);
        let mut messages = Vec::with_capacity(num_messages.min(10_000));
        while messages.len() < num_messages {
            let left = deadline.saturating_duration_since(Instant::now());
            match Self::poll(slf, Some(left.as_secs_f64()))? {
                Some(message) => messages.push(message),
                None => break,
            }
        }
        Ok(messages)
    }

    /// Commits offsets: `message`'s offset + 1, the `offsets` list, or (neither) the
    /// positions of every assigned partition. With `asynchronous=False` it waits and
    /// returns the committed list of TopicPartition, raising `KafkaException` on failure;
    /// otherwise it returns None at once.
    #[pyo3(signature = (message = None, offsets = None, asynchronous = true))]
    fn commit<'py>(
        slf: &Bound<'py, Self>,
        message: Option<PyRef<'py, Message>>,
        offsets: Option<Vec<Bound<'py, TopicPartition>>>,
        asynchronous: bool,
    ) -> PyResult<Option<Bound<'py, PyList>>> {
        let py = slf.py();
        let this = slf.get();
        this.check_open()?;
        let explicit = commit_offsets(message, offsets)?;
        let consumer = this.consumer.clone();
        let committed = explicit.clone();
        let commit = async move { consumer.commit(committed).await };
        if asynchronous {
            tidelog::runtime::handle().spawn(async move {
                if let Err(error) = commit.await {
                    tracing::warn!(%error, "asynchronous commit failed");
                }
            });
            return Ok(None);
        }
        Self::serving(slf, commit)?.map_err(error::raise)?;
        committed_list(py, &this.consumer, explicit).map(Some)
    }

    /// The group's committed offsets of `partitions` (OFFSET_INVALID where none), waiting
    /// up to `timeout` seconds.
    #[pyo3(signature = (partitions, timeout = None))]
    fn committed<'py>(
        &self,
        py: Python<'py>,
        partitions: Vec<Bound<'py, TopicPartition>>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let wanted = partitions_of(&partitions);
        let consumer = self.consumer.clone();
        let limit = crate::timeout(timeout);
        let found = crate::wait(py, async move {
            tokio::time::timeout(limit, consumer.committed(&wanted)).await
        })?
        .map_err(|_| timed_out("committed", limit))?
        .map_err(error::raise)?;
        python_list(
            py,
            found
                .into_iter()
                .map(|(tp, offset)| (tp, if offset < 0 { OFFSET_INVALID } else { offset })),
        )
    }

    /// The next offset to be consumed for each of `partitions` (OFFSET_INVALID when not
    /// known yet).
    fn position<'py>(
        &self,
        py: Python<'py>,
        partitions: Vec<Bound<'py, TopicPartition>>,
    ) -> PyResult<Bound<'py, PyList>> {
        python_list(
            py,
            partitions_of(&partitions).into_iter().map(|tp| {
                let offset = self.consumer.position(&tp).unwrap_or(OFFSET_INVALID);
                (tp, offset)
            }),
        )
    }

    /// Moves an assigned partition to `partition.offset` (an offset, OFFSET_BEGINNING or
    /// OFFSET_END).
    fn seek(&self, partition: PyRef<'_, TopicPartition>) -> PyResult<()> {
        self.check_open()?;
        if partition.offset < OFFSET_BEGINNING {
            return Err(error::invalid_argument(format!(
                "cannot seek to offset {}",
                partition.offset
            )));
        }
        self.seek_to(&partition);
        Ok(())
    }

    /// Stops fetching `partitions` until `resume`.
    fn pause(&self, partitions: Vec<Bound<'_, TopicPartition>>) {
        self.consumer.pause(&partitions_of(&partitions));
    }

    /// Fetches `partitions` again.
    fn resume(&self, partitions: Vec<Bound<'_, TopicPartition>>) {
        self.consumer.resume(&partitions_of(&partitions));
    }

    /// (low, high) watermark offsets of `partition`, asked of its leader, waiting up to
    /// `timeout` seconds. `cached` is accepted for compatibility; tidelog always asks.
    #[pyo3(signature = (partition, timeout = None, cached = false))]
    fn get_watermark_offsets(
        &self,
        py: Python<'_>,
        partition: PyRef<'_, TopicPartition>,
        timeout: Option<f64>,
        cached: bool,
    ) -> PyResult<(i64, i64)> {
        let _ = cached;
        let tp = (partition.topic.clone(), partition.partition);
        let consumer = self.consumer.clone();
        let limit = crate::timeout(timeout);
        crate::wait(py, async move {
            tokio::time::timeout(limit, consumer.watermark_offsets(&tp)).await
        })?
        .map_err(|_| timed_out("get_watermark_offsets", limit))?
        .map_err(error::raise)
    }

    /// For each partition, whose `offset` holds a timestamp in ms, the earliest offset
    /// with a timestamp at or after it (-1 when none), waiting up to `timeout` seconds.
    #[pyo3(signature = (partitions, timeout = None))]
    fn offsets_for_times<'py>(
        &self,
        py: Python<'py>,
        partitions: Vec<Bound<'py, TopicPartition>>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let wanted = timestamps_of(&partitions);
        let consumer = self.consumer.clone();
        let limit = crate::timeout(timeout);
        let found = crate::wait(py, async move {
            tokio::time::timeout(limit, consumer.offsets_for_times(&wanted)).await
        })?
        .map_err(|_| timed_out("offsets_for_times", limit))?
        .map_err(error::raise)?;
        python_list(py, found)
    }

    /// The cluster's brokers and topics (Metadata; `topic` alone if given) as a
    /// `tidelog.admin.ClusterMetadata`, waiting up to `timeout` seconds (None or -1: no
    /// limit) with the GIL released. Raises KafkaException (`_TIMED_OUT`, `_TRANSPORT`).
    #[pyo3(signature = (topic = None, timeout = None))]
    fn list_topics<'py>(
        &self,
        py: Python<'py>,
        topic: Option<String>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let consumer = self.consumer.clone();
        crate::admin::list_topics(py, topic, timeout, |topics| async move {
            consumer.metadata(topics.as_deref()).await
        })
    }

    /// Commits (with `enable.auto.commit`), runs on_revoke, leaves the group and stops.
    /// Later calls raise `KafkaException(_STATE)`; closing twice is harmless.
    fn close(slf: &Bound<'_, Self>) -> PyResult<()> {
        if slf.get().closed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let consumer = slf.get().consumer.clone();
        // Marked closed only afterwards: on_revoke may still commit while closing.
        let closed = Self::serving(slf, async move { consumer.close().await });
        slf.get().closed.store(true, Ordering::Relaxed);
        closed?.map_err(error::raise)
    }

    /// For `tidelog.aio.AIOConsumer.poll`: an asyncio future of the next record (a
    /// Message, an error event, or None after `timeout` seconds; None or -1: no limit).
    /// Rebalance callbacks are not served meanwhile: `_events_future` says when to call
    /// `_next_rebalance`.
    #[pyo3(signature = (timeout = None))]
    fn _poll_future(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        self.check_open()?;
        let consumer = self.consumer.clone();
        let limit = crate::timeout(timeout);
        crate::asyncio_future(
            py,
            async move { consumer.poll(limit).await },
            |py, polled| {
                Ok(match polled {
                    Ok(Some(record)) => Py::new(py, Message::consumed(py, record)?)?.into_any(),
                    Ok(None) => py.None(),
                    Err(failed) => {
                        let failed = error::kafka_error(py, &failed, false)?.unbind();
                        Py::new(py, Message::failed(failed))?.into_any()
                    }
                })
            },
        )
    }

    /// For `tidelog.aio.AIOConsumer.commit(asynchronous=False)`: an asyncio future of the
    /// committed list of TopicPartition (arguments as `commit`'s), failing with
    /// KafkaException.
    #[pyo3(signature = (message = None, offsets = None))]
    fn _commit_future<'py>(
        &self,
        py: Python<'py>,
        message: Option<PyRef<'py, Message>>,
        offsets: Option<Vec<Bound<'py, TopicPartition>>>,
    ) -> PyResult<Py<PyAny>> {
        self.check_open()?;
        let explicit = commit_offsets(message, offsets)?;
        let consumer = self.consumer.clone();
        let committed = explicit.clone();
        let work = async move { consumer.commit(committed).await };
        let consumer = self.consumer.clone();
        crate::asyncio_future(py, work, move |py, result| {
            result.map_err(error::raise)?;
            Ok(committed_list(py, &consumer, explicit)?.into_any().unbind())
        })
    }

    /// For `tidelog.aio.AIOConsumer.close`: an asyncio future that resolves once the
    /// consumer committed (with `enable.auto.commit`), left the group and stopped; later
    /// calls raise `KafkaException(_STATE)`.
    fn _close_future(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let consumer = self.consumer.clone();
        let closed = self.closed.clone();
        crate::asyncio_future(
            py,
            async move { consumer.close().await },
            move |py, result| {
                closed.store(true, Ordering::Relaxed);
                result.map_err(error::raise)?;
                Ok(py.None())
            },
        )
    }

    /// For `tidelog.aio.AIOConsumer`: an asyncio future of the committed offsets (as
    /// `committed`).
    fn _committed_future(
        &self,
        py: Python<'_>,
        partitions: Vec<Bound<'_, TopicPartition>>,
    ) -> PyResult<Py<PyAny>> {
        let wanted = partitions_of(&partitions);
        let consumer = self.consumer.clone();
        crate::asyncio_future(
            py,
            async move { consumer.committed(&wanted).await },
            |py, found| {
                let found = found
                    .map_err(error::raise)?
                    .into_iter()
                    .map(|(tp, offset)| (tp, if offset < 0 { OFFSET_INVALID } else { offset }));
                Ok(python_list(py, found)?.into_any().unbind())
            },
        )
    }

    /// For `tidelog.aio.AIOConsumer`: an asyncio future of (low, high) watermarks (as
    /// `get_watermark_offsets`).
    fn _watermarks_future(
        &self,
        py: Python<'_>,
        partition: PyRef<'_, TopicPartition>,
    ) -> PyResult<Py<PyAny>> {
        let tp = (partition.topic.clone(), partition.partition);
        let consumer = self.consumer.clone();
        crate::asyncio_future(
            py,
            async move { consumer.watermark_offsets(&tp).await },
            |py, found| {
                Ok(found
                    .map_err(error::raise)?
                    .into_pyobject(py)?
                    .into_any()
                    .unbind())
            },
        )
    }

    /// For `tidelog.aio.AIOConsumer.list_topics`: an asyncio future of the
    /// ClusterMetadata `list_topics` returns.
    #[pyo3(signature = (topic = None))]
    fn _metadata_future(&self, py: Python<'_>, topic: Option<String>) -> PyResult<Py<PyAny>> {
        let consumer = self.consumer.clone();
        crate::admin::metadata_future(py, topic, |topics| async move {
            consumer.metadata(topics.as_deref()).await
        })
    }

    /// For `tidelog.aio.AIOConsumer`: an asyncio future that resolves to None once a
    /// rebalance event waits for `_next_rebalance`. The caller keeps one at a time and
    /// does not cancel it, so that no wakeup goes to a future nobody awaits.
    fn _events_future(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let events = self.events.clone();
        crate::asyncio_future(py, async move { events.arrived().await }, |py, ()| {
            Ok(py.None())
        })
    }

    /// For `tidelog.aio.AIOConsumer`, which awaits coroutine callbacks: the next waiting
    /// rebalance event as `(callback, [TopicPartition])`, or None. Its rebalance waits
    /// until `_rebalance_done`; meanwhile `assign` sets positions as in a callback.
    fn _next_rebalance<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Option<(Py<PyAny>, Bound<'py, PyList>)>> {
        let Some((callback, list, served)) = self.next_rebalance(py)? else {
            return Ok(None);
        };
        *self.awaited_event.lock().unwrap_or_else(|p| p.into_inner()) = Some(served);
        self.in_callback.store(true, Ordering::Relaxed);
        Ok(Some((callback, list)))
    }

    /// Lets the rebalance of the event `_next_rebalance` gave go on.
    fn _rebalance_done(&self) {
        self.in_callback.store(false, Ordering::Relaxed);
        self.awaited_event
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }

    /// For `tidelog.aio.AIOConsumer.unsubscribe`: an asyncio future that resolves once the
    /// consumer left the group (rebalance events meanwhile are served by the caller).
    fn _unsubscribe_future(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let consumer = self.consumer.clone();
        crate::asyncio_future(
            py,
            async move { consumer.unsubscribe().await },
            |py, result| {
                result.map_err(error::raise)?;
                Ok(py.None())
            },
        )
    }

    /// For `tidelog.aio.AIOConsumer.offsets_for_times`: an asyncio future of the list
    /// `offsets_for_times` returns.
    fn _offsets_for_times_future(
        &self,
        py: Python<'_>,
        partitions: Vec<Bound<'_, TopicPartition>>,
    ) -> PyResult<Py<PyAny>> {
        let wanted = timestamps_of(&partitions);
        let consumer = self.consumer.clone();
        crate::asyncio_future(
            py,
            async move { consumer.offsets_for_times(&wanted).await },
            |py, found| {
                Ok(python_list(py, found.map_err(error::raise)?)?
                    .into_any()
                    .unbind())
            },
        )
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        slf: &Bound<'_, Self>,
        _kind: Option<Bound<'_, PyAny>>,
        _value: Option<Bound<'_, PyAny>>,
        _traceback: Option<Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        Self::close(slf)?;
        Ok(false)
    }
}

fn timed_out(operation: &str, limit: std::time::Duration) -> PyErr {
    error::raise(Error::Timeout {
        operation: operation.into(),
        timeout_ms: limit.as_millis() as u64,
    })
}

impl Consumer {
    fn check_open(&self) -> PyResult<()> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(error::closed("the consumer"));
        }
        Ok(())
    }

    fn seek_to(&self, tp: &TopicPartition) {
        self.consumer
            .seek(&(tp.topic.clone(), tp.partition), tp.offset);
    }

    /// The next queued rebalance event that has a callback: the callback, the
    /// partitions as a list of TopicPartition, and what lets the rebalance go on once
    /// dropped. Events whose callback was removed meanwhile go on at once.
    #[allow(clippy::type_complexity)]
    fn next_rebalance<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Option<(Py<PyAny>, Bound<'py, PyList>, Served)>> {
        while let Some((event, served)) = self.events.next() {
            let callback = self
                .callbacks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .for_event(&event)
                .map(|c| c.clone_ref(py));
            let (RebalanceEvent::Assigned(partitions)
            | RebalanceEvent::Revoked(partitions)
            | RebalanceEvent::Lost(partitions)) = event;
            if let Some(callback) = callback {
                let list = python_list(py, partitions.into_iter().map(|tp| (tp, OFFSET_INVALID)))?;
                return Ok(Some((callback, list, served)));
            }
        }
        Ok(None)
    }

    /// Calls the application's callbacks for queued rebalance events, then lets the
    /// rebalance go on (also when a callback raised: its exception propagates).
    fn serve_events(slf: &Bound<'_, Self>) -> PyResult<()> {
        let this = slf.get();
        while let Some((callback, list, served)) = this.next_rebalance(slf.py())? {
            this.in_callback.store(true, Ordering::Relaxed);
            let result = callback.call1(slf.py(), (slf, list));
            this.in_callback.store(false, Ordering::Relaxed);
            drop(served);
            result?;
        }
        Ok(())
    }

    /// Waits for `future` (GIL released) while serving rebalance callbacks on this
    /// thread, for operations that may rebalance: commit, unsubscribe, close.
    fn serving<T: Send + 'static>(
        slf: &Bound<'_, Self>,
        future: impl Future<Output = T> + Send + 'static,
    ) -> PyResult<T> {
        let py = slf.py();
        let task = tidelog::runtime::handle().spawn(future);
        let mut task = std::pin::pin!(task);
        loop {
            Self::serve_events(slf)?;
            let events = &slf.get().events;
            let finished = py.detach(|| {
                tidelog::runtime::handle().block_on(async {
                    tokio::select! {
                        done = &mut task => Some(done),
                        _ = events.arrived() => None,
                        _ = tokio::time::sleep(crate::SIGNAL_CHECK) => None,
                    }
                })
            });
            if let Some(done) = finished {
                return done.map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()));
            }
            py.check_signals()?;
        }
    }
}
