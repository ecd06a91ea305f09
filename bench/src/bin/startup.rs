//! Start-up time: from process start to the first acknowledged produce.
//!
//! `startup spawn --port P -- COMMAND ARGS...` starts COMMAND (a broker that will listen on
//! 127.0.0.1:P), connects every millisecond until the port accepts, then produces one
//! record (acks=1) to a new topic the broker auto-creates, and prints
//! `{"first_ack_ms":..,"listening_ms":..,"pid":..}` measured from the spawn. COMMAND is
//! left running (the caller stops it).
//!
//! `startup embedded` does the same for an in-memory `EmbeddedBroker` inside this
//! process, from the start of `main`, then idles for a second and adds its own resident
//! memory: `{"first_ack_ms":..,"broker_start_ms":..,"rss_idle_kib":..}`.

use std::net::TcpStream;
use std::time::{Duration, Instant};
use tidelog::client::producer::{Producer, ProducerConfig, ProducerRecord};
use tidelog::embedded::{EmbeddedBroker, EmbeddedOptions};

async fn first_ack(bootstrap: &str) {
    let config = ProducerConfig::from_pairs([
        ("bootstrap.servers", bootstrap),
        ("acks", "1"),
        ("linger.ms", "0"),
        ("retry.backoff.ms", "10"),
    ])
    .expect("valid producer config");
    let producer = Producer::new(config).expect("producer starts");
    // A new topic each time: its auto-creation is part of the first produce.
    let topic = format!("startup-{}", std::process::id());
    let record = ProducerRecord::new(topic, bytes::Bytes::from_static(b"first"));
    producer
        .send_async(record)
        .await
        .expect("record queued")
        .await
        .expect("record acknowledged");
    producer.close().await;
}

/// VmRSS of process `pid` in KiB, from /proc/PID/status.
fn rss_kib(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line")
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let start = Instant::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("embedded") => {
            let broker = EmbeddedBroker::start(EmbeddedOptions::default()).expect("broker");
            let broker_start_ms = ms(start);
            first_ack(broker.bootstrap_servers()).await;
            let first_ack_ms = ms(start);
            tokio::time::sleep(Duration::from_secs(1)).await;
            println!(
                "{{\"first_ack_ms\":{first_ack_ms:.2},\"broker_start_ms\":{broker_start_ms:.2},\"rss_idle_kib\":{}}}",
                rss_kib("self")
            );
            broker.shutdown().expect("shutdown");
        }
        Some("spawn") => {
            let (port, command) = match &args[1..] {
                [flag, port, dashes, command @ ..]
                    if flag == "--port" && dashes == "--" && !command.is_empty() =>
                {
                    (port.clone(), command)
                }
                _ => panic!("usage: startup spawn --port P -- COMMAND ARGS..."),
            };
            let address = format!("127.0.0.1:{port}");
            // Left running on purpose: the caller measures its idle memory, then stops it.
            #[allow(clippy::zombie_processes)]
            let child = std::process::Command::new(&command[0])
                .args(&command[1..])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn the broker");
            let spawned = Instant::now();
            while TcpStream::connect(&address).is_err() {
                std::thread::sleep(Duration::from_millis(1));
            }
            let listening_ms = ms(spawned);
            first_ack(&address).await;
            println!(
                "{{\"first_ack_ms\":{:.2},\"listening_ms\":{listening_ms:.2},\"pid\":{}}}",
                ms(spawned),
                child.id()
            );
        }
        _ => panic!("usage: startup embedded | startup spawn --port P -- COMMAND ARGS..."),
    }
}
