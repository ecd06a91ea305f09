"""tidelog's own clients and librdkafka (confluent-kafka) read each other's records
identically: keys, values, headers and timestamps, with every codec. tidelog's clients are
driven through the `tidelog produce` / `tidelog consume` commands."""

import subprocess
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import tidelog_binary

TIMEOUT = 30
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def create(bootstrap, topic, partitions=1):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(TIMEOUT)


def read_with_librdkafka(bootstrap, topic, count):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"interop-{topic}", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    records = []
    while len(records) < count:
        messages = consumer.consume(500, 5)
        assert messages, f"stalled after {len(records)} records"
        for m in messages:
            assert m.error() is None, m.error()
            records.append(m)
    consumer.close()
    return records


@pytest.mark.parametrize("codec", CODECS)
def test_librdkafka_reads_what_tidelog_produces(bootstrap, codec):
    topic = f"interop-to-librdkafka-{codec}"
    create(bootstrap, topic)
    lines = [f"key-{i}:value {i} with {codec}" for i in range(200)]
    before = int(time.time() * 1000)
    subprocess.run(
        [tidelog_binary(), "produce", "-b", bootstrap, "-t", topic, "-p", "0", "-K", ":", "-z", codec, "-H", "origin=tidelog"],
        input="\n".join(lines) + "\n", text=True, check=True, timeout=TIMEOUT,
    )
    after = int(time.time() * 1000)
    records = read_with_librdkafka(bootstrap, topic, len(lines))
    assert [(m.key().decode(), m.value().decode()) for m in records] == [tuple(line.split(":", 1)) for line in lines]
    assert all(m.headers() == [("origin", b"tidelog")] for m in records)
    for m in records:
        kind, stamp = m.timestamp()
        assert kind == 1 and before <= stamp <= after, "CreateTime set by tidelog's producer"


@pytest.mark.parametrize("codec", CODECS)
def test_tidelog_reads_what_librdkafka_produces(bootstrap, codec):
    topic = f"interop-from-librdkafka-{codec}"
    create(bootstrap, topic)
    producer = Producer({"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 5})
    sent = []
    for i in range(200):
        key, value, stamp = f"k{i}", f"v{i} {codec}", 1_700_000_000_000 + i
        producer.produce(topic, key=key, value=value, partition=0, timestamp=stamp, headers=[("n", str(i).encode()), ("c", codec.encode())])
        sent.append(f"{key}|{value}|n={i},c={codec}|{stamp}")
    assert producer.flush(TIMEOUT) == 0
    out = subprocess.run(
        [tidelog_binary(), "consume", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-f", "%k|%s|%h|%T\\n"],
        capture_output=True, text=True, check=True, timeout=TIMEOUT,
    ).stdout
    assert out.splitlines() == sent
