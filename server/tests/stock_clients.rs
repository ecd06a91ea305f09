//! Stock Kafka clients (kcat, and librdkafka through confluent-kafka for Python) against
//! the real `tidelog` binary: every compression codec end to end, metadata listing,
//! durability across a clean restart and across kill -9 with fsync-before-ack.

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{kcat, kcat_consume_all, Server, TempDir};

/// kcat output format: partition, offset, key, value, headers. `|` never appears in the
/// keys, values or headers these tests write.
const FORMAT: &str = "%p|%o|%k|%s|%h\n";

/// One consumed record.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Consumed {
    partition: i32,
    offset: i64,
    key: String,
    value: String,
    headers: String,
}

/// Parses kcat's output, sorted by partition and offset (kcat interleaves partitions
/// in whatever order their fetches complete).
fn parse_consumed(output: &str) -> Vec<Consumed> {
    let mut records: Vec<Consumed> = output
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('|').collect();
            assert_eq!(fields.len(), 5, "unexpected kcat line {line:?}");
            Consumed {
                partition: fields[0].parse().unwrap(),
                offset: fields[1].parse().unwrap(),
                key: fields[2].to_string(),
                value: fields[3].to_string(),
                headers: fields[4].to_string(),
            }
        })
        .collect();
    records.sort_by_key(|r| (r.partition, r.offset));
    records
}

/// The key of record `n`: mostly distinct, with every seventh record on one of five
/// shared keys.
fn key_of(n: usize) -> String {
    if n.is_multiple_of(7) {
        format!("hot-{}", n % 5)
    } else {
        format!("key-{n}")
    }
}

/// The value of record `n`, recognisable by its number and compressible.
fn value_of(n: usize, tag: &str) -> String {
    format!("value-{n:05}-{tag}-{}", "tide".repeat(n % 23))
}

/// The record number in a value written by [`value_of`].
fn number_of(value: &str) -> usize {
    value
        .strip_prefix("value-")
        .and_then(|rest| rest.get(..5))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a test value: {value:?}"))
}

/// Produces records `range` with kcat in one run, keyed (tab-delimited), compressed with
/// `codec`, each with the headers `trace=<run>` and `codec=<codec>`.
fn produce(bootstrap: &str, topic: &str, codec: &str, run: usize, range: std::ops::Range<usize>) {
    let mut input = String::new();
    for n in range {
        input.push_str(&format!("{}\t{}\n", key_of(n), value_of(n, codec)));
    }
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
            &format!("trace={run}"),
            "-H",
            &format!("codec={codec}"),
            // Many batches per partition rather than one huge one.
            "-X",
            "batch.num.messages=250",
            "-X",
            "acks=all",
        ],
        input.as_bytes(),
    );
}

/// Checks that `consumed` is exactly records `0..count` as [`produce`] wrote them in
/// runs of `per_run`: each once, keys/values/headers intact, one partition per key,
/// offsets 0..n-1 per partition and, within a partition, the order they were produced.
fn check_records(consumed: &[Consumed], count: usize, per_run: usize, codec: &str) {
    assert_eq!(consumed.len(), count, "number of records consumed");
    let mut seen = vec![false; count];
    let mut partition_of_key: HashMap<&str, i32> = HashMap::new();
    let mut by_partition: BTreeMap<i32, Vec<(i64, usize)>> = BTreeMap::new();
    for record in consumed {
        let n = number_of(&record.value);
        assert!(n < count, "unexpected record {n}");
        assert!(!seen[n], "record {n} consumed twice: {record:?}");
        seen[n] = true;
        assert_eq!(record.value, value_of(n, codec), "value of record {n}");
        assert_eq!(record.key, key_of(n), "key of record {n}");
        assert_eq!(
            record.headers,
            format!("trace={},codec={codec}", n / per_run),
            "headers of record {n}"
        );
        let partition = *partition_of_key
            .entry(&record.key)
            .or_insert(record.partition);
        assert_eq!(
            partition, record.partition,
            "key {} is on two partitions",
            record.key
        );
        by_partition
            .entry(record.partition)
            .or_default()
            .push((record.offset, n));
    }
    for (partition, mut records) in by_partition {
        records.sort();
        let offsets: Vec<i64> = records.iter().map(|&(offset, _)| offset).collect();
        let expected: Vec<i64> = (0..records.len() as i64).collect();
        assert_eq!(
            offsets, expected,
            "offsets of partition {partition} are not 0..n-1"
        );
        for pair in records.windows(2) {
            assert!(
                pair[0].1 < pair[1].1,
                "partition {partition}: record {} (offset {}) comes after record {} (offset {}), \
                 against the order they were produced",
                pair[1].1,
                pair[1].0,
                pair[0].1,
                pair[0].0
            );
        }
    }
}

