//! Delivery reports. Every record of a batch shares one [`Outcome`] (one allocation per
//! batch, not per record); a record's [`DeliveryFuture`] is the outcome plus the record's
//! index in the batch, from which it computes its offset.

use super::RecordMetadata;
use crate::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// What the broker said about a batch that was written.
#[derive(Debug, Clone)]
pub(crate) struct Ack {
    pub topic: Arc<str>,
    pub partition: i32,
    /// The offset of the outcome's index 0; -1 when unknown (acks=0).
    pub base_offset: i64,
    /// The broker's append time (ms) for LogAppendTime topics, else -1.
    pub log_append_time_ms: i64,
}

#[derive(Default)]
struct OutcomeState {
    result: Option<Result<Ack, Error>>,
    wakers: Vec<Waker>,
}

/// The shared result of a batch (or of one record still waiting for metadata).
pub(crate) struct Outcome {
    /// Unique within the producer, to find it in the set of incomplete outcomes.
    pub id: u64,
    state: Mutex<OutcomeState>,
}

impl Outcome {
    pub fn new(id: u64) -> Arc<Outcome> {
        Arc::new(Outcome {
            id,
            state: Mutex::new(OutcomeState::default()),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, OutcomeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the result (the first one wins) and wakes everything waiting for it.
    /// Whether a result is in.
    pub fn is_complete(&self) -> bool {
        self.state().result.is_some()
    }

    pub fn complete(&self, result: Result<Ack, Error>) {
        let wakers = {
            let mut state = self.state();
            if state.result.is_some() {
                return;
            }
            state.result = Some(result);
            std::mem::take(&mut state.wakers)
        };
        for waker in wakers {
            waker.wake();
        }
    }

    /// Polls for the result; `slot` remembers where this poller's waker is kept, so
    /// polling again replaces it instead of adding another.
    fn poll_with<T>(
        &self,
        cx: &mut Context<'_>,
        slot: &mut Option<usize>,
        map: impl FnOnce(&Result<Ack, Error>) -> T,
    ) -> Poll<T> {
        let mut state = self.state();
        if let Some(result) = &state.result {
            return Poll::Ready(map(result));
        }
        match *slot {
            Some(index) if index < state.wakers.len() => {
                if !state.wakers[index].will_wake(cx.waker()) {
                    state.wakers[index] = cx.waker().clone();
                }
            }
            _ => {
                *slot = Some(state.wakers.len());
                state.wakers.push(cx.waker().clone());
            }
        }
        Poll::Pending
    }

    /// Calls `read` with the result once it is known; None before.
    pub fn read<R>(&self, read: impl FnOnce(&Result<Ack, Error>) -> R) -> Option<R> {
        self.state().result.as_ref().map(read)
    }

    /// A future that resolves once the outcome is known, whatever it is.
    pub fn done(self: &Arc<Self>) -> OutcomeDone {
        OutcomeDone {
            outcome: self.clone(),
            slot: None,
        }
    }
}

/// Resolves when an [`Outcome`] is known.
pub(crate) struct OutcomeDone {
    outcome: Arc<Outcome>,
    slot: Option<usize>,
}

impl Future for OutcomeDone {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.outcome.poll_with(cx, &mut this.slot, |_| ())
    }
}

/// A copy of `error` for each record of a failed batch (an [`std::io::Error`] cannot be
/// cloned, so it is rebuilt from its kind and message).
pub(crate) fn duplicate(error: &Error) -> Error {
    match error {
        Error::Kafka { code, message } => Error::Kafka {
            code: *code,
            message: message.clone(),
        },
        Error::Io { broker, source } => Error::Io {
            broker: broker.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        Error::Disconnected { broker } => Error::Disconnected {
            broker: broker.clone(),
        },
        Error::Decode { broker, source } => Error::Decode {
            broker: broker.clone(),
            source: source.clone(),
        },
        Error::Encode(source) => Error::Encode(source.clone()),
        Error::UnsupportedApi { broker, api } => Error::UnsupportedApi {
            broker: broker.clone(),
            api,
        },
        Error::Config(source) => Error::Config(source.clone()),
        Error::Timeout {
            operation,
            timeout_ms,
        } => Error::Timeout {
            operation: operation.clone(),
            timeout_ms: *timeout_ms,
        },
        Error::Purged { in_flight } => Error::Purged {
            in_flight: *in_flight,
        },
    }
}

/// The delivery report of one record, from [`Producer::send`](super::Producer::send):
/// resolves to the record's [`RecordMetadata`] once the broker has acknowledged its batch
/// (per `acks`), or to the error that failed it (after retries, or when
/// `delivery.timeout.ms` ran out). Dropping it does not cancel the delivery.
#[must_use = "the delivery report says whether the record was written"]
pub struct DeliveryFuture {
    outcome: Arc<Outcome>,
    place: Place,
    slot: Option<usize>,
}

/// Where a record sits in its batch's [`Outcome`], and its own timestamp: what turns the
/// batch's result into the record's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place {
    /// The record's position in its batch: offset = base offset + index.
    index: i32,
    timestamp_ms: i64,
}

impl Place {
    /// The record's report from its batch's result.
    pub fn report(self, result: &Result<Ack, Error>) -> Result<RecordMetadata, Error> {
        match result {
            Ok(ack) => Ok(RecordMetadata {
                topic: ack.topic.clone(),
                partition: ack.partition,
                offset: if ack.base_offset < 0 {
                    -1
                } else {
                    ack.base_offset + i64::from(self.index)
                },
                timestamp_ms: if ack.log_append_time_ms >= 0 {
                    ack.log_append_time_ms
                } else {
                    self.timestamp_ms
                },
            }),
            Err(error) => Err(duplicate(error)),
        }
    }
}

impl std::fmt::Debug for DeliveryFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryFuture")
            .field("index", &self.place.index)
            .field("timestamp_ms", &self.place.timestamp_ms)
            .finish_non_exhaustive()
    }
}

