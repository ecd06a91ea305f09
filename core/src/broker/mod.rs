//! The broker: a Kafka-compatible server over TCP.
//!
//! [`Broker::start`] binds a listener, loads (or creates) the partition logs, and serves
//! the Kafka protocol until [`Broker::shutdown`]. Everything runs on the caller's tokio
//! runtime. See `docs/protocol.md` for the APIs and versions it advertises.

mod connection;
mod group;
mod handlers;
mod metadata;
mod partition;
mod state;

use crate::config::{BrokerConfig, ConfigError};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use group::GroupConfig;
pub use handlers::supported_apis;
pub(crate) use state::random_uuid;

/// Where the broker keeps its logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerStorage {
    /// Durable logs and metadata under this directory (created if missing).
    Disk(PathBuf),
    /// Logs in memory only, lost when the broker stops (tests, embedding).
    Memory,
}

/// How to start a broker.
#[derive(Debug, Clone)]
pub struct BrokerOptions {
    /// Address to listen on, e.g. `127.0.0.1:9092`; port 0 picks a free port.
    pub listen: String,
    /// `host:port` clients are told to connect to (Metadata, FindCoordinator); defaults
    /// to the bound listen address.
    pub advertised_listener: Option<String>,
    pub storage: BrokerStorage,
    /// Broker and default topic settings by Kafka key.
    pub config: BrokerConfig,
}

impl Default for BrokerOptions {
    fn default() -> Self {
        BrokerOptions {
            listen: "127.0.0.1:9092".into(),
            advertised_listener: None,
            storage: BrokerStorage::Disk(PathBuf::from("./tidelog-data")),
            config: BrokerConfig::default(),
        }
    }
}

/// Why the broker could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        source: std::io::Error,
    },
    #[error("invalid advertised listener `{0}`: expected host:port")]
    AdvertisedListener(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `reason` names the file or directory at fault.
    #[error("storage: {reason}")]
    Storage { path: PathBuf, reason: String },
}

/// A running broker. Dropping it without [`Broker::shutdown`] stops accepting connections
/// but does not flush the logs.
pub struct Broker {
    state: Arc<state::BrokerState>,
    local_addr: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

/// Splits `host:port`.
fn parse_host_port(text: &str) -> Option<(String, u16)> {
    let (host, port) = text.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host.to_string(), port.parse().ok()?))
}

