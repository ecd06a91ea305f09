"""The admin client and its types, as `confluent_kafka.admin` has them.

`AdminClient(conf)` methods return a dict of `concurrent.futures.Future` per item (topic,
resource, group, partition), or one future; a future's `result()` gives the item's result
or raises `KafkaException` with the Kafka error the broker reported for it
(TOPIC_ALREADY_EXISTS, UNKNOWN_TOPIC_OR_PART, NON_EMPTY_GROUP, ...). The futures are
completed by tidelog's Rust runtime: no thread is started per call.

These classes are plain data: the native `AdminClient` reads their attributes and builds
the results from them.
"""

from enum import Enum
from typing import Dict, List, Optional, Union

from ._native import AdminClient, TopicPartition
from .error import KafkaError


class NewTopic:
    """A topic for `create_topics`: `num_partitions` and `replication_factor` -1 take the
    broker's defaults (`num.partitions`, `default.replication.factor`; KIP-464); `config`
    holds topic configs by Kafka key (e.g. `{"cleanup.policy": "compact"}`).
    `replica_assignment` is not supported by tidelog (a non-empty one raises ValueError)."""

    def __init__(self, topic: str, num_partitions: int = -1, replication_factor: int = -1,
                 replica_assignment: Optional[List[List[int]]] = None,
                 config: Optional[Dict[str, str]] = None):
        self.topic = topic
        self.num_partitions = num_partitions
        self.replication_factor = replication_factor
        self.replica_assignment = list(replica_assignment or [])
        self.config = dict(config or {})

    def __repr__(self):
        return f"NewTopic(topic={self.topic},num_partitions={self.num_partitions})"


class NewPartitions:
    """For `create_partitions`: grow `topic` to `new_total_count` partitions in total
    (KIP-195). `replica_assignment` is not supported by tidelog (ValueError)."""

    def __init__(self, topic: str, new_total_count: int,
                 replica_assignment: Optional[List[List[int]]] = None):
        self.topic = topic
        self.new_total_count = new_total_count
        self.replica_assignment = list(replica_assignment or [])

    def __repr__(self):
        return f"NewPartitions(topic={self.topic},new_total_count={self.new_total_count})"


class ResourceType(Enum):
    """Kafka's resource types (wire values); configs exist for TOPIC and BROKER."""
    UNKNOWN = 0
    ANY = 1
    TOPIC = 2
    GROUP = 3
    BROKER = 4
    TRANSACTIONAL_ID = 5


class ConfigSource(Enum):
    """Where a described config value comes from (Kafka's ConfigSource, DescribeConfigs v1+)."""
    UNKNOWN_CONFIG = 0
    DYNAMIC_TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5
    GROUP_CONFIG = 8


class AlterConfigOpType(Enum):
    """An `incremental_alter_configs` operation (KIP-339)."""
    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


class ConfigEntry:
    """One config: `name`, `value` (str, or None when sensitive or unset), `source`
    (a ConfigSource value, as an int like confluent-kafka's) and flags, as `describe_configs` returns them; for
    `incremental_alter_configs`, `name`, `value` and `incremental_operation`
    (AlterConfigOpType)."""

    def __init__(self, name: str, value: Optional[str], source: int = ConfigSource.UNKNOWN_CONFIG.value,
                 is_read_only: bool = False, is_default: bool = False, is_sensitive: bool = False,
                 is_synonym: bool = False, synonyms: Optional[Dict[str, "ConfigEntry"]] = None,
                 incremental_operation: Optional[AlterConfigOpType] = None):
        self.name = name
        self.value = value
        self.source = source
        self.is_read_only = bool(is_read_only)
        self.is_default = bool(is_default)
        self.is_sensitive = bool(is_sensitive)
        self.is_synonym = bool(is_synonym)
        self.synonyms = dict(synonyms or {})
        self.incremental_operation = incremental_operation

    def __repr__(self):
        return f'ConfigEntry({self.name}="{self.value}")'

    def __str__(self):
        return f'{self.name}="{self.value}"'


