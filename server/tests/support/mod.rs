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
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let path = std::env::temp_dir().join(format!("tidelog-{label}-{}-{nanos}", std::process::id()));
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
        let mut child = Command::new(env!("CARGO_BIN_EXE_tidelog"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(&args)
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
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
        Server { child, bootstrap, args }
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
        let status = Command::new("kill").args([signal, &self.pid().to_string()]).status().unwrap();
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
            assert!(Instant::now() < deadline, "tidelog did not stop within 30 s of SIGTERM");
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
    assert!(output.status.success(), "kcat {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}