impl Broker {
    /// Opens the storage (recovering every log), binds the listener and starts serving.
    ///
    /// # Errors
    /// [`BrokerError`] when the address cannot be bound, the advertised listener is not
    /// `host:port`, or the data directory cannot be used.
    pub async fn start(options: BrokerOptions) -> Result<Broker, BrokerError> {
        let listener = tokio::net::TcpListener::bind(&options.listen)
            .await
            .map_err(|source| BrokerError::Listen {
                address: options.listen.clone(),
                source,
            })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| BrokerError::Listen {
                address: options.listen.clone(),
                source,
            })?;
        let (host, port) = match &options.advertised_listener {
            Some(text) => parse_host_port(text)
                .ok_or_else(|| BrokerError::AdvertisedListener(text.clone()))?,
            None => (local_addr.ip().to_string(), local_addr.port()),
        };
        let storage = options.storage.clone();
        let config = options.config.clone();
        let state = tokio::task::spawn_blocking(move || {
            state::BrokerState::open(config, &storage, host, port as i32)
        })
        .await
        .expect("opening the broker state does not panic")
        .map_err(|reason| BrokerError::Storage {
            path: match &options.storage {
                BrokerStorage::Disk(path) => path.clone(),
                BrokerStorage::Memory => PathBuf::from("(memory)"),
            },
            reason,
        })?;
        let state = Arc::new(state);
        let (shutdown, shutdown_signal) = tokio::sync::watch::channel(false);
        let mut tasks = vec![tokio::spawn(accept_loop(
            state.clone(),
            listener,
            shutdown_signal.clone(),
        ))];
        tasks.push(tokio::spawn(housekeeping(state.clone(), shutdown_signal)));
        tracing::info!(address = %local_addr, cluster_id = %state.cluster_id, node_id = state.node_id, "broker started");
        Ok(Broker {
            state,
            local_addr,
            tasks,
            shutdown,
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `host:port` for clients' `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> String {
        format!(
            "{}:{}",
            self.state.advertised_host, self.state.advertised_port
        )
    }

    /// Stops accepting connections, closes the open ones, flushes every log and closes
    /// it cleanly (so the next start skips recovery scans).
    ///
    /// # Errors
    /// [`BrokerError::Storage`] when a log cannot be flushed or closed; the others are
    /// still closed.
    pub async fn shutdown(mut self) -> Result<(), BrokerError> {
        let _ = self.shutdown.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        let mut failure = None;
        for topic in self.state.topics() {
            for partition in &topic.partitions {
                let closed = match partition.flush().await {
                    Ok(()) => partition.log().close_clean(),
                    Err(error) => Err(error),
                };
                if let Err(error) = closed {
                    tracing::error!(topic = %topic.name, partition = partition.index, %error, "could not close the log cleanly");
                    failure = Some(error.to_string());
                }
            }
        }
        tracing::info!("broker stopped");
        match failure {
            None => Ok(()),
            Some(reason) => Err(BrokerError::Storage {
                path: PathBuf::new(),
                reason,
            }),
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

async fn accept_loop(
    state: Arc<state::BrokerState>,
    listener: tokio::net::TcpListener,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection::serve(state.clone(), stream, peer, shutdown.clone()));
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    while connections.join_next().await.is_some() {}
}

/// One compaction round over every compacted partition. The rewrite runs on a blocking
/// thread without the partition's lock, so produce and fetch carry on meanwhile.
async fn clean_compacted_logs(state: &Arc<state::BrokerState>) {
    for topic in state.topics().into_iter().filter(|t| t.config.compacted()) {
        for partition in &topic.partitions {
            let Some(plan) = partition.log().plan_cleaning(state::now_ms()) else {
                continue;
            };
            let cleaned = match tokio::task::spawn_blocking(move || plan.run()).await {
                Ok(Ok(cleaned)) => cleaned,
                Ok(Err(error)) => {
                    tracing::error!(topic = %topic.name, partition = partition.index, %error, "log cleaning failed");
                    continue;
                }
                Err(_) => continue,
            };
            match partition.log().finish_cleaning(cleaned) {
                Ok(stats) if stats.records_removed > 0 => tracing::info!(
                    topic = %topic.name,
                    partition = partition.index,
                    records_removed = stats.records_removed,
                    bytes_before = stats.bytes_before,
                    bytes_after = stats.bytes_after,
                    "compacted"
                ),
                Ok(_) => {}
                Err(error) => {
                    tracing::error!(topic = %topic.name, partition = partition.index, %error, "log cleaning failed")
                }
            }
        }
    }
}

/// How often group timers (sessions, rebalance timeouts) are checked (ms).
const GROUP_TIMER_MS: u64 = 50;

/// Periodic work: group timers, offsets expiry, time-based segment rolls and retention every
/// `log.retention.check.interval.ms`, and `flush.ms` fsyncs every
/// `log.flush.scheduler.interval.ms`.
async fn housekeeping(
    state: Arc<state::BrokerState>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    use std::time::Duration;
    let mut retention = tokio::time::interval(Duration::from_millis(
        state.config.retention_check_interval_ms(),
    ));
    let mut flush = tokio::time::interval(Duration::from_millis(
        state.config.flush_check_interval_ms(),
    ));
    let mut group_timers = tokio::time::interval(Duration::from_millis(GROUP_TIMER_MS));
    let mut cleaner =
        tokio::time::interval(Duration::from_millis(state.config.cleaner_backoff_ms()));
    let mut offsets_expiry = tokio::time::interval(Duration::from_millis(
        state.config.offsets_retention_check_interval_ms(),
    ));
    loop {
        tokio::select! {
            _ = group_timers.tick() => handlers::groups::tick(&state),
            _ = offsets_expiry.tick() => handlers::groups::expire_offsets(&state),
            _ = cleaner.tick() => clean_compacted_logs(&state).await,
            _ = retention.tick() => {
                let now = state::now_ms();
                for topic in state.topics() {
                    for partition in &topic.partitions {
                        let mut log = partition.log();
                        let result = log.roll_if_due(now).and_then(|_| log.enforce_retention(now));
                        match result {
                            Ok(0) => {}
                            Ok(deleted) => tracing::info!(topic = %topic.name, partition = partition.index, deleted, "retention deleted segments"),
                            Err(error) => tracing::error!(topic = %topic.name, partition = partition.index, %error, "retention failed"),
                        }
                    }
                }
            }
            _ = flush.tick() => {
                let now = state::now_ms();
                for topic in state.topics() {
                    for partition in &topic.partitions {
                        let due = partition.log().flush_due(now);
                        if due {
                            if let Err(error) = partition.flush().await {
                                tracing::error!(topic = %topic.name, partition = partition.index, %error, "flush failed");
                            }
                        }
                    }
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}