class ConfigResource:
    """A topic or broker whose configs `describe_configs` reads or
    `incremental_alter_configs` changes (the `incremental_configs` list of ConfigEntry).
    `restype` is a ResourceType, its name ("topic", "broker") or its number. Equal and
    hashed by (restype, name), so it keys the dict of futures."""

    Type = ResourceType

    def __init__(self, restype: Union[ResourceType, str, int], name: str,
                 set_config: Optional[Dict[str, str]] = None,
                 described_configs: Optional[Dict[str, ConfigEntry]] = None,
                 error: Optional[KafkaError] = None,
                 incremental_configs: Optional[List[ConfigEntry]] = None):
        if isinstance(restype, str):
            restype = ResourceType[restype.upper()]
        elif isinstance(restype, int):
            restype = ResourceType(restype)
        if not isinstance(restype, ResourceType):
            raise TypeError(f"restype must be a ResourceType, str or int, not {type(restype).__name__}")
        self.restype = restype
        self.restype_int = restype.value
        self.name = name
        self.set_config_dict = dict(set_config or {})
        self.incremental_configs = list(incremental_configs or [])
        self.configs = described_configs
        self.error = error

    def add_incremental_config(self, config: ConfigEntry) -> None:
        self.incremental_configs.append(config)

    def set_config(self, name: str, value: str, overwrite: bool = True) -> None:
        if overwrite or name not in self.set_config_dict:
            self.set_config_dict[name] = value

    def __hash__(self):
        return hash((self.restype, self.name))

    def __eq__(self, other):
        if not isinstance(other, ConfigResource):
            return NotImplemented
        return (self.restype, self.name) == (other.restype, other.name)

    def __lt__(self, other):
        return (self.restype.value, self.name) < (other.restype.value, other.name)

    def __len__(self):
        return len(self.set_config_dict)

    def __repr__(self):
        return f"ConfigResource({self.restype},{self.name})"


class ConsumerGroupState(Enum):
    """A group's state (Kafka's classic group states)."""
    UNKNOWN = 0
    PREPARING_REBALANCING = 1
    COMPLETING_REBALANCING = 2
    STABLE = 3
    DEAD = 4
    EMPTY = 5


class ConsumerGroupType(Enum):
    """The group protocol (KIP-848's CONSUMER, or the CLASSIC one); UNKNOWN when the
    broker does not say."""
    UNKNOWN = 0
    CONSUMER = 1
    CLASSIC = 2


class IsolationLevel(Enum):
    """For `list_offsets`: tidelog reads READ_UNCOMMITTED (the high watermark)."""
    READ_UNCOMMITTED = 0
    READ_COMMITTED = 1


class Node:
    """A broker: `id` (node id), `host`, `port`, `rack` (None)."""

    def __init__(self, id: int, host: str, port: int, rack: Optional[str] = None):
        self.id = id
        self.id_string = str(id)
        self.host = host
        self.port = port
        self.rack = rack

    def __repr__(self):
        return f"Node({self.id}, {self.host}:{self.port})"


class ConsumerGroupTopicPartitions:
    """A group and a list of TopicPartition: the request and the result of
    `list_consumer_group_offsets` and `alter_consumer_group_offsets`."""

    def __init__(self, group_id: str, topic_partitions: Optional[List[TopicPartition]] = None):
        self.group_id = group_id
        self.topic_partitions = topic_partitions

    def __repr__(self):
        return f"ConsumerGroupTopicPartitions({self.group_id}, {self.topic_partitions})"


class ConsumerGroupListing:
    """One group of `list_consumer_groups`: `group_id`, `is_simple_consumer_group` (no
    protocol type: a group that only commits offsets), `state` (ConsumerGroupState),
    `type` (ConsumerGroupType)."""

    def __init__(self, group_id: str, is_simple_consumer_group: bool,
                 state: Optional[ConsumerGroupState] = None, type: Optional[ConsumerGroupType] = None):
        self.group_id = group_id
        self.is_simple_consumer_group = is_simple_consumer_group
        self.state = state
        self.type = type


