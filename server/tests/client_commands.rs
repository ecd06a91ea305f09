//! `tidelog produce` and `tidelog consume` against `tidelog serve --in-memory`, checked
//! with kcat: every codec and Java-compatible key partitioning on the way in, kcat's
//! format tokens on the way out, consumer groups that resume where they stopped, and
//! settings that are refused before anything is sent.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{call, connect, create_topic, kcat, kcat_consume_all, Server};
use tidelog::protocol::compression::Compression;
use tidelog::protocol::messages::{fetch_request, FetchRequest};
use tidelog::protocol::records::RecordBatches;

/// How long any one `tidelog produce` or `tidelog consume` may run.
const RUN_LIMIT: Duration = Duration::from_secs(30);

/// Runs `tidelog` with `args`, feeding it `stdin`; kills it and fails the test after
/// [`RUN_LIMIT`].
fn tidelog(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidelog"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tidelog binary runs");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "tidelog {args:?} still running after {RUN_LIMIT:?}; stderr: {}",
                String::from_utf8_lossy(&stderr.join().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    writer.join().unwrap();
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Reads `stream` to its end on a thread of its own.
fn drain(mut stream: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        bytes
    })
}

/// [`tidelog`], asserting a successful run with nothing on stderr; returns stdout.
fn tidelog_ok(args: &[&str], stdin: &[u8]) -> String {
    let output = tidelog(args, stdin);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "tidelog {args:?} failed with {}: {stderr}",
        output.status
    );
    assert!(
        stderr.is_empty(),
        "tidelog {args:?} wrote to stderr: {stderr}"
    );
    String::from_utf8(output.stdout).unwrap()
}

