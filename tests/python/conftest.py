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
