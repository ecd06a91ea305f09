//! Delivery reports gathered for a thread that serves them, as librdkafka's `poll` serves
//! delivery callbacks: the bindings' producers (Python, Node, C) hand each record's
//! [`DeliveryFuture`] here with what their callback needs, and take the reports that are
//! in whenever the application polls.
//!
//! Records are grouped by the batch they belong to: one background task awaits each
//! batch's outcome once, out of order as batches complete, and queues the batch whole (no
//! task, channel message or wakeup per record); each record's report is built from the
//! batch's outcome when it is taken.

use super::delivery::{Outcome, Place};
use super::{DeliveryFuture, RecordMetadata};
use crate::error::Error;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;

/// A record's delivery outcome with the context it was tracked with.
pub type Report<T> = (Result<RecordMetadata, Error>, T);

/// The records tracked per batch outcome not yet complete, keyed by the outcome's address
/// (unique while the outcome lives; the collector holds it until it removes the entry).
type Batches<T> = HashMap<usize, Tracked<T>, BuildHasherDefault<AddressHasher>>;

/// The records tracked in one batch: each one's place in it and its context.
type Tracked<T> = Vec<(Place, T)>;

/// Hashes an address with one multiplication (Fibonacci hashing) instead of SipHash: the
/// lookup runs once per tracked record, and addresses are not chosen by an adversary.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 << 8 | u64::from(*byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, address: usize) {
        self.0 = (address as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Reports that are in, not yet taken: whole batches as they completed (each record's
/// report is built when taken), after reports given back.
struct Queue<T> {
    given_back: VecDeque<Report<T>>,
    done: VecDeque<(Arc<Outcome>, Tracked<T>)>,
}

impl<T> Queue<T> {
    fn is_empty(&self) -> bool {
        self.given_back.is_empty() && self.done.is_empty()
    }
}

struct Ready<T> {
    queue: Mutex<Queue<T>>,
    arrived: Condvar,
    /// Tracked and not yet taken.
    unserved: AtomicUsize,
    batches: Mutex<Batches<T>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn key(outcome: &Arc<Outcome>) -> usize {
    Arc::as_ptr(outcome) as usize
}

/// Collects the delivery reports of records tracked with [`DeliveryReports::track`] for
/// [`DeliveryReports::take`]. Dropping it stops collecting once every tracked report is
/// in.
pub struct DeliveryReports<T> {
    ready: Arc<Ready<T>>,
    /// Each batch outcome the first time one of its records is tracked.
    batches: mpsc::UnboundedSender<Arc<Outcome>>,
}

impl<T: Send + 'static> Default for DeliveryReports<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send + 'static> DeliveryReports<T> {
    /// Starts collecting, on the caller's runtime or tidelog's shared one.
    pub fn new() -> DeliveryReports<T> {
        let ready = Arc::new(Ready {
            queue: Mutex::new(Queue {
                given_back: VecDeque::new(),
                done: VecDeque::new(),
            }),
            arrived: Condvar::new(),
            unserved: AtomicUsize::new(0),
            batches: Mutex::new(HashMap::default()),
        });
        let (batches, receiver) = mpsc::unbounded_channel();
        crate::runtime::handle().spawn(collect(receiver, ready.clone()));
        DeliveryReports { ready, batches }
    }

    /// Collects `delivery`'s report, to be taken with `context`.
    pub fn track(&self, delivery: DeliveryFuture, context: T) {
        self.ready.unserved.fetch_add(1, Ordering::Relaxed);
        let (outcome, place) = delivery.into_parts();
        let mut batches = lock(&self.ready.batches);
        match batches.entry(key(&outcome)) {
            std::collections::hash_map::Entry::Occupied(mut records) => {
                records.get_mut().push((place, context));
            }
            std::collections::hash_map::Entry::Vacant(records) => {
                records.insert(vec![(place, context)]);
                drop(batches);
                if self.batches.send(outcome).is_err() {
                    unreachable!("the collector runs as long as its DeliveryReports");
                }
            }
        }
    }

    /// Waits up to `timeout` for reports (blocking the calling thread; not for an async
    /// runtime's thread) and takes every one that is in, in the order they arrived.
    /// A zero `timeout` only takes what is in, without reading the clock (callers poll
    /// with 0 after every send).
    pub fn take(&self, timeout: Duration) -> VecDeque<Report<T>> {
        let Queue {
            given_back: mut reports,
            done,
        } = self.take_queue(timeout);
        for (outcome, records) in done {
            outcome.read(|result| {
                reports.extend(
                    records
                        .into_iter()
                        .map(|(place, context)| (place.report(result), context)),
                );
            });
        }
        self.ready
            .unserved
            .fetch_sub(reports.len(), Ordering::Relaxed);
        reports
    }

    /// As [`take`](Self::take), but drops the reports instead of returning them (without
    /// building each record's [`RecordMetadata`]), for callers that only count them.
    /// Returns how many it dropped.
    pub fn discard(&self, timeout: Duration) -> usize {
        let queue = self.take_queue(timeout);
        let count = queue.given_back.len()
            + queue
                .done
                .iter()
                .map(|(_, records)| records.len())
                .sum::<usize>();
        self.ready.unserved.fetch_sub(count, Ordering::Relaxed);
        count
    }

    /// Waits up to `timeout` for the queue to hold something and empties it.
    fn take_queue(&self, timeout: Duration) -> Queue<T> {
        let mut queue = lock(&self.ready.queue);
        if !timeout.is_zero() {
            queue = self
                .ready
                .arrived
                .wait_timeout_while(queue, timeout, |q| q.is_empty())
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        Queue {
            given_back: std::mem::take(&mut queue.given_back),
            done: std::mem::take(&mut queue.done),
        }
    }

    /// Puts reports taken but not served back in front, in their order (e.g. when a
    /// callback raised before the rest were served).
    pub fn give_back(&self, mut reports: VecDeque<Report<T>>) {
        self.ready
            .unserved
            .fetch_add(reports.len(), Ordering::Relaxed);
        let mut queue = lock(&self.ready.queue);
        while let Some(report) = reports.pop_back() {
            queue.given_back.push_front(report);
        }
    }

    /// Records tracked whose report has not been taken (queued, in flight, or in).
    pub fn unserved(&self) -> usize {
        self.ready.unserved.load(Ordering::Relaxed)
    }
}

async fn collect<T>(mut batches: mpsc::UnboundedReceiver<Arc<Outcome>>, ready: Arc<Ready<T>>) {
    let mut pending = FuturesUnordered::new();
    let mut open = true;
    while open || !pending.is_empty() {
        tokio::select! {
            next = batches.recv(), if open => match next {
                Some(outcome) => pending.push(async move {
                    outcome.done().await;
                    outcome
                }),
                None => open = false,
            },
            Some(outcome) = pending.next(), if !pending.is_empty() => {
                // Records tracked after this point find no entry and start a new one,
                // which completes at once.
                let records = lock(&ready.batches).remove(&key(&outcome)).unwrap_or_default();
                lock(&ready.queue).done.push_back((outcome, records));
                ready.arrived.notify_all();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::producer::{Producer, ProducerRecord};
    use crate::embedded::{EmbeddedBroker, EmbeddedOptions};

    #[test]
    fn every_tracked_report_is_taken_once_with_its_context() {
        let broker = EmbeddedBroker::start(EmbeddedOptions {
            partitions: 3,
            ..EmbeddedOptions::default()
        })
        .unwrap();
        let producer =
            Producer::from_pairs([("bootstrap.servers", broker.bootstrap_servers())]).unwrap();
        let reports = DeliveryReports::new();
        for i in 0..300 {
            let record = ProducerRecord::new("reports", format!("v{i}")).with_key(format!("k{i}"));
            reports.track(producer.send(record).unwrap(), i);
        }
        let mut taken = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while taken.len() < 300 && std::time::Instant::now() < deadline {
            taken.extend(reports.take(Duration::from_millis(100)));
        }
        assert_eq!(reports.unserved(), 0);
        let mut contexts: Vec<i32> = taken.iter().map(|(_, i)| *i).collect();
        contexts.sort();
        assert_eq!(contexts, (0..300).collect::<Vec<_>>());
        assert!(taken.iter().all(|(result, _)| result.is_ok()));

        let again: VecDeque<_> = taken.drain(..2).collect();
        reports.give_back(again);
        assert_eq!(reports.unserved(), 2);
        let back: Vec<i32> = reports
            .take(Duration::ZERO)
            .into_iter()
            .map(|(_, i)| i)
            .collect();
        assert_eq!(back.len(), 2);
    }
}
