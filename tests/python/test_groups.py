"""Consumer groups against the real tidelog broker, with confluent-kafka (librdkafka) and
kcat: eager and cooperative rebalancing when members leave, are killed or restart with
a static identity, exactly-once consumption with synchronous manual commits, committed
offsets across broker restarts, and the group admin API."""

import collections
import json
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from confluent_kafka import (
    OFFSET_INVALID,
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import kill_9, tidelog_binary, wait_until

TIMEOUT = 30
SESSION_TIMEOUT_MS = 6000


def unique(label):
    return f"{label}-{time.monotonic_ns() % 10_000_000}"


def admin(bootstrap):
    return AdminClient({"bootstrap.servers": bootstrap})


def create_topic(bootstrap, topic, partitions, config=None):
    client = admin(bootstrap)
    for future in client.create_topics([NewTopic(topic, partitions, 1, config=config or {})]).values():
        future.result(timeout=TIMEOUT)


def produce(bootstrap, topic, count, start=0, partition=None):
    """Produces records `start..start+count` (key `key-i`, value `value-i`) with acks=all;
    returns {(partition, offset): value} from the delivery reports."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    delivered = {}
    errors = []

    def report(err, msg):
        if err is not None:
            errors.append(err)
        else:
            delivered[(msg.partition(), msg.offset())] = msg.value()

    for i in range(start, start + count):
        extra = {} if partition is None else {"partition": partition}
        while True:
            try:
                producer.produce(topic, key=f"key-{i}".encode(), value=f"value-{i}".encode(), on_delivery=report, **extra)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(TIMEOUT) == 0, "records still undelivered after flush"
    assert errors == [], f"{len(errors)} deliveries failed, e.g. {errors[:3]}"
    assert len(delivered) == count, "two records delivered at the same offset"
    return delivered


def end_offsets(bootstrap, topic, partitions):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("watermarks")})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT)[1] for p in partitions}
    finally:
        c.close()


def committed_offsets(bootstrap, group):
    """{(topic, partition): (offset, metadata)} from ListConsumerGroupOffsets (OffsetFetch)."""
    client = admin(bootstrap)
    future = client.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group]
    result = future.result(timeout=TIMEOUT)
    for tp in result.topic_partitions:
        assert tp.error is None, f"{tp}: {tp.error}"
    return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions}


def describe_group(bootstrap, group):
    client = admin(bootstrap)
    return client.describe_consumer_groups([group])[group].result(timeout=TIMEOUT)


def wait_committed(bootstrap, group, topic, ends, timeout=TIMEOUT):
    """Waits until the group's committed offsets of `topic` are `ends` ({partition: offset})."""
    expected = {(topic, p): offset for p, offset in ends.items()}
    last = {}

    def done():
        last["offsets"] = committed_offsets(bootstrap, group)
        return last["offsets"] == expected

    wait_until(done, timeout, lambda: f"committed offsets {expected}, have {last.get('offsets')}")


class Member:
    """A subscribed confluent-kafka consumer polling in its own thread. It records every
    message it gets as (partition, offset, value) and commits synchronously what it has
    processed: every 500 messages, whenever a poll comes back empty, and in on_revoke
    (before the revoked partitions are given away). `stop()` stops polling, commits and
    closes the consumer (for a dynamic member, close() sends LeaveGroup)."""

    def __init__(self, bootstrap, group, topic, name, **conf):
        self.topic = topic
        self.name = name
        self.conf = {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": name,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": SESSION_TIMEOUT_MS,
            "heartbeat.interval.ms": 500,
            "partition.assignment.strategy": "range",
        }
        self.conf.update({key.replace("_", "."): value for key, value in conf.items()})
        self.lock = threading.Lock()
        self.assignment = set()
        self.events = []  # (monotonic time, "assign" | "revoke" | "lost", sorted partitions)
        self.records = []  # (partition, offset, value)
        self.errors = []
        self.pending = {}  # partition -> next offset to commit
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def assigned(self):
        with self.lock:
            return frozenset(self.assignment)

    def event_count(self):
        with self.lock:
            return len(self.events)

    def _event(self, kind, partitions):
        ours = sorted(tp.partition for tp in partitions if tp.topic == self.topic)
        with self.lock:
            self.events.append((time.monotonic(), kind, ours))
            if kind == "assign":
                self.assignment |= set(ours)
            else:
                self.assignment -= set(ours)

    def _on_assign(self, consumer, partitions):
        self._event("assign", partitions)

    def _on_revoke(self, consumer, partitions):
        self._commit(consumer)
        self._event("revoke", partitions)

    def _on_lost(self, consumer, partitions):
        with self.lock:
            self.errors.append(("lost", sorted(tp.partition for tp in partitions)))
        for tp in partitions:
            self.pending.pop(tp.partition, None)
        self._event("lost", partitions)

    def _commit(self, consumer):
        if not self.pending:
            return
        offsets = [TopicPartition(self.topic, p, o) for p, o in sorted(self.pending.items())]
        try:
            result = consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as e:
            with self.lock:
                self.errors.append(("commit", offsets, e.args[0]))
            return
        failed = [tp for tp in result if tp.error is not None]
        if failed:
            with self.lock:
                self.errors.append(("commit", failed))
            return
        for tp in offsets:
            if self.pending.get(tp.partition) == tp.offset:
                del self.pending[tp.partition]

    def _run(self):
        consumer = Consumer(self.conf)
        consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost)
        since_commit = 0
        try:
            while not self._stop.is_set():
                msg = consumer.poll(0.1)
                if msg is None:
                    self._commit(consumer)
                    since_commit = 0
                    continue
                if msg.error():
                    with self.lock:
                        self.errors.append(("poll", msg.error()))
                    continue
                with self.lock:
                    self.records.append((msg.partition(), msg.offset(), msg.value()))
                self.pending[msg.partition()] = msg.offset() + 1
                since_commit += 1
                if since_commit >= 500:
                    self._commit(consumer)
                    since_commit = 0
            self._commit(consumer)
        finally:
            consumer.close()

    def stop(self):
        self._stop.set()
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive(), f"{self.name} did not stop"


