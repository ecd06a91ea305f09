//! What `tidelog produce` and `tidelog consume` share: `-X` settings, the bootstrap
//! servers, and stopping on SIGINT or SIGTERM.

use crate::signals::ShutdownSignals;
use tokio::sync::watch;

/// Parses a `-X KEY=VALUE` setting (the value may contain `=`).
pub fn parse_key_value(setting: &str) -> Result<(String, String), String> {
    match setting.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err("expected KEY=VALUE".into()),
    }
}

/// The Kafka `(key, value)` settings of a client: the `-X` settings in order, then
/// `bootstrap.servers` from `-b`, then `overrides` (what the other flags set), so that a
/// flag wins over the `-X` setting of the same key.
///
/// # Errors
/// A message when no broker is given at all, by `-b` or `-X bootstrap.servers`.
pub fn settings<'a>(
    brokers: Option<&'a str>,
    x: &'a [(String, String)],
    overrides: &[(&'a str, &'a str)],
) -> Result<Vec<(&'a str, &'a str)>, String> {
    let mut pairs: Vec<(&str, &str)> = x.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    if let Some(brokers) = brokers {
        pairs.push(("bootstrap.servers", brokers));
    }
    if !pairs.iter().any(|(key, _)| *key == "bootstrap.servers") {
        return Err("no broker to connect to: give -b HOST:PORT".into());
    }
    pairs.extend_from_slice(overrides);
    Ok(pairs)
}

/// Watches for SIGINT and SIGTERM (Ctrl-C elsewhere): the receiver holds the name of the
/// latest signal, and changes on each one, so a command can stop gracefully on the first
/// and give up on the second.
///
/// # Errors
/// A message if the handlers cannot be installed.
pub fn watch_interrupts() -> Result<watch::Receiver<Option<&'static str>>, String> {
    let mut signals = ShutdownSignals::install()
        .map_err(|err| format!("cannot install signal handlers: {err}"))?;
    let (sender, receiver) = watch::channel(None);
    tokio::spawn(async move {
        loop {
            let name = signals.recv().await;
            if sender.send(Some(name)).is_err() {
                return;
            }
        }
    });
    Ok(receiver)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_split_at_the_first_equals_sign() {
        assert_eq!(
            parse_key_value(" linger.ms =a=b").unwrap(),
            ("linger.ms".into(), "a=b".into())
        );
        assert!(parse_key_value("linger.ms").is_err());
        assert!(parse_key_value("=1").is_err());
    }

    #[test]
    fn flags_override_x_settings_and_a_broker_is_required() {
        let x = vec![
            ("acks".to_string(), "1".to_string()),
            ("compression.type".to_string(), "gzip".to_string()),
        ];
        let pairs = settings(Some("h:1"), &x, &[("compression.type", "lz4")]).unwrap();
        assert_eq!(
            pairs,
            [
                ("acks", "1"),
                ("compression.type", "gzip"),
                ("bootstrap.servers", "h:1"),
                ("compression.type", "lz4")
            ]
        );
        assert!(settings(None, &x, &[]).unwrap_err().contains("-b"));
        let only_x = vec![("bootstrap.servers".to_string(), "h:1".to_string())];
        assert_eq!(settings(None, &only_x, &[]).unwrap().len(), 1);
    }
}