fn codec_round_trip(codec: &str) {
    const COUNT: usize = 10_000;
    const PER_RUN: usize = 2_500;
    let started = Instant::now();
    let dir = TempDir::new(&format!("codec-{codec}"));
    let server = Server::on_disk(&dir.0, &["--partitions", "3"]);
    let topic = format!("codec-{codec}");
    for run in 0..COUNT / PER_RUN {
        produce(
            &server.bootstrap,
            &topic,
            codec,
            run,
            run * PER_RUN..(run + 1) * PER_RUN,
        );
    }
    let consumed = parse_consumed(&kcat_consume_all(&server.bootstrap, &topic, FORMAT));
    check_records(&consumed, COUNT, PER_RUN, codec);
    let partitions: HashSet<i32> = consumed.iter().map(|r| r.partition).collect();
    assert_eq!(partitions.len(), 3, "keys spread over all three partitions");
    server.stop();
    eprintln!(
        "{codec}: {COUNT} records round trip in {:?}",
        started.elapsed()
    );
}

#[test]
fn kcat_round_trip_uncompressed() {
    codec_round_trip("none");
}

#[test]
fn kcat_round_trip_gzip() {
    codec_round_trip("gzip");
}

#[test]
fn kcat_round_trip_snappy() {
    codec_round_trip("snappy");
}

#[test]
fn kcat_round_trip_lz4() {
    codec_round_trip("lz4");
}

#[test]
fn kcat_round_trip_zstd() {
    codec_round_trip("zstd");
}

#[test]
fn kcat_lists_topics_partitions_and_leader() {
    let server = Server::start(&["--in-memory", "--partitions", "3"]);
    // One topic auto-created on first produce (num.partitions 3), one created with 5.
    produce(&server.bootstrap, "listed-auto", "none", 0, 0..10);
    support::create_topic(&server.bootstrap, "listed-five", 5);

    let listing = kcat(&["-b", &server.bootstrap, "-L"], b"");
    assert!(listing.contains(" 1 brokers:"), "{listing}");
    assert!(
        listing.contains(&format!("broker 0 at {}", server.bootstrap)),
        "broker 0 is listed at the bootstrap address: {listing}"
    );
    let topics = parse_listing(&listing);
    assert_eq!(
        topics.keys().cloned().collect::<Vec<_>>(),
        ["listed-auto", "listed-five"],
        "{listing}"
    );
    assert_eq!(
        topics["listed-auto"],
        (0..3).collect::<Vec<_>>(),
        "{listing}"
    );
    assert_eq!(
        topics["listed-five"],
        (0..5).collect::<Vec<_>>(),
        "{listing}"
    );

    // Asking for one topic lists only that one.
    let one = kcat(&["-b", &server.bootstrap, "-L", "-t", "listed-five"], b"");
    let topics = parse_listing(&one);
    assert_eq!(
        topics.keys().cloned().collect::<Vec<_>>(),
        ["listed-five"],
        "{one}"
    );
    assert_eq!(topics["listed-five"], (0..5).collect::<Vec<_>>(), "{one}");
}