def stop_all(members):
    for member in members:
        if member.thread.is_alive():
            member.stop()


def all_records(members, extra=()):
    records = list(extra)
    for member in members:
        with member.lock:
            records.extend(member.records)
    return records


def wait_consumed(members, count, extra=lambda: (), timeout=TIMEOUT):
    """Waits until the members (and `extra()`) have received `count` records in all."""
    wait_until(
        lambda: len(all_records(members, extra())) >= count,
        timeout,
        lambda: f"{count} records consumed, have {len(all_records(members, extra()))}",
    )


def check_exactly_once(records, delivered):
    """Every delivered record was consumed exactly once, with its value, and nothing else."""
    seen = collections.Counter((p, o) for p, o, _ in records)
    duplicates = sorted(key for key, n in seen.items() if n > 1)
    missing = sorted(delivered.keys() - seen.keys())
    unexpected = sorted(seen.keys() - delivered.keys())
    assert (duplicates[:10], len(duplicates), missing[:10], len(missing), unexpected[:10]) == ([], 0, [], 0, []), (
        "(duplicates, how many, missing, how many, unexpected) (partition, offset)s"
    )
    wrong = [(p, o, v) for p, o, v in records if v != delivered[(p, o)]]
    assert wrong == [], "records with the wrong value"


def check_no_errors(members):
    for member in members:
        assert member.errors == [], f"{member.name}: {member.errors[:5]}"


def wait_assignments(members, sizes, partitions, timeout=TIMEOUT):
    """Waits until member i holds sizes[i] partitions and together they hold `partitions`,
    each exactly once; returns their assignments."""

    def state():
        return [m.assigned() for m in members]

    def balanced():
        current = state()
        together = [p for a in current for p in a]
        if [len(a) for a in current] == list(sizes) and sorted(together) == sorted(partitions):
            return current
        return None

    return wait_until(balanced, timeout, lambda: f"assignments of sizes {sizes}, have {[sorted(a) for a in state()]}")


