"""confluent-kafka (librdkafka) against the real tidelog broker: produce with acks=all and
read back by partition assignment, ListOffsets in its three client forms, and the admin
API (topics, partitions, configs, delete records)."""

import time

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    TIMESTAMP_CREATE_TIME,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
)

TIMEOUT = 30
COUNT = 5_000
PARTITIONS = 3
# CreateTime of record i is BASE_TS + 3 * i: distinct, increasing, and well in the past.
BASE_TS = 1_700_000_000_000


def admin(bootstrap):
    return AdminClient({"bootstrap.servers": bootstrap})


def wait_all(futures, timeout=TIMEOUT):
    """Resolves a dict of admin futures, returning {key: result}; raises the first error."""
    return {key: future.result(timeout=timeout) for key, future in futures.items()}


def create_topic(bootstrap, name, partitions=PARTITIONS, config=None):
    client = admin(bootstrap)  # must outlive its futures
    wait_all(client.create_topics([NewTopic(name, partitions, 1, config=config or {})]))


def consumer(bootstrap):
    # librdkafka insists on a group.id; nothing here uses the group (assign, no commits).
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "tidelog-python-tests",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "check.crcs": True,
        }
    )


def record(i):
    """(key, value, headers, timestamp) of test record i; some keys and values are null."""
    key = None if i % 97 == 0 else f"key-{i % 250}".encode()
    value = None if i % 1_000 == 999 else f"value-{i}-".encode() + bytes([i % 256]) * (i % 40)
    headers = [("n", str(i).encode()), ("dup", b"first"), ("dup", b"second")]
    if i % 10 == 0:
        headers.append(("null", None))
    return key, value, headers, BASE_TS + 3 * i


def consume_all(bootstrap, topic, partitions, timeout=TIMEOUT):
    """Every record of `partitions` from the beginning, by partition assignment."""
    c = consumer(bootstrap)
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        at_end = set()
        messages = {p: [] for p in partitions}
        deadline = time.monotonic() + timeout
        while len(at_end) < len(partitions):
            assert time.monotonic() < deadline, f"partitions {set(partitions) - at_end} never reached their end"
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
                at_end.add(msg.partition())
                continue
            messages[msg.partition()].append(msg)
        return messages
    finally:
        c.close()


@pytest.fixture(scope="module")
def produced(bootstrap):
    """A 3-partition topic with COUNT records produced with acks=all: (topic, the records
    delivered to each partition in produce order as (i, offset))."""
    topic = "py-produced"
    create_topic(bootstrap, topic)
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "linger.ms": 5,
            "batch.num.messages": 500,
            "compression.type": "lz4",
        }
    )
    reports = []

    def delivered(err, msg, i):
        reports.append((i, err, msg.partition(), msg.offset(), msg.timestamp()))

    for i in range(COUNT):
        key, value, headers, ts = record(i)
        while True:
            try:
                producer.produce(
                    topic,
                    key=key,
                    value=value,
                    headers=headers,
                    timestamp=ts,
                    on_delivery=lambda err, msg, i=i: delivered(err, msg, i),
                )
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(TIMEOUT) == 0, "records still undelivered after flush"
    assert len(reports) == COUNT
    errors = [(i, err) for i, err, *_ in reports if err is not None]
    assert errors == [], f"{len(errors)} deliveries failed, e.g. {errors[:5]}"
    by_partition = {p: [] for p in range(PARTITIONS)}
    for i, _, partition, offset, _ in sorted(reports):
        by_partition[partition].append((i, offset))
    return topic, by_partition


def test_acks_all_produce_and_assign_consume(bootstrap, produced):
    topic, by_partition = produced
    assert all(by_partition.values()), f"some partition got no records: { {p: len(r) for p, r in by_partition.items()} }"
    # Delivery reports give each partition the offsets 0..n-1, in produce order.
    for partition, delivered in by_partition.items():
        assert [offset for _, offset in delivered] == list(range(len(delivered))), f"partition {partition}"

    consumed = consume_all(bootstrap, topic, range(PARTITIONS))
    for partition, delivered in by_partition.items():
        messages = consumed[partition]
        assert len(messages) == len(delivered), f"partition {partition}"
        for (i, offset), msg in zip(delivered, messages):
            key, value, headers, ts = record(i)
            where = f"record {i} at {partition}/{offset}"
            assert msg.offset() == offset, where
            assert msg.key() == key, where
            assert msg.value() == value, where
            assert msg.headers() == headers, where
            assert msg.timestamp() == (TIMESTAMP_CREATE_TIME, ts), where
    # The partitioner is consistent: a key is only ever on one partition.
    partition_of = {}
    for partition, messages in consumed.items():
        for msg in messages:
            if msg.key() is not None:
                assert partition_of.setdefault(msg.key(), partition) == partition, msg.key()


