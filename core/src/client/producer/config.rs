//! [`ProducerConfig`]: the producer's settings, keyed by the Java client's config names
//! (the keys confluent-kafka and librdkafka users know). Values arrive as strings; an
//! unknown key or a bad value is an [`Error::Config`] that names the key.

use crate::config::ConfigError;
use crate::error::Error;
use crate::partitioner::Partitioner;
use crate::protocol::compression::Compression;
use std::time::Duration;

/// How many acknowledgements the producer waits for (`acks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Acks {
    /// `acks=0`: no response is requested; a record counts as delivered once written to
    /// the socket, and its offset is unknown (-1).
    None,
    /// `acks=1`: the leader has appended the batch.
    Leader,
    /// `acks=all` (or `-1`): every in-sync replica has the batch. Kafka's default since 3.0.
    #[default]
    All,
}

impl Acks {
    /// The value sent in ProduceRequest's `Acks` field: 0, 1 or -1.
    pub fn code(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

/// A producer's configuration. Build it with [`ProducerConfig::from_pairs`] (Kafka keys
/// as strings, what the bindings use) or [`ProducerConfig::new`] and the public fields.
/// Defaults are the Java client's unless a field says otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct ProducerConfig {
    /// `bootstrap.servers`: `host:port` addresses to fetch metadata from first. Required.
    pub bootstrap_servers: Vec<String>,
    /// `client.id`: sent with every request, for the broker's logs and quotas. Default
    /// `"tidelog"`.
    pub client_id: String,
    /// `acks`: `0`, `1`, or `all`/`-1`. Default `all`.
    pub acks: Acks,
    /// `linger.ms`: how long a partition's batch waits for more records before it is
    /// sent, in ms. Default 5 (the Java client's since Kafka 4.0, KIP-1030).
    pub linger_ms: u64,
    /// `batch.size`: a partition's batch is sent once its uncompressed size reaches this
    /// many bytes. Default 16384, the Java client's (librdkafka's is 1000000); 0 sends
    /// every record in a batch of its own. A record larger than this gets a batch alone.
    pub batch_size: usize,
    /// `compression.type`: `none`, `gzip`, `snappy`, `lz4` or `zstd`. Default `none`.
    pub compression: Compression,
    /// `max.in.flight.requests.per.connection`: Produce requests awaiting a response per
    /// broker, pipelined on its one connection. Default 5; at least 1. Without
    /// idempotence, a value above 1 lets a retried batch land after a later one.
    pub max_in_flight_requests_per_connection: usize,
    /// `retries`: how many times a batch is retried after a retriable error before it
    /// fails (also bounded by `delivery.timeout.ms`). Default `i32::MAX`.
    pub retries: u32,
    /// `retry.backoff.ms`: wait before retrying a batch or a failed metadata request, in
    /// ms. Default 100.
    pub retry_backoff_ms: u64,
    /// `delivery.timeout.ms`: upper bound on the time from `send` to the delivery report,
    /// retries included, in ms. Default 120000. Must be at least `linger.ms` +
    /// `request.timeout.ms`, as the Java client requires.
    pub delivery_timeout_ms: u64,
    /// `request.timeout.ms`: how long to wait for a Produce response before the attempt
    /// counts as failed (and is retried), in ms; also sent as the broker-side timeout.
    /// Default 30000.
    pub request_timeout_ms: u64,
    /// `max.request.size`: the largest Produce request, and so the largest record, in
    /// bytes. Default 1048576.
    pub max_request_size: usize,
    /// `buffer.memory`: bytes of records the producer holds before `send` refuses more
    /// (and `send_async` waits). Default 33554432. Counted as the records' key, value and
    /// header bytes plus a small per-record overhead.
    pub buffer_memory: usize,
    /// `max.block.ms`: how long `send_async` waits for `buffer.memory` to free up, in ms.
    /// Default 60000.
    pub max_block_ms: u64,
    /// `enable.idempotence`: default true, as in Kafka 3.0+. With `acks=all` and at most
    /// 5 requests in flight (else it is off, see [`ProducerConfig::idempotent`]), batches
    /// carry a producer id, epoch and per-partition sequence numbers (KIP-98), so a retry
    /// after a lost response is recognised by the broker instead of written twice. If the
    /// cluster grants no producer id (InitProducerId fails for good), the producer warns
    /// and writes without idempotence.
    pub enable_idempotence: bool,
    /// `partitioner`: how records without an explicit partition are placed; librdkafka's
    /// names (`murmur2_random`, `consistent_random`, ...) or `default`. Default
    /// `default`: murmur2 of the key as the Java client does, uniform sticky (KIP-480)
    /// for keyless records.
    pub partitioner: Partitioner,
}

/// Every key [`ProducerConfig::set`] accepts.
pub const PRODUCER_CONFIG_KEYS: &[&str] = &[
    "bootstrap.servers",
    "client.id",
    "acks",
    "linger.ms",
    "batch.size",
    "compression.type",
    "max.in.flight.requests.per.connection",
    "retries",
    "retry.backoff.ms",
    "delivery.timeout.ms",
    "request.timeout.ms",
    "max.request.size",
    "buffer.memory",
    "max.block.ms",
    "enable.idempotence",
    "partitioner",
];

use crate::client::{boolean, invalid, whole_number as number};

impl ProducerConfig {
    /// Whether batches are written idempotently (KIP-98): `enable.idempotence` with
    /// `acks=all` and at most 5 requests in flight, as Kafka requires; otherwise off.
    pub fn idempotent(&self) -> bool {
        self.enable_idempotence
            && self.acks == Acks::All
            && self.max_in_flight_requests_per_connection <= 5
    }
}

impl ProducerConfig {
    /// Defaults for every key, with `bootstrap_servers` (comma-separated `host:port`).
    ///
    /// # Errors
    /// [`Error::Config`] naming `bootstrap.servers` if an address is not `host:port`.
    pub fn new(bootstrap_servers: &str) -> Result<ProducerConfig, Error> {
        Ok(ProducerConfig {
            bootstrap_servers: crate::client::bootstrap_servers(
                "bootstrap.servers",
                bootstrap_servers,
            )?,
            ..ProducerConfig::defaults()
        })
    }