# 1 and 2: three members share six partitions, one leaves, the other two take over.


def rebalance_on_leave(bootstrap, strategy):
    topic, group = unique("grp-leave"), unique("group-leave")
    partitions = list(range(6))
    create_topic(bootstrap, topic, 6)
    members = [
        Member(bootstrap, group, topic, f"{strategy}-{name}", partition_assignment_strategy=strategy)
        for name in ("a", "b", "c")
    ]
    try:
        before = wait_assignments(members, [2, 2, 2], partitions)
        delivered = produce(bootstrap, topic, 30_000)
        wait_consumed(members, 30_000, timeout=60)
        check_exactly_once(all_records(members), delivered)
        for member, assigned in zip(members, before):
            assert {p for p, _, _ in member.records} == assigned, f"partitions {member.name} consumed"
        consumed_before = [len(m.records) for m in members]
        # Everything processed is committed before a member goes.
        wait_committed(bootstrap, group, topic, end_offsets(bootstrap, topic, partitions))
        survivors, leaver = members[:2], members[2]
        survivors_events = [m.event_count() for m in survivors]

        left = time.monotonic()
        leaver.stop()
        after = wait_assignments(survivors, [3, 3], partitions, timeout=SESSION_TIMEOUT_MS / 1000)
        took = time.monotonic() - left
        assert took < SESSION_TIMEOUT_MS / 1000, f"takeover took {took:.1f} s"

        delivered.update(produce(bootstrap, topic, 6_000, start=30_000))
        wait_consumed(members, 36_000)
        check_exactly_once(all_records(members), delivered)
        # Each survivor read the new records of its new assignment, the leaver none.
        for member, assigned, count in zip(members, after, consumed_before):
            assert {p for p, _, _ in member.records[count:]} == assigned, f"partitions {member.name} consumed"
        assert len(leaver.records) == consumed_before[2]
        check_no_errors(members)
        # What the survivors' rebalance callbacks saw after the leaver went.
        since_leave = [m.events[count:] for m, count in zip(survivors, survivors_events)]
        return before, after, since_leave
    finally:
        stop_all(members)


@pytest.mark.parametrize("strategy", ["range", "roundrobin"])
def test_eager_rebalance_when_a_member_leaves(fast_bootstrap, strategy):
    before, after, since_leave = rebalance_on_leave(fast_bootstrap, strategy)
    # The leaver's partitions are shared between the survivors; eager rebalancing revokes
    # everything first, then assigns the new sets whole.
    assert before[2] <= after[0] | after[1]
    for events, was, now in zip(since_leave, before, after):
        assert [(kind, set(partitions)) for _, kind, partitions in events] == [("revoke", was), ("assign", now)]


def test_cooperative_sticky_rebalance_when_a_member_leaves(fast_bootstrap):
    before, after, since_leave = rebalance_on_leave(fast_bootstrap, "cooperative-sticky")
    # KIP-429: the survivors keep what they had and gain one of the leaver's each, without
    # any of their partitions being revoked.
    assert before[0] < after[0] and before[1] < after[1]
    assert after[0] - before[0] | after[1] - before[1] == before[2]
    for events, was, now in zip(since_leave, before, after):
        assert [(kind, set(partitions)) for _, kind, partitions in events if partitions] == [("assign", now - was)]


