"""The AdminClient of confluent-kafka, run with tidelog and with confluent_kafka (the
`kafka` fixture) against a tidelog broker: every call returns futures that the broker's
answers complete, with Kafka's per-item errors."""

import importlib
import time

import pytest

from conftest import wait_until
from test_clients import consumer, produce

TIMEOUT = 20


@pytest.fixture
def admin(kafka):
    """The library's `admin` module (AdminClient, NewTopic, ...)."""
    return importlib.import_module(kafka.__name__ + ".admin")


@pytest.fixture
def client(admin, bootstrap):
    return admin.AdminClient({"bootstrap.servers": bootstrap})


def failure(future):
    """The KafkaError a future fails with."""
    with pytest.raises(Exception) as raised:
        future.result(TIMEOUT)
    assert type(raised.value).__name__ == "KafkaException", raised.value
    return raised.value.args[0]


def test_create_list_and_delete_topics(kafka, admin, client, topic):
    created = client.create_topics([admin.NewTopic(f"{topic}-a", 3, 1), admin.NewTopic(f"{topic}-b", num_partitions=1,
                                                                                  config={"cleanup.policy": "compact"})])
    assert sorted(created) == [f"{topic}-a", f"{topic}-b"]
    assert [f.result(TIMEOUT) for f in created.values()] == [None, None]
    metadata = client.list_topics(timeout=TIMEOUT)
    assert {f"{topic}-a", f"{topic}-b"} <= set(metadata.topics)
    a = metadata.topics[f"{topic}-a"]
    assert (a.topic, sorted(a.partitions), a.error) == (f"{topic}-a", [0, 1, 2], None)
    broker = next(iter(metadata.brokers.values()))
    assert all(p.leader == broker.id and p.replicas == [broker.id] and p.isrs == [broker.id] for p in a.partitions.values())
    assert metadata.cluster_id and metadata.controller_id == broker.id

    again = client.create_topics([admin.NewTopic(f"{topic}-a", 3, 1)])
    assert failure(again[f"{topic}-a"]).code() == kafka.KafkaError.TOPIC_ALREADY_EXISTS
    checked = client.create_topics([admin.NewTopic(f"{topic}-c", 2, 1)], validate_only=True)
    assert checked[f"{topic}-c"].result(TIMEOUT) is None
    assert f"{topic}-c" not in client.list_topics(timeout=TIMEOUT).topics

    deleted = client.delete_topics([f"{topic}-a"], operation_timeout=10)
    assert deleted[f"{topic}-a"].result(TIMEOUT) is None
    wait_until(lambda: f"{topic}-a" not in client.list_topics(timeout=TIMEOUT).topics, what="the topic to go")
    assert failure(client.delete_topics([f"{topic}-a"])[f"{topic}-a"]).code() == kafka.KafkaError.UNKNOWN_TOPIC_OR_PART


def test_create_partitions_grows_topics(kafka, admin, client, topic):
    client.create_topics([admin.NewTopic(topic, 2, 1)])[topic].result(TIMEOUT)
    assert client.create_partitions([admin.NewPartitions(topic, 5)])[topic].result(TIMEOUT) is None
    assert sorted(client.list_topics(topic, timeout=TIMEOUT).topics[topic].partitions) == [0, 1, 2, 3, 4]
    shrink = client.create_partitions([admin.NewPartitions(topic, 3)])
    assert failure(shrink[topic]).code() == kafka.KafkaError.INVALID_PARTITIONS
    unknown = client.create_partitions([admin.NewPartitions(f"{topic}-missing", 3)])
    assert failure(unknown[f"{topic}-missing"]).code() == kafka.KafkaError.UNKNOWN_TOPIC_OR_PART


