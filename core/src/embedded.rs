//! [`EmbeddedBroker`]: a real tidelog broker inside the calling process, for tests and
//! scripts. It listens on `127.0.0.1` on a free port and speaks the Kafka protocol like
//! `tidelog serve`, so any Kafka client can use it, not only tidelog's.
//!
//! The broker runs on its own thread with its own tokio runtime, so it can be started and
//! stopped from synchronous code, from inside another runtime, or from a language binding.

#![warn(missing_docs)]

use crate::broker::{Broker, BrokerError, BrokerOptions, BrokerStorage};
use crate::config::BrokerConfig;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

/// How to start an [`EmbeddedBroker`]. The broker also sets
/// `group.initial.rebalance.delay.ms` to 0, so that groups form at once; `settings` can
/// override it, as well as `partitions` and `auto_create_topics`.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Partitions of topics created without a count, including auto-created ones
    /// (`num.partitions`). Default 1.
    pub partitions: i32,
    /// Create topics on first use (`auto.create.topics.enable`). Default true.
    pub auto_create_topics: bool,
    /// Keep logs under this directory (created if missing, left in place at shutdown).
    /// It takes precedence over `in_memory`. `None` with `in_memory = false` uses a fresh
    /// directory under the system's temporary directory, removed on shutdown.
    pub data_dir: Option<PathBuf>,
    /// Keep logs in memory only (default true): fastest, gone at shutdown. Ignored when
    /// `data_dir` is set.
    pub in_memory: bool,
    /// Further broker settings by Kafka key, applied in order after the fields above,
    /// e.g. `("log.segment.bytes", "1048576")`. Default none.
    pub settings: Vec<(String, String)>,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            partitions: 1,
            auto_create_topics: true,
            data_dir: None,
            in_memory: true,
            settings: Vec::new(),
        }
    }
}

/// A running in-process broker. Stops on [`EmbeddedBroker::shutdown`] or when dropped;
/// dropping blocks the calling thread until the broker has stopped and ignores errors.
pub struct EmbeddedBroker {
    bootstrap_servers: String,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<Result<(), BrokerError>>>,
    temporary_dir: Option<PathBuf>,
}

fn temporary_dir() -> PathBuf {
    let id = crate::broker::random_uuid();
    std::env::temp_dir().join(format!("tidelog-embedded-{}-{id}", std::process::id()))
}

