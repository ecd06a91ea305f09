//! The process-wide tokio runtime the clients run their background work on (senders,
//! fetchers, heartbeats) when the caller is not inside a runtime of its own, as the
//! Python, Node and C bindings are not. Created on first use.

use std::sync::OnceLock;
use tokio::runtime::{Handle, Runtime};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The current runtime if the caller is inside one, else the shared background one.
pub fn handle() -> Handle {
    Handle::try_current().unwrap_or_else(|_| {
        RUNTIME
            .get_or_init(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("tidelog-client")
                    .enable_all()
                    .build()
                    .expect("the client runtime starts")
            })
            .handle()
            .clone()
    })
}