/// Parses `kcat -L`: topic name -> the partition ids listed under it. Checks that each
/// topic announces the number of partitions it lists and that every partition is led by
/// node 0 with replicas and ISR [0] and no error.
fn parse_listing(listing: &str) -> BTreeMap<String, Vec<i32>> {
    let mut topics: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    let mut announced: BTreeMap<String, usize> = BTreeMap::new();
    let mut current = None;
    for line in listing.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("topic \"") {
            let (name, rest) = rest.split_once('"').unwrap();
            if name.starts_with("__") {
                // Internal (`__consumer_offsets`): not one of the test's topics.
                current = None;
                continue;
            }
            let count = rest
                .trim()
                .strip_prefix("with ")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("unexpected topic line {line:?}"));
            announced.insert(name.to_string(), count);
            topics.insert(name.to_string(), Vec::new());
            current = Some(name.to_string());
        } else if let Some(rest) = line.strip_prefix("partition ") {
            let (id, rest) = rest.split_once(',').unwrap();
            assert_eq!(
                rest.trim(),
                "leader 0, replicas: 0, isrs: 0",
                "partition line {line:?}"
            );
            if let Some(topic) = &current {
                topics.get_mut(topic).unwrap().push(id.parse().unwrap());
            }
        }
    }
    for (name, partitions) in &topics {
        assert_eq!(partitions.len(), announced[name], "topic {name}: {listing}");
    }
    topics
}

#[test]
fn records_survive_a_clean_restart() {
    const COUNT: usize = 3_000;
    let dir = TempDir::new("restart");
    let server = Server::on_disk(&dir.0, &["--partitions", "3"]);
    let topic = "restart";
    produce(&server.bootstrap, topic, "lz4", 0, 0..COUNT);
    let before = parse_consumed(&kcat_consume_all(&server.bootstrap, topic, FORMAT));
    check_records(&before, COUNT, COUNT, "lz4");
    let args = server.restart_args();
    server.stop();

    let server = Server::start_again(args);
    let after = parse_consumed(&kcat_consume_all(&server.bootstrap, topic, FORMAT));
    assert_eq!(before.len(), after.len(), "record count after restart");
    assert!(
        before == after,
        "records or offsets changed across a clean restart"
    );

    // New records continue each partition's offsets instead of overwriting.
    let mut ends: BTreeMap<i32, i64> = BTreeMap::new();
    for record in &before {
        let end = ends.entry(record.partition).or_default();
        *end = (*end).max(record.offset + 1);
    }
    produce(&server.bootstrap, topic, "lz4", 0, COUNT..COUNT + 300);
    let all = parse_consumed(&kcat_consume_all(&server.bootstrap, topic, FORMAT));
    check_records(&all, COUNT + 300, COUNT + 300, "lz4");
    for record in &all {
        let n = number_of(&record.value);
        if n >= COUNT {
            assert!(
                record.offset >= ends[&record.partition],
                "record {n} written after the restart at offset {} of partition {}, \
                 below the end {} before it",
                record.offset,
                record.partition,
                ends[&record.partition]
            );
        }
    }
    server.stop();
}

/// A confluent-kafka producer that writes `rec-<n>` values (keys `k<n % 97>`) as fast as
/// it can with acks=all and no retries, printing `ACK <value> <partition> <offset>` for
/// each acknowledged record and `ERR <value> <error>` for each failed one. When its stdin
/// closes it stops producing, purges what is queued or in flight (those report `ERR`),
/// serves the remaining delivery reports and prints `DONE`: every acknowledgement it
/// received is printed before that line.
const ACKING_PRODUCER: &str = r#"
import sys
import threading
from confluent_kafka import Producer

bootstrap, topic = sys.argv[1], sys.argv[2]
producer = Producer({
    "bootstrap.servers": bootstrap,
    "acks": "all",
    "retries": 0,
    "enable.idempotence": False,
    "linger.ms": 2,
    "batch.num.messages": 200,
    "message.timeout.ms": 60000,
})
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()

def delivered(err, msg):
    if err is None:
        sys.stdout.write("ACK %s %d %d\n" % (msg.value().decode(), msg.partition(), msg.offset()))
    else:
        sys.stdout.write("ERR %s %s\n" % (msg.value().decode(), err.name()))
    sys.stdout.flush()

n = 0
while not stop.is_set():
    try:
        producer.produce(topic, key="k%d" % (n % 97), value="rec-%d" % n, on_delivery=delivered)
        n += 1
    except BufferError:
        producer.poll(0.05)
    producer.poll(0)