def test_watermarks_and_offsets_for_times(bootstrap, produced):
    topic, by_partition = produced
    c = consumer(bootstrap)
    try:
        for partition, delivered in by_partition.items():
            tp = TopicPartition(topic, partition)
            assert c.get_watermark_offsets(tp, timeout=TIMEOUT) == (0, len(delivered)), f"partition {partition}"

        # A timestamp between two records: the first record at or after it; an exact
        # timestamp: that record; before everything: offset 0; after everything: end (-1).
        middle = BASE_TS + 3 * (COUNT // 2) + 1
        exact = BASE_TS + 3 * (COUNT // 3)
        for ts in (middle, exact, BASE_TS - 1_000, BASE_TS + 3 * COUNT + 1_000):
            asked = [TopicPartition(topic, p, ts) for p in by_partition]
            answered = c.offsets_for_times(asked, timeout=TIMEOUT)
            for tp in answered:
                assert tp.error is None, tp.error
                later = [offset for i, offset in by_partition[tp.partition] if record(i)[3] >= ts]
                expected = later[0] if later else OFFSET_END
                assert tp.offset == expected, f"timestamp {ts}, partition {tp.partition}"
    finally:
        c.close()


def test_admin_list_offsets(bootstrap, produced):
    if not hasattr(AdminClient, "list_offsets"):
        pytest.skip("AdminClient.list_offsets needs confluent-kafka >= 2.3")
    from confluent_kafka.admin import OffsetSpec

    topic, by_partition = produced
    client = admin(bootstrap)
    ends = {}
    for name, spec in (("earliest", OffsetSpec.earliest()), ("latest", OffsetSpec.latest())):
        futures = client.list_offsets({TopicPartition(topic, p): spec for p in by_partition})
        for tp, info in wait_all(futures).items():
            ends.setdefault(tp.partition, {})[name] = info.offset
    assert ends == {p: {"earliest": 0, "latest": len(d)} for p, d in by_partition.items()}

    # KIP-734: the record with the largest timestamp, here the last one of the partition.
    futures = client.list_offsets({TopicPartition(topic, p): OffsetSpec.max_timestamp() for p in by_partition})
    for tp, info in wait_all(futures).items():
        i, offset = by_partition[tp.partition][-1]
        assert (info.offset, info.timestamp) == (offset, record(i)[3]), f"max_timestamp partition {tp.partition}"


def describe(client, topic):
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    return wait_all(client.describe_configs([resource]))[resource]


def test_admin_topics_partitions_configs_and_delete_records(bootstrap, topic_name):
    client = admin(bootstrap)
    topic = topic_name
    wait_all(client.create_topics([NewTopic(topic, 2, 1)]))
    metadata = client.list_topics(timeout=TIMEOUT)
    assert topic in metadata.topics
    assert sorted(metadata.topics[topic].partitions) == [0, 1]

    # A second create of the same name fails with TOPIC_ALREADY_EXISTS.
    future = client.create_topics([NewTopic(topic, 2, 1)])[topic]
    with pytest.raises(KafkaException) as failure:
        future.result(timeout=TIMEOUT)
    assert failure.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS

    wait_all(client.create_partitions([NewPartitions(topic, 5)]))
    assert sorted(client.list_topics(topic, timeout=TIMEOUT).topics[topic].partitions) == [0, 1, 2, 3, 4]

    # retention.ms: the default, then a dynamic topic override.
    entries = describe(client, topic)
    assert "retention.ms" in entries
    assert entries["retention.ms"].value == "604800000"
    assert entries["retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value
    resource = ConfigResource(
        ConfigResource.Type.TOPIC,
        topic,
        incremental_configs=[ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)],
    )
    wait_all(client.incremental_alter_configs([resource]))
    entry = describe(client, topic)["retention.ms"]
    assert entry.value == "3600000"
    assert entry.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value

    # delete_records moves the low watermark of partition 0 and only partition 0.
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(10):
        producer.produce(topic, value=f"r{i}".encode(), partition=0)
        producer.produce(topic, value=f"s{i}".encode(), partition=1)
    assert producer.flush(TIMEOUT) == 0
    result = wait_all(client.delete_records([TopicPartition(topic, 0, 4)]))
    (deleted,) = result.values()
    assert deleted.low_watermark == 4
    c = consumer(bootstrap)
    try:
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT) == (4, 10)
        assert c.get_watermark_offsets(TopicPartition(topic, 1), timeout=TIMEOUT) == (0, 10)
    finally:
        c.close()
    consumed = consume_all(bootstrap, topic, [0])
    assert [(m.offset(), m.value()) for m in consumed[0]] == [(i, f"r{i}".encode()) for i in range(4, 10)]

    wait_all(client.delete_topics([topic]))
    deadline = time.monotonic() + TIMEOUT
    while topic in client.list_topics(timeout=TIMEOUT).topics:
        assert time.monotonic() < deadline, "deleted topic still listed"
        time.sleep(0.05)