class ListConsumerGroupsResult:
    """`list_consumer_groups`'s result: `valid` (list of ConsumerGroupListing) and
    `errors` (list of KafkaError; tidelog fails the future instead)."""

    def __init__(self, valid: Optional[List[ConsumerGroupListing]] = None,
                 errors: Optional[List[KafkaError]] = None):
        self.valid = valid
        self.errors = errors


class MemberAssignment:
    """A member's assigned partitions (`topic_partitions`, list of TopicPartition)."""

    def __init__(self, topic_partitions: Optional[List[TopicPartition]] = None):
        self.topic_partitions = list(topic_partitions or [])


class MemberDescription:
    """A group member: `member_id`, `client_id`, `host`, `assignment` (MemberAssignment),
    `group_instance_id` (static membership, KIP-345)."""

    def __init__(self, member_id: str, client_id: str, host: str, assignment: MemberAssignment,
                 group_instance_id: Optional[str] = None,
                 target_assignment: Optional[MemberAssignment] = None):
        self.member_id = member_id
        self.client_id = client_id
        self.host = host
        self.assignment = assignment
        self.group_instance_id = group_instance_id
        self.target_assignment = target_assignment


class ConsumerGroupDescription:
    """`describe_consumer_groups`'s result per group: `members` (list of
    MemberDescription), `partition_assignor` (e.g. "range", "" unless Stable), `state`
    (ConsumerGroupState; DEAD for a group that does not exist), `coordinator` (Node, None:
    tidelog does not report it), `type`."""

    def __init__(self, group_id: str, is_simple_consumer_group: bool, members: List[MemberDescription],
                 partition_assignor: str, state: Optional[ConsumerGroupState], coordinator: Optional[Node],
                 authorized_operations: Optional[list] = None,
                 type: ConsumerGroupType = ConsumerGroupType.UNKNOWN):
        self.group_id = group_id
        self.is_simple_consumer_group = is_simple_consumer_group
        self.members = members
        self.partition_assignor = partition_assignor
        self.state = state
        self.coordinator = coordinator
        self.authorized_operations = authorized_operations
        self.type = type


class OffsetSpec:
    """Which offset `list_offsets` finds: `OffsetSpec.earliest()` (log start),
    `latest()` (high watermark), `max_timestamp()` (the record with the largest
    timestamp, KIP-734) or `for_timestamp(ms)` (the first offset whose timestamp is at
    least `ms`)."""

    def __init__(self, value: int):
        # Kafka's ListOffsets timestamp: -2 earliest, -1 latest, -3 max timestamp, or ms.
        self._value = int(value)

    @classmethod
    def earliest(cls) -> "OffsetSpec":
        return cls(-2)

    @classmethod
    def latest(cls) -> "OffsetSpec":
        return cls(-1)

    @classmethod
    def max_timestamp(cls) -> "OffsetSpec":
        return cls(-3)

    @classmethod
    def for_timestamp(cls, timestamp: int) -> "OffsetSpec":
        if timestamp < 0:
            raise ValueError(f"a timestamp must be >= 0 ms, not {timestamp}")
        return cls(timestamp)

    def __eq__(self, other):
        return isinstance(other, OffsetSpec) and self._value == other._value

    def __hash__(self):
        return hash(self._value)

    def __repr__(self):
        return f"OffsetSpec({self._value})"


class ListOffsetsResultInfo:
    """`list_offsets`' result per partition: `offset` (-1 when no record has a timestamp
    at or after the one asked), `timestamp` (ms; -1 for earliest/latest), `leader_epoch`
    (None: tidelog does not report it)."""

    def __init__(self, offset: int, timestamp: int, leader_epoch: Optional[int] = None):
        self.offset = offset
        self.timestamp = timestamp
        self.leader_epoch = leader_epoch if leader_epoch is not None and leader_epoch >= 0 else None

    def __repr__(self):
        return f"ListOffsetsResultInfo(offset={self.offset},timestamp={self.timestamp})"


