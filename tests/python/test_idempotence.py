"""librdkafka's idempotent producer (enable.idempotence=true) against tidelog: InitProducerId,
per-partition sequence numbers, and every record exactly once at contiguous offsets."""

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

TIMEOUT = 30


def test_idempotent_producer_writes_every_record_exactly_once(bootstrap):
    topic = "idempotent-writes"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(TIMEOUT)
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "linger.ms": 2,
        "batch.num.messages": 100,
        "max.in.flight.requests.per.connection": 5,
    })
    delivered = []

    def on_delivery(err, msg):
        assert err is None, err
        delivered.append((msg.partition(), msg.offset(), msg.value()))

    count = 6000
    for i in range(count):
        producer.produce(topic, key=f"key-{i % 97}".encode(), value=f"value-{i}".encode(), on_delivery=on_delivery)
        if i % 500 == 0:
            producer.poll(0)
    assert producer.flush(TIMEOUT) == 0
    assert len(delivered) == count

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "idempotence-check", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(3)])
    read = []
    while len(read) < count:
        messages = consumer.consume(1000, 5)
        assert messages, f"stalled after {len(read)} records"
        for message in messages:
            assert message.error() is None, message.error()
            read.append((message.partition(), message.offset(), message.value()))
    consumer.close()
    assert sorted(read) == sorted(delivered), "each record once, at the offset it was acknowledged with"
    for partition in range(3):
        offsets = sorted(o for p, o, _ in read if p == partition)
        assert offsets == list(range(len(offsets))), f"partition {partition} offsets are contiguous"
