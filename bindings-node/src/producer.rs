//! `Producer`: the core producer; `send` queues records and resolves once all are
//! acknowledged, to one result per (topic, partition) as KafkaJS's `send` does.

use crate::message::OutgoingRecords;
use napi::{Env, JsObject};
use std::collections::BTreeMap;
use std::sync::Arc;
use tidelog::client::producer::{Producer as CoreProducer, ProducerConfig};

/// Where a `send`'s records went in one partition: the lowest offset they got.
#[napi(object)]
pub struct SendResult {
    pub topic_name: String,
    pub partition: i32,
    pub base_offset: i64,
}

/// A producer configured by Kafka keys (`bootstrap.servers`, `acks`,
/// `compression.type`, `enable.idempotence`, ...). Connects lazily.
#[napi]
pub struct Producer {
    producer: CoreProducer,
}

#[napi]
impl Producer {
    /// Throws a `config` error naming the key for a bad key or value.
    #[napi(constructor)]
    pub fn new(env: Env, settings: Vec<Vec<String>>) -> napi::Result<Producer> {
        let config = ProducerConfig::from_pairs(crate::pairs(&settings)?)
            .and_then(CoreProducer::new)
            .map_err(|e| crate::error::to_js(&env, &e))?;
        Ok(Producer { producer: config })
    }

    /// Queues `records` (waiting for room up to `max.block.ms` when `buffer.memory` is
    /// full) and resolves once every one is acknowledged, to the lowest offset per
    /// (topic, partition); rejects with the first record's error (MESSAGE_TOO_LARGE,
    /// UNKNOWN_TOPIC_OR_PARTITION, a timeout after `delivery.timeout.ms`, ...).
    #[napi(ts_return_type = "Promise<Array<SendResult>>")]
    pub fn send(&self, env: Env, records: OutgoingRecords) -> napi::Result<JsObject> {
        let records = records.into_columns()?;
        let producer = self.producer.clone();
        let work = async move {
            let headers = records.header_refs();
            let mut deliveries = Vec::with_capacity(records.len());
            for record in records.iter(&headers) {
                deliveries.push(producer.send_ref_async(&record).await?);
            }
            let mut lowest: BTreeMap<(Arc<str>, i32), i64> = BTreeMap::new();
            for delivery in deliveries {
                let done = delivery.await?;
                let entry = lowest
                    .entry((done.topic, done.partition))
                    .or_insert(done.offset);
                *entry = (*entry).min(done.offset);
            }
            Ok(lowest)
        };
        crate::promise(&env, work, |_, lowest| {
            Ok(lowest
                .into_iter()
                .map(|((topic_name, partition), base_offset)| SendResult {
                    topic_name: topic_name.to_string(),
                    partition,
                    base_offset,
                })
                .collect::<Vec<_>>())
        })
    }

    /// Sends everything held now and resolves once every record sent so far is reported.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn flush(&self, env: Env) -> napi::Result<JsObject> {
        let producer = self.producer.clone();
        crate::promise(
            &env,
            async move {
                producer.flush().await;
                Ok(())
            },
            |_, ()| Ok(()),
        )
    }

    /// Closes: later sends reject; resolves once every record held is reported.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close(&self, env: Env) -> napi::Result<JsObject> {
        let producer = self.producer.clone();
        crate::promise(
            &env,
            async move {
                producer.close().await;
                Ok(())
            },
            |_, ()| Ok(()),
        )
    }
}
