"""tidelog-only parts of the Python SDK: the embedded broker, the pytest plugin, the
context managers and the type stubs."""

import ast
import pathlib

import pytest

import tidelog
from tidelog import _native

STUBS = pathlib.Path(tidelog.__file__).with_name("_native.pyi")


def test_stubs_match_the_native_module():
    tree = ast.parse(STUBS.read_text())
    stubbed = {}
    functions = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            stubbed[node.name] = {
                item.name if isinstance(item, ast.FunctionDef) else item.target.id
                for item in node.body
                if isinstance(item, (ast.FunctionDef, ast.AnnAssign))
            }
        elif isinstance(node, ast.FunctionDef):
            functions.add(node.name)
    native_classes = {name for name in dir(_native) if isinstance(getattr(_native, name), type)}
    assert set(stubbed) == native_classes
    assert functions == {name for name in dir(_native) if callable(getattr(_native, name)) and name not in native_classes and not name.startswith("_")}
    for name, members in stubbed.items():
        native = {m for m in vars(getattr(_native, name)) if not m.startswith("_") or m in ("__len__", "__enter__", "__exit__")}
        public_stubbed = {m for m in members if not m.startswith("_") or m in ("__len__", "__enter__", "__exit__")}
        assert public_stubbed == native, name


def test_embedded_broker_keeps_records_on_disk_across_restarts(tmp_path):
    with tidelog.EmbeddedBroker(data_dir=str(tmp_path)) as broker:
        producer = tidelog.Producer({"bootstrap.servers": broker.bootstrap_servers, "acks": "all"})
        for i in range(3):
            producer.produce("kept", f"r{i}".encode())
        assert producer.flush(10) == 0
    assert any(tmp_path.iterdir())
    with tidelog.EmbeddedBroker(data_dir=str(tmp_path)) as broker:
        consumer = tidelog.Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "g",
                                     "auto.offset.reset": "earliest"})
        with consumer:
            consumer.subscribe(["kept"])
            values = [m.value() for m in consumer.consume(3, timeout=10)]
        assert values == [b"r0", b"r1", b"r2"]
        with pytest.raises(tidelog.KafkaException) as raised:
            consumer.poll(0)
        assert raised.value.args[0].code() == tidelog.KafkaError._STATE


def test_the_pytest_plugin_provides_a_broker(tidelog_broker):
    producer = tidelog.Producer({"bootstrap.servers": tidelog_broker.bootstrap_servers})
    delivered = []
    producer.produce("plugin", b"hello", on_delivery=lambda err, msg: delivered.append((err, msg.offset())))
    producer.flush(10)
    assert delivered == [(None, 0)]


def test_buffer_full_raises_buffer_error_and_poll_makes_room(broker):
    producer = tidelog.Producer({"bootstrap.servers": broker.bootstrap_servers, "buffer.memory": 4096,
                                 "linger.ms": 1000})
    with pytest.raises(BufferError):
        for _ in range(1000):
            producer.produce("full", b"x" * 100)
    assert producer.flush(10) == 0
    producer.produce("full", b"x" * 100)
    assert producer.flush(10) == 0


def test_errors_name_their_codes():
    error = tidelog.KafkaError(3)
    assert (error.code(), error.name(), error.retriable()) == (3, "UNKNOWN_TOPIC_OR_PART", True)
    assert error == tidelog.KafkaError.UNKNOWN_TOPIC_OR_PARTITION == tidelog.KafkaError.UNKNOWN_TOPIC_OR_PART
    assert tidelog.KafkaError(tidelog.KafkaError._PARTITION_EOF).name() == "_PARTITION_EOF"
    assert "UNKNOWN_TOPIC_OR_PART" in str(tidelog.KafkaException(3))