impl EmbeddedBroker {
    /// Starts a broker on `127.0.0.1` on a free port, blocking the calling thread until it
    /// accepts connections (typically milliseconds).
    ///
    /// # Errors
    /// - [`BrokerError::Config`] for an unknown key or bad value (the message names the
    ///   key).
    /// - [`BrokerError::Listen`] if it cannot bind its port.
    /// - [`BrokerError::Storage`] if the data directory cannot be used, and also (with an
    ///   empty `path`) if the broker's thread or tokio runtime cannot be started or the
    ///   thread stops while starting.
    pub fn start(options: EmbeddedOptions) -> Result<EmbeddedBroker, BrokerError> {
        let mut config = BrokerConfig::default();
        config.set("num.partitions", &options.partitions.to_string())?;
        config.set(
            "auto.create.topics.enable",
            &options.auto_create_topics.to_string(),
        )?;
        // Groups form at once: waiting for more members only slows tests down.
        config.set("group.initial.rebalance.delay.ms", "0")?;
        for (key, value) in &options.settings {
            config.set(key, value)?;
        }
        let (temporary_dir, storage) = match (&options.data_dir, options.in_memory) {
            (Some(dir), _) => (None, BrokerStorage::Disk(dir.clone())),
            (None, true) => (None, BrokerStorage::Memory),
            (None, false) => {
                let dir = temporary_dir();
                (Some(dir.clone()), BrokerStorage::Disk(dir))
            }
        };
        let broker_options = BrokerOptions {
            listen: "127.0.0.1:0".into(),
            advertised_listener: None,
            storage,
            config,
        };
        let (started, started_signal) = mpsc::channel();
        let (stop, stop_signal) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("tidelog-embedded".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = started.send(Err(BrokerError::Storage {
                            path: PathBuf::new(),
                            reason: format!("tokio runtime: {error}"),
                        }));
                        return Ok(());
                    }
                };
                let broker = match runtime.block_on(Broker::start(broker_options)) {
                    Ok(broker) => broker,
                    Err(error) => {
                        let _ = started.send(Err(error));
                        return Ok(());
                    }
                };
                let _ = started.send(Ok(broker.bootstrap_servers()));
                // Wait for shutdown, or for the handle to be dropped.
                let _ = stop_signal.recv();
                runtime.block_on(broker.shutdown())
            })
            .map_err(|e| BrokerError::Storage {
                path: PathBuf::new(),
                reason: format!("cannot start a thread: {e}"),
            })?;
        match started_signal.recv() {
            Ok(Ok(bootstrap_servers)) => Ok(EmbeddedBroker {
                bootstrap_servers,
                stop: Some(stop),
                thread: Some(thread),
                temporary_dir,
            }),
            Ok(Err(error)) => {
                let _ = thread.join();
                Err(error)
            }
            Err(_) => Err(BrokerError::Storage {
                path: PathBuf::new(),
                reason: "the broker thread stopped while starting".into(),
            }),
        }
    }

    /// `host:port` (`127.0.0.1:<port>`) for clients' `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap_servers
    }

    /// Stops the broker: closes connections, flushes and closes its logs, removes the
    /// temporary directory if it made one. Blocks the calling thread until done.
    ///
    /// # Errors
    /// [`BrokerError::Storage`] if a log could not be flushed or closed cleanly (the
    /// others are still closed), or if the broker thread panicked.
    pub fn shutdown(mut self) -> Result<(), BrokerError> {
        self.stop_now()
    }

    fn stop_now(&mut self) -> Result<(), BrokerError> {
        drop(self.stop.take());
        let result = match self.thread.take() {
            Some(thread) => thread.join().unwrap_or_else(|_| {
                Err(BrokerError::Storage {
                    path: PathBuf::new(),
                    reason: "the broker thread panicked".into(),
                })
            }),
            None => Ok(()),
        };
        if let Some(dir) = self.temporary_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        result
    }
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        let _ = self.stop_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A raw ApiVersions v0 request, answered over a real socket.
    fn api_versions_answered(bootstrap: &str) -> bool {
        let mut stream = std::net::TcpStream::connect(bootstrap).unwrap();
        let request = [0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 7, 0, 0];
        stream.write_all(&request).unwrap();
        let mut size = [0u8; 4];
        stream.read_exact(&mut size).unwrap();
        let mut body = vec![0u8; i32::from_be_bytes(size) as usize];
        stream.read_exact(&mut body).unwrap();
        body[..4] == 7i32.to_be_bytes() && body[4..6] == [0, 0]
    }

    #[test]
    fn starts_serves_and_stops_from_plain_and_async_code() {
        let broker = EmbeddedBroker::start(EmbeddedOptions::default()).unwrap();
        assert!(api_versions_answered(broker.bootstrap_servers()));
        broker.shutdown().unwrap();

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let broker = EmbeddedBroker::start(EmbeddedOptions {
                in_memory: false,
                ..Default::default()
            })
            .unwrap();
            let bootstrap = broker.bootstrap_servers().to_string();
            assert!(
                tokio::task::spawn_blocking(move || api_versions_answered(&bootstrap))
                    .await
                    .unwrap()
            );
            drop(broker);
        });
    }

    #[test]
    fn a_bad_setting_is_named() {
        let options = EmbeddedOptions {
            settings: vec![("log.retention.mss".into(), "1".into())],
            ..Default::default()
        };
        let error = EmbeddedBroker::start(options).err().unwrap();
        assert!(error.to_string().contains("log.retention.mss"), "{error}");
    }
}
