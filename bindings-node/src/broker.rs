//! `EmbeddedBroker`: a real tidelog broker inside the Node process, for tests and
//! scripts. Starting and stopping run off the event loop.

use napi::{Env, JsObject};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tidelog::broker::BrokerError;
use tidelog::embedded::{EmbeddedBroker as CoreBroker, EmbeddedOptions};

/// How to start an embedded broker.
#[napi(object)]
pub struct BrokerOptions {
    /// Partitions of topics created without a count (`num.partitions`); default 1.
    pub partitions: Option<i32>,
    /// Where the logs go; default a temporary directory removed at `stop`, or memory.
    pub data_dir: Option<String>,
    /// Keep the logs in memory; default true unless `dataDir` is given.
    pub in_memory: Option<bool>,
    /// Create topics on first use (`auto.create.topics.enable`); default true.
    pub auto_create_topics: Option<bool>,
    /// Further broker settings as `[key, value]` pairs (`log.segment.bytes`, ...).
    pub settings: Option<Vec<Vec<String>>>,
}

/// A running embedded broker on 127.0.0.1 and a free port.
#[napi]
pub struct EmbeddedBroker {
    broker: Arc<Mutex<Option<CoreBroker>>>,
    bootstrap_servers: String,
}

fn failed(error: BrokerError) -> napi::Error {
    napi::Error::from_reason(format!("embedded broker: {error}"))
}

#[napi]
impl EmbeddedBroker {
    /// Starts a broker; rejects when it cannot start (a bad setting, naming the key; an
    /// unusable `dataDir`).
    #[napi(ts_return_type = "Promise<EmbeddedBroker>")]
    pub fn start(env: Env, options: Option<BrokerOptions>) -> napi::Result<JsObject> {
        let options = options.unwrap_or(BrokerOptions {
            partitions: None,
            data_dir: None,
            in_memory: None,
            auto_create_topics: None,
            settings: None,
        });
        let settings = crate::pairs(&options.settings.unwrap_or_default())?
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let options = EmbeddedOptions {
            partitions: options.partitions.unwrap_or(1),
            auto_create_topics: options.auto_create_topics.unwrap_or(true),
            in_memory: options.in_memory.unwrap_or(options.data_dir.is_none()),
            data_dir: options.data_dir.map(PathBuf::from),
            settings,
        };
        let work = async move {
            Ok(tokio::task::spawn_blocking(move || CoreBroker::start(options)).await)
        };
        crate::promise(&env, work, |_, started| {
            let broker = started
                .map_err(|e| napi::Error::from_reason(e.to_string()))?
                .map_err(failed)?;
            Ok(EmbeddedBroker {
                bootstrap_servers: broker.bootstrap_servers().to_string(),
                broker: Arc::new(Mutex::new(Some(broker))),
            })
        })
    }

    /// `host:port` for `brokers` / `bootstrap.servers`.
    #[napi(getter)]
    pub fn bootstrap_servers(&self) -> String {
        self.bootstrap_servers.clone()
    }

    /// Stops the broker, waiting for its logs to close; stopping twice is harmless.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn stop(&self, env: Env) -> napi::Result<JsObject> {
        let broker = self.broker.clone();
        let work = async move {
            let taken = broker.lock().unwrap_or_else(|p| p.into_inner()).take();
            Ok(tokio::task::spawn_blocking(move || taken.map(CoreBroker::shutdown)).await)
        };
        crate::promise(&env, work, |_, stopped| {
            match stopped.map_err(|e| napi::Error::from_reason(e.to_string()))? {
                Some(Err(error)) => Err(failed(error)),
                _ => Ok(()),
            }
        })
    }
}
