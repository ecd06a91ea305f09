"""Runs the real `tidelog serve` binary for the Python client tests.

The binary is `$TIDELOG_BIN`, or `<repo>/target/debug/tidelog` (build it with
`cargo build -p tidelog-server`). One broker serves the whole session on a free port with
a temporary data directory; each test uses its own topics.
"""

import os
import pathlib
import signal
import subprocess
import threading
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
PREFIX = "tidelog listening on "


def tidelog_binary():
    path = pathlib.Path(os.environ.get("TIDELOG_BIN", REPO / "target" / "debug" / "tidelog"))
    if not path.is_file():
        pytest.fail(f"{path} does not exist: run `cargo build -p tidelog-server` or set TIDELOG_BIN")
    return path


class Broker:
    """A running `tidelog serve`; `bootstrap` is its `host:port`."""

    def __init__(self, *args):
        self.process = subprocess.Popen(
            [str(tidelog_binary()), "serve", "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE,
            stderr=None,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
        )
        line = self._first_line(timeout=30)
        if not line.startswith(PREFIX):
            self.process.kill()
            pytest.fail(f"unexpected first line from tidelog serve: {line!r}")
        self.bootstrap = line[len(PREFIX):].strip()

    def _first_line(self, timeout):
        result = []
        reader = threading.Thread(target=lambda: result.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not result:
            self.process.kill()
            pytest.fail(f"tidelog serve did not announce its address within {timeout} s")
        return result[0].decode()

    def stop(self, timeout=30):
        if self.process.poll() is not None:
            return self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"tidelog did not stop within {timeout} s of SIGTERM")


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tidelog-data")
    running = Broker("--data-dir", str(data_dir), "--partitions", "3")
    yield running
    code = running.stop()
    assert code == 0, f"tidelog exited with {code}"


@pytest.fixture(scope="session")
def bootstrap(broker):
    return broker.bootstrap


@pytest.fixture
def topic_name(request):
    """A topic name unique to the test."""
    return "py-" + request.node.name.replace("[", "-").replace("]", "").replace("_", "-")[:80] + f"-{time.monotonic_ns() % 1_000_000}"


# Group and compaction tests: brokers with settings that make rebalances and cleaning fast.

FAST_SETTINGS = (
    "--set", "group.initial.rebalance.delay.ms=0",
    "--set", "group.min.session.timeout.ms=1000",
    "--set", "log.cleaner.backoff.ms=200",
)


@pytest.fixture
def broker_factory(tmp_path_factory):
    """Starts brokers for one test: `start(*flags, data_dir=None)` runs `tidelog serve` with
    FAST_SETTINGS, `--partitions 3`, then `flags`, on `data_dir` (a fresh one by default);
    the broker's arguments are kept in `.args` for a restart. Brokers still running at the
    end of the test are killed."""
    started = []

    def start(*flags, data_dir=None):
        data_dir = data_dir or tmp_path_factory.mktemp("tidelog-factory")
        args = ("--data-dir", str(data_dir), "--partitions", "3", *FAST_SETTINGS, *flags)
        running = Broker(*args)
        running.args = args
        running.data_dir = data_dir
        started.append(running)
        return running

    yield start
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait()


def kill_9(running):
    """kill -9 a Broker: no chance to flush or close anything."""
    running.process.kill()
    running.process.wait()


@pytest.fixture(scope="session")
def fast_broker(tmp_path_factory):
    """A session broker with FAST_SETTINGS (no initial rebalance delay, 1 s minimum session
    timeout, a cleaning check every 200 ms), for the group and compaction tests."""
    data_dir = tmp_path_factory.mktemp("tidelog-fast")
    running = Broker("--data-dir", str(data_dir), "--partitions", "3", *FAST_SETTINGS)
    yield running
    code = running.stop()
    assert code == 0, f"tidelog exited with {code}"


@pytest.fixture(scope="session")
def fast_bootstrap(fast_broker):
    return fast_broker.bootstrap


def wait_until(condition, timeout, what):
    """Polls `condition` every 50 ms until it returns something true, and returns that;
    fails the test after `timeout` seconds. `what` is a string, or a callable giving one
    (evaluated only on failure), describing what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"after {timeout} s still waiting for {what() if callable(what) else what}")
        time.sleep(0.05)
