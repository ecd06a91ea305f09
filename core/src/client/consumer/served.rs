//! Rebalance events queued for the thread that serves them, as librdkafka serves
//! rebalance callbacks from `poll`: the bindings' consumers (Python, Node, C) make
//! [`RebalanceEvents`] the consumer's listener and call their application's callback for
//! each event when the application polls. The rebalance waits until an event is served,
//! so a callback can still commit the partitions being revoked.

use super::{Consumer, RebalanceEvent};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::futures::Notified;
use tokio::sync::{oneshot, Notify};

/// Rebalance events waiting for the application's thread; see the [module docs](self).
#[derive(Default)]
pub struct RebalanceEvents {
    queue: Mutex<VecDeque<(RebalanceEvent, Served)>>,
    arrived: Notify,
}

/// Lets the rebalance that reported an event go on, when dropped.
pub struct Served(Option<oneshot::Sender<()>>);

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(done) = self.0.take() {
            let _ = done.send(());
        }
    }
}

impl RebalanceEvents {
    /// Becomes `consumer`'s rebalance listener (replacing any). Events for which
    /// `wanted` is false (no callback for them) are not queued, and their rebalance goes
    /// on at once; so are all events once the returned handle is dropped.
    pub fn listen(
        consumer: &Consumer,
        wanted: impl Fn(&RebalanceEvent) -> bool + Send + Sync + 'static,
    ) -> Arc<RebalanceEvents> {
        let events = Arc::new(RebalanceEvents::default());
        let queue = Arc::downgrade(&events);
        consumer.set_rebalance_listener_async(move |event| {
            let waiting = queue.upgrade().filter(|_| wanted(&event)).map(|events| {
                let (done, handled) = oneshot::channel();
                events
                    .queue
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push_back((event, Served(Some(done))));
                events.arrived.notify_one();
                handled
            });
            async move {
                if let Some(handled) = waiting {
                    let _ = handled.await;
                }
            }
        });
        events
    }

    /// The oldest event not yet taken, with what lets its rebalance go on: drop it once
    /// the application's callback has returned.
    pub fn next(&self) -> Option<(RebalanceEvent, Served)> {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
    }

    /// Resolves when an event is queued, or at once if one was queued since the last
    /// wake-up ([`Notify::notified`] semantics): wait on it together with the blocking
    /// call, then serve with [`RebalanceEvents::next`].
    pub fn arrived(&self) -> Notified<'_> {
        self.arrived.notified()
    }
}
