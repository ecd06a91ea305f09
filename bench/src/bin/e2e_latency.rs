//! Open-loop end-to-end latency: a producer that sends at a fixed rate and a consumer in the
//! same process that reads the records back, with tidelog's Rust clients against any Kafka
//! broker (tidelog or Apache Kafka alike).
//!
//! Record `i` is due at `start + i / rate`. Each record carries its due time (nanoseconds
//! since `start`, the first 8 bytes of its value), and its latency is the time the consumer
//! receives it minus that due time, so a send that starts late (the producer blocked, the
//! broker slow) counts against the broker instead of being left out (no coordinated
//! omission). Records due in the first `--warmup` seconds are not counted. Percentiles are
//! exact (every latency is kept and sorted).
//!
//! `--rate 0` instead sends as fast as the producer can for `--duration` seconds and
//! reports the acknowledged records/s: the rate the fixed-rate runs are a fraction of.
//!
//! Prints one JSON object on stdout.
//!
//!     cargo run --release -p tidelog-bench --bin e2e_latency -- --bootstrap 127.0.0.1:9092 \
//!         --rate 100000 --duration 15 --warmup 3 --size 100 --acks 1

use std::sync::Arc;
use std::time::{Duration, Instant};
use tidelog::client::consumer::{Consumer, ConsumerConfig};
use tidelog::client::producer::{Producer, ProducerConfig, ProducerRecord};

struct Args {
    bootstrap: String,
    rate: u64,
    duration: f64,
    warmup: f64,
    size: usize,
    acks: String,
}

