//! `tidelog._native`: the Python face of tidelog's Rust clients and embedded broker. It
//! converts types and errors and bridges blocking and waiting to Python (the GIL is
//! released whenever Rust waits); the behaviour lives in the `tidelog` crate.

mod admin;
mod broker;
mod consumer;
mod error;
mod message;
mod producer;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use std::future::Future;
use std::time::Duration;

/// Kafka's "wait forever" for a Python timeout of `None` or a negative number.
const FOREVER: Duration = Duration::from_secs(365 * 24 * 3600);

/// How long a blocking call waits at a time before it checks for Ctrl-C.
const SIGNAL_CHECK: Duration = Duration::from_millis(200);

/// A Python timeout in seconds (`None` or negative: no limit) as a duration.
fn timeout(seconds: Option<f64>) -> Duration {
    match seconds {
        Some(s) if s >= 0.0 => Duration::from_secs_f64(s.min(FOREVER.as_secs_f64())),
        _ => FOREVER,
    }
}

/// Runs `future` on tidelog's runtime with the GIL released, in slices, so that Ctrl-C
/// raises `KeyboardInterrupt` while it waits.
pub(crate) fn wait<T: Send>(py: Python<'_>, future: impl Future<Output = T> + Send) -> PyResult<T> {
    let mut future = std::pin::pin!(future);
    loop {
        let slice = py.detach(|| {
            tidelog::runtime::handle().block_on(async {
                tokio::time::timeout(crate::SIGNAL_CHECK, &mut future)
                    .await
                    .ok()
            })
        });
        if let Some(done) = slice {
            return Ok(done);
        }
        py.check_signals()?;
    }
}

/// An asyncio future of the running event loop, resolved with what `deliver` makes of
/// `work`'s output (or failed with the exception it returns) once `work` is done on
/// tidelog's runtime. The task hands the outcome to the loop with
/// `loop.call_soon_threadsafe(tidelog.aio._settle, ...)`, so the future is resolved on
/// the loop's thread and no thread waits meanwhile. Raises RuntimeError outside a
/// running loop.
pub(crate) fn asyncio_future<T: Send + 'static>(
    py: Python<'_>,
    work: impl Future<Output = T> + Send + 'static,
    deliver: impl FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + Send + 'static,
) -> PyResult<Py<PyAny>> {
    static SETTLE: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();
    let settle = SETTLE
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("tidelog.aio")?.getattr("_settle")?.unbind())
        })?
        .clone_ref(py);
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let future = event_loop.call_method0("create_future")?.unbind();
    let (event_loop, awaited) = (event_loop.unbind(), future.clone_ref(py));
    tidelog::runtime::handle().spawn(async move {
        let output = work.await;
        Python::attach(|py| {
            let (value, raised) = match deliver(py, output) {
                Ok(value) => (value, py.None()),
                Err(error) => (py.None(), error.into_value(py).into_any()),
            };
            // Fails only once the loop is closed: then nobody awaits the future.
            let _ = event_loop.call_method1(
                py,
                "call_soon_threadsafe",
                (settle, awaited, value, raised),
            );
        });
    });
    Ok(future)
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<producer::Producer>()?;
    module.add_class::<consumer::Consumer>()?;
    module.add_class::<message::Message>()?;
    module.add_class::<message::TopicPartition>()?;
    module.add_class::<broker::EmbeddedBroker>()?;
    module.add_class::<admin::AdminClient>()?;
    module.add_function(wrap_pyfunction!(error::error_codes, module)?)?;
    Ok(())
}

/// Kafka settings as (key, value) strings.
type Settings = Vec<(String, String)>;

/// A client's settings as confluent-kafka takes them, a config dict and keyword
/// arguments (these win), as Kafka key/value strings: booleans become `true`/`false`,
/// numbers their decimal form. The value of a key in `callback_keys` must be a callable
/// (or None); the one given is returned apart.
///
/// Raises `KafkaException(_INVALID_ARG)` naming the key for a value of another type
/// (a callable for any other key included: tidelog takes no other callbacks yet).
fn client_config(
    py: Python<'_>,
    config: Option<&Bound<'_, PyDict>>,
    kwargs: Option<&Bound<'_, PyDict>>,
    callback_keys: &[&str],
) -> PyResult<(Settings, Option<Py<PyAny>>)> {
    let mut pairs = Vec::new();
    let mut callback = None;
    for (key, value) in [config, kwargs]
        .into_iter()
        .flatten()
        .flat_map(|d| d.iter())
    {
        let key: String = key.extract().map_err(|_| {
            error::invalid_argument(format!("config keys must be strings, not {key:?}"))
        })?;
        if callback_keys.contains(&key.as_str()) {
            if !value.is_none() && !value.is_callable() {
                return Err(error::invalid_argument(format!(
                    "config `{key}` must be callable"
                )));
            }
            callback = Some(value.unbind()).filter(|v| !v.is_none(py));
            continue;
        }
        let text = if let Ok(flag) = value.cast::<PyBool>() {
            flag.is_true().to_string()
        } else if value.is_instance_of::<PyString>()
            || value.is_instance_of::<PyInt>()
            || value.is_instance_of::<PyFloat>()
        {
            value.str()?.to_string()
        } else {
            return Err(error::invalid_argument(format!(
                "config `{key}`: expected a string, number or bool, not {}",
                value.get_type().name()?
            )));
        };
        pairs.push((key, text));
    }
    Ok((pairs, callback))
}
