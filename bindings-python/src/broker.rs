//! `EmbeddedBroker`: a real tidelog broker inside the Python process, for tests and
//! scripts.

use crate::error;
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::Mutex;
use tidelog::embedded::{EmbeddedBroker as CoreBroker, EmbeddedOptions};

/// A broker on 127.0.0.1 and a free port, started in milliseconds; usable as a context
/// manager. `partitions` is the partition count of topics created without one
/// (`num.partitions`); logs stay in memory unless `in_memory=False` (then under
/// `data_dir`, or a temporary directory removed at shutdown); `config` holds further
/// broker settings by Kafka key (e.g. `{"log.segment.bytes": 1048576}`).
///
/// Raises `KafkaException` when the broker cannot start (bad setting, unusable
/// `data_dir`).
#[pyclass(module = "tidelog._native", frozen)]
pub struct EmbeddedBroker {
    broker: Mutex<Option<CoreBroker>>,
    bootstrap_servers: String,
}

#[pymethods]
impl EmbeddedBroker {
    #[new]
    #[pyo3(signature = (partitions = 1, data_dir = None, in_memory = None, auto_create_topics = true, config = None))]
    fn new(
        py: Python<'_>,
        partitions: i32,
        data_dir: Option<PathBuf>,
        in_memory: Option<bool>,
        auto_create_topics: bool,
        config: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<EmbeddedBroker> {
        let (settings, _) = crate::client_config(py, config, None, &[])?;
        let options = EmbeddedOptions {
            partitions,
            auto_create_topics,
            in_memory: in_memory.unwrap_or(data_dir.is_none()),
            data_dir,
            settings,
        };
        let broker = py
            .detach(|| CoreBroker::start(options))
            .map_err(|error| error::exception(py, error::FAIL, &error.to_string(), false))?;
        Ok(EmbeddedBroker {
            bootstrap_servers: broker.bootstrap_servers().to_string(),
            broker: Mutex::new(Some(broker)),
        })
    }

    /// `host:port` for `bootstrap.servers`.
    #[getter]
    fn bootstrap_servers(&self) -> &str {
        &self.bootstrap_servers
    }

    /// Stops the broker (waiting for its logs to close); stopping twice is harmless.
    /// Raises `KafkaException` if a log could not be closed cleanly.
    fn shutdown(&self, py: Python<'_>) -> PyResult<()> {
        let broker = self.broker.lock().unwrap_or_else(|p| p.into_inner()).take();
        match broker {
            Some(broker) => py
                .detach(|| broker.shutdown())
                .map_err(|error| error::exception(py, error::FAIL, &error.to_string(), false)),
            None => Ok(()),
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _kind: Option<Bound<'_, PyAny>>,
        _value: Option<Bound<'_, PyAny>>,
        _traceback: Option<Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.shutdown(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "EmbeddedBroker(bootstrap_servers={:?})",
            self.bootstrap_servers
        )
    }
}