/// [`tidelog`], asserting it fails; returns stderr.
fn tidelog_fails(args: &[&str], stdin: &[u8]) -> String {
    let output = tidelog(args, stdin);
    assert!(
        !output.status.success(),
        "tidelog {args:?} succeeded; stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stderr).unwrap()
}

/// Output lines sorted, for output whose partitions interleave in any order.
fn sorted_lines(output: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = output.lines().collect();
    lines.sort_unstable();
    lines
}

/// Asserts that in `output` (lines starting `partition|offset|`), each partition's
/// offsets only increase, as one consumer prints them.
fn assert_offsets_increase(output: &str) {
    let mut last: HashMap<i32, i64> = HashMap::new();
    for line in output.lines() {
        let mut fields = line.split('|');
        let partition: i32 = fields.next().unwrap().parse().unwrap();
        let offset: i64 = fields.next().unwrap().parse().unwrap();
        if let Some(previous) = last.insert(partition, offset) {
            assert!(
                offset > previous,
                "offset {offset} after {previous} in {partition}"
            );
        }
    }
}

/// The codec of every batch in `topic`'s `partition`, fetched raw (Fetch v12).
fn batch_codecs(bootstrap: &str, topic: &str, partition: i32) -> Vec<Compression> {
    let response = call(
        &mut connect(bootstrap),
        12,
        FetchRequest {
            replica_id: -1,
            max_wait_ms: 0,
            min_bytes: 1,
            max_bytes: 64 << 20,
            session_epoch: -1,
            topics: vec![fetch_request::FetchTopic {
                topic: topic.into(),
                partitions: vec![fetch_request::FetchPartition {
                    partition,
                    current_leader_epoch: -1,
                    fetch_offset: 0,
                    last_fetched_epoch: -1,
                    log_start_offset: -1,
                    partition_max_bytes: 64 << 20,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        },
    );
    let data = &response.responses[0].partitions[0];
    assert_eq!(data.error_code, 0, "fetch {topic}-{partition}");
    RecordBatches::new(data.records.clone().unwrap_or_default())
        .map(|batch| batch.unwrap().compression().unwrap())
        .collect()
}

/// The key of line `n`: 101 keys, each on about ten lines.
fn key_of(n: usize) -> String {
    format!("key-{}", n % 101)
}

/// The value of line `n`, recognisable by its number, with a `:` of its own (the key
/// ends at the first one) and compressible.
fn value_of(n: usize, tag: &str) -> String {
    format!("v:{n:04}:{tag}:{}", "tide".repeat(n % 17))
}

/// The line number in a value written by [`value_of`].
fn number_of(value: &str) -> usize {
    value.split(':').nth(1).unwrap().parse().unwrap()
}

#[test]
fn produce_sends_keyed_lines_with_every_codec_partitioned_as_java_does() {
    let server = Server::start(&["--in-memory"]);
    let bootstrap = server.bootstrap.as_str();
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("produced-{codec}");
        create_topic(bootstrap, &topic, 3);
        let input: String = (0..1000)
            .map(|n| format!("{}:{}\n", key_of(n), value_of(n, codec)))
            .collect();
        let stdout = tidelog_ok(
            &[
                "produce", "-b", bootstrap, "-t", &topic, "-K", ":", "-z", codec,
            ],
            input.as_bytes(),
        );
        assert_eq!(stdout, "");

        let consumed = kcat_consume_all(bootstrap, &topic, "%p|%o|%k|%s\n");
        let mut seen = vec![false; 1000];
        let mut partition_of_key: HashMap<String, i32> = HashMap::new();
        let mut last_in_partition: HashMap<i32, (i64, usize)> = HashMap::new();
        let mut lines: Vec<&str> = consumed.lines().collect();
        lines.sort_by_key(|line| {
            let mut fields = line.split('|');
            let partition: i32 = fields.next().unwrap().parse().unwrap();
            let offset: i64 = fields.next().unwrap().parse().unwrap();
            (partition, offset)
        });
        assert_eq!(lines.len(), 1000, "{codec}: every line is one record");
        for line in lines {
            let fields: Vec<&str> = line.splitn(4, '|').collect();
            let (partition, offset) = (fields[0].parse().unwrap(), fields[1].parse().unwrap());
            let (key, value) = (fields[2], fields[3]);
            let n = number_of(value);
            assert!(!seen[n], "{codec}: line {n} twice");
            seen[n] = true;
            assert_eq!(key, key_of(n), "{codec}: key of line {n}");
            assert_eq!(value, value_of(n, codec), "{codec}: value of line {n}");
            assert_eq!(
                partition,
                tidelog::partitioner::murmur2_partition(key.as_bytes(), 3),
                "{codec}: partition of {key}, as the Java client chooses"
            );
            assert_eq!(
                *partition_of_key.entry(key.to_string()).or_insert(partition),
                partition,
                "{codec}: {key} always in one partition"
            );
            // Offsets are dense and follow the order of the lines.
            let expected_offset = last_in_partition.get(&partition).map_or(0, |(o, _)| o + 1);
            assert_eq!(offset, expected_offset, "{codec}: offsets of {partition}");
            if let Some((_, previous)) = last_in_partition.get(&partition) {
                assert!(n > *previous, "{codec}: line {n} after line {previous}");
            }
            last_in_partition.insert(partition, (offset, n));
        }
        assert!(seen.iter().all(|s| *s), "{codec}: every line arrived");

        let expected = Compression::ALL
            .into_iter()
            .find(|c| c.name() == codec)
            .unwrap();
        for partition in 0..3 {
            let codecs = batch_codecs(bootstrap, &topic, partition);
            assert!(
                !codecs.is_empty(),
                "{codec}: partition {partition} has batches"
            );
            assert!(
                codecs.iter().all(|c| *c == expected),
                "{codec}: batches of partition {partition} are {codecs:?}"
            );
        }
    }
}

#[test]
fn produce_reports_each_undelivered_record_and_fails() {
    let server = Server::start(&["--in-memory"]);
    let bootstrap = server.bootstrap.as_str();
    create_topic(bootstrap, "too-big", 1);
    let big = "x".repeat(500);
    let input = format!("first\n{big}\n\nk|last\n");
    let stderr = tidelog_fails(
        &[
            "produce",
            "-b",
            bootstrap,
            "-t",
            "too-big",
            "-K",
            "|",
            "-X",
            "max.request.size=300",
        ],
        input.as_bytes(),
    );
    assert!(
        stderr.contains("line 2") && stderr.contains("max.request.size"),
        "{stderr}"
    );
    assert!(stderr.contains("1 of 3 records"), "{stderr}");
    // The others went through; the empty line was skipped, as kcat does.
    let consumed = kcat_consume_all(bootstrap, "too-big", "%o|%k|%s\n");
    assert_eq!(consumed, "0||first\n1|k|last\n");

    create_topic(bootstrap, "three", 3);
    let stderr = tidelog_fails(
        &["produce", "-b", bootstrap, "-t", "three", "-p", "7"],
        b"a\nb\n",
    );
    for line in ["line 1", "line 2", "2 of 2 records"] {
        assert!(stderr.contains(line), "{line}: {stderr}");
    }
}

/// kcat's format with every field that differs between records.
const FORMAT: &str = "%p|%o|%k|%s|%h\n";

#[test]
fn consume_prints_what_kcat_prints() {
    let server = Server::start(&["--in-memory"]);
    let bootstrap = server.bootstrap.as_str();
    let topic = "from-kcat";
    create_topic(bootstrap, topic, 3);
    // Two kcat runs with different headers (one empty), some lines without a key and
    // some with an empty value.
    for (run, codec, range) in [(1, "none", 0..500), (2, "gzip", 500..1000)] {
        let input: String = range
            .map(|n| match n % 50 {
                0 => format!("{}\n", value_of(n, "nokey")),
                1 => format!("{}\t\n", key_of(n)),
                _ => format!("{}\t{}\n", key_of(n), value_of(n, "kcat")),
            })
            .collect();
        let run_header = format!("run={run}");
        kcat(
            &[
                "-b",
                bootstrap,
                "-P",
                "-t",
                topic,
                "-K",
                "\t",
                "-z",
                codec,
                "-H",
                &run_header,
                "-H",
                "empty=",
                "-H",
                "trace=abc",
            ],
            input.as_bytes(),
        );
    }

    let expected = kcat_consume_all(bootstrap, topic, FORMAT);
    assert_eq!(expected.lines().count(), 1000);
    let printed = tidelog_ok(
        &[
            "consume",
            "-b",
            bootstrap,
            "-t",
            topic,
            "-e",
            "-o",
            "beginning",
            "-f",
            FORMAT,
        ],
        b"",
    );
    assert_eq!(sorted_lines(&printed), sorted_lines(&expected));
    assert_offsets_increase(&printed);

    // The remaining tokens and escapes, against kcat's own rendering.
    let others = r"%t|%p|%o|%T|%K|%S\t%%\\|%k\n";
    assert_eq!(
        sorted_lines(&tidelog_ok(
            &["consume", "-b", bootstrap, "-t", topic, "-e", "-f", others],
            b""
        )),
        sorted_lines(&kcat_consume_all(bootstrap, topic, others))
    );

    // Without -f: the value and a newline; without -o: from the beginning.
    assert_eq!(
        sorted_lines(&tidelog_ok(
            &["consume", "-b", bootstrap, "-t", topic, "-e"],
            b""
        )),
        sorted_lines(&kcat_consume_all(bootstrap, topic, "%s\n"))
    );

    // -p reads one partition; -o N starts there, -o -N that many before the end.
    let partition_1: Vec<&str> = sorted_lines(&expected)
        .into_iter()
        .filter(|line| line.starts_with("1|"))
        .collect();
    let only_1 = tidelog_ok(
        &[
            "consume", "-b", bootstrap, "-t", topic, "-e", "-p", "1", "-f", FORMAT,
        ],
        b"",
    );
    assert_eq!(sorted_lines(&only_1), partition_1);
    let from_3 = tidelog_ok(
        &[
            "consume", "-b", bootstrap, "-t", topic, "-e", "-p", "1", "-o", "3", "-f", "%p|%o\n",
        ],
        b"",
    );
    let offsets: Vec<i64> = from_3.lines().map(|l| l[2..].parse().unwrap()).collect();
    assert_eq!(offsets, (3..partition_1.len() as i64).collect::<Vec<_>>());
    let last_5 = tidelog_ok(
        &[
            "consume", "-b", bootstrap, "-t", topic, "-e", "-o", "-5", "-f", "%p|%o\n",
        ],
        b"",
    );
    let mut per_partition: BTreeMap<i32, usize> = BTreeMap::new();
    for line in last_5.lines() {
        *per_partition.entry(line[..1].parse().unwrap()).or_default() += 1;
    }
    assert_eq!(per_partition, BTreeMap::from([(0, 5), (1, 5), (2, 5)]));
    // -o end with -e: nothing to print.
    let at_end = tidelog_ok(
        &["consume", "-b", bootstrap, "-t", topic, "-e", "-o", "end"],
        b"",
    );
    assert_eq!(at_end, "");
}

fn produce_lines(bootstrap: &str, topic: &str, range: std::ops::Range<usize>) {
    let input: String = range
        .map(|n| format!("{}:{}\n", key_of(n), value_of(n, "group")))
        .collect();
    tidelog_ok(
        &["produce", "-b", bootstrap, "-t", topic, "-K", ":"],
        input.as_bytes(),
    );
}

/// The line numbers in `output` (one value per line), sorted.
fn numbers(output: &str) -> Vec<usize> {
    let mut numbers: Vec<usize> = output.lines().map(number_of).collect();
    numbers.sort_unstable();
    numbers
}

#[test]
fn consume_with_a_group_resumes_where_it_stopped() {
    let server = Server::start(&["--in-memory", "--set", "group.initial.rebalance.delay.ms=0"]);
    let bootstrap = server.bootstrap.as_str();
    let topic = "grouped";
    create_topic(bootstrap, topic, 3);
    produce_lines(bootstrap, topic, 0..300);

    let group_run = |offset: &str| {
        tidelog_ok(
            &[
                "consume", "-b", bootstrap, "-t", topic, "-G", "grp", "-o", offset, "-e",
            ],
            b"",
        )
    };
    assert_eq!(
        numbers(&group_run("beginning")),
        (0..300).collect::<Vec<_>>()
    );

    // The commit on exit wins over -o for the partitions that have one.
    produce_lines(bootstrap, topic, 300..350);
    assert_eq!(
        numbers(&group_run("beginning")),
        (300..350).collect::<Vec<_>>()
    );
    assert_eq!(group_run("beginning"), "");
}

#[test]
fn consume_stops_cleanly_on_sigint_and_commits() {
    let server = Server::start(&["--in-memory", "--set", "group.initial.rebalance.delay.ms=0"]);
    let bootstrap = server.bootstrap.as_str();
    let topic = "tailed";
    create_topic(bootstrap, topic, 3);
    produce_lines(bootstrap, topic, 0..200);

    let mut child = Command::new(env!("CARGO_BIN_EXE_tidelog"))
        .args([
            "consume",
            "-b",
            bootstrap,
            "-t",
            topic,
            "-G",
            "tail",
            "-o",
            "beginning",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines_sender.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    let mut printed = Vec::new();
    while printed.len() < 200 {
        match lines.recv_timeout(RUN_LIMIT) {
            Ok(line) => printed.push(line),
            Err(err) => {
                let _ = child.kill();
                panic!("{} lines, then {err}", printed.len());
            }
        }
    }
    assert_eq!(numbers(&printed.join("\n")), (0..200).collect::<Vec<_>>());

    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("tidelog consume still running 10 s after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "exit after SIGINT: {status}");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let committed = runtime.block_on(async {
        let admin = tidelog::client::admin::Admin::new(
            tidelog::client::admin::AdminConfig::from_pairs([("bootstrap.servers", bootstrap)])
                .unwrap(),
        );
        admin.list_group_offsets("tail", None).await.unwrap()
    });
    let total: i64 = committed.iter().map(|(_, offset, _)| *offset).sum();
    assert_eq!(committed.len(), 3, "{committed:?}");
    assert_eq!(total, 200, "every position committed: {committed:?}");
}

#[test]
fn bad_settings_are_refused_naming_them() {
    // Nothing listens here: these are refused before any connection.
    let nowhere = "127.0.0.1:1";
    let stderr = tidelog_fails(
        &["produce", "-b", nowhere, "-t", "t", "-X", "linger.mss=5"],
        b"x\n",
    );
    assert!(stderr.contains("`linger.mss`"), "{stderr}");
    let stderr = tidelog_fails(
        &["produce", "-b", nowhere, "-t", "t", "-X", "acks=7"],
        b"x\n",
    );
    assert!(stderr.contains("`acks`"), "{stderr}");
    let stderr = tidelog_fails(
        &[
            "consume",
            "-b",
            nowhere,
            "-t",
            "t",
            "-X",
            "fetch.max.wait=5",
        ],
        b"",
    );
    assert!(stderr.contains("`fetch.max.wait`"), "{stderr}");
    let stderr = tidelog_fails(&["produce", "-b", nowhere, "-t", "t", "-X", "acks"], b"");
    assert!(stderr.contains("KEY=VALUE"), "{stderr}");

    let stderr = tidelog_fails(
        &["produce", "-b", nowhere, "-t", "t", "-z", "brotli"],
        b"x\n",
    );
    assert!(
        stderr.contains("brotli") && stderr.contains("zstd"),
        "{stderr}"
    );

    let stderr = tidelog_fails(&["consume", "-b", nowhere, "-t", "t", "-f", "%s %q"], b"");
    assert!(stderr.contains("%q"), "{stderr}");
    let stderr = tidelog_fails(
        &["consume", "-b", nowhere, "-t", "t", "-G", "g", "-o", "5"],
        b"",
    );
    assert!(stderr.contains("-G"), "{stderr}");
    let stderr = tidelog_fails(&["produce", "-t", "t"], b"x\n");
    assert!(stderr.contains("-b"), "{stderr}");
}
