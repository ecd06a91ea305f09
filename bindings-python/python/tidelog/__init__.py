"""tidelog: Kafka clients with confluent-kafka's API, and an embedded broker.

Replace `import confluent_kafka` with `import tidelog` and keep your code::

    from tidelog import Consumer, EmbeddedBroker, Producer

    with EmbeddedBroker() as broker:
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
        producer.produce("events", b"hello", key=b"user-1")
        producer.flush()
        consumer = Consumer({"bootstrap.servers": broker.bootstrap_servers,
                             "group.id": "readers", "auto.offset.reset": "earliest"})
        consumer.subscribe(["events"])
        print(consumer.poll(10).value())
        consumer.close()
"""

from ._native import Consumer, EmbeddedBroker, Message, Producer, TopicPartition
from .error import KafkaError, KafkaException
from . import admin
from .admin import (ConsumerGroupState, ConsumerGroupTopicPartitions, ConsumerGroupType, IsolationLevel,
                    Node)

OFFSET_BEGINNING = -2
OFFSET_END = -1
OFFSET_STORED = -1000
OFFSET_INVALID = -1001

TIMESTAMP_NOT_AVAILABLE = 0
TIMESTAMP_CREATE_TIME = 1
TIMESTAMP_LOG_APPEND_TIME = 2

__all__ = [
    "Consumer",
    "ConsumerGroupState",
    "ConsumerGroupTopicPartitions",
    "ConsumerGroupType",
    "EmbeddedBroker",
    "IsolationLevel",
    "KafkaError",
    "KafkaException",
    "Message",
    "Node",
    "OFFSET_BEGINNING",
    "OFFSET_END",
    "OFFSET_INVALID",
    "OFFSET_STORED",
    "Producer",
    "TIMESTAMP_CREATE_TIME",
    "TIMESTAMP_LOG_APPEND_TIME",
    "TIMESTAMP_NOT_AVAILABLE",
    "TopicPartition",
]
