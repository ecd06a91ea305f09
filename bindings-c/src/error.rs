//! Errors as C sees them: a `tl_resp_err_t` code (Kafka's codes at their Kafka values,
//! librdkafka's local codes below -100, see `error_codes.rs`) and a message, written into
//! the caller's `errstr` buffer where a function takes one and kept per thread for
//! `tl_last_error`. Panics are caught here and become `TL_RESP_ERR__FAIL`.

use crate::tl_resp_err_t;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;
use tidelog::error::{Error, ErrorCode, LocalCode};

/// A failed call: its code and message.
#[derive(Debug)]
pub(crate) struct Failure {
    pub code: tl_resp_err_t,
    pub message: String,
}

impl Failure {
    /// `TL_RESP_ERR__INVALID_ARG` with `message`.
    pub fn invalid(message: String) -> Failure {
        Failure {
            code: tl_resp_err_t::TL_RESP_ERR__INVALID_ARG,
            message,
        }
    }

    /// `TL_RESP_ERR__INVALID_ARG` for a NULL argument.
    pub fn null(what: &str) -> Failure {
        Failure::invalid(format!("`{what}` is NULL"))
    }

    /// `TL_RESP_ERR__STATE`: the handle is closed.
    pub fn closed(what: &str) -> Failure {
        Failure {
            code: tl_resp_err_t::TL_RESP_ERR__STATE,
            message: format!("{what} is closed"),
        }
    }

    /// `TL_RESP_ERR__FAIL` with `message`.
    pub fn fail(message: String) -> Failure {
        Failure {
            code: tl_resp_err_t::TL_RESP_ERR__FAIL,
            message,
        }
    }

    /// A core error, `delivery` marking a delivery report (see [`Error::client_code`]).
    pub fn of(error: &Error, delivery: bool) -> Failure {
        Failure {
            code: code(error.client_code(delivery)),
            message: error.full_message(),
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::of(&error, false)
    }
}

/// The enum value of a code from the core; a code the header does not list (a newer
/// broker's) is `TL_RESP_ERR_UNKNOWN_SERVER_ERROR`.
pub(crate) fn code(code: i32) -> tl_resp_err_t {
    tl_resp_err_t::from_code(code).unwrap_or(tl_resp_err_t::TL_RESP_ERR_UNKNOWN_SERVER_ERROR)
}

thread_local! {
    static LAST_ERROR: RefCell<Option<Failure>> = const { RefCell::new(None) };
}

/// Runs an exported function's body: a panic becomes a `TL_RESP_ERR__FAIL` failure.
pub(crate) fn catch<T>(body: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let reason = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(Failure::fail(format!("internal error: {reason}")))
    })
}

/// Records a failure as this thread's last error and returns its code; `TL_RESP_ERR_NONE`
/// for success.
pub(crate) fn status(result: Result<(), Failure>) -> tl_resp_err_t {
    match result {
        Ok(()) => tl_resp_err_t::TL_RESP_ERR_NONE,
        Err(failure) => remember(failure),
    }
}

/// As [`status`], also writing the message into the caller's buffer.
pub(crate) fn status_into(
    result: Result<(), Failure>,
    errstr: *mut c_char,
    errstr_size: usize,
) -> tl_resp_err_t {
    if let Err(failure) = &result {
        // SAFETY: the caller gives a writable buffer of `errstr_size` bytes or NULL.
        unsafe { write_message(&failure.message, errstr, errstr_size) };
    }
    status(result)
}

/// A new handle, or NULL with the failure recorded and written into the caller's buffer.
pub(crate) fn made_or_null<T>(
    result: Result<*mut T, Failure>,
    errstr: *mut c_char,
    errstr_size: usize,
) -> *mut T {
    match result {
        Ok(made) => made,
        Err(failure) => {
            status_into(Err(failure), errstr, errstr_size);
            std::ptr::null_mut()
        }
    }
}

/// The value on success; otherwise records the failure and returns `fallback`.
pub(crate) fn value_or<T>(result: Result<T, Failure>, fallback: T) -> T {
    result.unwrap_or_else(|failure| {
        remember(failure);
        fallback
    })
}

fn remember(failure: Failure) -> tl_resp_err_t {
    let code = failure.code;
    LAST_ERROR.with(|last| *last.borrow_mut() = Some(failure));
    code
}

/// Copies `message` into `buffer` (at most `size - 1` bytes, cut at a character boundary,
/// then a NUL); nothing when `buffer` is NULL or `size` is 0. Returns the bytes written.
///
/// # Safety
/// `buffer` is NULL or writable for `size` bytes.
pub(crate) unsafe fn write_message(message: &str, buffer: *mut c_char, size: usize) -> usize {
    if buffer.is_null() || size == 0 {
        return 0;
    }
    let mut len = message.len().min(size - 1);
    while !message.is_char_boundary(len) {
        len -= 1;
    }
    std::ptr::copy_nonoverlapping(message.as_ptr(), buffer.cast::<u8>(), len);
    *buffer.add(len) = 0;
    len
}

/// Names and descriptions of every code, as C strings that live as long as the process.
fn descriptions() -> &'static HashMap<i32, (CString, CString)> {
    static TABLE: OnceLock<HashMap<i32, (CString, CString)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let entry = |name: &str, description: &str| {
            let c = |s: &str| CString::new(s).expect("no NUL in code names");
            (c(name), c(description))
        };
        let kafka = ErrorCode::ALL
            .iter()
            .map(|c| (i32::from(c.code()), entry(c.name(), c.description())));
        let local = LocalCode::ALL
            .iter()
            .map(|c| (c.code(), entry(c.name(), c.description())));
        kafka.chain(local).collect()
    })
}

/// The name of error code `err` as Kafka (or, for local codes, librdkafka) spells it, e.g.
/// `"NOT_LEADER_OR_FOLLOWER"` or `"_TRANSPORT"`; `"UNKNOWN_ERROR_CODE"` for a value that
/// is not a `tl_resp_err_t`.
///
/// Returns a static string: never free it. Thread-safe.
#[no_mangle]
pub extern "C" fn tl_err2name(err: i32) -> *const c_char {
    match descriptions().get(&err) {
        Some((name, _)) => name.as_ptr(),
        None => c"UNKNOWN_ERROR_CODE".as_ptr(),
    }
}

/// A one-sentence description of error code `err`; `"Unknown error code."` for a value
/// that is not a `tl_resp_err_t`.
///
/// Returns a static string: never free it. Thread-safe.
#[no_mangle]
pub extern "C" fn tl_err2str(err: i32) -> *const c_char {
    match descriptions().get(&err) {
        Some((_, description)) => description.as_ptr(),
        None => c"Unknown error code.".as_ptr(),
    }
}

/// Copies the message of the last error a `tl_` call returned on the calling thread into
/// `buffer` (at most `size - 1` bytes and a NUL; nothing if `buffer` is NULL or `size` is
/// 0), and returns that error's code, `TL_RESP_ERR_NONE` (and an empty message) if there
/// was none. Successful calls do not clear it.
///
/// Thread-safe: each thread has its own last error.
#[no_mangle]
pub unsafe extern "C" fn tl_last_error(buffer: *mut c_char, size: usize) -> tl_resp_err_t {
    LAST_ERROR.with(|last| match &*last.borrow() {
        Some(failure) => {
            write_message(&failure.message, buffer, size);
            failure.code
        }
        None => {
            write_message("", buffer, size);
            tl_resp_err_t::TL_RESP_ERR_NONE
        }
    })
}
