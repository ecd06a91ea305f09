//! `tidelog produce`: one record per line of stdin, as `kcat -P` sends them.

use crate::client_flags::{parse_key_value, settings, watch_interrupts};
use crate::error_chain;
use crate::format::unescape;
use clap::Args;
use std::io::BufRead;
use tidelog::client::producer::{DeliveryFuture, Producer, ProducerConfig, ProducerRecord};
use tidelog::protocol::compression::Compression;
use tokio::sync::mpsc;

/// The flags of `tidelog produce` (its help text is on `Command::Produce`).
#[derive(Debug, Args)]
pub struct ProduceArgs {
    /// Bootstrap brokers, comma-separated (Kafka's bootstrap.servers)
    #[arg(short = 'b', long = "brokers", value_name = "HOST:PORT,...")]
    pub brokers: Option<String>,

    /// Topic to produce to
    #[arg(short = 't', long, value_name = "TOPIC")]
    pub topic: String,

    /// Split each line into key and value at the first DELIM (escapes such as \t and
    /// \xHH are decoded); a line without DELIM has no key
    #[arg(short = 'K', long = "key-delimiter", value_name = "DELIM", value_parser = parse_delimiter)]
    pub key_delimiter: Option<Delimiter>,

    /// Key of every record whose line gives none
    #[arg(short = 'k', long = "key", value_name = "KEY")]
    pub key: Option<String>,

    /// Partition for every record; -1 lets the partitioner choose (murmur2 of the key,
    /// as the Java client) [default: -1]
    #[arg(
        short = 'p',
        long,
        value_name = "PARTITION",
        allow_negative_numbers = true,
        value_parser = clap::value_parser!(i32).range(-1..)
    )]
    pub partition: Option<i32>,

    /// Compression codec: none, gzip, snappy, lz4 or zstd (Kafka's compression.type)
    /// [default: none]
    #[arg(short = 'z', long = "compression", value_name = "CODEC", value_parser = parse_codec)]
    pub compression: Option<Compression>,

    /// Header for every record, NAME=VALUE (NAME alone: a null value); repeatable
    #[arg(short = 'H', long = "header", value_name = "NAME=VALUE")]
    pub headers: Vec<String>,

    /// Send empty keys and values as null
    #[arg(short = 'Z', long = "null")]
    pub null: bool,

    /// Stop after this many records
    #[arg(short = 'c', long = "count", value_name = "N")]
    pub count: Option<u64>,

    /// Producer setting by its Kafka name, e.g. `linger.ms=20` or `acks=1`; repeatable.
    /// -b and -z override the keys they set
    #[arg(short = 'X', long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub settings: Vec<(String, String)>,
}

/// A delimiter's bytes, escapes decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delimiter(Vec<u8>);

fn parse_delimiter(text: &str) -> Result<Delimiter, String> {
    let delimiter = unescape(text);
    if delimiter.is_empty() {
        return Err("the delimiter must not be empty".into());
    }
    Ok(Delimiter(delimiter))
}

fn parse_codec(name: &str) -> Result<Compression, String> {
    name.parse().map_err(|err| format!("{err}"))
}

/// Turns lines into records, as kcat does: empty lines are skipped, the key (if any) ends
/// at the first key delimiter, `-k` keys lines without one, `-Z` makes empty parts null.
#[derive(Debug, Clone)]
struct RecordBuilder {
    topic: String,
    partition: Option<i32>,
    key_delimiter: Option<Vec<u8>>,
    fixed_key: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
    null: bool,
}

impl RecordBuilder {
    fn new(args: &ProduceArgs) -> RecordBuilder {
        RecordBuilder {
            topic: args.topic.clone(),
            partition: args.partition.filter(|p| *p >= 0),
            key_delimiter: args.key_delimiter.as_ref().map(|d| d.0.clone()),
            fixed_key: args.key.as_ref().map(|k| k.as_bytes().to_vec()),
            headers: args
                .headers
                .iter()
                .map(|h| match h.split_once('=') {
                    Some((name, value)) => (name.to_string(), Some(value.as_bytes().to_vec())),
                    None => (h.clone(), None),
                })
                .collect(),
            null: args.null,
        }
    }

