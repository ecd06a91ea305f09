"""Fixtures for the Python SDK's tests. Every test that takes `kafka` runs twice: with
`tidelog` and with `confluent_kafka` imported as the client, both against a tidelog
broker, which shows that code written for confluent-kafka runs unchanged on tidelog."""

import importlib
import itertools
import time

import pytest

import tidelog

_names = itertools.count()


@pytest.fixture(scope="session")
def broker():
    """One in-process tidelog broker for the session (topics auto-created, 2 partitions)."""
    with tidelog.EmbeddedBroker(partitions=2) as running:
        yield running


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