def test_describe_and_incrementally_alter_configs(kafka, admin, client, topic):
    client.create_topics([admin.NewTopic(topic, 1, 1, config={"retention.ms": "3600000"})])[topic].result(TIMEOUT)
    resource = admin.ConfigResource(admin.ResourceType.TOPIC, topic)
    configs = client.describe_configs([resource])[resource].result(TIMEOUT)
    retention, policy = configs["retention.ms"], configs["cleanup.policy"]
    assert (retention.name, retention.value, admin.ConfigSource(retention.source), retention.is_default) == \
        ("retention.ms", "3600000", admin.ConfigSource.DYNAMIC_TOPIC_CONFIG, False)
    assert (policy.value, admin.ConfigSource(policy.source), policy.is_default, policy.is_read_only) == \
        ("delete", admin.ConfigSource.DEFAULT_CONFIG, True, False)

    change = admin.ConfigResource("topic", topic, incremental_configs=[
        admin.ConfigEntry("cleanup.policy", "compact", incremental_operation=admin.AlterConfigOpType.SET),
        admin.ConfigEntry("retention.ms", None, incremental_operation=admin.AlterConfigOpType.DELETE),
    ])
    assert client.incremental_alter_configs([change])[change].result(TIMEOUT) is None
    configs = client.describe_configs([resource])[resource].result(TIMEOUT)
    assert (configs["cleanup.policy"].value, admin.ConfigSource(configs["cleanup.policy"].source)) == \
        ("compact", admin.ConfigSource.DYNAMIC_TOPIC_CONFIG)
    assert (configs["retention.ms"].value, configs["retention.ms"].is_default) == ("604800000", True)

    bad = admin.ConfigResource("topic", topic, incremental_configs=[
        admin.ConfigEntry("no.such.config", "1", incremental_operation=admin.AlterConfigOpType.SET)])
    assert failure(client.incremental_alter_configs([bad])[bad]).code() == kafka.KafkaError.INVALID_CONFIG
    missing = admin.ConfigResource("topic", f"{topic}-missing")
    assert failure(client.describe_configs([missing])[missing]).code() == kafka.KafkaError.UNKNOWN_TOPIC_OR_PART


def test_consumer_groups_are_listed_described_and_deleted(kafka, admin, client, bootstrap, topic):
    produce(kafka, bootstrap, topic, 6, partition=0)
    group = f"{topic}-g"
    member = consumer(kafka, bootstrap, group, client_id="admin-test")
    member.subscribe([topic])
    first = None
    deadline = time.monotonic() + TIMEOUT
    while first is None and time.monotonic() < deadline:
        first = member.poll(0.5)
    assert first is not None and first.error() is None
    member.commit(first, asynchronous=False)

    listed = client.list_consumer_groups(request_timeout=TIMEOUT).result(TIMEOUT)
    mine = [g for g in listed.valid if g.group_id == group]
    assert [(g.state, g.is_simple_consumer_group) for g in mine] == [(kafka.ConsumerGroupState.STABLE, False)]
    empty_only = client.list_consumer_groups(states={kafka.ConsumerGroupState.EMPTY}).result(TIMEOUT)
    assert group not in [g.group_id for g in empty_only.valid]

    described = client.describe_consumer_groups([group, f"{topic}-nobody"])
    description = described[group].result(TIMEOUT)
    assert (description.group_id, description.state, description.partition_assignor) == \
        (group, kafka.ConsumerGroupState.STABLE, "range")
    assert [(m.client_id, sorted((tp.topic, tp.partition) for tp in m.assignment.topic_partitions))
            for m in description.members] == [("admin-test", [(topic, 0), (topic, 1)])]
    nobody = described[f"{topic}-nobody"].result(TIMEOUT)
    assert (nobody.state, nobody.members) == (kafka.ConsumerGroupState.DEAD, [])

    assert failure(client.delete_consumer_groups([group])[group]).code() == kafka.KafkaError.NON_EMPTY_GROUP
    offsets = client.list_consumer_group_offsets([kafka.ConsumerGroupTopicPartitions(group)])[group].result(TIMEOUT)
    assert offsets.group_id == group
    assert [(tp.topic, tp.partition, tp.offset) for tp in offsets.topic_partitions] == [(topic, 0, first.offset() + 1)]
    asked = client.list_consumer_group_offsets([kafka.ConsumerGroupTopicPartitions(
        group, [kafka.TopicPartition(topic, 1)])])[group].result(TIMEOUT)
    assert [(tp.partition, tp.offset) for tp in asked.topic_partitions] == [(1, kafka.OFFSET_INVALID)]

    # Kafka lets an admin move a group's offsets only while it has no members.
    busy = client.alter_consumer_group_offsets([kafka.ConsumerGroupTopicPartitions(
        group, [kafka.TopicPartition(topic, 0, 4)])])[group].result(TIMEOUT)
    assert [tp.error.code() for tp in busy.topic_partitions] == [kafka.KafkaError.UNKNOWN_MEMBER_ID]
    member.close()
    moved = client.alter_consumer_group_offsets([kafka.ConsumerGroupTopicPartitions(
        group, [kafka.TopicPartition(topic, 0, 4)])])[group].result(TIMEOUT)
    assert [(tp.topic, tp.partition, tp.offset, tp.error) for tp in moved.topic_partitions] == [(topic, 0, 4, None)]
    offsets = client.list_consumer_group_offsets([kafka.ConsumerGroupTopicPartitions(group)])[group].result(TIMEOUT)
    assert [tp.offset for tp in offsets.topic_partitions] == [4]

    assert client.delete_consumer_groups([group])[group].result(TIMEOUT) is None
    assert failure(client.delete_consumer_groups([group])[group]).code() == kafka.KafkaError.GROUP_ID_NOT_FOUND