class DeletedRecords:
    """`delete_records`' result per partition: the new `low_watermark` (log start offset)."""

    def __init__(self, low_watermark: int):
        self.low_watermark = low_watermark

    def __repr__(self):
        return f"DeletedRecords(low_watermark={self.low_watermark})"


class BrokerMetadata:
    """A broker in ClusterMetadata: `id`, `host`, `port`."""

    def __init__(self, id: int = -1, host: Optional[str] = None, port: int = -1):
        self.id = id
        self.host = host
        self.port = port

    def __repr__(self):
        return f"BrokerMetadata({self.id}, {self.host}:{self.port})"

    def __str__(self):
        return f"{self.host}:{self.port}/{self.id}"


class PartitionMetadata:
    """A partition in TopicMetadata: `id`, `leader` (-1: none), `replicas` and `isrs`
    (node ids), `error` (KafkaError or None)."""

    def __init__(self, id: int = -1, leader: int = -1, replicas: Optional[List[int]] = None,
                 isrs: Optional[List[int]] = None, error: Optional[KafkaError] = None):
        self.id = id
        self.leader = leader
        self.replicas = list(replicas or [])
        self.isrs = list(isrs or [])
        self.error = error

    def __repr__(self):
        return f"PartitionMetadata({self.id})"


class TopicMetadata:
    """A topic in ClusterMetadata: `topic`, `partitions` ({id: PartitionMetadata}),
    `error` (KafkaError, e.g. UNKNOWN_TOPIC_OR_PART, or None)."""

    def __init__(self, topic: Optional[str] = None, partitions: Optional[Dict[int, PartitionMetadata]] = None,
                 error: Optional[KafkaError] = None):
        self.topic = topic
        self.partitions = dict(partitions or {})
        self.error = error

    def __repr__(self):
        return f"TopicMetadata({self.topic}, {len(self.partitions)} partitions)"

    def __str__(self):
        return str(self.topic)


class ClusterMetadata:
    """What `list_topics` returns: `cluster_id`, `controller_id`, `brokers` ({id:
    BrokerMetadata}), `topics` ({name: TopicMetadata}), `orig_broker_id` and
    `orig_broker_name` (-1 and None: tidelog does not say which broker answered)."""

    def __init__(self, cluster_id: Optional[str] = None, controller_id: int = -1,
                 brokers: Optional[Dict[int, BrokerMetadata]] = None,
                 topics: Optional[Dict[str, TopicMetadata]] = None,
                 orig_broker_id: int = -1, orig_broker_name: Optional[str] = None):
        self.cluster_id = cluster_id
        self.controller_id = controller_id
        self.brokers = dict(brokers or {})
        self.topics = dict(topics or {})
        self.orig_broker_id = orig_broker_id
        self.orig_broker_name = orig_broker_name

    def __repr__(self):
        return f"ClusterMetadata({self.cluster_id})"

    def __str__(self):
        return str(self.cluster_id)


__all__ = [
    "AdminClient", "AlterConfigOpType", "BrokerMetadata", "ClusterMetadata", "ConfigEntry",
    "ConfigResource", "ConfigSource", "ConsumerGroupDescription", "ConsumerGroupListing",
    "ConsumerGroupState", "ConsumerGroupTopicPartitions", "ConsumerGroupType", "DeletedRecords",
    "IsolationLevel", "ListConsumerGroupsResult", "ListOffsetsResultInfo", "MemberAssignment",
    "MemberDescription", "NewPartitions", "NewTopic", "Node", "OffsetSpec", "PartitionMetadata",
    "ResourceType", "TopicMetadata",
]