    /// The record for `line` (without its newline); `None` for an empty line.
    fn record(&self, line: &[u8]) -> Option<ProducerRecord> {
        if line.is_empty() {
            return None;
        }
        let split = self
            .key_delimiter
            .as_deref()
            .and_then(|delimiter| find(line, delimiter).map(|at| (at, delimiter.len())));
        let (key, value) = match split {
            Some((at, len)) => (Some(&line[..at]), &line[at + len..]),
            None => (None, line),
        };
        let key = match key {
            Some(key) if self.null && key.is_empty() => None,
            Some(key) => Some(key.to_vec()),
            None => None,
        }
        .or_else(|| self.fixed_key.clone());
        let value = Some(value.to_vec()).filter(|v| !(self.null && v.is_empty()));
        Some(ProducerRecord {
            topic: self.topic.clone(),
            partition: self.partition,
            key: key.map(Into::into),
            value: value.map(Into::into),
            headers: self
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), value.clone().map(Into::into)))
                .collect(),
            timestamp_ms: None,
        })
    }
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Reads stdin line by line on a thread of its own (a read cannot be cancelled, so a
/// signal must not wait for it), handing each line, without its `\n`, to `lines`.
fn read_stdin(lines: mpsc::Sender<std::io::Result<Vec<u8>>>) {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    loop {
        let mut line = Vec::new();
        let read = match input.read_until(b'\n', &mut line) {
            Ok(0) => return,
            Ok(_) => {
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                Ok(line)
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => Err(err),
        };
        let failed = read.is_err();
        if lines.blocking_send(read).is_err() || failed {
            return;
        }
    }
}

/// Awaits every delivery report in turn, printing each failure; returns how many failed.
async fn report(mut deliveries: mpsc::UnboundedReceiver<(u64, DeliveryFuture)>) -> u64 {
    let mut failed = 0;
    while let Some((line, delivery)) = deliveries.recv().await {
        if let Err(err) = delivery.await {
            eprintln!("tidelog: line {line}: not delivered: {}", error_chain(&err));
            failed += 1;
        }
    }
    failed
}

/// Sends stdin, one record per line, then waits until every record is delivered or has
/// failed.
///
/// # Errors
/// A one-line message for a bad setting, a stdin read error, or records that were not
/// delivered (each is also reported on stderr as it fails).
pub async fn run(args: ProduceArgs) -> Result<(), String> {
    let codec = args.compression.map(Compression::name);
    let mut overrides = Vec::new();
    if let Some(codec) = codec {
        overrides.push(("compression.type", codec));
    }
    let pairs = settings(args.brokers.as_deref(), &args.settings, &overrides)?;
    let config = ProducerConfig::from_pairs(pairs)
        .map_err(|err| format!("invalid producer setting: {err}"))?;
    let builder = RecordBuilder::new(&args);
    let mut interrupts = watch_interrupts()?;
    let producer =
        Producer::new(config).map_err(|err| format!("invalid producer setting: {err}"))?;

    let (line_sender, mut lines) = mpsc::channel(1024);
    std::thread::Builder::new()
        .name("tidelog-stdin".into())
        .spawn(move || read_stdin(line_sender))
        .map_err(|err| format!("cannot start the stdin reader: {err}"))?;
    let (delivery_sender, deliveries) = mpsc::unbounded_channel();
    let reporter = tokio::spawn(report(deliveries));

    let mut line_number = 0u64;
    let mut sent = 0u64;
    let mut refused = 0u64;
    let mut read_error = None;
    let limit = args.count.unwrap_or(u64::MAX);
    while sent < limit {
        let line = tokio::select! {
            line = lines.recv() => line,
            _ = interrupts.changed() => break,
        };
        let line = match line {
            None => break,
            Some(Ok(line)) => line,
            Some(Err(err)) => {
                read_error = Some(err);
                break;
            }
        };
        line_number += 1;
        let Some(record) = builder.record(&line) else {
            continue;
        };
        // Waits while buffer.memory is full (up to max.block.ms).
        let queued = tokio::select! {
            queued = producer.send_async(record) => queued,
            _ = interrupts.changed() => break,
        };
        sent += 1;
        match queued {
            Ok(delivery) => {
                let _ = delivery_sender.send((line_number, delivery));
            }
            Err(err) => {
                eprintln!(
                    "tidelog: line {line_number}: not sent: {}",
                    error_chain(&err)
                );
                refused += 1;
            }
        }
    }
    drop(delivery_sender);
    drop(lines);

    // Delivers everything queued; a signal now gives up on what is still outstanding.
    let interrupted = interrupts.borrow_and_update().is_some();
    tokio::select! {
        () = producer.close() => {}
        _ = interrupts.changed() => {
            return Err(format!(
                "interrupted while delivering: {} batch(es) of records not yet reported",
                producer.pending_batches()
            ));
        }
    }
    let failed = refused + reporter.await.unwrap_or(0);
    if interrupted {
        tracing::info!(sent, "stopped reading stdin on a signal");
    }
    if let Some(err) = read_error {
        return Err(format!(
            "cannot read stdin after line {line_number}: {err}{}",
            if failed > 0 {
                format!("; {failed} of {sent} records were not delivered")
            } else {
                String::new()
            }
        ));
    }
    if failed > 0 {
        return Err(format!("{failed} of {sent} records were not delivered"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: ProduceArgs,
    }

    fn builder(flags: &[&str]) -> RecordBuilder {
        let cli = Cli::try_parse_from(["produce", "-t", "t"].iter().chain(flags)).unwrap();
        RecordBuilder::new(&cli.args)
    }

    fn parts(record: &ProducerRecord) -> (Option<&[u8]>, Option<&[u8]>) {
        (record.key.as_deref(), record.value.as_deref())
    }

    #[test]
    fn lines_split_at_the_first_key_delimiter() {
        let b = builder(&["-K", ":"]);
        let r = b.record(b"k:v:w").unwrap();
        assert_eq!(parts(&r), (Some(&b"k"[..]), Some(&b"v:w"[..])));
        let r = b.record(b"no delimiter").unwrap();
        assert_eq!(parts(&r), (None, Some(&b"no delimiter"[..])));
        let r = b.record(b":v").unwrap();
        assert_eq!(parts(&r), (Some(&b""[..]), Some(&b"v"[..])));
        assert!(b.record(b"").is_none());
        assert_eq!(r.partition, None);
        assert_eq!(r.topic, "t");
    }

    #[test]
    fn escaped_multi_byte_delimiters_fixed_keys_nulls_and_headers() {
        let b = builder(&["-K", r"\t::", "-k", "fixed", "-Z", "-H", "a=1", "-H", "b"]);
        let r = b.record(b"k\t::v").unwrap();
        assert_eq!(parts(&r), (Some(&b"k"[..]), Some(&b"v"[..])));
        let r = b.record(b"\t::").unwrap();
        assert_eq!(parts(&r), (Some(&b"fixed"[..]), None));
        let r = b.record(b"plain").unwrap();
        assert_eq!(parts(&r), (Some(&b"fixed"[..]), Some(&b"plain"[..])));
        assert_eq!(
            r.headers,
            vec![
                ("a".to_string(), Some(b"1".to_vec().into())),
                ("b".to_string(), None)
            ]
        );
    }

    #[test]
    fn partitions_and_codecs_are_checked() {
        assert_eq!(builder(&["-p", "2"]).partition, Some(2));
        assert_eq!(builder(&["-p", "-1"]).partition, None);
        assert!(Cli::try_parse_from(["produce", "-t", "t", "-p", "-2"]).is_err());
        let cli = Cli::try_parse_from(["produce", "-t", "t", "-z", "zstd"]).unwrap();
        assert_eq!(cli.args.compression, Some(Compression::Zstd));
        let err = Cli::try_parse_from(["produce", "-t", "t", "-z", "brotli"]).unwrap_err();
        assert!(err.to_string().contains("brotli"), "{err}");
        assert!(Cli::try_parse_from(["produce", "-t", "t", "-K", ""]).is_err());
    }
}