producer.purge(in_queue=True, in_flight=True)
left = producer.flush(30)
sys.stdout.write("DONE %d\n" % left)
sys.stdout.flush()
"#;

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

#[test]
fn acknowledged_records_survive_kill_9_with_fsync_before_ack() {
    const ACKS_BEFORE_KILL: usize = 3_000;
    let dir = TempDir::new("kill9");
    let topic = "kill9";
    let server = Server::on_disk(&dir.0, &["--partitions", "3", "--flush", "always"]);
    support::create_topic(&server.bootstrap, topic, 3);

    // librdkafka logs to stderr; a file, so that a full pipe cannot stall the producer.
    let stderr_path = dir.0.join("producer.stderr");
    let producer_stderr = || std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let mut producer = Command::new(python())
        .args(["-c", ACKING_PRODUCER, &server.bootstrap, topic])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("python3 runs (confluent-kafka is installed by scripts/test-all)");
    let stop_producing = producer.stdin.take().unwrap();
    let (lines, incoming) = mpsc::channel();
    let stdout = producer.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });

    let mut acked: Vec<(String, i32, i64)> = Vec::new();
    let mut failures = 0;
    let mut done = false;
    let mut take = |line: String, acked: &mut Vec<(String, i32, i64)>, failures: &mut usize| {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields[0] {
            "ACK" => acked.push((
                fields[1].to_string(),
                fields[2].parse().unwrap(),
                fields[3].parse().unwrap(),
            )),
            "ERR" => *failures += 1,
            "DONE" => {
                assert_eq!(fields[1], "0", "records left undelivered after the purge");
                done = true;
            }
            _ => panic!("unexpected producer output {line:?}"),
        }
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.len() < ACKS_BEFORE_KILL {
        let left = deadline.saturating_duration_since(Instant::now());
        match incoming.recv_timeout(left) {
            Ok(line) => take(line, &mut acked, &mut failures),
            Err(_) => {
                let _ = producer.kill();
                let _ = producer.wait();
                panic!(
                    "only {} records acknowledged before the deadline; producer stderr: {}",
                    acked.len(),
                    producer_stderr()
                );
            }
        }
    }
    assert_eq!(failures, 0, "deliveries failed while the broker was up");
    let args = server.restart_args();
    // The producer is still producing as fast as it can.
    server.kill_9();

    // Stop the producer and collect every acknowledgement it received.
    drop(stop_producing);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match incoming.recv_timeout(left) {
            Ok(line) => take(line, &mut acked, &mut failures),
            Err(_) => break,
        }
    }
    let _ = producer.kill();
    let _ = producer.wait();
    reader.join().unwrap();
    assert!(
        done,
        "the producer did not finish after the kill; stderr: {}",
        producer_stderr()
    );

    let server = Server::start_again(args);
    let consumed = parse_consumed(&kcat_consume_all(
        &server.bootstrap,
        topic,
        "%p|%o|%k|%s|\n",
    ));
    let mut at: HashMap<(i32, i64), &str> = HashMap::new();
    let mut values = HashSet::new();
    let mut per_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for record in &consumed {
        assert!(
            values.insert(record.value.as_str()),
            "{} stored twice",
            record.value
        );
        at.insert((record.partition, record.offset), &record.value);
        per_partition
            .entry(record.partition)
            .or_default()
            .push(record.offset);
    }
    for (partition, mut offsets) in per_partition {
        offsets.sort();
        let expected: Vec<i64> = (0..offsets.len() as i64).collect();
        assert_eq!(
            offsets, expected,
            "offsets of partition {partition} after recovery"
        );
    }
    let mut missing = Vec::new();
    for (value, partition, offset) in &acked {
        match at.get(&(*partition, *offset)) {
            Some(stored) if stored == value => {}
            other => missing.push(format!(
                "{value} acked at {partition}/{offset}, found {other:?}"
            )),
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged records lost after kill -9, e.g. {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
    eprintln!(
        "kill -9: {} acknowledged, {} stored after recovery",
        acked.len(),
        consumed.len()
    );
    server.stop();
}
