//! tidelog errors as confluent-kafka's: `KafkaException(KafkaError(code, reason))`, with
//! the classes defined in `tidelog/error.py`. Broker errors keep their Kafka code; local
//! failures get librdkafka's negative codes, which confluent-kafka users test against.

use pyo3::exceptions::PyBufferError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use tidelog::error::{Error, ErrorCode, LocalCode};

/// librdkafka's local error codes that the binding raises itself.
pub const INVALID_ARG: i32 = LocalCode::InvalidArg as i32;
pub const STATE: i32 = LocalCode::State as i32;
pub const FAIL: i32 = LocalCode::Fail as i32;

/// Every Kafka error code tidelog knows: (code, name, retriable, description).
#[pyfunction]
pub fn error_codes() -> Vec<(i16, &'static str, bool, &'static str)> {
    ErrorCode::ALL
        .iter()
        .map(|c| (c.code(), c.name(), c.is_retriable(), c.description()))
        .collect()
}

static ERROR_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn error_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    ERROR_MODULE
        .get_or_try_init(py, || Ok(py.import("tidelog.error")?.unbind()))
        .map(|m| m.bind(py))
}

/// A `KafkaError` for `error`, its reason the whole cause chain; `delivery` marks a
/// delivery report, whose timeout is `_MSG_TIMED_OUT` rather than `_TIMED_OUT`.
pub fn kafka_error<'py>(
    py: Python<'py>,
    error: &Error,
    delivery: bool,
) -> PyResult<Bound<'py, PyAny>> {
    new_error(
        py,
        error.client_code(delivery),
        &error.full_message(),
        error.is_retriable(),
    )
}

fn new_error<'py>(
    py: Python<'py>,
    code: i32,
    reason: &str,
    retriable: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("retriable", retriable)?;
    error_module(py)?
        .getattr("KafkaError")?
        .call((code, reason), Some(&kwargs))
}

/// `KafkaException(KafkaError(code, reason))`.
pub fn exception(py: Python<'_>, code: i32, reason: &str, retriable: bool) -> PyErr {
    let raised = new_error(py, code, reason, retriable)
        .and_then(|error| error_module(py)?.getattr("KafkaException")?.call1((error,)));
    match raised {
        Ok(exception) => PyErr::from_value(exception),
        Err(failed) => failed,
    }
}

/// `KafkaException(error)` for a `KafkaError` object.
pub fn exception_of<'py>(
    py: Python<'py>,
    error: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    error_module(py)?.getattr("KafkaException")?.call1((error,))
}

/// `error` raised as a `KafkaException`; a full `buffer.memory` as the `BufferError`
/// confluent-kafka raises.
pub fn raise(error: Error) -> PyErr {
    Python::attach(|py| {
        if error.is_queue_full() {
            return PyBufferError::new_err(format!("Local: Queue full ({error})"));
        }
        match kafka_error(py, &error, false).and_then(|e| exception_of(py, &e)) {
            Ok(exception) => PyErr::from_value(exception),
            Err(failed) => failed,
        }
    })
}

/// `KafkaException(_INVALID_ARG)` with `reason`, for bad arguments and config.
pub fn invalid_argument(reason: String) -> PyErr {
    Python::attach(|py| exception(py, INVALID_ARG, &reason, false))
}

/// `KafkaException(_STATE)`: the client is closed.
pub fn closed(what: &str) -> PyErr {
    Python::attach(|py| exception(py, STATE, &format!("{what} is closed"), false))
}
