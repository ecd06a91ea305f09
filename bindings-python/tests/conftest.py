"""Fixtures for the Python SDK's tests. Every test that takes `kafka` runs twice: with
`tidelog` and with `confluent_kafka` imported as the client, both against a tidelog
broker, which shows that code written for confluent-kafka runs unchanged on tidelog.
The broker is an EmbeddedBroker, or `tidelog serve` when $TIDELOG_BIN names the binary."""

import importlib
import importlib.util
import itertools
import os
import pathlib
import time

import pytest

import tidelog

_names = itertools.count()


def _serve_broker_class():
    """`Broker` of tests/python/conftest.py, which runs the `tidelog serve` binary."""
    path = pathlib.Path(__file__).resolve().parents[2] / "tests" / "python" / "conftest.py"
    spec = importlib.util.spec_from_file_location("tidelog_serve_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Broker


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    """One tidelog broker for the session (topics auto-created, 2 partitions): in-process
    (EmbeddedBroker), or the `tidelog serve` binary at $TIDELOG_BIN when that is set."""
    if not os.environ.get("TIDELOG_BIN"):
        with tidelog.EmbeddedBroker(partitions=2) as running:
            yield running
        return
    data_dir = tmp_path_factory.mktemp("tidelog-data")
    running = _serve_broker_class()("--data-dir", str(data_dir), "--partitions", "2")
    running.bootstrap_servers = running.bootstrap
    yield running
    assert running.stop() == 0, "tidelog serve exits cleanly"


@pytest.fixture(scope="session")
def bootstrap(broker):
    return broker.bootstrap_servers


@pytest.fixture(params=["tidelog", "confluent_kafka"])
def kafka(request):
    """The client library under test, as a module: tidelog or confluent_kafka."""
    return importlib.import_module(request.param)


@pytest.fixture
def topic(request):
    """A topic name no other test uses."""
    name = request.node.name.replace("[", "-").replace("]", "").replace("_", "-")
    return f"{name}-{next(_names)}"[:200]


def wait_until(condition, timeout=20, what="the condition"):
    """Polls `condition` every 20 ms until it returns something true, and returns it."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"after {timeout} s still waiting for {what() if callable(what) else what}")
        time.sleep(0.02)
