//! `tidelog._native`: the Python face of tidelog's Rust clients and embedded broker. It
//! converts types and errors and bridges blocking and waiting to Python (the GIL is
//! released whenever Rust waits); the behaviour lives in the `tidelog` crate.

mod consumer;
mod embedded;
mod errors;
mod message;
mod producer;

use pyo3::prelude::*;
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

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<producer::Producer>()?;
    module.add_class::<consumer::Consumer>()?;
    module.add_class::<message::Message>()?;
    module.add_class::<message::TopicPartition>()?;
    module.add_class::<embedded::EmbeddedBroker>()?;
    module.add_function(wrap_pyfunction!(errors::error_codes, module)?)?;
    Ok(())
}

/// Config entries whose values are Python callables, by key.
type Callables<'py> = Vec<(String, Bound<'py, PyAny>)>;

/// A confluent-kafka style config dict as Kafka key/value strings: booleans become
/// `true`/`false`, numbers their decimal form. Keys in `callables` must hold a callable
/// (or None) and are returned apart.
///
/// Raises `KafkaException(_INVALID_ARG)` naming the key for a value of another type.
fn config_pairs<'py>(
    config: &Bound<'py, pyo3::types::PyDict>,
    callables: &[&str],
) -> PyResult<(Vec<(String, String)>, Callables<'py>)> {
    let mut pairs = Vec::new();
    let mut functions = Vec::new();
    for (key, value) in config.iter() {
        let key: String = key.extract().map_err(|_| {
            errors::invalid_argument(format!("config keys must be strings, not {key:?}"))
        })?;
        if callables.contains(&key.as_str()) {
            if !value.is_none() && !value.is_callable() {
                return Err(errors::invalid_argument(format!(
                    "config `{key}` must be callable"
                )));
            }
            functions.push((key, value));
            continue;
        }
        let text = if let Ok(flag) = value.cast::<pyo3::types::PyBool>() {
            flag.is_true().to_string()
        } else if value.is_instance_of::<pyo3::types::PyString>()
            || value.is_instance_of::<pyo3::types::PyInt>()
            || value.is_instance_of::<pyo3::types::PyFloat>()
        {
            value.str()?.to_string()
        } else {
            return Err(errors::invalid_argument(format!(
                "config `{key}`: expected a string, number or bool, not {}",
                value.get_type().name()?
            )));
        };
        pairs.push((key, text));
    }
    Ok((pairs, functions))
}
