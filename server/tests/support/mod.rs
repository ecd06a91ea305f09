//! Runs the real `tidelog` binary for integration tests: start on a free port, read the
//! address it prints, stop with SIGTERM or kill -9, restart on the same data directory.

#![allow(dead_code)] // each test file uses a different part of this module

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path =
            std::env::temp_dir().join(format!("tidelog-{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `tidelog serve`.
pub struct Server {
    child: Child,
    pub bootstrap: String,
    args: Vec<String>,
}

impl Server {
    /// Starts `tidelog serve --listen 127.0.0.1:0` with `args` and waits for its
    /// listening line.
    pub fn start(args: &[&str]) -> Server {
        Self::start_owned(args.iter().map(|s| s.to_string()).collect())
    }

    fn start_owned(args: Vec<String>) -> Server {
        let level = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into());
        Self::start_logging(&level, args)
    }

    /// Starts with the broker's `RUST_LOG` set to `level`.
    fn start_logging(level: &str, args: Vec<String>) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tidelog"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(&args)
            .env("RUST_LOG", level)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tidelog binary runs");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let bootstrap = line
            .trim()
            .strip_prefix("tidelog listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from tidelog serve: {line:?}"))
            .to_string();
        Server {
            child,
            bootstrap,
            args,
        }
    }

    /// Starts on a data directory.
    pub fn on_disk(dir: &Path, extra: &[&str]) -> Server {
        let mut args = vec!["--data-dir".to_string(), dir.display().to_string()];
        args.extend(extra.iter().map(|s| s.to_string()));
        Self::start_owned(args)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} failed");
    }

    /// SIGTERM, then waits for a clean exit (status 0).
    pub fn stop(mut self) {
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "tidelog exited with {status}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "tidelog did not stop within 30 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// kill -9: no chance to flush or close anything.
    pub fn kill_9(mut self) {
        self.signal("-KILL");
        let _ = self.child.wait();
    }

    /// The same arguments again (a restart on the same data directory, new port).
    pub fn restart_args(&self) -> Vec<String> {
        self.args.clone()
    }

    pub fn start_again(args: Vec<String>) -> Server {
        Self::start_owned(args)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs kcat with `args` and `stdin`, returning stdout; panics with stderr on failure.
pub fn kcat(args: &[&str], stdin: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("kcat")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kcat is installed (scripts/test-all installs it)");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "kcat {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Reads every record of `topic` from the beginning with kcat until the end of each
/// partition, as lines formatted with `format` (kcat's `-f`).
pub fn kcat_consume_all(bootstrap: &str, topic: &str, format: &str) -> String {
    kcat(
        &[
            "-b",
            bootstrap,
            "-C",
            "-t",
            topic,
            "-e",
            "-q",
            "-o",
            "beginning",
            "-f",
            format,
            "-X",
            "check.crcs=true",
        ],
        b"",
    )
}

/// Connects to the broker with a read timeout, so a missing response fails the test
/// instead of hanging it.
pub fn connect(bootstrap: &str) -> std::net::TcpStream {
    let stream = std::net::TcpStream::connect(bootstrap).expect("connect to tidelog");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// A size-prefixed request frame for `request` at `version`, encoded with tidelog's codec.
pub fn request_frame<R: tidelog::protocol::messages::Request>(
    version: i16,
    correlation_id: i32,
    request: R,
) -> Vec<u8> {
    let header = tidelog::protocol::messages::RequestHeader {
        request_api_key: R::API_KEY as i16,
        request_api_version: version,
        correlation_id,
        client_id: Some("tidelog-it".into()),
    };
    let mut buf = Default::default();
    tidelog::protocol::frame::encode_request(&mut buf, &header, &request.into())
        .expect("request encodes");
    buf.to_vec()
}

/// Reads one size-prefixed frame and returns the bytes after the size.
pub fn read_frame(stream: &mut impl std::io::Read) -> std::io::Result<Vec<u8>> {
    let mut size = [0u8; 4];
    stream.read_exact(&mut size)?;
    let size = i32::from_be_bytes(size);
    assert!(
        (0..=256 << 20).contains(&size),
        "response frame size {size}"
    );
    let mut frame = vec![0u8; size as usize];
    stream.read_exact(&mut frame)?;
    Ok(frame)
}

/// Decodes a response frame (after the size) to a request made at `version`, returning
/// the correlation id and the body.
pub fn decode_frame<R: tidelog::protocol::messages::Response>(
    version: i16,
    frame: Vec<u8>,
) -> (i32, R) {
    let (header, body) = tidelog::protocol::frame::decode_response_as::<R>(version, frame.into())
        .unwrap_or_else(|e| {
            panic!(
                "{} v{version} response does not decode: {e}",
                R::API_KEY.name()
            )
        });
    (header.correlation_id, body)
}

/// Sends `request` on `stream` and reads its response, checking the correlation id.
pub fn call<R: tidelog::protocol::messages::Request>(
    stream: &mut std::net::TcpStream,
    version: i16,
    request: R,
) -> R::Response {
    use std::io::Write;
    let correlation_id = 0x5eed_0000 | (version as i32 & 0xff);
    stream
        .write_all(&request_frame(version, correlation_id, request))
        .unwrap();
    let frame = read_frame(stream)
        .unwrap_or_else(|e| panic!("no response to {} v{version}: {e}", R::API_KEY.name()));
    let (got, body) = decode_frame::<R::Response>(version, frame);
    assert_eq!(
        got,
        correlation_id,
        "correlation id of the {} response",
        R::API_KEY.name()
    );
    body
}

/// Creates `topic` with `partitions` partitions through CreateTopics v7 on a fresh
/// connection; panics unless the broker answers with no error.
pub fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
    use tidelog::protocol::messages::{create_topics_request::CreatableTopic, CreateTopicsRequest};
    let response = call(
        &mut connect(bootstrap),
        7,
        CreateTopicsRequest {
            topics: vec![CreatableTopic {
                name: topic.into(),
                num_partitions: partitions,
                replication_factor: -1,
                ..Default::default()
            }],
            timeout_ms: 10_000,
            validate_only: false,
        },
    );
    let result = &response.topics[0];
    assert_eq!(
        result.error_code, 0,
        "CreateTopics {topic}: {:?}",
        result.error_message
    );
}

/// [`Server::start`] with the broker's `RUST_LOG` set to `level` instead of the
/// environment's, e.g. to keep expected warnings out of the test output.
pub fn start_with_log_level(level: &str, args: &[&str]) -> Server {
    Server::start_logging(level, args.iter().map(|s| s.to_string()).collect())
}

/// Sends SIGTERM and waits up to `timeout` for a clean exit. On failure the broker is
/// killed (when `server` drops) and the reason returned.
pub fn stop_within(mut server: Server, timeout: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    server.signal("-TERM");
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            return if status.success() {
                Ok(started.elapsed())
            } else {
                Err(format!("tidelog exited with {status}"))
            };
        }
        if started.elapsed() > timeout {
            return Err(format!("tidelog still running {timeout:?} after SIGTERM"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
