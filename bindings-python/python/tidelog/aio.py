"""asyncio clients, as `confluent_kafka.aio` (2.13+) has them: `AIOProducer` and
`AIOConsumer`, whose methods are coroutines.

No thread runs per call, and none sits in an executor: each waiting call is a task on
tidelog's Rust runtime, which resolves an asyncio future of the running loop through
`loop.call_soon_threadsafe` when it is done. Create the clients inside a running loop.

    async with AIOProducer({"bootstrap.servers": servers}) as producer:
        delivered = await (await producer.produce("events", b"hello"))   # a Message

    consumer = AIOConsumer({"bootstrap.servers": servers, "group.id": "readers"})
    await consumer.subscribe(["events"])
    async for msg in consumer:                                         # beyond confluent
        ...

Rebalance callbacks (`on_assign`, `on_revoke`, `on_lost`) are coroutine functions, as
confluent_kafka.aio has them, awaited on the loop with `(AIOConsumer, [TopicPartition])`
while a `poll`, `consume`, `commit`, `unsubscribe` or `close` of the consumer waits; the
rebalance waits for them, so `on_revoke` can still `await consumer.commit(...)`. Plain
functions are called as well.
"""

import asyncio
import inspect
from typing import Any, Dict, List, Optional

from ._native import Consumer, Message, Producer, TopicPartition
from .error import KafkaError, KafkaException

__all__ = ["AIOConsumer", "AIOProducer"]

_PURGED = (KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT)


def _settle(future: asyncio.Future, value: Any, error: Optional[BaseException]) -> None:
    """Resolves `future` on its loop's thread (called by the Rust runtime through
    `call_soon_threadsafe`); a future the application cancelled stays cancelled."""
    if future.done():
        return
    if error is None:
        future.set_result(value)
    elif isinstance(error, KafkaException) and error.args[0].code() in _PURGED:
        # confluent_kafka.aio cancels the futures of purged records.
        future.cancel()
    else:
        future.set_exception(error)


class AIOProducer:
    """confluent-kafka's Producer config (`bootstrap.servers`, `acks`, `linger.ms`, ...).
    Raises KafkaException(_INVALID_ARG) naming a bad key."""

    def __init__(self, producer_conf: Dict[str, Any], **kwargs: Any):
        # confluent_kafka.aio's max_workers, executor, batch_size and buffer_timeout
        # tune its thread pool and batching; tidelog has neither, so they are ignored.
        for name in kwargs:
            if name not in ("max_workers", "executor", "batch_size", "buffer_timeout"):
                raise TypeError(f"AIOProducer() got an unexpected keyword argument '{name}'")
        self._producer = Producer(producer_conf)

    async def __aenter__(self) -> "AIOProducer":
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.close()

    async def produce(self, topic: str, value: Any = None, key: Any = None, partition: int = -1,
                      timestamp: int = 0, headers: Any = None) -> "asyncio.Future[Message]":
        """Queues a record (as `Producer.produce`) and returns an asyncio Future that
        resolves to the delivered Message, or raises KafkaException with the delivery
        error: `await (await producer.produce(...))` waits for delivery. Raises BufferError
        when `buffer.memory` is full, KafkaException / TypeError for bad records."""
        return self._producer._produce_future(topic, value, key, partition, timestamp, headers)

    async def poll(self, timeout: float = 0) -> int:
        """Serves delivery callbacks of records given to the underlying `produce` with
        `on_delivery` (none here: `produce` resolves futures instead); returns 0."""
        return self._producer.poll(0)

    async def flush(self, timeout: Optional[float] = None) -> int:
        """Waits until every record produced so far is reported (at most `timeout` seconds;
        None: no limit). Returns how many are still unreported (0 when all are)."""
        try:
            await asyncio.wait_for(self._producer._flush_future(), timeout)
        except asyncio.TimeoutError:
            pass
        return len(self._producer)

    async def list_topics(self, topic: Optional[str] = None, timeout: Optional[float] = None) -> Any:
        """The cluster's ClusterMetadata (`topic` alone if given), within `timeout` seconds
        (asyncio.TimeoutError after)."""
        return await asyncio.wait_for(self._producer._metadata_future(topic), timeout)

    async def purge(self, in_queue: bool = True, in_flight: bool = True, blocking: bool = True) -> None:
        """Fails records without waiting for them, as `Producer.purge`: their futures are
        cancelled, as confluent_kafka.aio cancels them (with `in_queue`, records not yet
        sent; with `in_flight`, records awaiting the broker's response, which may or may
        not have been written)."""
        self._producer.purge(in_queue, in_flight, blocking)

    async def close(self) -> None:
        """Flushes, then closes: later `produce` calls raise KafkaException."""
        await self.flush()
        self._producer.close(0)

    def __len__(self) -> int:
        return len(self._producer)