@pytest.mark.parametrize("first", ["tidelog", "librdkafka"])
def test_cooperative_group_shared_by_tidelog_and_librdkafka(fast_bootstrap, first):
    """A tidelog consumer (`tidelog consume -G`) and a confluent-kafka one share a
    cooperative-sticky group: whichever joined first leads and assigns, the other's owned
    partitions are honoured, the owner gives up only the two partitions that move, and the
    group reads every record exactly once across the handover."""
    bootstrap = fast_bootstrap
    topic, group = unique("grp-mixed"), unique("group-mixed")
    create_topic(bootstrap, topic, 4)
    delivered = produce(bootstrap, topic, 2_000)
    lines = []

    def start_tidelog():
        process = subprocess.Popen(
            [
                tidelog_binary(), "consume", "-b", bootstrap, "-G", group, "-f", "%p %o %s\\n",
                "-X", "partition.assignment.strategy=cooperative-sticky", "-X", "client.id=tidelog-member",
                "-X", f"session.timeout.ms={SESSION_TIMEOUT_MS}", "-X", "heartbeat.interval.ms=500",
                "-X", "auto.offset.reset=earliest", "-t", topic,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
        return process

    def tidelog_records():
        return [(int(p), int(o), v.encode()) for p, o, v in (line.split() for line in list(lines))]

    def assignment_of(client_id):
        described = describe_group(bootstrap, group)
        return sorted(
            tp.partition for m in described.members if m.client_id == client_id for tp in m.assignment.topic_partitions
        )

    tidelog = member = None
    try:
        if first == "tidelog":
            tidelog = start_tidelog()
            wait_until(lambda: len(lines) >= 2_000, TIMEOUT, lambda: f"2000 records, have {len(lines)}")
            assert assignment_of("tidelog-member") == [0, 1, 2, 3]
            member = Member(bootstrap, group, topic, "librdkafka-member", partition_assignment_strategy="cooperative-sticky")
        else:
            member = Member(bootstrap, group, topic, "librdkafka-member", partition_assignment_strategy="cooperative-sticky")
            wait_consumed([member], 2_000)
            assert member.assigned() == {0, 1, 2, 3}
            wait_committed(bootstrap, group, topic, end_offsets(bootstrap, topic, range(4)))
            tidelog = start_tidelog()
        wait_until(lambda: len(member.assigned()) == 2, TIMEOUT, lambda: f"librdkafka holding 2, has {member.assigned()}")
        wait_until(
            lambda: sorted(assignment_of("tidelog-member") + sorted(member.assigned())) == [0, 1, 2, 3],
            TIMEOUT,
            "the group's four partitions shared two and two",
        )
        delivered.update(produce(bootstrap, topic, 2_000, start=2_000))
        wait_consumed([member], 4_000, extra=tidelog_records)
        check_exactly_once(all_records([member], tidelog_records()), delivered)
        check_no_errors([member])
        kinds = [(kind, partitions) for _, kind, partitions in member.events if partitions]
        if first == "tidelog":
            # The newcomer was only ever given partitions, never had any taken.
            assert kinds == [("assign", sorted(member.assigned()))]
        else:
            # The owner gave up exactly the two that moved, in one revocation.
            moved = sorted({0, 1, 2, 3} - member.assigned())
            assert kinds == [("assign", [0, 1, 2, 3]), ("revoke", moved)]
    finally:
        if member is not None:
            member.stop()
        if tidelog is not None:
            tidelog.terminate()
            assert tidelog.wait(TIMEOUT) == 0


# 3: a member killed without leaving is removed when its session times out.

VICTIM = textwrap.dedent(
    """
    import json, sys
    from confluent_kafka import Consumer, TopicPartition
    conf = json.loads(sys.argv[1])
    topic = sys.argv[2]
    consumer = Consumer(conf)
    def say(*words):
        print(*words, flush=True)
    consumer.subscribe([topic],
        on_assign=lambda c, ps: say("assign", *[tp.partition for tp in ps]),
        on_revoke=lambda c, ps: say("revoke", *[tp.partition for tp in ps]))
    pending, uncommitted = {}, 0
    while True:
        msg = consumer.poll(0.1)
        if msg is not None and not msg.error():
            say("record", msg.partition(), msg.offset(), msg.value().decode())
            pending[msg.partition()] = msg.offset() + 1
            uncommitted += 1
            if uncommitted < 500:
                continue
        if pending:
            consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in pending.items()], asynchronous=False)
            pending, uncommitted = {}, 0
    """
)


class Victim:
    """A group member in a child process (so it can be killed with -9), reporting its
    assignment and records on stdout."""

    def __init__(self, bootstrap, group, topic):
        conf = {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": "victim",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": SESSION_TIMEOUT_MS,
            "heartbeat.interval.ms": 500,
            "partition.assignment.strategy": "range",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-c", VICTIM, json.dumps(conf), topic], stdout=subprocess.PIPE, text=True
        )
        self.assignment = set()
        self.records = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            kind, *rest = line.split()
            with self.lock:
                if kind == "assign":
                    self.assignment |= {int(p) for p in rest}
                elif kind == "revoke":
                    self.assignment -= {int(p) for p in rest}
                elif kind == "record":
                    self.records.append((int(rest[0]), int(rest[1]), rest[2].encode()))

    def assigned(self):
        with self.lock:
            return frozenset(self.assignment)

    def snapshot(self):
        with self.lock:
            return list(self.records)

    def kill(self):
        self.process.kill()
        self.process.wait()


def test_killed_member_is_removed_after_session_timeout(fast_bootstrap):
    bootstrap = fast_bootstrap
    topic, group = unique("grp-kill"), unique("group-kill")
    partitions = list(range(6))
    create_topic(bootstrap, topic, 6)
    victim = Victim(bootstrap, group, topic)
    members = []
    try:
        wait_until(lambda: victim.assigned() == set(partitions), TIMEOUT, "the first member to get every partition")
        members = [Member(bootstrap, group, topic, name) for name in ("kill-a", "kill-b")]
        before = wait_assignments([*members, victim], [2, 2, 2], partitions)
        delivered = produce(bootstrap, topic, 6_000)
        wait_consumed(members, 6_000, extra=victim.snapshot)
        wait_committed(bootstrap, group, topic, end_offsets(bootstrap, topic, partitions))
        assert {p for p, _, _ in victim.snapshot()} == before[2], "the victim consumed its partitions"

        killed = time.monotonic()
        victim.kill()
        # Records for every partition, the dead member's included, while its session runs out.
        delivered.update(produce(bootstrap, topic, 3_000, start=6_000))
        after = wait_assignments(members, [3, 3], partitions, timeout=SESSION_TIMEOUT_MS / 1000 + 10)
        took = time.monotonic() - killed
        assert took < SESSION_TIMEOUT_MS / 1000 + 5, f"takeover {took:.1f} s after the kill"
        assert before[2] <= after[0] | after[1]
        wait_consumed(members, 9_000, extra=victim.snapshot)
        check_exactly_once(all_records(members, victim.snapshot()), delivered)
        check_no_errors(members)
    finally:
        victim.kill()
        stop_all(members)


# 4: static membership (KIP-345).


@pytest.mark.parametrize("restarted", [0, 1], ids=["first-member-restarts", "second-member-restarts"])
def test_static_member_restart_gets_its_partitions_back_without_rebalance(fast_bootstrap, restarted):
    bootstrap = fast_bootstrap
    topic, group = unique("grp-static"), unique("group-static")
    partitions = list(range(4))
    create_topic(bootstrap, topic, 4)
    static = {"session_timeout_ms": 10_000}
    members = [Member(bootstrap, group, topic, "static-1", group_instance_id="instance-1", **static)]
    try:
        # The first member joins alone (it becomes the group's leader), then the second.
        wait_until(lambda: members[0].assigned() == set(partitions), TIMEOUT, "the first member to get every partition")
        members.append(Member(bootstrap, group, topic, "static-2", group_instance_id="instance-2", **static))
        before = wait_assignments(members, [2, 2], partitions)
        delivered = produce(bootstrap, topic, 400)
        wait_consumed(members, 400)
        wait_committed(bootstrap, group, topic, end_offsets(bootstrap, topic, partitions))
        described = describe_group(bootstrap, group)
        assert described.state == ConsumerGroupState.STABLE
        member_ids = {m.group_instance_id: m.member_id for m in described.members}
        assert set(member_ids) == {"instance-1", "instance-2"}

        goner = members[restarted]
        other = members[1 - restarted]
        other_events = other.event_count()
        # A static member's close() does not leave the group: its partitions stay
        # assigned to its instance id until its session times out.
        goner.stop()
        instance = f"instance-{restarted + 1}"
        restarted_at = time.monotonic()
        back = Member(bootstrap, group, topic, f"static-{restarted + 1}-again", group_instance_id=instance, **static)
        members.append(back)
        wait_until(lambda: back.assigned() == before[restarted], 10, lambda: f"{sorted(before[restarted])} back, have {sorted(back.assigned())}")
        assert time.monotonic() - restarted_at < 10, "not back within the session timeout"
        # No rebalance: the other member's callbacks are not called again. A rebalance
        # would reach it with its next heartbeat (every 500 ms).
        time.sleep(2)
        assert other.events[other_events:] == [], "the other member saw a rebalance"
        assert other.assigned() == before[1 - restarted]
        described = describe_group(bootstrap, group)
        assert described.state == ConsumerGroupState.STABLE
        now = {m.group_instance_id: m for m in described.members}
        assert set(now) == {"instance-1", "instance-2"}
        other_instance = f"instance-{2 - restarted}"
        assert now[other_instance].member_id == member_ids[other_instance]
        assert now[instance].member_id != member_ids[instance], "the restarted member has a new member id"
        # (Kafka keeps the first client id of a static member across restarts, so its
        # client_id is not checked.)
        assert {tp.partition for tp in now[instance].assignment.topic_partitions} == before[restarted]

        # The restarted member goes on from its predecessor's commits.
        delivered.update(produce(bootstrap, topic, 400, start=400))
        wait_consumed(members, 800)
        check_exactly_once(all_records(members), delivered)
        check_no_errors(members)
    finally:
        stop_all(members)


# 5: committed offsets survive a broker restart.


@pytest.mark.parametrize("how", ["sigterm", "kill-9"])
def test_committed_offsets_survive_broker_restart(broker_factory, how):
    flags = ("--flush", "always") if how == "kill-9" else ()
    first = broker_factory(*flags)
    topic, group = unique("grp-restart"), unique("group-restart")
    create_topic(first.bootstrap, topic, 3)
    delivered = {}
    for p in range(3):
        delivered.update(produce(first.bootstrap, topic, 100, start=100 * p, partition=p))

    conf = {
        "bootstrap.servers": first.bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": SESSION_TIMEOUT_MS,
        "heartbeat.interval.ms": 500,
    }
    c = Consumer(conf)
    consumed = {p: 0 for p in range(3)}  # next offset of each partition
    try:
        c.subscribe([topic])
        deadline = time.monotonic() + TIMEOUT
        while sum(consumed.values()) < 150:
            assert time.monotonic() < deadline, f"only consumed {consumed}"
            msg = c.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            assert msg.offset() == consumed[msg.partition()], "records in order from 0"
            consumed[msg.partition()] = msg.offset() + 1
        commit = [TopicPartition(topic, p, o, f"meta-{p}") for p, o in consumed.items()]
        result = c.commit(offsets=commit, asynchronous=False)
        assert [(tp.partition, tp.offset, tp.error) for tp in result] == [(p, o, None) for p, o in consumed.items()]
    finally:
        c.close()

    if how == "sigterm":
        assert first.stop() == 0
    else:
        kill_9(first)
    second = broker_factory(*flags, data_dir=first.data_dir)

    c = Consumer({**conf, "bootstrap.servers": second.bootstrap})
    try:
        committed = c.committed([TopicPartition(topic, p) for p in range(3)], timeout=TIMEOUT)
        assert [(tp.partition, tp.offset, tp.metadata, tp.error) for tp in committed] == [
            (p, consumed[p], f"meta-{p}", None) for p in range(3)
        ]
        c.subscribe([topic])
        rest = []
        deadline = time.monotonic() + TIMEOUT
        while len(rest) < 300 - 150:
            assert time.monotonic() < deadline, f"only consumed {len(rest)} after the restart"
            msg = c.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            rest.append((msg.partition(), msg.offset(), msg.value()))
        firsts = {}
        for p, o, _ in rest:
            firsts.setdefault(p, o)
        assert firsts == {p: o for p, o in consumed.items() if o < 100}, "first offsets after the restart"
        check_exactly_once(rest, {k: v for k, v in delivered.items() if k[1] >= consumed[k[0]]})
    finally:
        c.close()


# 6: the group admin API.


def test_admin_list_describe_delete_and_offsets(fast_bootstrap):
    bootstrap = fast_bootstrap
    client = admin(bootstrap)
    topic, group = unique("grp-admin"), unique("group-admin")
    partitions = list(range(4))
    create_topic(bootstrap, topic, 4)
    members = [Member(bootstrap, group, topic, name) for name in ("admin-one", "admin-two")]
    try:
        assignments = wait_assignments(members, [2, 2], partitions)
        delivered = produce(bootstrap, topic, 200)
        wait_consumed(members, 200)
        ends = end_offsets(bootstrap, topic, partitions)
        wait_committed(bootstrap, group, topic, ends)

        def listed(states=None):
            kwargs = {} if states is None else {"states": states}
            result = client.list_consumer_groups(**kwargs).result(timeout=TIMEOUT)
            assert result.errors == []
            return {g.group_id: g for g in result.valid}

        stable = listed({ConsumerGroupState.STABLE})
        assert group in stable
        assert stable[group].state == ConsumerGroupState.STABLE
        assert not stable[group].is_simple_consumer_group
        assert group not in listed({ConsumerGroupState.EMPTY})
        assert group in listed()

        described = describe_group(bootstrap, group)
        assert described.group_id == group
        assert described.state == ConsumerGroupState.STABLE
        assert not described.is_simple_consumer_group
        assert described.partition_assignor == "range"
        by_client = {m.client_id: m for m in described.members}
        assert sorted(by_client) == ["admin-one", "admin-two"]
        for member, assignment in zip(members, assignments):
            tps = by_client[member.name].assignment.topic_partitions
            assert sorted((tp.topic, tp.partition) for tp in tps) == [(topic, p) for p in sorted(assignment)]
        assert len({m.member_id for m in described.members}) == 2

        # DeleteGroups of a group with members: NON_EMPTY_GROUP.
        with pytest.raises(KafkaException) as failure:
            client.delete_consumer_groups([group])[group].result(timeout=TIMEOUT)
        assert failure.value.args[0].code() == KafkaError.NON_EMPTY_GROUP

        # An admin commit (no member id, generation -1) to a group with members fails
        # with UNKNOWN_MEMBER_ID, as in Kafka, and changes nothing.
        result = client.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 0)])]
        )[group].result(timeout=TIMEOUT)
        assert [(tp.partition, tp.error and tp.error.code()) for tp in result.topic_partitions] == [
            (0, KafkaError.UNKNOWN_MEMBER_ID)
        ]
        assert committed_offsets(bootstrap, group) == {(topic, p): o for p, o in ends.items()}

        stop_all(members)
        wait_until(lambda: describe_group(bootstrap, group).state == ConsumerGroupState.EMPTY, TIMEOUT, "an empty group")
        assert describe_group(bootstrap, group).members == []
        assert group in listed({ConsumerGroupState.EMPTY})
        assert group not in listed({ConsumerGroupState.STABLE})

        # The offsets stay; an admin commit to the empty group changes them.
        altered = {0: 1, 1: 0, 2: ends[2] // 2, 3: ends[3]}
        result = client.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p, o) for p, o in altered.items()])]
        )[group].result(timeout=TIMEOUT)
        assert sorted((tp.partition, tp.offset, tp.error) for tp in result.topic_partitions) == [
            (p, o, None) for p, o in sorted(altered.items())
        ]
        assert committed_offsets(bootstrap, group) == {(topic, p): o for p, o in altered.items()}
        # A consumer of the group starts there.
        member = Member(bootstrap, group, topic, "admin-three")
        members.append(member)
        rest = {k: v for k, v in delivered.items() if k[1] >= altered[k[0]]}
        wait_consumed([member], len(rest))
        check_exactly_once(member.records, rest)
        member.stop()
        wait_until(lambda: describe_group(bootstrap, group).state == ConsumerGroupState.EMPTY, TIMEOUT, "an empty group")

        client.delete_consumer_groups([group])[group].result(timeout=TIMEOUT)
        assert group not in listed()
        result = client.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in partitions])]
        )[group].result(timeout=TIMEOUT)
        assert [(tp.partition, tp.offset) for tp in result.topic_partitions] == [(p, OFFSET_INVALID) for p in partitions]
        check_no_errors(members)
    finally:
        stop_all(members)


