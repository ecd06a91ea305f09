//! The machine's physical limits, to state a broker's MB/s as a fraction of them:
//!
//! - `limits tcp --seconds S`: one plain loopback TCP connection, a thread writing 1 MiB
//!   buffers and a thread reading them, for S seconds;
//! - `limits disk --dir D --mib N`: N MiB written sequentially in 1 MiB buffers to a new
//!   file in D, then fsync (counted), then the file is removed.
//!
//! Prints `{"what":..,"mb_per_s":..}` (10^6 bytes per second).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

const CHUNK: usize = 1 << 20;

fn tcp(seconds: f64) -> f64 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let reader = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let mut buffer = vec![0u8; CHUNK];
        let mut total = 0u64;
        loop {
            match stream.read(&mut buffer).expect("read") {
                0 => return total,
                n => total += n as u64,
            }
        }
    });
    let mut stream = TcpStream::connect(address).expect("connect");
    let buffer = vec![b'x'; CHUNK];
    let start = Instant::now();
    let until = Duration::from_secs_f64(seconds);
    while start.elapsed() < until {
        stream.write_all(&buffer).expect("write");
    }
    drop(stream);
    let total = reader.join().expect("reader");
    total as f64 / start.elapsed().as_secs_f64() / 1e6
}

fn disk(dir: &str, mib: usize) -> f64 {
    let path = std::path::Path::new(dir).join(format!("limits-{}.bin", std::process::id()));
    let mut file = std::fs::File::create(&path).expect("create file");
    let buffer = vec![b'x'; CHUNK];
    let start = Instant::now();
    for _ in 0..mib {
        file.write_all(&buffer).expect("write");
    }
    file.sync_all().expect("fsync");
    let rate = (mib * CHUNK) as f64 / start.elapsed().as_secs_f64() / 1e6;
    std::fs::remove_file(&path).expect("remove file");
    rate
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .map(|i| args[i + 1].clone())
    };
    let (what, rate) = match args.first().map(String::as_str) {
        Some("tcp") => (
            "loopback_tcp",
            tcp(flag("--seconds").map_or(5.0, |s| s.parse().expect("--seconds"))),
        ),
        Some("disk") => (
            "disk_sequential_write_fsync",
            disk(
                &flag("--dir").unwrap_or_else(|| ".".into()),
                flag("--mib").map_or(2048, |s| s.parse().expect("--mib")),
            ),
        ),
        _ => panic!("usage: limits tcp [--seconds S] | limits disk [--dir D] [--mib N]"),
    };
    println!("{{\"what\":\"{what}\",\"mb_per_s\":{rate:.1}}}");
}
