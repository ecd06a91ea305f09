"""A pytest plugin (registered by the package's `pytest11` entry point) with the
`tidelog_broker` fixture: an in-process `EmbeddedBroker` for the test session."""

import pytest

from ._native import EmbeddedBroker


@pytest.fixture(scope="session")
def tidelog_broker():
    """A running `tidelog.EmbeddedBroker` (in memory, topics auto-created with one
    partition); use `tidelog_broker.bootstrap_servers` as `bootstrap.servers`."""
    with EmbeddedBroker() as broker:
        yield broker
