#!/usr/bin/env python3
"""The conformance runner for confluent-kafka's API: drives one scenario file (the steps are
in conformance/README.md) through `tidelog` (our Python SDK) or `confluent_kafka` (the
stock librdkafka client), chosen with --client. Exits 0 when the scenario passed, 1 when
it failed, 2 when it does not apply; the last line printed says why."""

import argparse
import importlib
import os
import pathlib
import subprocess
import sys
import time

SETTLE_S = 10.0

# What each client does that a `requires` may ask for besides the broker's capabilities.
CLIENT_TRAITS = {"tidelog": {"java-default-partitioner"}, "confluent_kafka": set()}

# librdkafka's local error codes, as the Kafka error names scenarios use.
LOCAL_ERRORS = {
    -192: "REQUEST_TIMED_OUT",  # _MSG_TIMED_OUT: delivery.timeout.ms ran out
    -185: "REQUEST_TIMED_OUT",  # _TIMED_OUT
    -190: "UNKNOWN_TOPIC_OR_PARTITION",  # _UNKNOWN_PARTITION
    -188: "UNKNOWN_TOPIC_OR_PARTITION",  # _UNKNOWN_TOPIC
    -186: "INVALID_CONFIG",  # _INVALID_ARG
}


class Failed(Exception):
    pass


class NotApplicable(Exception):
    pass


def unescape(value):
    return value.replace("%20", " ").replace("%25", "%")


class Step:
    def __init__(self, number, words):
        self.line = number
        self.verb = words[0]
        self.word = None
        self.args = []
        for word in words[1:]:
            if "=" in word:
                key, value = word.split("=", 1)
                self.args.append((key, unescape(value)))
            elif self.word is None and not self.args:
                self.word = word
            else:
                raise Failed(f"line {number}: `{word}` is not key=value")

    def get(self, key, default=None):
        for k, v in self.args:
            if k == key:
                return v
        return default

    def need(self, key):
        value = self.get(key)
        if value is None:
            raise Failed(f"line {self.line}: `{self.verb}` needs {key}=")
        return value

    def number(self, key, default=None):
        value = self.get(key)
        if value is None:
            if default is None:
                raise Failed(f"line {self.line}: `{self.verb}` needs {key}=")
            return default
        try:
            return int(value)
        except ValueError:
            raise Failed(f"line {self.line}: {key}={value} is not a number") from None

    def prefixed(self, prefix):
        return [(k[len(prefix) + 1:], v) for k, v in self.args if k.startswith(prefix + ".")]

    def fail(self, message):
        return Failed(f"line {self.line} ({self.verb}): {message}")


def parse(text):
    steps = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            steps.append(Step(number, [w for w in line.split(" ") if w]))
    return steps


def template(text, index):
    return text.replace("{i}", str(index))


class Member:
    """A consumer and the records it has polled."""

    def __init__(self, runner, consumer):
        self.runner = runner
        self.consumer = consumer
        self.received = []
        self.last = {}

    def poll_once(self, timeout):
        msg = self.consumer.poll(timeout)
        if msg is None:
            return False
        if msg.error() is not None:
            if msg.error().code() == self.runner.kafka.KafkaError._PARTITION_EOF:
                return False
            raise Failed(f"poll: {msg.error()}")
        partition = (msg.topic(), msg.partition())
        last = self.last.get(partition)
        if last is not None and msg.offset() <= last:
            raise Failed(f"{partition[0]}:{partition[1]} went from offset {last} back to {msg.offset()}")
        self.last[partition] = msg.offset()
        self.received.append(msg)
        return True


