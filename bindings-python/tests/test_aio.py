"""The asyncio clients of confluent_kafka.aio, run with tidelog.aio and with
confluent_kafka.aio (the `kafka` fixture) against a tidelog broker."""

import asyncio
import importlib

import pytest

from test_clients import produce


@pytest.fixture
def aio(kafka):
    return importlib.import_module(kafka.__name__ + ".aio")


def consumer_conf(bootstrap, group):
    return {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
            "enable.auto.commit": False, "session.timeout.ms": 6000, "heartbeat.interval.ms": 500}


def test_await_produce_resolves_to_the_delivered_message(kafka, aio, bootstrap, topic):
    async def main():
        producer = aio.AIOProducer({"bootstrap.servers": bootstrap, "linger.ms": 5})
        pending = [await producer.produce(topic, f"v{i}".encode(), key=b"k", partition=1) for i in range(20)]
        assert all(isinstance(p, asyncio.Future) for p in pending)
        delivered = await asyncio.gather(*pending)
        assert [(m.topic(), m.partition(), m.error()) for m in delivered] == [(topic, 1, None)] * 20
        assert [m.offset() for m in delivered] == list(range(20))
        assert delivered[3].value() == b"v3" and delivered[3].key() == b"k"
        one = await (await producer.produce(topic, b"last", partition=0))
        assert (one.partition(), one.offset(), one.value()) == (0, 0, b"last")
        metadata = await producer.list_topics(topic, timeout=10)
        assert sorted(metadata.topics[topic].partitions) == [0, 1]
        assert await producer.flush(10) == 0
        await producer.close()
    asyncio.run(main())


def test_a_failed_delivery_raises_from_the_future(kafka, aio, bootstrap, topic):
    async def main():
        # The producer's own limit lets the record go; the broker's 1 MiB refuses it.
        limit = "message.max.bytes" if kafka.__name__ == "confluent_kafka" else "max.request.size"
        producer = aio.AIOProducer({"bootstrap.servers": bootstrap, limit: 2_000_000})
        with pytest.raises(kafka.KafkaException) as raised:
            await (await producer.produce(topic, b"x" * 1_500_000))
        assert raised.value.args[0].code() == kafka.KafkaError.MSG_SIZE_TOO_LARGE
        await producer.close()
    try:
        asyncio.run(main())
    except kafka.KafkaException as refused:  # librdkafka may refuse it at produce()
        assert refused.args[0].code() == kafka.KafkaError.MSG_SIZE_TOO_LARGE


def test_purge_fails_the_futures_of_queued_records(kafka, aio, bootstrap, topic):
    async def main():
        producer = aio.AIOProducer({"bootstrap.servers": bootstrap, "linger.ms": 60000})
        pending = [await producer.produce(topic, b"lingering", partition=0) for _ in range(3)]
        await producer.purge(in_queue=True, in_flight=False)
        for future in pending:  # confluent_kafka.aio cancels them
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(future, 10)
        await producer.close()
    asyncio.run(main())


def test_aio_consumer_polls_consumes_commits_and_iterates(kafka, aio, bootstrap, topic):
    produce(kafka, bootstrap, topic, 10, partition=0)

    async def main():
        consumer = aio.AIOConsumer(consumer_conf(bootstrap, f"{topic}-g"))
        await consumer.subscribe([topic])
        first = None
        while first is None:
            first = await consumer.poll(1.0)
        assert first.error() is None and (first.partition(), first.offset()) == (0, 0)
        rest = []
        while len(rest) < 9:
            rest += await consumer.consume(9 - len(rest), timeout=1.0)
        assert [m.offset() for m in rest] == list(range(1, 10))
        committed = await consumer.commit(rest[-1], asynchronous=False)
        assert [(tp.topic, tp.partition, tp.offset) for tp in committed] == [(topic, 0, 10)]
        stored = await consumer.committed([kafka.TopicPartition(topic, 0)], timeout=10)
        assert [tp.offset for tp in stored] == [10]
        assert await consumer.get_watermark_offsets(kafka.TopicPartition(topic, 0), timeout=10) == (0, 10)
        assert topic in (await consumer.list_topics(timeout=10)).topics
        assert await consumer.poll(0.5) is None
        await consumer.close()

        if kafka.__name__ == "confluent_kafka":
            return  # `async for` is tidelog's addition.
        # Another member of the group starts at the commit; `async for` yields what follows.
        produce(kafka, bootstrap, topic, 3, partition=0)
        again = aio.AIOConsumer(consumer_conf(bootstrap, f"{topic}-g"))
        await again.subscribe([topic])
        seen = []
        async def iterate():
            async for msg in again:
                seen.append(msg.offset())
                if len(seen) == 3:
                    return
        await asyncio.wait_for(iterate(), 30)
        assert seen == [10, 11, 12]
        await again.close()
    asyncio.run(main())


def test_aio_consumer_assign_seek_pause_and_resume(kafka, aio, bootstrap, topic):
    produce(kafka, bootstrap, topic, 5, partition=1)

    async def main():
        consumer = aio.AIOConsumer(consumer_conf(bootstrap, f"{topic}-g"))
        tp = kafka.TopicPartition(topic, 1, 3)
        await consumer.assign([tp])
        assert [(p.topic, p.partition) for p in await consumer.assignment()] == [(topic, 1)]
        msg = None
        while msg is None:
            msg = await consumer.poll(1.0)
        assert msg.offset() == 3
        await consumer.seek(kafka.TopicPartition(topic, 1, 0))
        await consumer.pause([kafka.TopicPartition(topic, 1)])
        assert await consumer.poll(0.5) is None
        await consumer.resume([kafka.TopicPartition(topic, 1)])
        msg = None
        while msg is None:
            msg = await consumer.poll(1.0)
        assert msg.offset() == 0
        await consumer.close()
    asyncio.run(main())


def test_aio_rebalance_callbacks_are_awaited_and_revoke_can_commit(kafka, aio, bootstrap, topic):
    produce(kafka, bootstrap, topic, 2, partition=0)
    group = f"{topic}-g"
    assigned, revoked = [], []

    async def main():
        consumer = aio.AIOConsumer(consumer_conf(bootstrap, group))

        async def on_assign(c, partitions):
            assert c is consumer
            await asyncio.sleep(0.01)  # a coroutine, awaited before the rebalance goes on
            assigned.append(sorted((p.topic, p.partition) for p in partitions))

        async def on_revoke(c, partitions):
            revoked.append(sorted((p.topic, p.partition) for p in partitions))
            await c.commit(offsets=[kafka.TopicPartition(topic, 0, 2)], asynchronous=False)

        await consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
        msg = None
        while msg is None:
            msg = await consumer.poll(1.0)
        await consumer.unsubscribe()
        found = await consumer.offsets_for_times([kafka.TopicPartition(topic, 0, 0)], timeout=10)
        assert [(p.partition, p.offset) for p in found] == [(0, 0)]
        await consumer.close()
        reader = kafka.Consumer(consumer_conf(bootstrap, group))
        committed = reader.committed([kafka.TopicPartition(topic, 0)], timeout=10)
        reader.close()
        return committed[0].offset
    assert asyncio.run(main()) == 2, "on_revoke's commit went through before the group was left"
    assert assigned[0] == [(topic, 0), (topic, 1)]
    assert revoked and revoked[0] == [(topic, 0), (topic, 1)]