    pub(crate) fn defaults() -> ProducerConfig {
        ProducerConfig {
            bootstrap_servers: Vec::new(),
            client_id: "tidelog".into(),
            acks: Acks::All,
            linger_ms: 5,
            batch_size: 16384,
            compression: Compression::None,
            max_in_flight_requests_per_connection: 5,
            retries: i32::MAX as u32,
            retry_backoff_ms: 100,
            delivery_timeout_ms: 120_000,
            request_timeout_ms: 30_000,
            max_request_size: 1_048_576,
            buffer_memory: 33_554_432,
            max_block_ms: 60_000,
            enable_idempotence: true,
            partitioner: Partitioner::Default,
        }
    }

    /// A configuration from Kafka-style `(key, value)` pairs, e.g.
    /// `[("bootstrap.servers", "localhost:9092"), ("linger.ms", "20")]`. Keys not given
    /// keep their defaults; later pairs override earlier ones.
    ///
    /// # Errors
    /// [`Error::Config`] with [`ConfigError::UnknownKey`] for a key not in
    /// [`PRODUCER_CONFIG_KEYS`], [`ConfigError::InvalidValue`] naming the key for a bad
    /// value, a missing `bootstrap.servers`, or keys that contradict each other.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<ProducerConfig, Error> {
        let mut config = ProducerConfig::defaults();
        for (key, value) in pairs {
            config.set(key, value)?;
        }
        config.validate()?;
        Ok(config)
    }

