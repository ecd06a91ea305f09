//! `tidelog consume`: print a topic's records, as `kcat -C` (or `kcat -G`) does.

use crate::client_flags::{parse_key_value, settings, watch_interrupts};
use crate::error_chain;
use crate::format::Format;
use clap::Args;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;
use tidelog::client::admin::{Admin, AdminConfig, OffsetSpec};
use tidelog::client::consumer::{Consumer, ConsumerConfig, TopicPartition};
use tokio::sync::watch;

/// The flags of `tidelog consume` (its help text is on `Command::Consume`).
#[derive(Debug, Args)]
pub struct ConsumeArgs {
    /// Bootstrap brokers, comma-separated (Kafka's bootstrap.servers)
    #[arg(short = 'b', long = "brokers", value_name = "HOST:PORT,...")]
    pub brokers: Option<String>,

    /// Topic to consume
    #[arg(short = 't', long, value_name = "TOPIC")]
    pub topic: String,

    /// Consume as a member of this consumer group: partitions come from the group's
    /// assignment, positions from its commits, and positions are committed on exit
    #[arg(short = 'G', long = "group", value_name = "GROUP")]
    pub group: Option<String>,

    /// Only this partition [default: every partition of the topic]
    #[arg(
        short = 'p',
        long,
        value_name = "PARTITION",
        conflicts_with = "group",
        value_parser = clap::value_parser!(i32).range(0..)
    )]
    pub partition: Option<i32>,

    /// Where to start: beginning, end, stored (the committed offset), an offset N on
    /// every partition, or -N (N before the end). With -G, beginning or end for
    /// partitions without a commit (auto.offset.reset) [default: beginning, or stored
    /// with -G]
    #[arg(
        short = 'o',
        long,
        value_name = "OFFSET",
        allow_hyphen_values = true,
        value_parser = parse_start
    )]
    pub offset: Option<Start>,

    /// Exit once every partition is read up to the end it had when consuming started
    #[arg(short = 'e', long = "exit")]
    pub exit_at_end: bool,

    /// Output format: %t topic, %p partition, %o offset, %k key, %K key length, %s value,
    /// %S value length, %R value length (binary), %h headers (k=v,k2=v2), %T timestamp
    /// (ms), %% percent; \n, \t, \\ escapes [default: '%s\n']
    #[arg(short = 'f', long, value_name = "FORMAT", value_parser = Format::parse)]
    pub format: Option<Format>,

    /// Print null keys and values as NULL instead of nothing
    #[arg(short = 'Z', long = "null")]
    pub null: bool,

    /// Exit after this many records
    #[arg(short = 'c', long = "count", value_name = "N")]
    pub count: Option<u64>,

    /// Consumer setting by its Kafka name, e.g. `fetch.max.wait.ms=100`; repeatable.
    /// -b, -G and -o override the keys they set
    #[arg(short = 'X', long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub settings: Vec<(String, String)>,
}

/// An offset for each partition.
type Offsets = BTreeMap<TopicPartition, i64>;

/// Where consumption starts (`-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Beginning,
    End,
    /// The group's committed offset, else `auto.offset.reset`.
    Stored,
    /// This offset on every partition.
    Offset(i64),
    /// This many records before the end (no earlier than the beginning).
    BeforeEnd(i64),
}

fn parse_start(text: &str) -> Result<Start, String> {
    match text {
        "beginning" => Ok(Start::Beginning),
        "end" => Ok(Start::End),
        "stored" => Ok(Start::Stored),
        _ => match text.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(Start::Offset(n)),
            Ok(n) => Ok(Start::BeforeEnd(n.checked_neg().unwrap_or(i64::MAX))),
            Err(_) => Err("expected beginning, end, stored, an offset N or -N".into()),
        },
    }
}

/// Why consumption stopped, when it stopped cleanly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Every partition read to its end (`-e`).
    End,
    /// `-c` records printed.
    Count,
    /// SIGINT or SIGTERM.
    Signal,
    /// Nobody reads stdout any more.
    ClosedOutput,
}

