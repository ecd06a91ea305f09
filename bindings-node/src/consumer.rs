//! `Consumer`: the core consumer. The JS layer's `run` loop takes records in batches
//! (`pollBatch`) so that the per-record cost of crossing into Rust stays low, and calls
//! `eachMessage` / `eachBatch` itself.

use crate::message::{IncomingRecord, TopicPartition, TopicPartitionOffset};
use napi::threadsafe_function::{
    ErrorStrategy, ThreadSafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode,
};
use napi::{Env, JsFunction, JsObject, JsUnknown};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tidelog::client::consumer::{Consumer as CoreConsumer, ConsumerConfig, RebalanceEvent};
use tokio::sync::oneshot;

/// A consumer configured by Kafka keys (`bootstrap.servers`, `group.id`,
/// `session.timeout.ms`, `fetch.max.bytes`, `enable.auto.commit`, ...). Connects
/// lazily.
#[napi]
pub struct Consumer {
    consumer: Arc<CoreConsumer>,
}

fn partitions(list: Vec<TopicPartition>) -> Vec<(String, i32)> {
    list.into_iter().map(Into::into).collect()
}

#[napi]
impl Consumer {
    /// Throws a `config` error naming the key for a bad key or value.
    #[napi(constructor)]
    pub fn new(env: Env, settings: Vec<Vec<String>>) -> napi::Result<Consumer> {
        let config = ConsumerConfig::from_pairs(crate::pairs(&settings)?)
            .map_err(|e| crate::error::to_js(&env, &e))?;
        Ok(Consumer {
            consumer: Arc::new(CoreConsumer::new(config)),
        })
    }

    /// Joins the group subscribed to `topics` (a name starting with `^` is a regular
    /// expression). Throws a `config` error without `group.id`.
    #[napi]
    pub fn subscribe(&self, env: Env, topics: Vec<String>) -> napi::Result<()> {
        self.consumer
            .subscribe(&topics)
            .map_err(|e| crate::error::to_js(&env, &e))
    }

    /// Calls `listener(null, kind, partitions, done)` on the event loop for every change
    /// of assignment: `kind` is `assigned`, `revoked` or `lost`. The rebalance waits until
    /// the listener calls `done()`, so it can commit revoked partitions, or seek assigned
    /// ones before they are fetched, as KafkaJS's rebalance allows.
    #[napi(
        ts_args_type = "listener: (error: null, kind: 'assigned' | 'revoked' | 'lost', partitions: Array<TopicPartition>, done: () => void) => void"
    )]
    pub fn on_rebalance(&self, env: Env, listener: JsFunction) -> napi::Result<()> {
        type Event = (&'static str, Vec<(String, i32)>, oneshot::Sender<()>);
        let mut call: ThreadsafeFunction<Event, ErrorStrategy::CalleeHandled> = listener
            .create_threadsafe_function(0, |ctx: ThreadSafeCallContext<Event>| {
                let (kind, list, handled) = ctx.value;
                let mut array = ctx.env.create_array_with_length(list.len())?;
                for (i, (topic, partition)) in list.into_iter().enumerate() {
                    let mut tp = ctx.env.create_object()?;
                    tp.set_named_property("topic", ctx.env.create_string(&topic)?)?;
                    tp.set_named_property("partition", ctx.env.create_int32(partition)?)?;
                    array.set_element(i as u32, tp)?;
                }
                let handled = Mutex::new(Some(handled));
                let done = ctx.env.create_function_from_closure("done", move |_| {
                    if let Some(handled) = handled.lock().unwrap_or_else(|p| p.into_inner()).take()
                    {
                        let _ = handled.send(());
                    }
                    Ok(())
                })?;
                let kind: JsUnknown = ctx.env.create_string(kind)?.into_unknown();
                Ok(vec![kind, array.into_unknown(), done.into_unknown()])
            })?;
        // The listener alone does not keep the process alive.
        call.unref(&env)?;
        self.consumer.set_rebalance_listener_async(move |event| {
            let (kind, list) = match event {
                RebalanceEvent::Assigned(list) => ("assigned", list),
                RebalanceEvent::Revoked(list) => ("revoked", list),
                RebalanceEvent::Lost(list) => ("lost", list),
            };
            let (handled, done) = oneshot::channel();
            call.call(
                Ok((kind, list, handled)),
                ThreadsafeFunctionCallMode::NonBlocking,
            );
            // Dropped unsent (the event loop is gone): nothing to wait for.
            async move {
                let _ = done.await;
            }
        });
        Ok(())
    }

    /// Resolves to up to `max` records, waiting up to `timeoutMs` ms for the first; an
    /// empty array if none came. Rejects with an error the background work met
    /// (OFFSET_OUT_OF_RANGE, a group error, ...).
    #[napi(ts_return_type = "Promise<Array<IncomingRecord>>")]
    pub fn poll_batch(&self, env: Env, max: u32, timeout_ms: u32) -> napi::Result<JsObject> {
        let consumer = self.consumer.clone();
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        crate::promise(
            &env,
            async move { consumer.poll_batch(max as usize, timeout).await },
            |_, records| {
                Ok(records
                    .into_iter()
                    .map(IncomingRecord::from)
                    .collect::<Vec<_>>())
            },
        )
    }

    /// Commits `offsets` (the next offset to read per partition), or with null the
    /// positions of every assigned partition.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn commit(
        &self,
        env: Env,
        offsets: Option<Vec<TopicPartitionOffset>>,
    ) -> napi::Result<JsObject> {
        let consumer = self.consumer.clone();
        let offsets = offsets.map(|list| {
            list.into_iter()
                .map(|o| ((o.topic, o.partition), o.offset))
                .collect()
        });
        crate::promise(
            &env,
            async move { consumer.commit(offsets).await },
            |_, ()| Ok(()),
        )
    }

    /// Moves an assigned partition to `offset`, -2 for its earliest or -1 for its latest
    /// (buffered records of it are dropped).
    #[napi]
    pub fn seek(&self, topic: String, partition: i32, offset: i64) {
        self.consumer.seek(&(topic, partition), offset);
    }

    /// Stops fetching `list` until `resume`.
    #[napi]
    pub fn pause(&self, list: Vec<TopicPartition>) {
        self.consumer.pause(&partitions(list));
    }

    /// Fetches `list` again.
    #[napi]
    pub fn resume(&self, list: Vec<TopicPartition>) {
        self.consumer.resume(&partitions(list));
    }

    /// The partitions assigned now.
    #[napi]
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.consumer
            .assignment()
            .into_iter()
            .map(Into::into)
            .collect()
    }

    /// Leaves the group (committing first under `enable.auto.commit`) and stops.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close(&self, env: Env) -> napi::Result<JsObject> {
        let consumer = self.consumer.clone();
        crate::promise(&env, async move { consumer.close().await }, |_, ()| Ok(()))
    }
}