class Runner:
    def __init__(self, args, kafka):
        self.args = args
        self.kafka = kafka
        self.producer = None
        self.members = {}
        self._admin = None

    def name(self, logical):
        return self.args.prefix + logical

    def error_name(self, error):
        """The Kafka error name of a KafkaError (librdkafka's local codes mapped)."""
        code = error.code()
        if code in LOCAL_ERRORS:
            return LOCAL_ERRORS[code]
        return self.args.error_names.get(code, error.name())

    def expected(self, step, call):
        """Runs `call`; checks its outcome against the step's error=. Returns its result,
        or None when it failed as expected."""
        want = step.get("error")
        try:
            result = call()
        except self.kafka.KafkaException as exception:
            error = exception.args[0]
            if not hasattr(error, "code"):
                raise step.fail(str(exception)) from None
            name = self.error_name(error)
            if want is not None and name in want.split("|"):
                return None
            if want is None:
                raise step.fail(f"{name}: {error}") from None
            raise step.fail(f"expected {want}, failed with {name}: {error}") from None
        if want is not None:
            raise step.fail(f"succeeded; expected {want}")
        return result

    def admin(self):
        if self._admin is None:
            self._admin = self.kafka.admin.AdminClient({"bootstrap.servers": self.args.bootstrap})
        return self._admin

    def admin_one(self, step, futures):
        """The result of the only future of an admin call's dict."""
        (future,) = futures.values()
        return self.expected(step, future.result)

    def partition(self, step, text):
        offset = None
        if "@" in text:
            text, offset = text.split("@", 1)
            offset = int(offset)
        topic, _, number = text.rpartition(":")
        if not topic:
            raise step.fail(f"`{text}` is not TOPIC:PARTITION")
        return self.name(topic), int(number), offset

    def partitions(self, step, key):
        return [self.partition(step, p) for p in step.need(key).split(",") if p]

    def topic_partition(self, topic, partition, offset=None):
        if offset is None:
            return self.kafka.TopicPartition(topic, partition)
        return self.kafka.TopicPartition(topic, partition, offset)

    def member(self, step):
        name = step.need("consumer")
        if name not in self.members:
            raise step.fail(f"no consumer {name}")
        return self.members[name]

    def run(self, steps):
        for step in steps:
            if not hasattr(self, "step_" + step.verb):
                raise NotApplicable(f"line {step.line}: no `{step.verb}` step in this runner")
            traits = CLIENT_TRAITS[self.args.client]
            if step.verb == "requires" and step.word not in self.args.capabilities | traits:
                raise NotApplicable(f"needs {step.word}")
        admin_steps = {"create_topic", "delete_topic", "create_partitions", "alter_config", "expect_config",
                       "list_offsets", "delete_records", "describe_group", "list_groups", "delete_group"}
        if any(s.verb in admin_steps for s in steps) and not hasattr(self.kafka, "admin"):
            raise NotApplicable("no AdminClient in this client")
        for step in steps:
            getattr(self, "step_" + step.verb)(step)

    # Setup and admin.

    def step_requires(self, step):
        pass

    def step_create_topic(self, step):
        admin = self.kafka.admin
        topic = admin.NewTopic(self.name(step.need("topic")), num_partitions=step.number("partitions"),
                               replication_factor=1, config=dict(step.prefixed("config")))
        self.admin_one(step, self.admin().create_topics([topic], operation_timeout=10))

    def step_delete_topic(self, step):
        self.admin_one(step, self.admin().delete_topics([self.name(step.need("topic"))], operation_timeout=10))

    def step_create_partitions(self, step):
        new = self.kafka.admin.NewPartitions(self.name(step.need("topic")), step.number("total"))
        self.admin_one(step, self.admin().create_partitions([new], operation_timeout=10))

    def step_describe_topic(self, step):
        name = self.name(step.need("topic"))
        deadline = time.monotonic() + SETTLE_S
        while True:
            metadata = self.admin().list_topics(topic=name, timeout=10).topics[name]
            error = metadata.error
            if step.get("error") is not None:
                got = self.error_name(error) if error is not None else None
                if got == step.get("error"):
                    return
                if time.monotonic() > deadline:
                    raise step.fail(f"error {got}, expected {step.get('error')}")
            elif error is None and len(metadata.partitions) == step.number("partitions"):
                return
            elif time.monotonic() > deadline:
                raise step.fail(f"{len(metadata.partitions)} partitions, error {error}")
            time.sleep(0.1)

    def config_resource(self, step, **kwargs):
        admin = self.kafka.admin
        return admin.ConfigResource(admin.ResourceType.TOPIC, self.name(step.need("topic")), **kwargs)

    def step_alter_config(self, step):
        admin = self.kafka.admin
        entries = [admin.ConfigEntry(k, v, incremental_operation=admin.AlterConfigOpType.SET)
                   for k, v in step.prefixed("config")]
        resource = self.config_resource(step, incremental_configs=entries)
        self.admin_one(step, self.admin().incremental_alter_configs([resource]))

    def step_expect_config(self, step):
        entries = self.admin_one(step, self.admin().describe_configs([self.config_resource(step)]))
        key = step.need("key")
        value = entries[key].value if key in entries else None
        if value != step.need("value"):
            raise step.fail(f"{key} is {value!r}")

    def step_list_offsets(self, step):
        spec_text = step.need("spec")
        offset_spec = self.kafka.admin.OffsetSpec
        if spec_text == "earliest":
            spec = offset_spec.earliest()
        elif spec_text == "latest":
            spec = offset_spec.latest()
        else:
            spec = offset_spec.for_timestamp(step.number("spec"))
        tp = self.topic_partition(self.name(step.need("topic")), step.number("partition"))
        info = self.admin_one(step, self.admin().list_offsets({tp: spec}))
        if info is not None and info.offset != step.number("offset"):
            raise step.fail(f"offset {info.offset}, expected {step.number('offset')}")

    def step_delete_records(self, step):
        tp = self.topic_partition(self.name(step.need("topic")), step.number("partition"), step.number("before"))
        deleted = self.admin_one(step, self.admin().delete_records([tp]))
        if deleted is not None and deleted.low_watermark != step.number("before"):
            raise step.fail(f"log start offset is {deleted.low_watermark}")

    def step_describe_group(self, step):
        group = self.name(step.need("group"))
        deadline = time.monotonic() + SETTLE_S
        while True:
            description = self.admin_one(step, self.admin().describe_consumer_groups([group]))
            if description is None:
                return
            mismatch = None
            state = step.get("state")
            got_state = getattr(description.state, "name", str(description.state))
            if state is not None and got_state.replace("_", "").lower() != state.lower():
                mismatch = f"state {got_state}"
            members = step.get("members")
            if members is not None and len(description.members) != int(members):
                mismatch = f"{len(description.members)} members"
            if mismatch is None:
                return
            if time.monotonic() > deadline:
                raise step.fail(mismatch)
            time.sleep(0.1)

    def step_list_groups(self, step):
        group = self.name(step.need("contains"))
        listed = self.admin().list_consumer_groups().result()
        if group not in [g.group_id for g in listed.valid]:
            raise step.fail(f"{group} is not listed")

    def step_delete_group(self, step):
        self.admin_one(step, self.admin().delete_consumer_groups([self.name(step.need("group"))]))

    def step_restart_broker(self, step):
        command = os.environ.get("CONFORMANCE_RESTART")
        if not command:
            raise step.fail("CONFORMANCE_RESTART is not set")
        if subprocess.run(["sh", "-c", command]).returncode != 0:
            raise step.fail(f"`{command}` failed")

    def step_sleep(self, step):
        time.sleep(step.number("ms") / 1000)

    # Producing.

    def step_producer(self, step):
        if self.producer is not None:
            self.producer.flush(10)
        conf = {"bootstrap.servers": self.args.bootstrap, **dict(step.prefixed("config"))}
        self.producer = self.expected(step, lambda: self.kafka.Producer(conf))

    def produce_all(self, step, records):
        """Sends (kwargs, check) pairs, waits for every report, and returns them in order."""
        if self.producer is None:
            raise step.fail("no producer: a `producer` step comes first")
        reports = [None] * len(records)

        def report(index):
            return lambda err, msg: reports.__setitem__(index, (err, msg))

        for index, kwargs in enumerate(records):
            try:
                self.producer.produce(on_delivery=report(index), **kwargs)
            except self.kafka.KafkaException as exception:
                reports[index] = (exception.args[0], None)
            except BufferError:
                self.producer.poll(0.1)
                self.producer.produce(on_delivery=report(index), **kwargs)
        if self.producer.flush(60) != 0:
            raise step.fail("flush left records in the queue")
        return reports

    def step_produce(self, step):
        records = []
        for index in range(step.number("count", 1)):
            kwargs = {"topic": self.name(step.need("topic"))}
            if step.get("size") is not None:
                kwargs["value"] = b"x" * step.number("size")
            elif step.get("value") is not None:
                kwargs["value"] = template(step.get("value"), index).encode()
            if step.get("key") is not None:
                kwargs["key"] = template(step.get("key"), index).encode()
            if step.get("partition") is not None:
                kwargs["partition"] = step.number("partition")
            headers = [(k, template(v, index).encode()) for k, v in step.prefixed("header")]
            if headers:
                kwargs["headers"] = headers
            if step.get("timestamp") is not None:
                kwargs["timestamp"] = step.number("timestamp")
            records.append(kwargs)
        want_error = step.get("error")
        landing = step.get("partition_of")
        first = step.get("offset")
        for index, (err, msg) in enumerate(self.produce_all(step, records)):
            got = self.error_name(err) if err is not None else None
            if (got is None) != (want_error is None) or (got is not None and got not in want_error.split("|")):
                raise step.fail(f"record {index}: error {got} ({err}), expected {want_error}")
            if err is not None:
                continue
            if landing is not None and msg.partition() != int(landing):
                raise step.fail(f"record {index} on partition {msg.partition()}, expected {landing}")
            if first is not None and msg.offset() != int(first) + index:
                raise step.fail(f"record {index} at offset {msg.offset()}, expected {int(first) + index}")

    def step_produce_vectors(self, step):
        path = pathlib.Path(self.args.data) / step.need("file")
        vectors = []
        for line in path.read_text().splitlines():
            if line and not line.startswith("#"):
                key, partition = line.split("\t")
                vectors.append((key, int(partition)))
        topic = self.name(step.need("topic"))
        records = [{"topic": topic, "key": key.encode(), "value": b"v"} for key, _ in vectors]
        for (key, want), (err, msg) in zip(vectors, self.produce_all(step, records)):
            if err is not None:
                raise step.fail(f"key {key!r}: {err}")
            if msg.partition() != want:
                raise step.fail(f"key {key!r} on {msg.partition()}, expected {want}")

    # Consuming.

    def step_consumer(self, step):
        conf = {"bootstrap.servers": self.args.bootstrap, **dict(step.prefixed("config"))}
        if step.get("group") is not None:
            conf["group.id"] = self.name(step.need("group"))
        consumer = self.expected(step, lambda: self.kafka.Consumer(conf))
        if consumer is not None:
            self.members[step.need("name")] = Member(self, consumer)

    def step_subscribe(self, step):
        member = self.member(step)
        topics = [self.name(t) for t in step.need("topics").split(",")]
        self.expected(step, lambda: member.consumer.subscribe(topics))

    def step_assign(self, step):
        member = self.member(step)
        member.consumer.assign([self.topic_partition(*p) for p in self.partitions(step, "partitions")])
        member.last.clear()

    def step_consume(self, step):
        member = self.member(step)
        count = step.number("count")
        deadline = time.monotonic() + step.number("timeout_ms", 20000) / 1000
        while len(member.received) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise step.fail(f"{len(member.received)} of {count} records arrived")
            member.poll_once(min(left, 0.2))

    def step_expect_nothing(self, step):
        member = self.member(step)
        before = len(member.received)
        deadline = time.monotonic() + step.number("ms") / 1000
        while time.monotonic() < deadline:
            member.poll_once(max(0.0, min(deadline - time.monotonic(), 0.2)))
        if len(member.received) != before:
            msg = member.received[before]
            raise step.fail(f"received {msg.topic()}:{msg.partition()}@{msg.offset()}")

    def step_expect_records(self, step):
        member = self.member(step)
        topic = self.name(step.need("topic"))
        partition = step.number("partition")
        start = step.number("from")
        count = step.number("count")
        seen = {}
        for msg in member.received:
            if msg.topic() == topic and msg.partition() == partition and start <= msg.offset() < start + count:
                if msg.offset() in seen:
                    raise step.fail(f"offset {msg.offset()} received twice")
                seen[msg.offset()] = msg
        for index in range(count):
            offset = start + index
            msg = seen.get(offset)
            if msg is None:
                raise step.fail(f"offset {offset} not received")
            for field, actual in (("key", msg.key()), ("value", msg.value())):
                want = step.get(field)
                if want is None:
                    continue
                want = None if want == "null" else template(want, index).encode()
                if actual != want:
                    raise step.fail(f"offset {offset}: {field} {actual!r}, expected {want!r}")
            headers = dict(msg.headers() or [])
            for name, want in step.prefixed("header"):
                if headers.get(name) != template(want, index).encode():
                    raise step.fail(f"offset {offset}: header {name} {headers.get(name)!r}")
            if step.get("timestamp") is not None and msg.timestamp()[1] != step.number("timestamp"):
                raise step.fail(f"offset {offset}: timestamp {msg.timestamp()[1]}")

    def step_expect_count(self, step):
        member = self.member(step)
        topic = self.name(step.get("topic")) if step.get("topic") is not None else None
        partition = step.number("partition") if step.get("partition") is not None else None
        count = sum(1 for m in member.received
                    if (topic is None or m.topic() == topic) and (partition is None or m.partition() == partition))
        if count != step.number("count"):
            raise step.fail(f"{count} records, expected {step.number('count')}")

    def step_clear(self, step):
        self.member(step).received.clear()

    def step_commit(self, step):
        member = self.member(step)
        if step.get("offsets") is not None:
            offsets = [self.topic_partition(*p) for p in self.partitions(step, "offsets")]
            self.expected(step, lambda: member.consumer.commit(offsets=offsets, asynchronous=False))
        else:
            self.expected(step, lambda: member.consumer.commit(asynchronous=False))

    def step_expect_committed(self, step):
        member = self.member(step)
        wanted = self.partitions(step, "partitions")
        committed = member.consumer.committed([self.topic_partition(t, p) for t, p, _ in wanted], timeout=10)
        found = {(tp.topic, tp.partition): tp.offset for tp in committed}
        for topic, partition, offset in wanted:
            got = found.get((topic, partition))
            got = -1 if got is not None and got < 0 else got
            if got != offset:
                raise step.fail(f"{topic}:{partition} committed {got}")

    def step_seek(self, step):
        member = self.member(step)
        topic, partition, _ = self.partition(step, step.need("partition"))
        special = {"earliest": self.kafka.OFFSET_BEGINNING, "latest": self.kafka.OFFSET_END}
        offset = special.get(step.need("offset"))
        offset = step.number("offset") if offset is None else offset
        self.expected(step, lambda: member.consumer.seek(self.topic_partition(topic, partition, offset)))
        member.last.pop((topic, partition), None)

    def step_pause(self, step):
        self.member(step).consumer.pause([self.topic_partition(t, p) for t, p, _ in self.partitions(step, "partitions")])

    def step_resume(self, step):
        self.member(step).consumer.resume([self.topic_partition(t, p) for t, p, _ in self.partitions(step, "partitions")])

    def step_expect_position(self, step):
        topic, partition, _ = self.partition(step, step.need("partition"))
        (tp,) = self.member(step).consumer.position([self.topic_partition(topic, partition)])
        if tp.offset != step.number("offset"):
            raise step.fail(f"position {tp.offset}, expected {step.number('offset')}")

    def step_await_assignment(self, step):
        names = step.need("consumers").split(",")
        topic = self.name(step.need("topic"))
        partitions = set(range(step.number("partitions")))
        deadline = time.monotonic() + step.number("timeout_ms", 30000) / 1000
        while True:
            sizes, seen, overlap = [], set(), False
            for name in names:
                member = self.members[name]
                member.poll_once(0.02)
                mine = [tp.partition for tp in member.consumer.assignment() if tp.topic == topic]
                sizes.append(len(mine))
                overlap |= bool(seen & set(mine))
                seen |= set(mine)
            if not overlap and seen == partitions and max(sizes) - min(sizes) <= 1:
                return
            if time.monotonic() > deadline:
                raise step.fail(f"assignment sizes {sizes}, partitions {sorted(seen)}")

    def step_expect_assignment(self, step):
        want = {(t, p) for t, p, _ in self.partitions(step, "partitions")}
        have = {(tp.topic, tp.partition) for tp in self.member(step).consumer.assignment()}
        if have != want:
            raise step.fail(f"assignment {sorted(have)}, expected {sorted(want)}")

    def step_close(self, step):
        member = self.members.pop(step.need("consumer"), None)
        if member is None:
            raise step.fail(f"no consumer {step.need('consumer')}")
        self.expected(step, member.consumer.close)

    def close(self):
        for member in self.members.values():
            member.consumer.close()
        if self.producer is not None:
            self.producer.flush(10)


def error_names(data):
    """Kafka's error names by code, from conformance/data/error-codes.tsv."""
    names = {}
    for line in (pathlib.Path(data) / "error-codes.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            code, name = line.split("\t")
            names[int(code)] = name
    return names


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--client", choices=["tidelog", "confluent_kafka"], default="tidelog")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--prefix", default="")
    parser.add_argument("--capabilities", default="")
    parser.add_argument("--data", default=str(pathlib.Path(__file__).resolve().parents[2] / "data"))
    parser.add_argument("scenario")
    args = parser.parse_args()
    args.capabilities = set(filter(None, args.capabilities.split(",")))
    args.error_names = error_names(args.data)
    kafka = importlib.import_module(args.client)
    if not hasattr(kafka, "admin"):
        try:
            importlib.import_module(args.client + ".admin")
        except ImportError:
            pass
    runner = Runner(args, kafka)
    try:
        runner.run(parse(pathlib.Path(args.scenario).read_text()))
        code, message = 0, "passed"
    except Failed as failure:
        code, message = 1, f"failed: {failure}"
    except NotApplicable as reason:
        code, message = 2, f"not applicable: {reason}"
    finally:
        runner.close()
    print(message, flush=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
