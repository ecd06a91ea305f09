"""Log compaction against the real tidelog broker (cleaning every 200 ms): a compacted
topic keeps the latest record of each key at its original offset and drops tombstones
after delete.retention.ms; records without a key are refused."""

import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import wait_until

TIMEOUT = 30
KEYS = 1_000
VERSIONS = 10
SEGMENT_BYTES = 64 * 1024
DELETE_RETENTION_MS = 4_000
TOMBSTONED = {k for k in range(KEYS) if k % 10 == 3}  # 100 keys


def create_compacted(bootstrap, topic, **extra):
    config = {
        "cleanup.policy": "compact",
        "segment.bytes": str(SEGMENT_BYTES),
        "segment.ms": "2000",
        "min.cleanable.dirty.ratio": "0.01",
        "delete.retention.ms": str(DELETE_RETENTION_MS),
        "min.compaction.lag.ms": "0",
        **extra,
    }
    client = AdminClient({"bootstrap.servers": bootstrap})
    for future in client.create_topics([NewTopic(topic, 1, 1, config=config)]).values():
        future.result(timeout=TIMEOUT)


class Writer:
    """A producer (acks=all, small batches so segments roll often) that keeps the offset
    of every delivered record: `delivered` is [(offset, key, value)]."""

    def __init__(self, bootstrap, topic):
        self.topic = topic
        self.producer = Producer(
            {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, "batch.size": 16_384}
        )
        self.delivered = []
        self.errors = []

    def _report(self, err, msg):
        if err is not None:
            self.errors.append((msg.key(), err))
        else:
            self.delivered.append((msg.offset(), msg.key(), msg.value()))

    def send(self, key, value):
        while True:
            try:
                self.producer.produce(self.topic, key=key, value=value, partition=0, on_delivery=self._report)
                break
            except BufferError:
                self.producer.poll(0.1)
        self.producer.poll(0)

    def flush(self):
        assert self.producer.flush(TIMEOUT) == 0, "records still undelivered after flush"
        assert self.errors == [], f"{len(self.errors)} deliveries failed, e.g. {self.errors[:3]}"


def key_of(k):
    return f"key-{k:04d}".encode()


def value_of(k, version):
    return f"key-{k:04d}-version-{version}-".encode() + b"x" * 16


def fillers(writer, first, count):
    """`count` records of 1 KB to keys of their own: they push everything before them out
    of the active segment."""
    for i in range(first, first + count):
        writer.send(f"filler-{i}".encode(), b"f" * 1_000)