# 7: kcat.


def test_kcat_metadata_and_balanced_consumer(fast_bootstrap):
    bootstrap = fast_bootstrap
    topic, group = unique("grp-kcat"), unique("group-kcat")
    create_topic(bootstrap, topic, 2)
    listing = subprocess.run(
        ["kcat", "-b", bootstrap, "-L", "-J", "-t", topic], capture_output=True, text=True, timeout=TIMEOUT, check=True
    )
    metadata = json.loads(listing.stdout)
    assert [(b["id"], b["name"]) for b in metadata["brokers"]] == [(0, bootstrap)]
    (described,) = metadata["topics"]
    assert described["topic"] == topic
    assert [(p["partition"], p["leader"]) for p in described["partitions"]] == [(0, 0), (1, 0)]
    listing = subprocess.run(["kcat", "-b", bootstrap, "-L"], capture_output=True, text=True, timeout=TIMEOUT, check=True)
    assert f"broker 0 at {bootstrap}" in listing.stdout
    assert f'topic "{topic}" with 2 partitions:' in listing.stdout

    delivered = produce(bootstrap, topic, 100)
    kcat = subprocess.Popen(
        [
            "kcat", "-b", bootstrap, "-G", group, "-c", "150", "-q", "-u", "-f", "%p %o %s\\n",
            "-X", "auto.offset.reset=earliest", "-X", "client.id=kcat-member",
            "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500",
            topic,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    threading.Thread(target=lambda: lines.extend(kcat.stdout), daemon=True).start()
    try:
        wait_until(lambda: len(lines) >= 100, TIMEOUT, lambda: f"kcat to consume 100 records, has {len(lines)}")
        described = describe_group(bootstrap, group)
        assert described.state == ConsumerGroupState.STABLE
        assert [m.client_id for m in described.members] == ["kcat-member"]
        (member,) = described.members
        assert sorted((tp.topic, tp.partition) for tp in member.assignment.topic_partitions) == [(topic, 0), (topic, 1)]

        delivered.update(produce(bootstrap, topic, 50, start=100))
        try:
            code = kcat.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"kcat -c 150 still running with {len(lines)} records")
        assert code == 0, kcat.stderr.read()
    finally:
        if kcat.poll() is None:
            kcat.kill()
            kcat.wait()
    time.sleep(0.1)  # the reader thread's last lines
    records = [(int(p), int(o), v.encode()) for p, o, v in (line.split() for line in lines)]
    check_exactly_once(records, delivered)
    # kcat commits (auto commit, and on close) what it consumed; it left the group.
    ends = end_offsets(bootstrap, topic, [0, 1])
    assert committed_offsets(bootstrap, group) == {(topic, p): o for p, o in ends.items()}
    wait_until(lambda: describe_group(bootstrap, group).state == ConsumerGroupState.EMPTY, TIMEOUT, "an empty group")
