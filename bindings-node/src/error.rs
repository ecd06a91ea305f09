//! tidelog errors as JS `Error`s carrying what `lib/errors.js` needs to make KafkaJS's
//! classes of them: `kind` (`protocol` for a Kafka error code, `connection`, `timeout`,
//! `queueFull`, `config`, `unsupported`), `code` (Kafka's numeric code), `type` (Kafka's
//! error name, e.g. `UNKNOWN_TOPIC_OR_PARTITION`), `retriable` and `broker` where known.

use napi::{Env, JsObject};
use tidelog::error::{Error, ErrorCode};

/// What a JS error made from a tidelog error carries, also used for per-item errors of
/// admin calls (a topic that could not be created, ...).
#[napi(object)]
pub struct ErrorInfo {
    /// `protocol`, `connection`, `timeout`, `queueFull`, `config` or `unsupported`.
    pub kind: String,
    /// Kafka's numeric error code (e.g. 3), or the closest one for local failures.
    pub code: i32,
    /// Kafka's error name, e.g. `UNKNOWN_TOPIC_OR_PARTITION`.
    #[napi(js_name = "type")]
    pub kind_name: String,
    /// The message with its causes.
    pub message: String,
    /// Whether retrying the same call may succeed.
    pub retriable: bool,
    /// The broker's `host:port` for connection errors.
    pub broker: Option<String>,
}

/// The [`ErrorInfo`] of `error`.
pub fn info(error: &Error) -> ErrorInfo {
    let kind = match error {
        Error::Kafka { .. } | Error::Decode { .. } | Error::Encode(_) => "protocol",
        Error::Io { .. } | Error::Disconnected { .. } => "connection",
        Error::Timeout { .. } if error.is_queue_full() => "queueFull",
        Error::Timeout { .. } => "timeout",
        Error::Config(_) => "config",
        Error::UnsupportedApi { .. } => "unsupported",
        Error::Purged { .. } => "purged",
    };
    let broker = match error {
        Error::Io { broker, .. }
        | Error::Disconnected { broker }
        | Error::Decode { broker, .. }
        | Error::UnsupportedApi { broker, .. } => Some(broker.clone()),
        _ => None,
    };
    let code: ErrorCode = error.code();
    ErrorInfo {
        kind: kind.into(),
        code: i32::from(code.code()),
        kind_name: code.name().into(),
        message: error.full_message(),
        retriable: error.is_retriable(),
        broker,
    }
}

/// `error` as a JS `Error` with the [`ErrorInfo`] fields as properties, to throw or to
/// reject a Promise with.
pub fn to_js(env: &Env, error: &Error) -> napi::Error {
    match js_error(env, info(error)) {
        Ok(object) => napi::Error::from(object.into_unknown()),
        Err(failed) => failed,
    }
}

fn js_error(env: &Env, info: ErrorInfo) -> napi::Result<JsObject> {
    let mut object = env.create_error(napi::Error::from_reason(info.message))?;
    object.set_named_property("kind", env.create_string(&info.kind)?)?;
    object.set_named_property("code", env.create_int32(info.code)?)?;
    object.set_named_property("type", env.create_string(&info.kind_name)?)?;
    object.set_named_property("retriable", env.get_boolean(info.retriable)?)?;
    if let Some(broker) = info.broker {
        object.set_named_property("broker", env.create_string(&broker)?)?;
    }
    Ok(object)
}
