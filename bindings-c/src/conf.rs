//! `tl_conf_t`: one librdkafka-style configuration for a producer, a consumer or an admin
//! client, with Kafka's keys. Each `tl_conf_set` is checked by the core's config parsing
//! at once ([`tidelog::client::check_setting`]); each client takes the keys that are its
//! own ([`ClientKind::settings`]).

use crate::consumer::{tl_offset_commit_cb, tl_rebalance_cb};
use crate::error::{catch, status_into, value_or, Failure};
use crate::producer::tl_delivery_cb;
use crate::{tl_resp_err_t, Opaque};
use std::ffi::{c_char, c_void};
use tidelog::client::ClientKind;

/// A client configuration: Kafka settings by key, the callbacks and their `opaque`.
pub struct tl_conf_t {
    settings: Vec<(String, String)>,
    pub(crate) delivery_cb: tl_delivery_cb,
    pub(crate) rebalance_cb: tl_rebalance_cb,
    pub(crate) offset_commit_cb: tl_offset_commit_cb,
    pub(crate) opaque: Opaque,
}

impl tl_conf_t {
    /// The settings `kind` takes, in the order they were set.
    pub(crate) fn settings(&self, kind: ClientKind) -> Vec<(&str, &str)> {
        kind.settings(self.settings.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .collect()
    }
}

/// A new, empty configuration (every key at its default; `bootstrap.servers` must be set
/// before a client is made from it).
///
/// Returns a handle owned by the caller: free it with tl_conf_destroy (clients made from
/// it keep their own copy, so it may be freed right after). NULL only if a panic was
/// caught. Thread-safe; the handle itself is not: use it from one thread at a time.
#[no_mangle]
pub extern "C" fn tl_conf_new() -> *mut tl_conf_t {
    value_or(
        catch(|| {
            Ok(Box::into_raw(Box::new(tl_conf_t {
                settings: Vec::new(),
                delivery_cb: None,
                rebalance_cb: None,
                offset_commit_cb: None,
                opaque: Opaque(std::ptr::null_mut()),
            })))
        }),
        std::ptr::null_mut(),
    )
}

/// Sets `key` to `value` (Kafka's config keys and value syntax: `bootstrap.servers`,
/// `acks`, `linger.ms`, `compression.type`, `group.id`, `auto.offset.reset`, ...), for
/// whichever clients take the key; a later set of the same key wins.
///
/// Errors, with a message naming the key written into `errstr`:
/// TL_RESP_ERR__INVALID_ARG for a key no client takes, a value a client that takes the
/// key rejects, or a NULL argument.
///
/// Not thread-safe for the same `conf`.
#[no_mangle]
pub unsafe extern "C" fn tl_conf_set(
    conf: *mut tl_conf_t,
    key: *const c_char,
    value: *const c_char,
    errstr: *mut c_char,
    errstr_size: usize,
) -> tl_resp_err_t {
    let result = catch(|| {
        let conf = conf.as_mut().ok_or_else(|| Failure::null("conf"))?;
        let (key, value) = crate::setting(key, value, tidelog::client::check_setting)?;
        conf.settings.retain(|(k, _)| *k != key);
        conf.settings.push((key, value));
        Ok(())
    });
    status_into(result, errstr, errstr_size)
}

/// Sets the producer's delivery report callback (NULL: none), called once per record
/// from tl_poll or tl_flush on the thread that calls them.
///
/// Not thread-safe for the same `conf`. Errors: TL_RESP_ERR__INVALID_ARG for a NULL conf.
#[no_mangle]
pub unsafe extern "C" fn tl_conf_set_delivery_cb(
    conf: *mut tl_conf_t,
    callback: tl_delivery_cb,
) -> tl_resp_err_t {
    crate::error::status(catch(|| {
        conf.as_mut()
            .ok_or_else(|| Failure::null("conf"))?
            .delivery_cb = callback;
        Ok(())
    }))
}

/// Sets the consumer's rebalance callback (NULL: none), called from tl_consumer_poll (and
/// tl_commit, tl_unsubscribe, tl_consumer_close) on the calling thread each time
/// partitions are assigned, revoked or lost. The rebalance waits until it returns, so it
/// may commit the partitions being revoked.
///
/// Not thread-safe for the same `conf`. Errors: TL_RESP_ERR__INVALID_ARG for a NULL conf.
#[no_mangle]
pub unsafe extern "C" fn tl_conf_set_rebalance_cb(
    conf: *mut tl_conf_t,
    callback: tl_rebalance_cb,
) -> tl_resp_err_t {
    crate::error::status(catch(|| {
        conf.as_mut()
            .ok_or_else(|| Failure::null("conf"))?
            .rebalance_cb = callback;
        Ok(())
    }))
}

/// Sets the consumer's offset commit callback (NULL: none), which hears how each
/// asynchronous commit (tl_commit or tl_commit_message with `async_commit` non-zero)
/// ended: it is called from the next tl_consumer_poll (or tl_commit, tl_unsubscribe,
/// tl_consumer_close) on the calling thread after the commit finished.
///
/// Not thread-safe for the same `conf`. Errors: TL_RESP_ERR__INVALID_ARG for a NULL conf.
#[no_mangle]
pub unsafe extern "C" fn tl_conf_set_offset_commit_cb(
    conf: *mut tl_conf_t,
    callback: tl_offset_commit_cb,
) -> tl_resp_err_t {
    crate::error::status(catch(|| {
        conf.as_mut()
            .ok_or_else(|| Failure::null("conf"))?
            .offset_commit_cb = callback;
        Ok(())
    }))
}

/// Sets the `opaque` pointer passed to every callback of clients made from `conf`. The
/// library never dereferences it.
///
/// Not thread-safe for the same `conf`. Errors: TL_RESP_ERR__INVALID_ARG for a NULL conf.
#[no_mangle]
pub unsafe extern "C" fn tl_conf_set_opaque(
    conf: *mut tl_conf_t,
    opaque: *mut c_void,
) -> tl_resp_err_t {
    crate::error::status(catch(|| {
        conf.as_mut().ok_or_else(|| Failure::null("conf"))?.opaque = Opaque(opaque);
        Ok(())
    }))
}

/// Frees a configuration made by tl_conf_new; NULL is ignored. Clients made from it are
/// not affected. Not thread-safe for the same `conf`.
#[no_mangle]
pub unsafe extern "C" fn tl_conf_destroy(conf: *mut tl_conf_t) {
    crate::destroy(conf);
}
