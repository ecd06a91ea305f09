//! Delivery reports gathered for a thread that serves them, as librdkafka's `poll` serves
//! delivery callbacks: the bindings' producers (Python, Node, C) hand each record's
//! [`DeliveryFuture`] here with what their callback needs, and take the reports that are
//! in whenever the application polls.
//!
//! One background task awaits every tracked future, out of order as batches complete: no
//! thread or task per record.

use super::{DeliveryFuture, RecordMetadata};
use crate::error::Error;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// A record's delivery outcome with the context it was tracked with.
pub type Report<T> = (Result<RecordMetadata, Error>, T);

struct Ready<T> {
    reports: Mutex<VecDeque<Report<T>>>,
    arrived: Condvar,
    /// Tracked and not yet taken.
    unserved: AtomicUsize,
}

/// Collects the delivery reports of records tracked with [`DeliveryReports::track`] for
/// [`DeliveryReports::take`]. Dropping it stops collecting once every tracked report is
/// in.
pub struct DeliveryReports<T> {
    ready: Arc<Ready<T>>,
    tracked: mpsc::UnboundedSender<(DeliveryFuture, T)>,
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
            reports: Mutex::new(VecDeque::new()),
            arrived: Condvar::new(),
            unserved: AtomicUsize::new(0),
        });
        let (tracked, receiver) = mpsc::unbounded_channel();
        crate::runtime::handle().spawn(collect(receiver, ready.clone()));
        DeliveryReports { ready, tracked }
    }

    /// Collects `delivery`'s report, to be taken with `context`.
    pub fn track(&self, delivery: DeliveryFuture, context: T) {
        self.ready.unserved.fetch_add(1, Ordering::Relaxed);
        if self.tracked.send((delivery, context)).is_err() {
            unreachable!("the collector runs as long as its DeliveryReports");
        }
    }

    /// Waits up to `timeout` for reports (blocking the calling thread; not for an async
    /// runtime's thread) and takes every one that is in, in the order they arrived.
    /// A zero `timeout` only takes what is in, without reading the clock (callers poll
    /// with 0 after every send).
    pub fn take(&self, timeout: Duration) -> VecDeque<Report<T>> {
        let mut reports = self.ready.reports.lock().unwrap_or_else(|p| p.into_inner());
        if !timeout.is_zero() {
            reports = self
                .ready
                .arrived
                .wait_timeout_while(reports, timeout, |r| r.is_empty())
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        let taken = std::mem::take(&mut *reports);
        self.ready
            .unserved
            .fetch_sub(taken.len(), Ordering::Relaxed);
        taken
    }

    /// Puts reports taken but not served back in front, in their order (e.g. when a
    /// callback raised before the rest were served).
    pub fn give_back(&self, mut reports: VecDeque<Report<T>>) {
        self.ready
            .unserved
            .fetch_add(reports.len(), Ordering::Relaxed);
        let mut ready = self.ready.reports.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(report) = reports.pop_back() {
            ready.push_front(report);
        }
    }

    /// Records tracked whose report has not been taken (queued, in flight, or in).
    pub fn unserved(&self) -> usize {
        self.ready.unserved.load(Ordering::Relaxed)
    }
}

async fn collect<T>(
    mut tracked: mpsc::UnboundedReceiver<(DeliveryFuture, T)>,
    ready: Arc<Ready<T>>,
) {
    let mut pending = FuturesUnordered::new();
    let mut open = true;
    while open || !pending.is_empty() {
        tokio::select! {
            next = tracked.recv(), if open => match next {
                Some((delivery, context)) => pending.push(async move { (delivery.await, context) }),
                None => open = false,
            },
            Some(report) = pending.next(), if !pending.is_empty() => {
                ready.reports.lock().unwrap_or_else(|p| p.into_inner()).push_back(report);
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
