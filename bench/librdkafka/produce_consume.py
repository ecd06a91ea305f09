#!/usr/bin/env python3
"""librdkafka (through confluent-kafka) producing then consuming N records against a broker.

Prints one line per phase: records/s and MB/s (10^6 bytes of record values per second),
median of --runs runs, each run on a fresh topic.

    python3 bench/librdkafka/produce_consume.py --bootstrap 127.0.0.1:9092 \
        --records 1000000 --size 100 --acks 1 --runs 3
"""

import argparse
import statistics
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def produce(bootstrap, topic, records, size, acks):
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "acks": acks,
        "linger.ms": 5,
        "batch.size": 1_000_000,
        "queue.buffering.max.messages": 1_000_000,
        "enable.idempotence": False,
    })
    payload = b"x" * size
    failures = []

    def on_delivery(err, _msg):
        if err is not None:
            failures.append(err)

    start = time.perf_counter()
    for _ in range(records):
        while True:
            try:
                producer.produce(topic, payload, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    remaining = producer.flush(120)
    elapsed = time.perf_counter() - start
    if remaining or failures:
        raise SystemExit(f"produce failed: {remaining} undelivered, {len(failures)} errors, first {failures[:1]}")
    return elapsed


def consume(bootstrap, topic, records):
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"bench-{uuid.uuid4()}",
        "enable.auto.commit": False,
        "fetch.wait.max.ms": 100,
    })
    consumer.assign([TopicPartition(topic, 0, 0)])
    seen = 0
    start = time.perf_counter()
    while seen < records:
        for message in consumer.consume(10_000, 1.0):
            if message.error() is None:
                seen += 1
    elapsed = time.perf_counter() - start
    consumer.close()
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=100, help="value size in bytes")
    parser.add_argument("--acks", default="1")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    results = {"produce": [], "consume": []}
    for _ in range(args.runs):
        topic = f"bench-{uuid.uuid4().hex[:8]}"
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
        results["produce"].append(produce(args.bootstrap, topic, args.records, args.size, args.acks))
        results["consume"].append(consume(args.bootstrap, topic, args.records))
    for phase, times in results.items():
        seconds = statistics.median(times)
        rate = args.records / seconds
        print(f"{phase}: {rate:,.0f} records/s, {rate * args.size / 1e6:.1f} MB/s "
              f"(median of {args.runs}: {', '.join(f'{t:.2f}s' for t in times)})")


if __name__ == "__main__":
    main()
