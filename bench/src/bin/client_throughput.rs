//! tidelog's Rust producer then consumer: N records of S bytes to one partition, the same
//! workload and settings as `bench/librdkafka/produce_consume.py` (linger.ms=5,
//! batch.size=1000000, acks as given, idempotence off), so the two run side by side.
//!
//!     cargo run --release -p tidelog-bench --bin client_throughput -- \
//!         --bootstrap 127.0.0.1:19200 --records 1000000 --size 100 --acks 1 --runs 3

use std::time::{Duration, Instant};
use tidelog::client::consumer::{Consumer, ConsumerConfig};
use tidelog::client::producer::{Producer, ProducerConfig, ProducerRecord};

struct Args {
    bootstrap: String,
    records: usize,
    size: usize,
    acks: String,
    runs: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        bootstrap: String::new(),
        records: 1_000_000,
        size: 100,
        acks: "1".into(),
        runs: 3,
    };
    for (flag, value) in tidelog_bench::flag_pairs() {
        match flag.as_str() {
            "--bootstrap" => args.bootstrap = value,
            "--records" => args.records = value.parse().expect("--records is a number"),
            "--size" => args.size = value.parse().expect("--size is a number"),
            "--acks" => args.acks = value,
            "--runs" => args.runs = value.parse().expect("--runs is a number"),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(
        !args.bootstrap.is_empty(),
        "--bootstrap host:port is required"
    );
    args
}

async fn produce(args: &Args, topic: &str) -> Duration {
    let config = ProducerConfig::from_pairs([
        ("bootstrap.servers", args.bootstrap.as_str()),
        ("acks", args.acks.as_str()),
        ("linger.ms", "5"),
        ("batch.size", "1000000"),
        ("enable.idempotence", "false"),
    ])
    .expect("valid producer config");
    let producer = Producer::new(config).expect("producer starts");
    let payload = bytes::Bytes::from(vec![b'x'; args.size]);
    let start = Instant::now();
    let mut deliveries = Vec::with_capacity(args.records);
    for _ in 0..args.records {
        let record = ProducerRecord::new(topic, payload.clone()).with_partition(0);
        deliveries.push(producer.send_async(record).await.expect("record queued"));
    }
    producer.flush().await;
    for delivery in deliveries {
        delivery.await.expect("record delivered");
    }
    let elapsed = start.elapsed();
    producer.close().await;
    elapsed
}

async fn consume(args: &Args, topic: &str) -> Duration {
    let config = ConsumerConfig::from_pairs([
        ("bootstrap.servers", args.bootstrap.as_str()),
        ("auto.offset.reset", "earliest"),
        ("fetch.max.wait.ms", "100"),
    ])
    .expect("valid consumer config");
    let consumer = Consumer::new(config);
    consumer.assign(&[(topic.to_string(), 0)]);
    let start = Instant::now();
    let mut seen = 0;
    while seen < args.records {
        if consumer
            .poll(Duration::from_secs(10))
            .await
            .expect("poll")
            .is_some()
        {
            seen += 1;
        } else {
            panic!("stalled after {seen} records");
        }
    }
    let elapsed = start.elapsed();
    consumer.close().await.expect("close");
    elapsed
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let (mut produced, mut consumed) = (Vec::new(), Vec::new());
    for run in 0..args.runs {
        let topic = format!("bench-rust-{}-{run}", std::process::id());
        tidelog_bench::create_topic(&args.bootstrap, &topic, 1).await;
        produced.push(produce(&args, &topic).await);
        consumed.push(consume(&args, &topic).await);
    }
    for (phase, times) in [("produce", produced), ("consume", consumed)] {
        let list: Vec<String> = times
            .iter()
            .map(|t| format!("{:.2}s", t.as_secs_f64()))
            .collect();
        let seconds = median(times).as_secs_f64();
        let rate = args.records as f64 / seconds;
        println!(
            "{phase}: {:.0} records/s, {:.1} MB/s (median of {}: {})",
            rate,
            rate * args.size as f64 / 1e6,
            args.runs,
            list.join(", ")
        );
    }
}