def test_list_offsets_and_delete_records(kafka, admin, client, bootstrap, topic):
    client.create_topics([admin.NewTopic(topic, 1, 1)])[topic].result(TIMEOUT)
    producer = kafka.Producer({"bootstrap.servers": bootstrap})
    for i in range(10):
        producer.produce(topic, b"v", partition=0, timestamp=1_700_000_000_000 + i * 1000)
    assert producer.flush(TIMEOUT) == 0

    def offset(spec):
        (future,) = client.list_offsets({kafka.TopicPartition(topic, 0): spec}).values()
        return future.result(TIMEOUT)

    assert offset(admin.OffsetSpec.earliest()).offset == 0
    assert offset(admin.OffsetSpec.latest()).offset == 10
    found = offset(admin.OffsetSpec.for_timestamp(1_700_000_004_500))
    assert (found.offset, found.timestamp) == (5, 1_700_000_005_000)
    newest = offset(admin.OffsetSpec.max_timestamp())
    assert (newest.offset, newest.timestamp) == (9, 1_700_000_009_000)

    (deleted,) = client.delete_records([kafka.TopicPartition(topic, 0, 4)]).values()
    assert deleted.result(TIMEOUT).low_watermark == 4
    assert offset(admin.OffsetSpec.earliest()).offset == 4
    (beyond,) = client.delete_records([kafka.TopicPartition(topic, 0, 50)]).values()
    assert failure(beyond).code() == kafka.KafkaError.OFFSET_OUT_OF_RANGE
    (missing,) = client.list_offsets({kafka.TopicPartition(topic, 7): admin.OffsetSpec.latest()}).values()
    error = failure(missing)  # librdkafka: _NOENT, "no leaders found"
    assert error.code() == kafka.KafkaError.UNKNOWN_TOPIC_OR_PART or kafka.__name__ == "confluent_kafka"


def test_every_client_lists_topics(kafka, client, bootstrap, topic):
    produce(kafka, bootstrap, topic, 1)
    producer = kafka.Producer({"bootstrap.servers": bootstrap})
    reader = consumer(kafka, bootstrap, f"{topic}-g")
    for metadata in (client.list_topics(topic, timeout=TIMEOUT), producer.list_topics(topic, timeout=TIMEOUT),
                     reader.list_topics(topic, timeout=TIMEOUT)):
        assert sorted(metadata.topics) == [topic]
        assert sorted(metadata.topics[topic].partitions) == [0, 1]
        assert [(b.host, str(b.port)) for b in metadata.brokers.values()] == [tuple(bootstrap.rsplit(":", 1))]
    assert topic in reader.list_topics(timeout=TIMEOUT).topics
    reader.close()


def test_bad_admin_input_raises_at_the_call(kafka, admin, client, bootstrap):
    with pytest.raises(ValueError):
        client.create_topics([])
    with pytest.raises((TypeError, AttributeError)):
        client.create_topics(["not a NewTopic"])
    with pytest.raises(ValueError):
        client.delete_topics([])
    with pytest.raises(ValueError):
        client.describe_consumer_groups([])
    with pytest.raises(kafka.KafkaException) as raised:
        admin.AdminClient({"bootstrap.servers": bootstrap, "no.such.setting": 1})
    assert raised.value.args[0].code() == kafka.KafkaError._INVALID_ARG


def test_an_unreachable_cluster_fails_the_futures(kafka, admin):
    client = admin.AdminClient({"bootstrap.servers": "127.0.0.1:1"})
    futures = client.delete_topics(["anything"], request_timeout=2)
    assert failure(futures["anything"]).code() in (kafka.KafkaError._TRANSPORT, kafka.KafkaError._TIMED_OUT)
