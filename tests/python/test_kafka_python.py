"""kafka-python (a pure-Python client) against the real tidelog broker: a consumer group
with auto commit, and a second run of the group resuming from the committed position."""

import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from conftest import wait_until

TIMEOUT = 30
PARTITIONS = 3


def produce(bootstrap, topic, start, count):
    """Records start..start+count with kafka-python's producer (acks=all); returns
    {(partition, offset): value} from the record metadata."""
    # kafka-python 3 enables idempotence by default, which needs InitProducerId; tidelog
    # does not serve it (yet), and this test is about the consumer group.
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, enable_idempotence=False)
    try:
        futures = [
            (producer.send(topic, key=f"key-{i}".encode(), value=f"value-{i}".encode()), f"value-{i}".encode())
            for i in range(start, start + count)
        ]
        producer.flush(TIMEOUT)
        delivered = {}
        for future, value in futures:
            metadata = future.get(timeout=TIMEOUT)
            delivered[(metadata.partition, metadata.offset)] = value
        assert len(delivered) == count
        return delivered
    finally:
        producer.close(timeout=TIMEOUT)


def consume(consumer, count, timeout=TIMEOUT):
    """Polls until `count` records arrived; returns them as [(partition, offset, value)]."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        assert time.monotonic() < deadline, f"only {len(got)} of {count} records within {timeout} s"
        for records in consumer.poll(timeout_ms=200).values():
            got.extend((r.partition, r.offset, r.value) for r in records)
    return got


def group_consumer(bootstrap, topic, group):
    return KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id=f"{group}-client",
        enable_auto_commit=True,
        auto_commit_interval_ms=100,
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
    )


def test_auto_commit_group_resumes_from_committed_position(fast_bootstrap):
    bootstrap = fast_bootstrap
    topic, group = f"kp-topic-{time.monotonic_ns() % 10**7}", f"kp-group-{time.monotonic_ns() % 10**7}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, PARTITIONS, 1)], timeout_ms=TIMEOUT * 1000)
    finally:
        admin.close()
    first = produce(bootstrap, topic, 0, 1_000)
    ends = {p: 1 + max(o for q, o in first if q == p) for p in range(PARTITIONS)}
    assert set(ends) == set(range(PARTITIONS)), "records on every partition"

    consumer = group_consumer(bootstrap, topic, group)
    try:
        got = consume(consumer, len(first))
        assert sorted((p, o) for p, o, _ in got) == sorted(first), "every record once"
        assert all(first[(p, o)] == v for p, o, v in got)
        # Auto commit (run by poll() every 100 ms) catches up with what was consumed.
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        more = []

        def caught_up():
            more.extend(r.offset for records in consumer.poll(timeout_ms=100).values() for r in records)
            return {tp.partition: consumer.committed(tp) for tp in tps} == ends

        wait_until(
            caught_up,
            TIMEOUT,
            lambda: f"committed offsets {ends}, have { {tp.partition: consumer.committed(tp) for tp in tps} }",
        )
        assert more == [], "records beyond those produced"
    finally:
        consumer.close()  # commits, then leaves the group

    second = produce(bootstrap, topic, 1_000, 300)
    assert all(o >= ends[p] for p, o in second)
    consumer = group_consumer(bootstrap, topic, group)
    try:
        got = consume(consumer, len(second))
        # Nothing already consumed comes again: only the new records, each once.
        assert sorted((p, o) for p, o, _ in got) == sorted(second)
        assert all(second[(p, o)] == v for p, o, v in got)
        assert consume_more(consumer) == [], "records beyond the new ones"
    finally:
        consumer.close()


def consume_more(consumer):
    """Whatever else arrives within a second (nothing, once a consumer is at the end)."""
    more = []
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            more.extend((r.partition, r.offset) for r in records)
    return more
