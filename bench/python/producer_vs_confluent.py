#!/usr/bin/env python3
"""tidelog.Producer against confluent_kafka.Producer (librdkafka), same broker, same loop.

Each run produces --records records of --size bytes to a fresh one-partition topic with
acks=--acks, linger.ms=5, batch.size=1000000 and idempotence off, calling poll(0) after
every produce (poll(0.01) on BufferError) and flush() at the end, with a delivery callback
that counts errors. Runs alternate between the clients (tidelog, confluent, tidelog, ...)
so that both see the same broker state and machine noise. Prints every run, the medians
in records/s and MB/s (10^6 bytes of values per second), and tidelog / confluent.

    python3 bench/python/producer_vs_confluent.py --bootstrap 127.0.0.1:19200 \
        --records 1000000 --size 100 --acks 1 --runs 5
"""

import argparse
import statistics
import time
import uuid

import confluent_kafka
import tidelog
from confluent_kafka.admin import AdminClient, NewTopic

# Per-client settings for the same behaviour: librdkafka bounds its queue by messages,
# tidelog (like the Java client) by bytes; both are large enough not to block.
QUEUE = {
    "tidelog": {"buffer.memory": 512 * 1024 * 1024},
    "confluent_kafka": {"queue.buffering.max.messages": 1_000_000},
}


def produce(library, bootstrap, topic, records, size, acks):
    producer = library.Producer({
        "bootstrap.servers": bootstrap,
        "acks": acks,
        "linger.ms": 5,
        "batch.size": 1_000_000,
        "enable.idempotence": False,
        **QUEUE[library.__name__],
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
    remaining = producer.flush(300)
    elapsed = time.perf_counter() - start
    if remaining or failures:
        raise SystemExit(f"{library.__name__}: {remaining} undelivered, {len(failures)} errors, first {failures[:1]}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=100, help="value size in bytes")
    parser.add_argument("--acks", default="1")
    parser.add_argument("--runs", type=int, default=5, help="runs per client")
    args = parser.parse_args()

    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    times = {"tidelog": [], "confluent_kafka": []}
    for run in range(args.runs):
        for library in (tidelog, confluent_kafka):
            topic = f"bench-{library.__name__}-{uuid.uuid4().hex[:8]}"
            admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
            elapsed = produce(library, args.bootstrap, topic, args.records, args.size, args.acks)
            times[library.__name__].append(elapsed)
            print(f"run {run + 1} {library.__name__:16} {elapsed:7.3f} s  {args.records / elapsed:12,.0f} records/s",
                  flush=True)
    medians = {name: statistics.median(t) for name, t in times.items()}
    for name, median in medians.items():
        rate = args.records / median
        print(f"median {name:16} {median:7.3f} s  {rate:12,.0f} records/s  {rate * args.size / 1e6:7.1f} MB/s")
    print(f"tidelog / confluent_kafka = {medians['confluent_kafka'] / medians['tidelog']:.2f}")


if __name__ == "__main__":
    main()