def read_all(bootstrap, topic):
    """Every record of partition 0 from the beginning, as [(offset, key, value)]."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "compaction-reader",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "check.crcs": True,
        }
    )
    try:
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        records = []
        deadline = time.monotonic() + TIMEOUT
        while True:
            assert time.monotonic() < deadline, "never reached the end of the partition"
            for msg in c.consume(num_messages=1_000, timeout=0.5):
                if msg.error():
                    assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
                    return records
                records.append((msg.offset(), msg.key(), msg.value()))
    finally:
        c.close()


def test_compaction_keeps_latest_values_at_their_offsets_and_drops_tombstones(fast_bootstrap):
    bootstrap = fast_bootstrap
    topic = f"compacted-{time.monotonic_ns() % 10**7}"
    create_compacted(bootstrap, topic)
    writer = Writer(bootstrap, topic)
    for version in range(1, VERSIONS + 1):
        for k in range(KEYS):
            writer.send(key_of(k), value_of(k, version))
    writer.flush()
    tombstones_from = time.time()
    for k in sorted(TOMBSTONED):
        writer.send(key_of(k), None)
    writer.flush()
    # Enough after the last versions and tombstones to roll the active segment past them
    # at least twice, so that every version is in a closed (cleanable) segment.
    fillers(writer, 0, 3 * SEGMENT_BYTES // 1_000)
    writer.flush()

    produced = sorted(writer.delivered)
    assert [offset for offset, _, _ in produced] == list(range(len(produced)))
    end = len(produced)
    latest = {}  # key -> (offset, value) of its last record
    for offset, key, value in produced:
        latest[key] = (offset, value)
    keys = {key_of(k) for k in range(KEYS)}
    live = {key: ov for key, ov in latest.items() if ov[1] is not None}
    assert len(live) == KEYS - len(TOMBSTONED) + 3 * SEGMENT_BYTES // 1_000

    # Compaction happened: the 1,000 keys are down to one record each at most.
    state = {}

    def compacted():
        state["started"] = time.time()
        state["records"] = read_all(bootstrap, topic)
        return sum(1 for _, key, _ in state["records"] if key in keys) <= KEYS

    wait_until(compacted, TIMEOUT, lambda: f"compaction; {len(state['records'])} records left of {end}")
    records = state["records"]
    offsets = [offset for offset, _, _ in records]
    assert offsets == sorted(set(offsets)), "offsets increase"
    assert offsets[-1] == end - 1
    # Every live key: exactly its latest record, at the offset it was written at.
    assert [(o, k, v) for o, k, v in records if k in live] == sorted((o, k, v) for k, (o, v) in live.items())
    # A tombstoned key: nothing but its tombstone, at its offset, while delete.retention.ms
    # has not passed.
    dead = [(o, k, v) for o, k, v in records if k not in live]
    tombstones = sorted((o, k, None) for k, (o, v) in latest.items() if v is None)
    assert set(dead) <= set(tombstones)
    if state["started"] < tombstones_from + DELETE_RETENTION_MS / 1000:
        assert dead == tombstones, "tombstones removed before delete.retention.ms"

    # Once delete.retention.ms has passed, the next cleaning round (made due by new
    # records) removes the tombstones for good.
    wait_until(lambda: time.time() > tombstones_from + DELETE_RETENTION_MS / 1000 + 0.5, 10, "delete.retention.ms")
    fillers(writer, 1_000, 3 * SEGMENT_BYTES // 1_000)
    writer.flush()
    produced = sorted(writer.delivered)
    for offset, key, value in produced[end:]:
        live[key] = (offset, value)
    end = len(produced)

    def tombstones_gone():
        state["records"] = read_all(bootstrap, topic)
        return not any(key in keys and key not in live for _, key, _ in state["records"])

    wait_until(tombstones_gone, TIMEOUT, lambda: f"tombstones removed; {len(state['records'])} records left")
    records = state["records"]
    assert records[-1][0] == end - 1
    # The records left: one per live key, the latest, at its original offset; nothing of
    # the tombstoned keys.
    expected = sorted((o, k, v) for k, (o, v) in live.items())
    assert len(records) == len(expected), "one record per key"
    assert records == expected

    # The log's start and end offsets did not move.
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "compaction-watermarks"})
    try:
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT) == (0, end)
    finally:
        c.close()


def test_record_without_key_is_refused_by_a_compacted_topic(fast_bootstrap):
    bootstrap = fast_bootstrap
    topic = f"compacted-keyless-{time.monotonic_ns() % 10**7}"
    create_compacted(bootstrap, topic)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0})
    reports = []

    def send(key, value):
        producer.produce(topic, key=key, value=value, partition=0, on_delivery=lambda err, msg: reports.append((err, msg.offset())))
        assert producer.flush(TIMEOUT) == 0
        return reports[-1]

    assert send(b"k1", b"v1") == (None, 0)
    for value in (b"no key", None):
        err, _ = send(None, value)
        assert err is not None, "a record without a key was accepted"
        assert err.code() == KafkaError.INVALID_RECORD, err
        assert err.name() == "INVALID_RECORD"
    # The refused records took no offsets; keyed records still go in.
    assert send(b"k2", b"v2") == (None, 1)
    assert send(b"k1", None) == (None, 2)
