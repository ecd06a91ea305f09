"""The confluent-kafka API, run with tidelog and with confluent_kafka (the `kafka`
fixture) against a tidelog broker: producing with delivery reports, consuming with
groups and rebalance callbacks, commits and positions, and bad input."""

import os
import threading
import time

import pytest

from conftest import wait_until


def produce(kafka, bootstrap, topic, count, partition=None, **conf):
    """Produces `count` records (key k<i>, value v<i>, header n=<i>); returns the
    delivery reports as (error, topic, partition, offset, key, value, headers)."""
    producer = kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **conf})
    reports = []

    def report(err, msg):
        reports.append((err, msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value(), msg.headers()))

    for i in range(count):
        extra = {} if partition is None else {"partition": partition}
        producer.produce(topic, f"v{i}".encode(), key=f"k{i}".encode(), headers=[("n", str(i).encode())],
                         on_delivery=report, **extra)
    assert producer.flush(30) == 0
    assert len(producer) == 0
    return reports


def consumer(kafka, bootstrap, group, **conf):
    settings = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "max.poll.interval.ms": 30000,
    }
    settings.update({key.replace("_", "."): value for key, value in conf.items()})
    return kafka.Consumer(settings)


def next_message(consumer, timeout=20):
    """The next message (a tombstone's is falsy: `len(msg)` is its value's length)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None:
            return msg
    pytest.fail("no message arrived")


def read(consumer, count, timeout=30):
    """Polls until `count` records arrived; returns them as (partition, offset, key, value)."""
    records = []
    deadline = time.monotonic() + timeout
    while len(records) < count:
        assert time.monotonic() < deadline, f"only {len(records)} of {count} records arrived"
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        assert msg.error() is None, msg.error()
        records.append((msg.partition(), msg.offset(), msg.key(), msg.value()))
    return records


def test_produce_reports_every_record_and_consume_reads_them_back(kafka, bootstrap, topic):
    reports = produce(kafka, bootstrap, topic, 100)
    assert len(reports) == 100
    assert all(err is None and t == topic for err, t, *_ in reports)
    # Each partition's offsets are dense from 0, and each report carries its record.
    by_partition = {}
    for _, _, partition, offset, key, value, headers in reports:
        by_partition.setdefault(partition, []).append(offset)
        assert key.decode()[1:] == value.decode()[1:]
    for offsets in by_partition.values():
        assert sorted(offsets) == list(range(len(offsets)))
    # Keyed records go where the Java client's murmur2 partitioner puts them, so that
    # both clients agree.
    placed = {key: partition for _, _, partition, _, key, _, _ in reports}

    c = consumer(kafka, bootstrap, f"{topic}-readers")
    c.subscribe([topic])
    records = read(c, 100)
    c.close()
    assert sorted((p, o) for p, o, _, _ in records) == sorted((p, o) for _, _, p, o, *_ in reports)
    assert all(placed[key] == partition for partition, _, key, _ in records)


def test_keyed_records_land_on_the_java_partitioners_partitions(kafka, bootstrap, topic):
    producer = kafka.Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random"})
    placed = {}
    for key in (b"21", b"foobar", b"abc", b"tidelog"):
        producer.produce(topic, b"x", key=key, on_delivery=lambda err, msg: placed.update({msg.key(): msg.partition()}))
    producer.flush(30)
    # (murmur2(key) & 0x7fffffff) % 2 with Kafka's published murmur2 vectors.
    expected = {b"21": (-973932308 & 0x7FFFFFFF) % 2, b"foobar": (-790332482 & 0x7FFFFFFF) % 2,
                b"abc": (479470107 & 0x7FFFFFFF) % 2}
    assert {k: placed[k] for k in expected} == expected


def test_messages_carry_keys_values_headers_and_timestamps(kafka, bootstrap, topic):
    producer = kafka.Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, value="text value", key="text key", partition=1, timestamp=1_700_000_000_123,
                     headers={"origin": b"test", "empty": None})
    producer.produce(topic, value=None, key=b"tombstone", partition=1)
    producer.flush(30)
    c = consumer(kafka, bootstrap, f"{topic}-g")
    c.assign([kafka.TopicPartition(topic, 1, 0)])
    first, second = next_message(c), next_message(c)
    c.close()
    assert (first.topic(), first.partition(), first.offset()) == (topic, 1, 0)
    assert (first.key(), first.value()) == (b"text key", b"text value")
    assert sorted(first.headers()) == [("empty", None), ("origin", b"test")]
    assert first.timestamp() == (kafka.TIMESTAMP_CREATE_TIME, 1_700_000_000_123)
    assert len(first) == len(b"text value")
    assert (second.key(), second.value(), second.headers()) == (b"tombstone", None, None)


def test_delivery_report_carries_the_error_for_an_unknown_topic(kafka):
    import tidelog

    with tidelog.EmbeddedBroker(auto_create_topics=False) as broker:
        producer = kafka.Producer({"bootstrap.servers": broker.bootstrap_servers, "delivery.timeout.ms": 2000,
                                   "request.timeout.ms": 1000})
        errors = []
        producer.produce("no-such-topic", b"lost", on_delivery=lambda err, msg: errors.append((err, msg.topic())))
        producer.flush(20)
        assert len(errors) == 1
        err, topic = errors[0]
        assert topic == "no-such-topic"
        assert isinstance(err, kafka.KafkaError)
        assert err.code() in (kafka.KafkaError._MSG_TIMED_OUT, kafka.KafkaError.UNKNOWN_TOPIC_OR_PART,
                              kafka.KafkaError._UNKNOWN_TOPIC)


def test_purge_fails_queued_records_with_purge_queue(kafka, bootstrap, topic):
    producer = kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 60000})
    errors = []
    for i in range(3):
        producer.produce(topic, b"lingering", partition=0, on_delivery=lambda err, msg: errors.append(err))
    producer.purge(in_queue=True, in_flight=False)
    assert producer.flush(10) == 0
    assert [err.code() for err in errors] == [kafka.KafkaError._PURGE_QUEUE] * 3
    produce(kafka, bootstrap, topic, 1, partition=0)
    c = consumer(kafka, bootstrap, f"{topic}-g")
    assert c.get_watermark_offsets(kafka.TopicPartition(topic, 0), timeout=10) == (0, 1), "purged records were never sent"
    c.close()


def test_bad_config_and_bad_arguments_raise_clearly(kafka, bootstrap, topic):
    with pytest.raises(kafka.KafkaException) as raised:
        kafka.Producer({"bootstrap.servers": bootstrap, "no.such.property": "1"})
    assert raised.value.args[0].code() == kafka.KafkaError._INVALID_ARG
    assert "no.such.property" in str(raised.value)
    with pytest.raises(kafka.KafkaException) as raised:
        kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": "g", "auto.offset.reset": "sideways"})
    assert "auto.offset.reset" in str(raised.value)
    producer = kafka.Producer({"bootstrap.servers": bootstrap})
    with pytest.raises(TypeError):
        producer.produce(topic, 12345)
    with pytest.raises(TypeError):
        producer.produce(topic, b"v", key=object())


def test_group_rebalance_runs_callbacks_and_revoke_can_commit(kafka, bootstrap, topic):
    group = f"{topic}-group"
    produce(kafka, bootstrap, topic, 200)
    events = {"first": [], "second": []}

    def listener(name, kind, commit=False):
        def callback(c, partitions):
            if commit:
                try:
                    c.commit(asynchronous=False)
                except kafka.KafkaException as e:
                    # librdkafka says so when the positions are committed already.
                    assert e.args[0].code() == kafka.KafkaError._NO_OFFSET, e
            events[name].append((kind, sorted(tp.partition for tp in partitions)))
        return callback

    first = consumer(kafka, bootstrap, group, partition_assignment_strategy="range")
    first.subscribe([topic], on_assign=listener("first", "assign"), on_revoke=listener("first", "revoke", commit=True))
    seen = read(first, 120)
    assert events["first"] == [("assign", [0, 1])]

    second = consumer(kafka, bootstrap, group, partition_assignment_strategy="range")
    second.subscribe([topic], on_assign=listener("second", "assign"), on_revoke=listener("second", "revoke"))
    # Both members polled in turn from one thread: each must be polled for the rebalance
    # to progress (its callbacks run inside poll).
    deadline = time.monotonic() + 30
    while len(seen) < 200 or len(events["first"]) < 3 or not events["second"]:
        assert time.monotonic() < deadline, f"{len(seen)} of 200 records, events {events}"
        for member in (first, second):
            msg = member.poll(0.05)
            if msg is not None and msg.error() is None:
                seen.append((msg.partition(), msg.offset(), msg.key(), msg.value()))
    assert (len(first.assignment()), len(second.assignment())) == (1, 1)
    # Eager rebalancing: the first member gave both partitions back (committing what it
    # had read), then each member got one; nothing was read twice.
    assert events["first"][:2] == [("assign", [0, 1]), ("revoke", [0, 1])]
    assert len(events["first"][2][1]) == 1 and events["first"][2][0] == "assign"
    assert events["second"][0][0] == "assign" and len(events["second"][0][1]) == 1
    assert sorted((p, o) for p, o, _, _ in seen) == sorted(set((p, o) for p, o, _, _ in seen))
    first.close()
    second.close()


def test_commit_committed_position_seek_and_watermarks(kafka, bootstrap, topic):
    produce(kafka, bootstrap, topic, 10, partition=0)
    c = consumer(kafka, bootstrap, f"{topic}-g")
    tp = kafka.TopicPartition(topic, 0)
    c.assign([kafka.TopicPartition(topic, 0, kafka.OFFSET_BEGINNING)])
    assert [(p.topic, p.partition) for p in c.assignment()] == [(topic, 0)]
    records = read(c, 4)
    assert [o for _, o, _, _ in records] == [0, 1, 2, 3]
    (position,) = c.position([tp])
    assert position.offset == 4

    committed = c.commit(asynchronous=False)
    assert [(p.topic, p.partition, p.offset) for p in committed] == [(topic, 0, 4)]
    assert [p.offset for p in c.committed([tp], timeout=10)] == [4]
    last = c.poll(5)
    c.commit(message=last, asynchronous=False)
    assert [p.offset for p in c.committed([tp], timeout=10)] == [5]
    c.commit(offsets=[kafka.TopicPartition(topic, 0, 7)], asynchronous=False)
    assert [p.offset for p in c.committed([tp], timeout=10)] == [7]

    c.seek(kafka.TopicPartition(topic, 0, 8))
    assert read(c, 2)[0][1] == 8
    assert c.get_watermark_offsets(tp, timeout=10) == (0, 10)
    c.seek(kafka.TopicPartition(topic, 0, kafka.OFFSET_BEGINNING))
    assert read(c, 1)[0][1] == 0
    c.close()
    with pytest.raises(RuntimeError if kafka.__name__ == "confluent_kafka" else kafka.KafkaException):
        c.poll(0)


def test_pause_resume_and_consume_batches(kafka, bootstrap, topic):
    produce(kafka, bootstrap, topic, 50, partition=1)
    c = consumer(kafka, bootstrap, f"{topic}-g")
    tp = kafka.TopicPartition(topic, 1, 0)
    c.assign([tp])
    batch = []
    deadline = time.monotonic() + 20
    while len(batch) < 50 and time.monotonic() < deadline:
        batch.extend(c.consume(num_messages=50 - len(batch), timeout=1))
    assert [m.offset() for m in batch] == list(range(50))
    c.pause([tp])
    produce(kafka, bootstrap, topic, 5, partition=1)
    assert c.consume(num_messages=5, timeout=1) == []
    c.resume([tp])
    assert [m.offset() for m in read_messages(c, 5)] == list(range(50, 55))
    c.close()


def read_messages(c, count):
    out = []
    deadline = time.monotonic() + 20
    while len(out) < count and time.monotonic() < deadline:
        out.extend(c.consume(num_messages=count - len(out), timeout=1))
    return out


def test_offsets_for_times_finds_the_first_record_at_or_after_a_timestamp(kafka, bootstrap, topic):
    producer = kafka.Producer({"bootstrap.servers": bootstrap})
    for i in range(5):
        producer.produce(topic, b"v", partition=0, timestamp=1_000_000 + 1000 * i)
    producer.flush(30)
    c = consumer(kafka, bootstrap, f"{topic}-g")
    found = c.offsets_for_times([kafka.TopicPartition(topic, 0, 1_002_500)], timeout=10)
    assert [(p.partition, p.offset) for p in found] == [(0, 3)]
    c.close()


def test_unknown_option_types_and_unsubscribe(kafka, bootstrap, topic):
    produce(kafka, bootstrap, topic, 4)
    c = consumer(kafka, bootstrap, f"{topic}-g")
    c.subscribe([topic])
    read(c, 4)
    c.unsubscribe()
    # librdkafka applies the revocation inside poll.
    wait_until(lambda: c.poll(0.1) is None and c.assignment() == [], what="an empty assignment")
    assert c.poll(0.3) is None
    c.close()


def test_a_caret_topic_is_a_regular_expression(kafka, bootstrap, topic):
    produce(kafka, bootstrap, f"{topic}-a", 3, partition=0)
    produce(kafka, bootstrap, f"{topic}-b", 2, partition=0)
    produce(kafka, bootstrap, f"other-{topic}", 4, partition=0)
    c = consumer(kafka, bootstrap, f"{topic}-g", topic_metadata_refresh_interval_ms=500) if kafka.__name__ == "confluent_kafka" \
        else consumer(kafka, bootstrap, f"{topic}-g", metadata_max_age_ms=500)
    c.subscribe([f"^{topic}-.*", f"other-{topic}"])
    records = []
    deadline = time.monotonic() + 30
    while len(records) < 9 and time.monotonic() < deadline:
        msg = c.poll(0.2)
        if msg is not None and msg.error() is None:
            records.append(msg.topic())
    c.close()
    assert sorted(records) == sorted([f"{topic}-a"] * 3 + [f"{topic}-b"] * 2 + [f"other-{topic}"] * 4)


def test_a_thread_producing_and_a_thread_consuming_both_progress(kafka, bootstrap, topic):
    # Each client call releases the GIL while Rust waits or works, so neither thread
    # starves the other: the consumer reads records while the producer still produces.
    total = 2000
    consumed = []
    produced_when_read = []
    done_producing = threading.Event()
    producer = kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 2})
    sent = [0]

    def produce_all():
        for i in range(total):
            producer.produce(topic, str(i).encode(), partition=0)
            sent[0] += 1
            if i % 100 == 0:
                producer.poll(0)
                time.sleep(0.1)
        producer.flush(30)
        done_producing.set()

    reader = consumer(kafka, bootstrap, f"{topic}-g")
    reader.assign([kafka.TopicPartition(topic, 0, kafka.OFFSET_BEGINNING)])

    def consume_all():
        deadline = time.monotonic() + 60
        while len(consumed) < total and time.monotonic() < deadline:
            msg = reader.poll(0.2)
            if msg is not None and msg.error() is None:
                consumed.append(int(msg.value()))
                produced_when_read.append(done_producing.is_set())

    threads = [threading.Thread(target=produce_all), threading.Thread(target=consume_all)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    reader.close()
    assert consumed == list(range(total))
    # Records were read while the producer was still running.
    assert produced_when_read.count(False) > 0


def test_a_forked_child_makes_clients_of_its_own(kafka, bootstrap, topic):
    # The parent's client runtime has no threads in a child (multiprocessing's default
    # start method on Linux is fork): a client made in the child must still work.
    produce(kafka, bootstrap, topic, 1, partition=0)
    pid = os.fork()
    if pid == 0:
        delivered = []
        try:
            child = kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
            child.produce(topic, b"from-the-child", partition=0,
                          on_delivery=lambda err, msg: delivered.append(err is None))
            child.flush(15)
        finally:
            os._exit(0 if delivered == [True] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child's record was delivered"
    c = consumer(kafka, bootstrap, f"{topic}-g")
    assert c.get_watermark_offsets(kafka.TopicPartition(topic, 0), timeout=10) == (0, 2)
    c.close()