impl DeliveryFuture {
    pub(crate) fn new(outcome: Arc<Outcome>, index: i32, timestamp_ms: i64) -> DeliveryFuture {
        DeliveryFuture {
            outcome,
            place: Place {
                index,
                timestamp_ms,
            },
            slot: None,
        }
    }

    /// The batch outcome the record shares and its place in it, for collectors that wait
    /// once per batch instead of once per record.
    pub(crate) fn into_parts(self) -> (Arc<Outcome>, Place) {
        (self.outcome, self.place)
    }

    /// Blocks the calling thread until the report is known, for synchronous callers
    /// (bindings, plain threads). Do not call it on an async runtime's thread: it would
    /// stall that thread, and deadlock a single-threaded runtime.
    ///
    /// # Errors
    /// As the future: the error that failed the record.
    pub fn wait(self) -> Result<RecordMetadata, Error> {
        block_on(self, None).unwrap_or_else(|_| unreachable!("no deadline"))
    }

    /// As [`wait`](Self::wait), giving up after `timeout`.
    ///
    /// # Errors
    /// The record's error, or [`Error::Timeout`] (operation `"delivery report"`) if the
    /// report did not arrive in time; the record may still be delivered later.
    pub fn wait_timeout(self, timeout: Duration) -> Result<RecordMetadata, Error> {
        block_on(self, Some(Instant::now() + timeout)).unwrap_or_else(|_| {
            Err(Error::Timeout {
                operation: "delivery report".into(),
                timeout_ms: timeout.as_millis() as u64,
            })
        })
    }
}

impl Future for DeliveryFuture {
    type Output = Result<RecordMetadata, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let place = this.place;
        this.outcome
            .poll_with(cx, &mut this.slot, |result| place.report(result))
    }
}

/// Wakes a parked thread.
struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` on the calling thread until it completes or `deadline` passes (then
/// `Err(future)`). Needs no runtime: the producer's work happens on its own tasks.
pub(crate) fn block_on<F: Future + Unpin>(
    mut future: F,
    deadline: Option<Instant>,
) -> Result<F::Output, F> {
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = Pin::new(&mut future).poll(&mut cx) {
            return Ok(output);
        }
        match deadline {
            None => std::thread::park(),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(future);
                }
                std::thread::park_timeout(deadline - now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_of_a_batch_gets_its_offset_and_errors_are_copied() {
        let outcome = Outcome::new(1);
        let futures: Vec<_> = (0..3)
            .map(|i| DeliveryFuture::new(outcome.clone(), i, 1000 + i64::from(i)))
            .collect();
        let waiter = {
            let outcome = outcome.clone();
            std::thread::spawn(move || block_on(outcome.done(), None).is_ok())
        };
        std::thread::sleep(Duration::from_millis(20));
        outcome.complete(Ok(Ack {
            topic: "t".into(),
            partition: 2,
            base_offset: 40,
            log_append_time_ms: -1,
        }));
        assert!(waiter.join().unwrap());
        for (i, future) in futures.into_iter().enumerate() {
            let metadata = future.wait().unwrap();
            assert_eq!((metadata.partition, metadata.offset), (2, 40 + i as i64));
            assert_eq!(metadata.timestamp_ms, 1000 + i as i64);
        }

        let failed = Outcome::new(2);
        let future = DeliveryFuture::new(failed.clone(), 0, 0);
        let pending = DeliveryFuture::new(Outcome::new(3), 0, 0);
        assert!(matches!(
            pending.wait_timeout(Duration::from_millis(10)),
            Err(Error::Timeout { .. })
        ));
        failed.complete(Err(Error::Io {
            broker: "b:1".into(),
            source: std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset"),
        }));
        let error = future.wait().unwrap_err();
        assert!(
            error.is_retriable() && error.to_string().contains("reset"),
            "{error}"
        );
    }
}