fn parse_args() -> Args {
    let mut args = Args {
        bootstrap: String::new(),
        rate: 0,
        duration: 15.0,
        warmup: 3.0,
        size: 100,
        acks: "1".into(),
    };
    for (flag, value) in tidelog_bench::flag_pairs() {
        match flag.as_str() {
            "--bootstrap" => args.bootstrap = value,
            "--rate" => args.rate = value.parse().expect("--rate is records/s"),
            "--duration" => args.duration = value.parse().expect("--duration is seconds"),
            "--warmup" => args.warmup = value.parse().expect("--warmup is seconds"),
            "--size" => args.size = value.parse().expect("--size is bytes"),
            "--acks" => args.acks = value,
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(
        !args.bootstrap.is_empty(),
        "--bootstrap host:port is required"
    );
    assert!(args.size >= 8, "--size must hold the 8-byte due time");
    args
}

fn producer(args: &Args) -> Producer {
    let config = ProducerConfig::from_pairs([
        ("bootstrap.servers", args.bootstrap.as_str()),
        ("acks", args.acks.as_str()),
        ("linger.ms", "1"),
        ("batch.size", "1000000"),
        ("enable.idempotence", "false"),
        // A broker that stops taking records fills `buffer.memory`; 5 s of that is
        // reported as an overloaded broker (see `overloaded`).
        ("max.block.ms", "5000"),
    ])
    .expect("valid producer config");
    Producer::new(config).expect("producer starts")
}

fn value(size: usize, due_ns: u64) -> bytes::Bytes {
    let mut value = vec![b'x'; size];
    value[..8].copy_from_slice(&due_ns.to_be_bytes());
    value.into()
}

/// Sends as fast as `send_async` allows for the run's duration; returns acked records/s.
async fn max_rate(args: &Args, topic: &str) -> f64 {
    let producer = producer(args);
    let payload = value(args.size, 0);
    let start = Instant::now();
    let until = Duration::from_secs_f64(args.duration);
    let mut sent: u64 = 0;
    while start.elapsed() < until {
        for _ in 0..1000 {
            let record = ProducerRecord::new(topic, payload.clone()).with_partition(0);
            drop(producer.send_async(record).await.expect("record queued"));
        }
        sent += 1000;
    }
    producer.flush().await;
    let rate = sent as f64 / start.elapsed().as_secs_f64();
    producer.close().await;
    rate
}

/// How far the sends may fall behind the schedule before the run counts as overloaded.
const BEHIND_LIMIT: Duration = Duration::from_secs(5);

/// Ends a fixed-rate run the broker does not keep up with (sends more than `BEHIND_LIMIT`
/// behind the schedule, or `buffer.memory` full for `max.block.ms`): the backlog grows
/// without bound, so there is no latency to report. Prints the run's JSON line with
/// `"overloaded":true` and why, and exits.
fn overloaded(args: &Args, sent: u64, seconds: f64, reason: &str) -> ! {
    let reason = reason.replace('\\', "\\\\").replace('"', "\\\"");
    println!(
        "{{\"mode\":\"fixed\",\"rate\":{},\"overloaded\":true,\"sent\":{sent},\"seconds\":{seconds:.1},\
         \"size\":{},\"acks\":\"{}\",\"reason\":\"{reason}\"}}",
        args.rate, args.size, args.acks
    );
    std::process::exit(0);
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let topic = format!("bench-latency-{}", std::process::id());
    tidelog_bench::create_topic(&args.bootstrap, &topic, 1).await;

    if args.rate == 0 {
        let rate = max_rate(&args, &topic).await;
        println!(
            "{{\"mode\":\"max\",\"records_per_s\":{rate:.0},\"size\":{},\"acks\":\"{}\"}}",
            args.size, args.acks
        );
        return;
    }

    let total = (args.rate as f64 * args.duration) as u64;
    let warm = (args.rate as f64 * args.warmup) as u64;
    let consumer = Arc::new(Consumer::new(
        ConsumerConfig::from_pairs([
            ("bootstrap.servers", args.bootstrap.as_str()),
            ("auto.offset.reset", "earliest"),
            ("fetch.max.wait.ms", "100"),
        ])
        .expect("valid consumer config"),
    ));
    consumer.assign(&[(topic.clone(), 0)]);
    // The consumer's first fetch finds the empty partition before the clock starts.
    let _ = consumer.poll(Duration::from_millis(300)).await;

    let producer = producer(&args);
    let start = Instant::now();
    let reader = {
        let consumer = consumer.clone();
        tokio::spawn(async move {
            let mut latencies = Vec::with_capacity((total - warm) as usize);
            let mut seen = 0;
            while seen < total {
                match consumer.poll(Duration::from_secs(30)).await.expect("poll") {
                    Some(record) => {
                        let now = start.elapsed().as_nanos() as u64;
                        let value = record.value.expect("value");
                        let due = u64::from_be_bytes(value[..8].try_into().expect("8 bytes"));
                        if seen >= warm {
                            latencies.push(now.saturating_sub(due));
                        }
                        seen += 1;
                    }
                    None => panic!("no record for 30 s after {seen} of {total}"),
                }
            }
            latencies
        })
    };

    let interval_ns = 1e9 / args.rate as f64;
    let mut next: u64 = 0;
    let mut late_sends: u64 = 0;
    while next < total {
        let now = start.elapsed().as_nanos() as f64;
        let due_now = ((now / interval_ns) as u64 + 1).min(total);
        let behind_ns = now - next as f64 * interval_ns;
        if behind_ns > BEHIND_LIMIT.as_nanos() as f64 {
            let reason = format!("sends are {:.1} s behind the schedule", behind_ns / 1e9);
            overloaded(&args, next, start.elapsed().as_secs_f64(), &reason);
        }
        if due_now > next + args.rate / 100 {
            late_sends += 1; // more than 10 ms of records were due at once
        }
        // In slices, so that falling behind is noticed while catching up.
        let slice_end = due_now.min(next + 65_536);
        while next < slice_end {
            let due_ns = (next as f64 * interval_ns) as u64;
            let record =
                ProducerRecord::new(topic.as_str(), value(args.size, due_ns)).with_partition(0);
            if let Err(error) = producer.send_async(record).await {
                overloaded(
                    &args,
                    next,
                    start.elapsed().as_secs_f64(),
                    &error.to_string(),
                );
            }
            next += 1;
        }
        let wake = Duration::from_nanos((next as f64 * interval_ns) as u64);
        let elapsed = start.elapsed();
        if wake > elapsed {
            tokio::time::sleep(wake - elapsed).await;
        }
    }
    let send_seconds = start.elapsed().as_secs_f64();
    let mut latencies = reader.await.expect("consumer task");
    producer.close().await;
    consumer.close().await.expect("close");
    latencies.sort_unstable();
    let points = [
        50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 100.0,
    ];
    let curve: Vec<String> = points
        .iter()
        .map(|&p| format!("[{p},{:.1}]", percentile(&latencies, p)))
        .collect();
    println!(
        "{{\"mode\":\"fixed\",\"rate\":{},\"achieved_send_rate\":{:.0},\"measured\":{},\"size\":{},\"acks\":\"{}\",\
         \"late_send_bursts\":{late_sends},\"p50_us\":{:.1},\"p99_us\":{:.1},\"p999_us\":{:.1},\"max_us\":{:.1},\
         \"percentiles_us\":[{}]}}",
        args.rate,
        total as f64 / send_seconds,
        latencies.len(),
        args.size,
        args.acks,
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 99.9),
        percentile(&latencies, 100.0),
        curve.join(",")
    );
}