class AIOConsumer:
    """confluent-kafka's Consumer config (`bootstrap.servers`, `group.id`,
    `auto.offset.reset`, ...). Raises KafkaException(_INVALID_ARG) naming a bad key.
    `async for msg in consumer` yields records and error events as they come."""

    def __init__(self, consumer_conf: Dict[str, Any], **kwargs: Any):
        # confluent_kafka.aio's max_workers and executor size its thread pool; tidelog
        # has none, so they are ignored.
        for name in kwargs:
            if name not in ("max_workers", "executor"):
                raise TypeError(f"AIOConsumer() got an unexpected keyword argument '{name}'")
        self._consumer = Consumer(consumer_conf)
        self._events: Optional[asyncio.Future] = None

    async def __aenter__(self) -> "AIOConsumer":
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.close()

    def __aiter__(self) -> "AIOConsumer":
        return self

    async def __anext__(self) -> Message:
        while True:
            msg = await self.poll(None)
            if msg is not None:
                return msg

    async def _serve_rebalances(self) -> None:
        """Runs the callbacks of waiting rebalance events, awaiting coroutines; each
        rebalance goes on once its callback returned or raised (its exception
        propagates)."""
        while True:
            event = self._consumer._next_rebalance()
            if event is None:
                return
            callback, partitions = event
            try:
                outcome = callback(self, partitions)
                if inspect.isawaitable(outcome):
                    await outcome
            finally:
                self._consumer._rebalance_done()

    async def _serving(self, work: asyncio.Future) -> Any:
        """Awaits `work` while serving rebalance callbacks whenever an event arrives. One
        events future is kept and never cancelled (see the native `_events_future`)."""
        while True:
            await self._serve_rebalances()
            if self._events is None or self._events.done():
                self._events = self._consumer._events_future()
            await asyncio.wait({work, self._events}, return_when=asyncio.FIRST_COMPLETED)
            if work.done():
                await self._serve_rebalances()
                return work.result()

    async def poll(self, timeout: Optional[float] = None) -> Optional[Message]:
        """The next record, an error event (`msg.error()` set), or None after `timeout`
        seconds (None or -1: no limit)."""
        return await self._serving(self._consumer._poll_future(timeout))

    async def consume(self, num_messages: int = 1, timeout: Optional[float] = None) -> List[Message]:
        """Up to `num_messages` records (and error events) arriving within `timeout`
        seconds (None or -1: no limit)."""
        if not 1 <= num_messages <= 1_000_000:
            raise ValueError(f"num_messages must be between 1 and 1000000, not {num_messages}")
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None or timeout < 0 else loop.time() + timeout
        messages: List[Message] = []
        while len(messages) < num_messages:
            left = None if deadline is None else max(0.0, deadline - loop.time())
            msg = await self.poll(left)
            if msg is None:
                break
            messages.append(msg)
        return messages

    async def commit(self, message: Optional[Message] = None, offsets: Optional[List[TopicPartition]] = None,
                     asynchronous: bool = True) -> Optional[List[TopicPartition]]:
        """As `Consumer.commit`: with `asynchronous=False` it waits and returns the
        committed list of TopicPartition (KafkaException on failure); otherwise it returns
        None at once."""
        if asynchronous:
            return self._consumer.commit(message=message, offsets=offsets, asynchronous=True)
        return await self._serving(self._consumer._commit_future(message, offsets))

    async def offsets_for_times(self, partitions: List[TopicPartition],
                                timeout: Optional[float] = None) -> List[TopicPartition]:
        """For each partition, whose `offset` holds a timestamp (ms), the earliest offset
        with a timestamp at or after it (-1 when none)."""
        return await asyncio.wait_for(self._consumer._offsets_for_times_future(partitions), timeout)

    async def committed(self, partitions: List[TopicPartition], timeout: Optional[float] = None) -> List[TopicPartition]:
        """The group's committed offsets (OFFSET_INVALID where none)."""
        return await asyncio.wait_for(self._consumer._committed_future(partitions), timeout)

    async def get_watermark_offsets(self, partition: TopicPartition, timeout: Optional[float] = None,
                                    cached: bool = False) -> tuple:
        """(low, high) watermarks of `partition`, asked of its leader."""
        return await asyncio.wait_for(self._consumer._watermarks_future(partition), timeout)

    async def list_topics(self, topic: Optional[str] = None, timeout: Optional[float] = None) -> Any:
        """The cluster's ClusterMetadata (`topic` alone if given)."""
        return await asyncio.wait_for(self._consumer._metadata_future(topic), timeout)

    async def subscribe(self, topics: List[str], on_assign: Any = None, on_revoke: Any = None,
                        on_lost: Any = None) -> None:
        """As `Consumer.subscribe`; the callbacks are coroutine functions taking
        `(AIOConsumer, [TopicPartition])`."""
        self._consumer.subscribe(topics, on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)

    async def unsubscribe(self) -> None:
        """Leaves the group (on_revoke runs first) and drops the subscription."""
        await self._serving(self._consumer._unsubscribe_future())

    async def assign(self, partitions: List[TopicPartition]) -> None:
        self._consumer.assign(partitions)

    async def incremental_assign(self, partitions: List[TopicPartition]) -> None:
        self._consumer.incremental_assign(partitions)

    async def unassign(self) -> None:
        self._consumer.unassign()

    async def assignment(self) -> List[TopicPartition]:
        return self._consumer.assignment()

    async def position(self, partitions: List[TopicPartition]) -> List[TopicPartition]:
        return self._consumer.position(partitions)

    async def seek(self, partition: TopicPartition) -> None:
        self._consumer.seek(partition)

    async def pause(self, partitions: List[TopicPartition]) -> None:
        self._consumer.pause(partitions)

    async def resume(self, partitions: List[TopicPartition]) -> None:
        self._consumer.resume(partitions)

    async def close(self) -> None:
        """Commits (with `enable.auto.commit`), runs on_revoke, leaves the group and stops;
        later calls raise KafkaException(_STATE). Closing twice is harmless."""
        await self._serving(self._consumer._close_future())
