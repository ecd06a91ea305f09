//! The native addon of the `tidelog` npm package: tidelog's Rust clients and embedded
//! broker as napi-rs classes. It converts types and errors; the JS layer in `lib/` gives
//! them KafkaJS's shapes, and the behaviour lives in the `tidelog` crate. Nothing here
//! blocks the event loop: every wait is a Promise settled from tidelog's runtime.

#[macro_use]
extern crate napi_derive;

mod admin;
mod broker;
mod consumer;
mod error;
mod message;
mod producer;

use napi::bindgen_prelude::ToNapiValue;
use napi::{Env, JsObject};
use std::future::Future;

/// `settings`, Kafka settings as `[key, value]` string pairs as the JS layer passes them,
/// as `(key, value)` pairs; an entry that is not a pair is an error naming it.
pub(crate) fn pairs(settings: &[Vec<String>]) -> napi::Result<Vec<(&str, &str)>> {
    settings
        .iter()
        .map(|pair| match pair.as_slice() {
            [key, value] => Ok((key.as_str(), value.as_str())),
            other => Err(napi::Error::new(
                napi::Status::InvalidArg,
                format!("a setting must be a [key, value] pair, not {other:?}"),
            )),
        })
        .collect()
}

/// A Promise settled with what `deliver` makes of `work`'s output once `work` is done
/// on tidelog's runtime (or rejected with the tidelog error as a JS error, see
/// [`error::to_js`]). The event loop goes on meanwhile.
pub(crate) fn promise<T, V>(
    env: &Env,
    work: impl Future<Output = Result<T, tidelog::error::Error>> + Send + 'static,
    deliver: impl FnOnce(Env, T) -> napi::Result<V> + Send + 'static,
) -> napi::Result<JsObject>
where
    T: Send + 'static,
    V: ToNapiValue + 'static,
{
    let (deferred, promise) = env.create_deferred()?;
    tidelog::runtime::handle().spawn(async move {
        let output = work.await;
        deferred.resolve(move |env| match output {
            Ok(value) => deliver(env, value),
            Err(failed) => Err(error::to_js(&env, &failed)),
        });
    });
    Ok(promise)
}