    /// Sets one key from its string value.
    ///
    /// # Errors
    /// [`Error::Config`] naming `key` if it is unknown or `value` is invalid for it.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), Error> {
        let value = value.trim();
        let int_max = i64::from(i32::MAX);
        match key {
            "bootstrap.servers" => {
                self.bootstrap_servers = crate::client::bootstrap_servers(key, value)?
            }
            "client.id" => self.client_id = value.to_string(),
            "acks" => {
                self.acks = match value {
                    "0" => Acks::None,
                    "1" => Acks::Leader,
                    "-1" | "all" => Acks::All,
                    _ => return Err(invalid(key, value, "expected 0, 1, all or -1")),
                }
            }
            "linger.ms" => self.linger_ms = number(key, value, 0, int_max)? as u64,
            "batch.size" => self.batch_size = number(key, value, 0, int_max)? as usize,
            "compression.type" => {
                self.compression = value
                    .parse()
                    .map_err(|_| invalid(key, value, "expected none, gzip, snappy, lz4 or zstd"))?
            }
            "max.in.flight.requests.per.connection" => {
                self.max_in_flight_requests_per_connection =
                    number(key, value, 1, int_max)? as usize
            }
            "retries" => self.retries = number(key, value, 0, int_max)? as u32,
            "retry.backoff.ms" => self.retry_backoff_ms = number(key, value, 0, int_max)? as u64,
            "delivery.timeout.ms" => {
                self.delivery_timeout_ms = number(key, value, 0, int_max)? as u64
            }
            "request.timeout.ms" => {
                self.request_timeout_ms = number(key, value, 0, int_max)? as u64
            }
            "max.request.size" => self.max_request_size = number(key, value, 1, int_max)? as usize,
            "buffer.memory" => self.buffer_memory = number(key, value, 0, i64::MAX)? as usize,
            "max.block.ms" => self.max_block_ms = number(key, value, 0, i64::MAX)? as u64,
            "enable.idempotence" => self.enable_idempotence = boolean(key, value)?,
            "partitioner" => {
                self.partitioner = value
                    .parse()
                    .map_err(|reason: String| invalid(key, value, reason))?
            }
            _ => {
                return Err(Error::Config(ConfigError::UnknownKey {
                    key: key.to_string(),
                }))
            }
        }
        Ok(())
    }

    /// Checks what single keys cannot: `bootstrap.servers` is set, and
    /// `delivery.timeout.ms >= linger.ms + request.timeout.ms` (the Java client's rule).
    ///
    /// # Errors
    /// [`Error::Config`] naming the offending key.
    pub fn validate(&self) -> Result<(), Error> {
        crate::client::require_bootstrap(&self.bootstrap_servers)?;
        if self.max_in_flight_requests_per_connection == 0 {
            return Err(invalid(
                "max.in.flight.requests.per.connection",
                "0",
                "must be at least 1",
            ));
        }
        let least = self.linger_ms.saturating_add(self.request_timeout_ms);
        if self.delivery_timeout_ms < least {
            return Err(invalid(
                "delivery.timeout.ms",
                &self.delivery_timeout_ms.to_string(),
                format!("must be at least linger.ms + request.timeout.ms = {least}"),
            ));
        }
        Ok(())
    }

    pub(crate) fn linger(&self) -> Duration {
        Duration::from_millis(self.linger_ms)
    }

    pub(crate) fn retry_backoff(&self) -> Duration {
        Duration::from_millis(self.retry_backoff_ms)
    }

    pub(crate) fn delivery_timeout(&self) -> Duration {
        Duration::from_millis(self.delivery_timeout_ms)
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_named(error: Error) -> String {
        match error {
            Error::Config(ConfigError::UnknownKey { key })
            | Error::Config(ConfigError::InvalidValue { key, .. }) => key,
            other => panic!("not a config error: {other}"),
        }
    }

    #[test]
    fn defaults_are_kafkas() {
        let config = ProducerConfig::from_pairs([("bootstrap.servers", "a:9092, b:9093")]).unwrap();
        assert_eq!(config.bootstrap_servers, ["a:9092", "b:9093"]);
        assert_eq!(config.client_id, "tidelog");
        assert_eq!(config.acks, Acks::All);
        assert_eq!(config.linger_ms, 5);
        assert_eq!(config.batch_size, 16384);
        assert_eq!(config.compression, Compression::None);
        assert_eq!(config.max_in_flight_requests_per_connection, 5);
        assert_eq!(config.retries, i32::MAX as u32);
        assert_eq!(config.retry_backoff_ms, 100);
        assert_eq!(config.delivery_timeout_ms, 120_000);
        assert_eq!(config.request_timeout_ms, 30_000);
        assert_eq!(config.max_request_size, 1_048_576);
        assert_eq!(config.buffer_memory, 33_554_432);
        assert_eq!(config.max_block_ms, 60_000);
        assert!(config.enable_idempotence && config.idempotent());
        assert_eq!(config.partitioner, Partitioner::Default);
        assert_eq!(ProducerConfig::new("a:9092, b:9093").unwrap(), config);
    }

    #[test]
    fn every_key_parses() {
        let config = ProducerConfig::from_pairs([
            ("bootstrap.servers", "PLAINTEXT://localhost:9092"),
            ("client.id", "me"),
            ("acks", "1"),
            ("linger.ms", "0"),
            ("batch.size", "1000000"),
            ("compression.type", "zstd"),
            ("max.in.flight.requests.per.connection", "1"),
            ("retries", "3"),
            ("retry.backoff.ms", "10"),
            ("delivery.timeout.ms", "40000"),
            ("request.timeout.ms", "5000"),
            ("max.request.size", "2000000"),
            ("buffer.memory", "1000"),
            ("max.block.ms", "0"),
            ("enable.idempotence", "TRUE"),
            ("partitioner", "murmur2_random"),
        ])
        .unwrap();
        assert_eq!(config.bootstrap_servers, ["localhost:9092"]);
        assert_eq!(config.acks, Acks::Leader);
        assert_eq!(config.compression, Compression::Zstd);
        assert_eq!(config.partitioner, Partitioner::Murmur2Random);
        assert!(config.enable_idempotence);
        for (acks, expected) in [("0", Acks::None), ("all", Acks::All), ("-1", Acks::All)] {
            let pairs = [("bootstrap.servers", "h:1"), ("acks", acks)];
            assert_eq!(ProducerConfig::from_pairs(pairs).unwrap().acks, expected);
        }
        assert_eq!(PRODUCER_CONFIG_KEYS.len(), 16);
    }

    #[test]
    fn errors_name_the_key() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("bootstrap.servers", "h:1"), ("linger.mss", "1")],
                "linger.mss",
            ),
            (&[("bootstrap.servers", "h:1"), ("acks", "2")], "acks"),
            (
                &[("bootstrap.servers", "h:1"), ("linger.ms", "-1")],
                "linger.ms",
            ),
            (
                &[("bootstrap.servers", "h:1"), ("compression.type", "brotli")],
                "compression.type",
            ),
            (
                &[("bootstrap.servers", "h:1"), ("partitioner", "fancy")],
                "partitioner",
            ),
            (
                &[("bootstrap.servers", "h:1"), ("enable.idempotence", "yes")],
                "enable.idempotence",
            ),
            (
                &[
                    ("bootstrap.servers", "h:1"),
                    ("max.in.flight.requests.per.connection", "0"),
                ],
                "max.in.flight.requests.per.connection",
            ),
            (&[("bootstrap.servers", "no-port")], "bootstrap.servers"),
            (&[("linger.ms", "1")], "bootstrap.servers"),
            (
                &[
                    ("bootstrap.servers", "h:1"),
                    ("delivery.timeout.ms", "1000"),
                ],
                "delivery.timeout.ms",
            ),
        ];
        for (pairs, key) in cases {
            let error = ProducerConfig::from_pairs(pairs.iter().copied()).unwrap_err();
            assert!(error.to_string().contains(key), "{error}");
            assert_eq!(error.code(), crate::error::ErrorCode::InvalidConfig);
            assert_eq!(&key_named(error), key);
        }
    }
}
