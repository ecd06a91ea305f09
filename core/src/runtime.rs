//! The process-wide tokio runtime the clients run their background work on (senders,
//! fetchers, heartbeats) when the caller is not inside a runtime of its own, as the
//! Python, Node and C bindings are not. Created on first use.

#![warn(missing_docs)]

use std::sync::OnceLock;
use tokio::runtime::{Handle, Runtime};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The current runtime if the caller is inside one, else the shared background one (a
/// multi-threaded runtime with 2 worker threads named `tidelog-client`, started on the
/// first call and never shut down).
///
/// Tasks spawned on the returned handle live only as long as that runtime: a client
/// created inside a runtime stops working when that runtime shuts down, and on a
/// current-thread runtime its background work progresses only while the runtime is driven.
///
/// # Panics
/// If the shared runtime cannot be built (the OS refuses to start its threads).
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
