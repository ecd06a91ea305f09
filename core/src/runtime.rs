//! The process-wide tokio runtime the clients run their background work on (senders,
//! fetchers, heartbeats) when the caller is not inside a runtime of its own, as the
//! Python, Node and C bindings are not. Created on first use.

#![warn(missing_docs)]

use std::sync::Mutex;
use tokio::runtime::Handle;

/// The shared runtime and the process it was started in. A forked child inherits the
/// memory of the parent's runtime but none of its threads, so it starts its own.
static RUNTIME: Mutex<Option<(u32, Handle)>> = Mutex::new(None);

/// The current runtime if the caller is inside one, else the shared background one (a
/// multi-threaded runtime with 2 worker threads named `tidelog-client`, started on the
/// first call in each process and never shut down). Fork-safe: the first call in a
/// forked child starts a runtime of the child's own (clients made before the fork do
/// not work in the child, as with librdkafka).
///
/// Tasks spawned on the returned handle live only as long as that runtime: a client
/// created inside a runtime stops working when that runtime shuts down, and on a
/// current-thread runtime its background work progresses only while the runtime is driven.
///
/// # Panics
/// If the shared runtime cannot be built (the OS refuses to start its threads).
pub fn handle() -> Handle {
    if let Ok(current) = Handle::try_current() {
        return current;
    }
    let pid = std::process::id();
    let mut shared = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    match &*shared {
        Some((started_in, handle)) if *started_in == pid => handle.clone(),
        _ => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("tidelog-client")
                .enable_all()
                .build()
                .expect("the client runtime starts");
            let handle = runtime.handle().clone();
            // Never shut down: clients hold its handle for the life of the process. The
            // parent's runtime, in a child, is leaked too: dropping it would wait for
            // threads that do not exist there.
            std::mem::forget(runtime);
            *shared = Some((pid, handle.clone()));
            handle
        }
    }
}