/// How `tidelog consume` gets its partitions.
enum Mode {
    /// Assigned by hand: these partitions.
    Assign(Vec<TopicPartition>),
    /// The group's assignment.
    Group,
}

/// Writes formatted records to stdout in chunks; flushed whenever the consumer is idle.
struct Output {
    buffer: Vec<u8>,
    format: Format,
    null: &'static [u8],
}

impl Output {
    const CHUNK: usize = 64 * 1024;

    /// Writes what is buffered. `Ok(false)` when stdout is closed (a broken pipe).
    fn flush(&mut self) -> Result<bool, String> {
        if self.buffer.is_empty() {
            return Ok(true);
        }
        let mut stdout = std::io::stdout().lock();
        let written = stdout.write_all(&self.buffer).and_then(|()| stdout.flush());
        self.buffer.clear();
        match written {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
            Err(err) => Err(format!("cannot write to stdout: {err}")),
        }
    }
}

/// Prints records until the end (`-e`), the count (`-c`), a signal, or an error, then
/// closes the consumer (committing its positions with `-G`).
///
/// # Errors
/// A one-line message for a bad setting, a topic or partition that does not exist, a
/// consumer error, or a failed commit on exit.
pub async fn run(args: ConsumeArgs) -> Result<(), String> {
    let start = args.offset.unwrap_or(if args.group.is_some() {
        Start::Stored
    } else {
        Start::Beginning
    });
    let mut overrides = Vec::new();
    if let Some(group) = &args.group {
        overrides.push(("group.id", group.as_str()));
        match start {
            Start::Beginning => overrides.push(("auto.offset.reset", "earliest")),
            Start::End => overrides.push(("auto.offset.reset", "latest")),
            Start::Stored => {}
            Start::Offset(_) | Start::BeforeEnd(_) => {
                return Err("with -G, -o takes beginning, end or stored".into())
            }
        }
    }
    let pairs = settings(args.brokers.as_deref(), &args.settings, &overrides)?;
    let config = ConsumerConfig::from_pairs(pairs)
        .map_err(|err| format!("invalid consumer setting: {err}"))?;
    if start == Start::Stored && config.group_id.is_none() {
        return Err("-o stored needs a group: give -G GROUP (or -X group.id=GROUP)".into());
    }
    let admin = Admin::new(AdminConfig {
        bootstrap_servers: config.bootstrap_servers.clone(),
        client_id: config.client_id.clone(),
        request_timeout_ms: 30_000,
    });
    let topic = args.topic.clone();
    let mut interrupts = watch_interrupts()?;

    // Metadata and offsets first; a signal meanwhile just stops.
    let group_mode = args.group.is_some();
    let lookups = look_up(
        &admin,
        &topic,
        args.partition,
        group_mode,
        args.exit_at_end,
        start,
    );
    let (partitions, ends, starts) = tokio::select! {
        found = lookups => found?,
        _ = interrupts.changed() => return Ok(()),
    };

    let consumer = Consumer::new(config);
    let mode = if group_mode {
        consumer
            .subscribe(std::slice::from_ref(&topic))
            .map_err(|err| format!("cannot subscribe to `{topic}`: {err}"))?;
        Mode::Group
    } else {
        consumer.assign(&partitions);
        for (tp, offset) in &starts {
            consumer.seek(tp, *offset);
        }
        Mode::Assign(partitions)
    };

    let mut output = Output {
        buffer: Vec::with_capacity(Output::CHUNK),
        format: args.format.unwrap_or_else(Format::default_output),
        null: if args.null { b"NULL" } else { b"" },
    };
    let mut session = Session {
        consumer: &consumer,
        admin: &admin,
        topic: &topic,
        mode,
        ends: args.exit_at_end.then_some(ends),
    };
    let outcome = session
        .consume(args.count, &mut output, &mut interrupts)
        .await;
    let flushed = output.flush();

    // Close (and commit, with a group); a second signal gives up on that.
    interrupts.borrow_and_update();
    let closed = tokio::select! {
        closed = consumer.close() => closed,
        _ = interrupts.changed() => {
            return Err("interrupted while closing the consumer; positions not committed".into());
        }
    };
    let stop = outcome?;
    flushed?;
    closed.map_err(|err| format!("cannot commit the group's positions: {}", error_chain(&err)))?;
    tracing::debug!(?stop, "stopped consuming");
    Ok(())
}

