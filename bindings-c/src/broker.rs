//! `tl_broker_t`: a real tidelog broker inside the C process ([`EmbeddedBroker`]), for
//! tests and tools, with `tl_broker_opts_t` holding its settings.

use crate::error::{catch, status, status_into, value_or, Failure};
use crate::{handle, text, tl_resp_err_t};
use std::ffi::{c_char, CString};
use std::path::PathBuf;
use tidelog::config::BrokerConfig;
use tidelog::embedded::{EmbeddedBroker, EmbeddedOptions};

/// Settings for tl_broker_start: broker config keys and where the logs go.
#[derive(Default)]
pub struct tl_broker_opts_t {
    settings: Vec<(String, String)>,
    data_dir: Option<PathBuf>,
}

/// A running in-process broker.
pub struct tl_broker_t {
    broker: EmbeddedBroker,
    bootstrap_servers: CString,
}

/// New broker options: one partition per new topic, topics created on first use, logs in
/// memory.
///
/// Returns a handle owned by the caller: free it with tl_broker_opts_destroy (the broker
/// keeps its own copy). NULL only if a panic was caught. Thread-safe; the options are not.
#[no_mangle]
pub extern "C" fn tl_broker_opts_new() -> *mut tl_broker_opts_t {
    value_or(
        catch(|| Ok(Box::into_raw(Box::default()))),
        std::ptr::null_mut(),
    )
}

/// Sets a broker config key (Kafka's broker keys, as `tidelog serve --set` takes them:
/// `num.partitions`, `auto.create.topics.enable`, `log.segment.bytes`,
/// `log.retention.ms`, ...).
///
/// Errors, with a message naming the key written into `errstr`:
/// TL_RESP_ERR__INVALID_ARG for an unknown key, a bad value or a NULL argument.
/// Not thread-safe for the same options.
#[no_mangle]
pub unsafe extern "C" fn tl_broker_opts_set(
    opts: *mut tl_broker_opts_t,
    key: *const c_char,
    value: *const c_char,
    errstr: *mut c_char,
    errstr_size: usize,
) -> tl_resp_err_t {
    let result = catch(|| {
        let opts = opts.as_mut().ok_or_else(|| Failure::null("opts"))?;
        let setting = crate::setting(key, value, |k, v| BrokerConfig::default().set(k, v))?;
        opts.settings.push(setting);
        Ok(())
    });
    status_into(result, errstr, errstr_size)
}

/// Keeps the logs on disk under `path` (created if missing, left in place when the broker
/// stops) instead of in memory; NULL goes back to memory.
///
/// Errors: TL_RESP_ERR__INVALID_ARG for a NULL `opts` or a path that is not UTF-8.
/// Not thread-safe for the same options.
#[no_mangle]
pub unsafe extern "C" fn tl_broker_opts_set_data_dir(
    opts: *mut tl_broker_opts_t,
    path: *const c_char,
) -> tl_resp_err_t {
    status(catch(|| {
        let opts = opts.as_mut().ok_or_else(|| Failure::null("opts"))?;
        opts.data_dir = match path.is_null() {
            true => None,
            false => Some(PathBuf::from(text(path, "path")?)),
        };
        Ok(())
    }))
}

/// Frees options made by tl_broker_opts_new; NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn tl_broker_opts_destroy(opts: *mut tl_broker_opts_t) {
    crate::destroy(opts);
}

/// Starts a broker on 127.0.0.1 on a free port with `opts` (NULL: the defaults of
/// tl_broker_opts_new), blocking until it accepts connections (milliseconds), and stores
/// it in `*broker`.
///
/// `*broker` is owned by the caller: stop and free it with tl_broker_stop. `opts` is only
/// read. Errors, with the reason in `errstr`: TL_RESP_ERR__FAIL when the broker cannot
/// start (its port, its data directory), TL_RESP_ERR__INVALID_ARG for a NULL `broker`.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_broker_start(
    opts: *const tl_broker_opts_t,
    broker: *mut *mut tl_broker_t,
    errstr: *mut c_char,
    errstr_size: usize,
) -> tl_resp_err_t {
    let result = catch(|| {
        if broker.is_null() {
            return Err(Failure::null("broker"));
        }
        *broker = std::ptr::null_mut();
        let defaults = tl_broker_opts_t::default();
        let opts = opts.as_ref().unwrap_or(&defaults);
        let started = EmbeddedBroker::start(EmbeddedOptions {
            data_dir: opts.data_dir.clone(),
            settings: opts.settings.clone(),
            ..EmbeddedOptions::default()
        })
        .map_err(|e| Failure::fail(e.to_string()))?;
        let bootstrap_servers =
            CString::new(started.bootstrap_servers()).map_err(|e| Failure::fail(e.to_string()))?;
        *broker = Box::into_raw(Box::new(tl_broker_t {
            broker: started,
            bootstrap_servers,
        }));
        Ok(())
    });
    status_into(result, errstr, errstr_size)
}

/// The broker's `host:port`, for `bootstrap.servers`; NULL for a NULL broker.
/// Owned by the broker (valid until tl_broker_stop). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_broker_bootstrap_servers(broker: *const tl_broker_t) -> *const c_char {
    value_or(
        catch(|| Ok(handle(broker, "broker")?.bootstrap_servers.as_ptr())),
        std::ptr::null(),
    )
}

/// Stops the broker (closing connections and its logs, blocking until done) and frees it;
/// NULL is ignored.
///
/// Errors: TL_RESP_ERR__FAIL if a log could not be closed cleanly (the broker is stopped
/// and freed anyway). Not concurrently with other calls on the same broker.
#[no_mangle]
pub unsafe extern "C" fn tl_broker_stop(broker: *mut tl_broker_t) -> tl_resp_err_t {
    if broker.is_null() {
        return tl_resp_err_t::TL_RESP_ERR_NONE;
    }
    status(catch(|| {
        let broker = Box::from_raw(broker);
        broker
            .broker
            .shutdown()
            .map_err(|e| Failure::fail(e.to_string()))
    }))
}
