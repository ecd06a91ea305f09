//! The `tidelog` binary end to end: argument and config errors, serving, shutdown.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const TIDELOG: &str = env!("CARGO_BIN_EXE_tidelog");
const DEADLINE: Duration = Duration::from_secs(10);

/// Flags that keep a broker started by mistake off the default port and out of the
/// working directory.
const HARMLESS: [&str; 3] = ["--listen", "127.0.0.1:0", "--in-memory"];

fn spawn(args: &[&str]) -> Child {
    Command::new(TIDELOG)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tidelog")
}

/// Waits for `child` to exit, killing it and failing the test after [`DEADLINE`].
fn wait(child: &mut Child) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for tidelog") {
            return status;
        }
        if start.elapsed() > DEADLINE {
            child.kill().ok();
            panic!("tidelog did not exit within {DEADLINE:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Runs a command that is expected to finish by itself.
fn run(args: &[&str]) -> Output {
    let mut child = spawn(args);
    wait(&mut child);
    child.wait_with_output().expect("collect tidelog's output")
}

/// Runs `tidelog serve` with `args`, expecting it to refuse to start; returns stderr.
fn serve_rejected(args: &[&str]) -> String {
    let output = run(&[&["serve"], args, &HARMLESS].concat());
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "started anyway: {stderr}");
    assert!(output.stdout.is_empty(), "printed {:?}", output.stdout);
    stderr
}

/// A fresh directory for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("tidelog-cli-{test}-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0
            .join(name)
            .to_str()
            .expect("UTF-8 temp path")
            .to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// A running `tidelog serve`, with the address it announced.
struct Server {
    child: Child,
    address: SocketAddr,
    stderr: mpsc::Receiver<String>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = spawn(&[&["serve"], args].concat());
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (lines, first_line) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).ok();
            lines.send(line).ok();
        });
        let (logs, stderr_text) = mpsc::channel();
        thread::spawn(move || {
            let mut text = String::new();
            stderr.read_to_string(&mut text).ok();
            logs.send(text).ok();
        });
        let Ok(line) = first_line.recv_timeout(DEADLINE) else {
            child.kill().ok();
            panic!("no listening line within {DEADLINE:?}");
        };
        let Some(address) = line.trim_end().strip_prefix("tidelog listening on ") else {
            child.kill().ok();
            let logs = stderr_text.recv_timeout(DEADLINE).unwrap_or_default();
            panic!("unexpected first line {line:?}; stderr: {logs}");
        };
        let address = address.parse().expect("a socket address");
        Server {
            child,
            address,
            stderr: stderr_text,
        }
    }

    /// Sends `signal` (e.g. `TERM`) and returns the exit status and stderr.
    fn stop(mut self, signal: &str) -> (ExitStatus, String) {
        let sent = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{signal} failed");
        let status = wait(&mut self.child);
        let logs = self.stderr.recv_timeout(DEADLINE).unwrap_or_default();
        (status, logs)
    }
}

#[test]
fn unknown_config_key_fails_fast_naming_it() {
    let stderr = serve_rejected(&["--set", "no.such.key=1"]);
    assert!(stderr.contains("no.such.key"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn invalid_config_value_fails_fast_naming_the_key() {
    let stderr = serve_rejected(&["--set", "num.partitions=zero"]);
    assert!(stderr.starts_with("tidelog: "), "{stderr}");
    assert!(
        stderr.contains("`zero`") && stderr.contains("`num.partitions`"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn unknown_flush_mode_is_rejected_naming_the_flag() {
    let stderr = serve_rejected(&["--flush", "sometimes"]);
    assert!(
        stderr.contains("--flush") && stderr.contains("sometimes"),
        "{stderr}"
    );
}

#[test]
fn config_file_with_a_bad_key_is_rejected_naming_it() {
    let dir = TempDir::new("bad-key");
    let file = dir.path("tidelog.toml");
    std::fs::write(
        &file,
        "num.partitions = 3\n\"log.retention.mss\" = 3600000\n",
    )
    .unwrap();
    let stderr = serve_rejected(&["--config", &file]);
    assert!(
        stderr.contains("log.retention.mss") && stderr.contains("tidelog.toml"),
        "{stderr}"
    );
}

#[test]
fn serves_in_memory_and_stops_on_sigterm() {
    let server = Server::start(&HARMLESS);
    assert_ne!(server.address.port(), 0);

    // ApiVersions v0, correlation id 7, no client id.
    let mut connection =
        TcpStream::connect_timeout(&server.address, DEADLINE).expect("connect to the broker");
    connection.set_read_timeout(Some(DEADLINE)).unwrap();
    let request = [0, 18, 0, 0, 0, 0, 0, 7, 0xff, 0xff];
    connection
        .write_all(&(request.len() as u32).to_be_bytes())
        .unwrap();
    connection.write_all(&request).unwrap();
    let mut header = [0; 10];
    connection
        .read_exact(&mut header)
        .expect("an ApiVersions response");
    assert_eq!(&header[4..8], &7u32.to_be_bytes(), "correlation id");
    assert_eq!(&header[8..10], &[0, 0], "error code");

    let started = Instant::now();
    let (status, logs) = server.stop("TERM");
    assert!(status.success(), "{status}; stderr: {logs}");
    assert!(started.elapsed() < Duration::from_secs(5), "{logs}");
    assert!(logs.contains("SIGTERM"), "{logs}");
    assert!(logs.contains("shut down cleanly"), "{logs}");
}

#[test]
fn serves_from_a_data_dir_it_creates_and_stops_on_sigint() {
    let dir = TempDir::new("data-dir");
    let data_dir = dir.path("data/nested");
    let server = Server::start(&["--listen", "127.0.0.1:0", "--data-dir", &data_dir]);
    assert!(
        std::fs::metadata(&data_dir)
            .map(|m| m.is_dir())
            .unwrap_or(false),
        "{data_dir} not created"
    );
    let (status, logs) = server.stop("INT");
    assert!(status.success(), "{status}; stderr: {logs}");
    assert!(
        logs.contains("nested"),
        "the data directory is logged: {logs}"
    );
}

#[test]
fn config_file_can_hold_every_setting() {
    let dir = TempDir::new("full-config");
    let file = dir.path("tidelog.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:0\"\nin-memory = true\nnum.partitions = 3\n\"log.flush.interval.messages\" = 1\n",
    )
    .unwrap();
    let server = Server::start(&["--config", &file]);
    let (status, logs) = server.stop("TERM");
    assert!(status.success(), "{status}; stderr: {logs}");
    assert!(logs.contains("flush mode always"), "{logs}");
}

#[test]
fn api_versions_lists_what_the_broker_advertises() {
    let output = run(&["api-versions"]);
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let produce = stdout
        .lines()
        .find(|line| line.split_whitespace().nth(1) == Some("Produce"))
        .unwrap_or_else(|| panic!("no Produce line in {stdout}"));
    assert_eq!(produce.split_whitespace().next(), Some("0"), "{produce}");
}

#[test]
fn version_flag_prints_the_version() {
    let output = run(&["--version"]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        format!("tidelog {}", env!("CARGO_PKG_VERSION"))
    );
}