/// A consumer at work, and what it needs to know whether it is done.
struct Session<'a> {
    consumer: &'a Consumer,
    admin: &'a Admin,
    topic: &'a str,
    mode: Mode,
    /// With -e: each partition's end offset when consumption started.
    ends: Option<Offsets>,
}

impl Session<'_> {
    /// The poll loop: prints records until a reason to stop.
    async fn consume(
        &mut self,
        count: Option<u64>,
        output: &mut Output,
        interrupts: &mut watch::Receiver<Option<&'static str>>,
    ) -> Result<Stop, String> {
        let mut printed = 0u64;
        loop {
            if interrupts.borrow().is_some() {
                return Ok(Stop::Signal);
            }
            if count.is_some_and(|count| printed >= count) {
                return Ok(Stop::Count);
            }
            if self.at_end().await? {
                return Ok(Stop::End);
            }
            // Records already fetched come at once; when there are none, what was
            // printed goes out before waiting.
            let mut polled = self.consumer.poll(Duration::ZERO).await;
            if matches!(polled, Ok(None)) {
                if !output.flush()? {
                    return Ok(Stop::ClosedOutput);
                }
                polled = tokio::select! {
                    polled = self.consumer.poll(Duration::from_millis(100)) => polled,
                    _ = interrupts.changed() => return Ok(Stop::Signal),
                };
            }
            match polled {
                Ok(Some(record)) => {
                    output
                        .format
                        .write(&mut output.buffer, &record, output.null);
                    printed += 1;
                    if output.buffer.len() >= Output::CHUNK && !output.flush()? {
                        return Ok(Stop::ClosedOutput);
                    }
                }
                Ok(None) => {}
                Err(err) => {
                    return Err(format!("consuming `{}`: {}", self.topic, error_chain(&err)))
                }
            }
        }
    }

    /// With -e, whether every partition read (assigned by hand, or the group's current
    /// assignment) has reached its end offset. A partition the group assigns that was
    /// not known at the start has its end looked up now.
    async fn at_end(&mut self) -> Result<bool, String> {
        let Some(ends) = self.ends.as_mut() else {
            return Ok(false);
        };
        let assignment;
        let reading: &[TopicPartition] = match &self.mode {
            Mode::Assign(partitions) => partitions,
            Mode::Group => {
                assignment = self.consumer.assignment();
                &assignment
            }
        };
        if reading.is_empty() {
            // Nothing to read by hand (a topic without partitions) is at its end; a
            // group member without an assignment has yet to get one.
            return Ok(matches!(self.mode, Mode::Assign(_)));
        }
        let unknown: Vec<TopicPartition> = reading
            .iter()
            .filter(|tp| !ends.contains_key(*tp))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            ends.extend(offsets(self.admin, &unknown, OffsetSpec::Latest).await?);
        }
        Ok(reading.iter().all(|tp| {
            matches!(
                (self.consumer.position(tp), ends.get(tp)),
                (Some(position), Some(end)) if position >= *end
            )
        }))
    }
}

/// The partitions to read, their end offsets (with -e, or to start from the end), and
/// where to start each (assigning by hand, unless `stored`). Without -e, a group member
/// needs none of them.
async fn look_up(
    admin: &Admin,
    topic: &str,
    partition: Option<i32>,
    group_mode: bool,
    exit_at_end: bool,
    start: Start,
) -> Result<(Vec<TopicPartition>, Offsets, Offsets), String> {
    if group_mode && !exit_at_end {
        return Ok(Default::default());
    }
    let all = topic_partitions(admin, topic).await?;
    let partitions: Vec<TopicPartition> = match partition {
        Some(p) if !all.contains(&p) => {
            return Err(format!(
                "topic `{topic}` has no partition {p} (it has {})",
                all.len()
            ))
        }
        Some(p) => vec![(topic.to_string(), p)],
        None => all.into_iter().map(|p| (topic.to_string(), p)).collect(),
    };
    let ends = if exit_at_end || matches!(start, Start::End | Start::BeforeEnd(_)) {
        offsets(admin, &partitions, OffsetSpec::Latest).await?
    } else {
        Offsets::new()
    };
    if group_mode {
        return Ok((partitions, ends, Offsets::new()));
    }
    let starts = match start {
        Start::Stored => Offsets::new(),
        Start::Beginning => offsets(admin, &partitions, OffsetSpec::Earliest).await?,
        Start::End => ends.clone(),
        Start::Offset(n) => partitions.iter().map(|tp| (tp.clone(), n)).collect(),
        Start::BeforeEnd(n) => offsets(admin, &partitions, OffsetSpec::Earliest)
            .await?
            .into_iter()
            .map(|(tp, first)| {
                let end = ends.get(&tp).copied().unwrap_or(first);
                (tp, end.saturating_sub(n).max(first))
            })
            .collect(),
    };
    Ok((partitions, ends, starts))
}

/// The partition numbers of `topic`, in order.
async fn topic_partitions(admin: &Admin, topic: &str) -> Result<Vec<i32>, String> {
    let described = admin
        .describe_topics(&[topic.to_string()])
        .await
        .map_err(|err| format!("cannot read metadata: {}", error_chain(&err)))?;
    let info = described
        .into_iter()
        .next()
        .map(|(_, info)| info)
        .unwrap_or_else(|| unreachable!("describe_topics answers for each topic asked"))
        .map_err(|err| format!("cannot consume `{topic}`: {}", error_chain(&err)))?;
    let mut partitions: Vec<i32> = info.partitions.iter().map(|p| p.partition).collect();
    partitions.sort_unstable();
    Ok(partitions)
}

/// The offsets `spec` finds for each of `partitions`.
async fn offsets(
    admin: &Admin,
    partitions: &[TopicPartition],
    spec: OffsetSpec,
) -> Result<Offsets, String> {
    if partitions.is_empty() {
        return Ok(Offsets::new());
    }
    let wanted: Vec<(String, i32, OffsetSpec)> = partitions
        .iter()
        .map(|(topic, partition)| (topic.clone(), *partition, spec))
        .collect();
    let listed = admin
        .list_offsets(&wanted)
        .await
        .map_err(|err| format!("cannot list offsets: {}", error_chain(&err)))?;
    listed
        .into_iter()
        .map(|((topic, partition), found)| match found {
            Ok((offset, _)) => Ok(((topic, partition), offset)),
            Err(err) => Err(format!(
                "cannot list offsets of `{topic}` partition {partition}: {}",
                error_chain(&err)
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: ConsumeArgs,
    }

    fn parse(flags: &[&str]) -> Result<ConsumeArgs, clap::Error> {
        Cli::try_parse_from(["consume", "-t", "t"].iter().chain(flags)).map(|cli| cli.args)
    }

    #[test]
    fn start_offsets_parse_as_kcat_does() {
        assert_eq!(parse_start("beginning"), Ok(Start::Beginning));
        assert_eq!(parse_start("end"), Ok(Start::End));
        assert_eq!(parse_start("stored"), Ok(Start::Stored));
        assert_eq!(parse_start("42"), Ok(Start::Offset(42)));
        assert_eq!(parse_start("-10"), Ok(Start::BeforeEnd(10)));
        assert!(parse_start("latest").is_err());
        assert_eq!(
            parse(&["-o", "-5"]).unwrap().offset,
            Some(Start::BeforeEnd(5))
        );
    }

    #[test]
    fn flags_are_checked() {
        assert!(parse(&["-f", "%q"]).unwrap_err().to_string().contains("%q"));
        assert!(parse(&["-G", "g", "-p", "1"]).is_err());
        assert!(parse(&["-p", "-1"]).is_err());
        let args = parse(&["-e", "-G", "g", "-X", "fetch.max.wait.ms=10"]).unwrap();
        assert!(args.exit_at_end);
        assert_eq!(args.group.as_deref(), Some("g"));
        assert_eq!(args.settings, [("fetch.max.wait.ms".into(), "10".into())]);
    }
}
