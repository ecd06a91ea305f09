// Generated from the core's ErrorCode and LocalCode by bindings-c/tests/header.rs
// (`TIDELOG_BLESS=1 cargo test -p tidelog-c --test header`): do not edit.

/// An error code: Kafka's error codes at their Kafka values (Kafka protocol guide,
/// "Error Codes"), and client-side codes below -100 with librdkafka's values and
/// names (a double underscore after `TL_RESP_ERR`). `tl_err2name` and `tl_err2str`
/// give each one's name and description.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tl_resp_err_t {
    /// A request could not be encoded or a response decoded.
    TL_RESP_ERR__BAD_MSG = -199,
    /// A local failure (a broker that cannot start, an internal error).
    TL_RESP_ERR__FAIL = -196,
    /// The connection to a broker failed or closed.
    TL_RESP_ERR__TRANSPORT = -195,
    /// The record was not delivered within delivery.timeout.ms.
    TL_RESP_ERR__MSG_TIMED_OUT = -192,
    /// An argument or configuration value is invalid.
    TL_RESP_ERR__INVALID_ARG = -186,
    /// The operation did not finish in time.
    TL_RESP_ERR__TIMED_OUT = -185,
    /// The producer holds buffer.memory bytes of records; poll to make room.
    TL_RESP_ERR__QUEUE_FULL = -184,
    /// The client is in a state that does not allow the call (closed).
    TL_RESP_ERR__STATE = -172,
    /// The broker does not support a protocol version the call needs.
    TL_RESP_ERR__UNSUPPORTED_FEATURE = -165,
    /// The record was purged from the producer's queue before it was sent.
    TL_RESP_ERR__PURGE_QUEUE = -152,
    /// The record was purged while in flight: it may or may not have been written.
    TL_RESP_ERR__PURGE_INFLIGHT = -151,
    /// The server hit an unexpected error while handling the request.
    TL_RESP_ERR_UNKNOWN_SERVER_ERROR = -1,
    /// No error.
    TL_RESP_ERR_NONE = 0,
    /// The offset is outside the range the partition holds.
    TL_RESP_ERR_OFFSET_OUT_OF_RANGE = 1,
    /// The record batch failed validation (CRC, size, or a null key on a compacted topic).
    TL_RESP_ERR_CORRUPT_MESSAGE = 2,
    /// This broker does not host the topic or partition.
    TL_RESP_ERR_UNKNOWN_TOPIC_OR_PARTITION = 3,
    /// The fetch size is invalid.
    TL_RESP_ERR_INVALID_FETCH_SIZE = 4,
    /// The partition has no leader at the moment.
    TL_RESP_ERR_LEADER_NOT_AVAILABLE = 5,
    /// This broker is not the leader (or a replica) of the partition.
    TL_RESP_ERR_NOT_LEADER_OR_FOLLOWER = 6,
    /// The request timed out.
    TL_RESP_ERR_REQUEST_TIMED_OUT = 7,
    /// The broker is not available.
    TL_RESP_ERR_BROKER_NOT_AVAILABLE = 8,
    /// The replica is not available.
    TL_RESP_ERR_REPLICA_NOT_AVAILABLE = 9,
    /// A record batch is larger than the broker or topic accepts.
    TL_RESP_ERR_MESSAGE_TOO_LARGE = 10,
    /// The controller epoch is stale.
    TL_RESP_ERR_STALE_CONTROLLER_EPOCH = 11,
    /// The offset commit metadata is too large.
    TL_RESP_ERR_OFFSET_METADATA_TOO_LARGE = 12,
    /// The connection closed before a response arrived.
    TL_RESP_ERR_NETWORK_EXCEPTION = 13,
    /// The coordinator is still loading its state.
    TL_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
    /// The coordinator is not available.
    TL_RESP_ERR_COORDINATOR_NOT_AVAILABLE = 15,
    /// This broker is not the coordinator for the group or transaction.
    TL_RESP_ERR_NOT_COORDINATOR = 16,
    /// The topic name is invalid or the topic cannot be used this way.
    TL_RESP_ERR_INVALID_TOPIC_EXCEPTION = 17,
    /// The record batch is larger than the segment size.
    TL_RESP_ERR_RECORD_LIST_TOO_LARGE = 18,
    /// Fewer in-sync replicas than min.insync.replicas; nothing was written.
    TL_RESP_ERR_NOT_ENOUGH_REPLICAS = 19,
    /// Written, but to fewer in-sync replicas than required.
    TL_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20,
    /// acks must be 0, 1 or -1.
    TL_RESP_ERR_INVALID_REQUIRED_ACKS = 21,
    /// The group generation is not the current one.
    TL_RESP_ERR_ILLEGAL_GENERATION = 22,
    /// The member's protocols do not match the group's.
    TL_RESP_ERR_INCONSISTENT_GROUP_PROTOCOL = 23,
    /// The group id is invalid.
    TL_RESP_ERR_INVALID_GROUP_ID = 24,
    /// The coordinator does not know this member.
    TL_RESP_ERR_UNKNOWN_MEMBER_ID = 25,
    /// The session timeout is outside the broker's allowed range.
    TL_RESP_ERR_INVALID_SESSION_TIMEOUT = 26,
    /// The group is rebalancing; rejoin.
    TL_RESP_ERR_REBALANCE_IN_PROGRESS = 27,
    /// The committed offset data is too large.
    TL_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE = 28,
    /// Not authorized to access the topic.
    TL_RESP_ERR_TOPIC_AUTHORIZATION_FAILED = 29,
    /// Not authorized to access the group.
    TL_RESP_ERR_GROUP_AUTHORIZATION_FAILED = 30,
    /// Not authorized for this cluster operation.
    TL_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED = 31,
    /// A record timestamp is outside the accepted range.
    TL_RESP_ERR_INVALID_TIMESTAMP = 32,
    /// The SASL mechanism is not supported.
    TL_RESP_ERR_UNSUPPORTED_SASL_MECHANISM = 33,
    /// The request is not valid in the current SASL state.
    TL_RESP_ERR_ILLEGAL_SASL_STATE = 34,
    /// The API version is not supported.
    TL_RESP_ERR_UNSUPPORTED_VERSION = 35,
    /// A topic with this name already exists.
    TL_RESP_ERR_TOPIC_ALREADY_EXISTS = 36,
    /// The number of partitions is invalid.
    TL_RESP_ERR_INVALID_PARTITIONS = 37,
    /// The replication factor is invalid.
    TL_RESP_ERR_INVALID_REPLICATION_FACTOR = 38,
    /// The replica assignment is invalid.
    TL_RESP_ERR_INVALID_REPLICA_ASSIGNMENT = 39,
    /// The configuration is invalid.
    TL_RESP_ERR_INVALID_CONFIG = 40,
    /// This broker is not the controller.
    TL_RESP_ERR_NOT_CONTROLLER = 41,
    /// The request is malformed or not valid for this broker.
    TL_RESP_ERR_INVALID_REQUEST = 42,
    /// The message format does not support the request.
    TL_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT = 43,
    /// The request violates a configured policy.
    TL_RESP_ERR_POLICY_VIOLATION = 44,
    /// The producer's sequence number is out of order.
    TL_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45,
    /// The producer's sequence number is a duplicate.
    TL_RESP_ERR_DUPLICATE_SEQUENCE_NUMBER = 46,
    /// The producer epoch is older than the current one.
    TL_RESP_ERR_INVALID_PRODUCER_EPOCH = 47,
    /// The transactional operation is not valid in the current state.
    TL_RESP_ERR_INVALID_TXN_STATE = 48,
    /// The producer id is not assigned to this transactional id.
    TL_RESP_ERR_INVALID_PRODUCER_ID_MAPPING = 49,
    /// The transaction timeout exceeds the broker's maximum.
    TL_RESP_ERR_INVALID_TRANSACTION_TIMEOUT = 50,
    /// Another operation on the same transaction is in progress.
    TL_RESP_ERR_CONCURRENT_TRANSACTIONS = 51,
    /// The transaction coordinator is no longer current.
    TL_RESP_ERR_TRANSACTION_COORDINATOR_FENCED = 52,
    /// Not authorized for the transactional id.
    TL_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53,
    /// Security features are disabled.
    TL_RESP_ERR_SECURITY_DISABLED = 54,
    /// The broker did not attempt this operation.
    TL_RESP_ERR_OPERATION_NOT_ATTEMPTED = 55,
    /// A disk error occurred while accessing the log.
    TL_RESP_ERR_KAFKA_STORAGE_ERROR = 56,
    /// The log directory is not configured on the broker.
    TL_RESP_ERR_LOG_DIR_NOT_FOUND = 57,
    /// SASL authentication failed.
    TL_RESP_ERR_SASL_AUTHENTICATION_FAILED = 58,
    /// The broker has no state for this producer id.
    TL_RESP_ERR_UNKNOWN_PRODUCER_ID = 59,
    /// A partition reassignment is in progress.
    TL_RESP_ERR_REASSIGNMENT_IN_PROGRESS = 60,
    /// Delegation tokens are disabled.
    TL_RESP_ERR_DELEGATION_TOKEN_AUTH_DISABLED = 61,
    /// The delegation token was not found.
    TL_RESP_ERR_DELEGATION_TOKEN_NOT_FOUND = 62,
    /// The principal is not the token's owner or renewer.
    TL_RESP_ERR_DELEGATION_TOKEN_OWNER_MISMATCH = 63,
    /// Delegation token requests are not allowed on this channel.
    TL_RESP_ERR_DELEGATION_TOKEN_REQUEST_NOT_ALLOWED = 64,
    /// Delegation token authorization failed.
    TL_RESP_ERR_DELEGATION_TOKEN_AUTHORIZATION_FAILED = 65,
    /// The delegation token has expired.
    TL_RESP_ERR_DELEGATION_TOKEN_EXPIRED = 66,
    /// The principal type is not supported.
    TL_RESP_ERR_INVALID_PRINCIPAL_TYPE = 67,
    /// The group is not empty.
    TL_RESP_ERR_NON_EMPTY_GROUP = 68,
    /// The group does not exist.
    TL_RESP_ERR_GROUP_ID_NOT_FOUND = 69,
    /// The fetch session was not found.
    TL_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND = 70,
    /// The fetch session epoch is invalid.
    TL_RESP_ERR_INVALID_FETCH_SESSION_EPOCH = 71,
    /// No listener on the leader matches the one the request came in on.
    TL_RESP_ERR_LISTENER_NOT_FOUND = 72,
    /// Topic deletion is disabled.
    TL_RESP_ERR_TOPIC_DELETION_DISABLED = 73,
    /// The request's leader epoch is older than the broker's.
    TL_RESP_ERR_FENCED_LEADER_EPOCH = 74,
    /// The request's leader epoch is newer than the broker's.
    TL_RESP_ERR_UNKNOWN_LEADER_EPOCH = 75,
    /// The client does not support the partition's compression type.
    TL_RESP_ERR_UNSUPPORTED_COMPRESSION_TYPE = 76,
    /// The broker epoch has changed.
    TL_RESP_ERR_STALE_BROKER_EPOCH = 77,
    /// The new leader's high watermark has not caught up yet.
    TL_RESP_ERR_OFFSET_NOT_AVAILABLE = 78,
    /// The member must rejoin with the member id it was given.
    TL_RESP_ERR_MEMBER_ID_REQUIRED = 79,
    /// The preferred leader is not available.
    TL_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE = 80,
    /// The group has reached its maximum size.
    TL_RESP_ERR_GROUP_MAX_SIZE_REACHED = 81,
    /// Another member with the same group.instance.id replaced this one.
    TL_RESP_ERR_FENCED_INSTANCE_ID = 82,
    /// No eligible leader is available.
    TL_RESP_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE = 83,
    /// No leader election is needed.
    TL_RESP_ERR_ELECTION_NOT_NEEDED = 84,
    /// No partition reassignment is in progress.
    TL_RESP_ERR_NO_REASSIGNMENT_IN_PROGRESS = 85,
    /// The group is subscribed to the topic whose offsets are being deleted.
    TL_RESP_ERR_GROUP_SUBSCRIBED_TO_TOPIC = 86,
    /// A record failed broker-side validation.
    TL_RESP_ERR_INVALID_RECORD = 87,
    /// Pending transactional offsets must be resolved first.
    TL_RESP_ERR_UNSTABLE_OFFSET_COMMIT = 88,
    /// The throttling quota was exceeded.
    TL_RESP_ERR_THROTTLING_QUOTA_EXCEEDED = 89,
    /// A newer producer with the same transactional id fenced this one.
    TL_RESP_ERR_PRODUCER_FENCED = 90,
    /// The referenced resource does not exist.
    TL_RESP_ERR_RESOURCE_NOT_FOUND = 91,
    /// The same resource was named twice.
    TL_RESP_ERR_DUPLICATE_RESOURCE = 92,
    /// The credential does not meet the acceptance criteria.
    TL_RESP_ERR_UNACCEPTABLE_CREDENTIAL = 93,
    /// The sender or receiver is not an expected voter.
    TL_RESP_ERR_INCONSISTENT_VOTER_SET = 94,
    /// The update version is invalid.
    TL_RESP_ERR_INVALID_UPDATE_VERSION = 95,
    /// Finalized features could not be updated.
    TL_RESP_ERR_FEATURE_UPDATE_FAILED = 96,
    /// The forwarded principal could not be read.
    TL_RESP_ERR_PRINCIPAL_DESERIALIZATION_FAILURE = 97,
    /// The snapshot was not found.
    TL_RESP_ERR_SNAPSHOT_NOT_FOUND = 98,
    /// The snapshot position is out of range.
    TL_RESP_ERR_POSITION_OUT_OF_RANGE = 99,
    /// This broker does not host the topic id.
    TL_RESP_ERR_UNKNOWN_TOPIC_ID = 100,
    /// The broker id is already registered.
    TL_RESP_ERR_DUPLICATE_BROKER_REGISTRATION = 101,
    /// The broker id is not registered.
    TL_RESP_ERR_BROKER_ID_NOT_REGISTERED = 102,
    /// The topic id does not match the log's.
    TL_RESP_ERR_INCONSISTENT_TOPIC_ID = 103,
    /// The cluster id does not match.
    TL_RESP_ERR_INCONSISTENT_CLUSTER_ID = 104,
    /// The transactional id was not found.
    TL_RESP_ERR_TRANSACTIONAL_ID_NOT_FOUND = 105,
    /// The fetch session used topic ids inconsistently.
    TL_RESP_ERR_FETCH_SESSION_TOPIC_ID_ERROR = 106,
    /// The new ISR contains an ineligible replica.
    TL_RESP_ERR_INELIGIBLE_REPLICA = 107,
    /// The partition state changed, but so did the leader.
    TL_RESP_ERR_NEW_LEADER_ELECTED = 108,
    /// The offset is in tiered storage.
    TL_RESP_ERR_OFFSET_MOVED_TO_TIERED_STORAGE = 109,
    /// The member epoch is fenced; rejoin.
    TL_RESP_ERR_FENCED_MEMBER_EPOCH = 110,
    /// The instance id is still held by another member.
    TL_RESP_ERR_UNRELEASED_INSTANCE_ID = 111,
    /// The assignor is not supported by the group.
    TL_RESP_ERR_UNSUPPORTED_ASSIGNOR = 112,
    /// The member epoch is stale.
    TL_RESP_ERR_STALE_MEMBER_EPOCH = 113,
    /// The request went to the wrong kind of endpoint.
    TL_RESP_ERR_MISMATCHED_ENDPOINT_TYPE = 114,
    /// The endpoint type is not supported.
    TL_RESP_ERR_UNSUPPORTED_ENDPOINT_TYPE = 115,
    /// The controller id is unknown.
    TL_RESP_ERR_UNKNOWN_CONTROLLER_ID = 116,
    /// The telemetry subscription id is unknown or outdated.
    TL_RESP_ERR_UNKNOWN_SUBSCRIPTION_ID = 117,
    /// The telemetry push is too large.
    TL_RESP_ERR_TELEMETRY_TOO_LARGE = 118,
    /// The broker registration is invalid.
    TL_RESP_ERR_INVALID_REGISTRATION = 119,
    /// The transaction failed and can be aborted.
    TL_RESP_ERR_TRANSACTION_ABORTABLE = 120,
    /// The record state does not allow this acknowledgement.
    TL_RESP_ERR_INVALID_RECORD_STATE = 121,
    /// The share session was not found.
    TL_RESP_ERR_SHARE_SESSION_NOT_FOUND = 122,
    /// The share session epoch is invalid.
    TL_RESP_ERR_INVALID_SHARE_SESSION_EPOCH = 123,
    /// The share-group state epoch does not match.
    TL_RESP_ERR_FENCED_STATE_EPOCH = 124,
    /// The voter key does not match.
    TL_RESP_ERR_INVALID_VOTER_KEY = 125,
    /// The voter is already in the voter set.
    TL_RESP_ERR_DUPLICATE_VOTER = 126,
    /// The voter is not in the voter set.
    TL_RESP_ERR_VOTER_NOT_FOUND = 127,
    /// The regular expression is invalid.
    TL_RESP_ERR_INVALID_REGULAR_EXPRESSION = 128,
    /// The client must rebootstrap its metadata.
    TL_RESP_ERR_REBOOTSTRAP_REQUIRED = 129,
}

impl tl_resp_err_t {
    /// The code with this number, if the enum has it.
    pub(crate) fn from_code(code: i32) -> Option<tl_resp_err_t> {
        match code {
            -199 => Some(tl_resp_err_t::TL_RESP_ERR__BAD_MSG),
            -196 => Some(tl_resp_err_t::TL_RESP_ERR__FAIL),
            -195 => Some(tl_resp_err_t::TL_RESP_ERR__TRANSPORT),
            -192 => Some(tl_resp_err_t::TL_RESP_ERR__MSG_TIMED_OUT),
            -186 => Some(tl_resp_err_t::TL_RESP_ERR__INVALID_ARG),
            -185 => Some(tl_resp_err_t::TL_RESP_ERR__TIMED_OUT),
            -184 => Some(tl_resp_err_t::TL_RESP_ERR__QUEUE_FULL),
            -172 => Some(tl_resp_err_t::TL_RESP_ERR__STATE),
            -165 => Some(tl_resp_err_t::TL_RESP_ERR__UNSUPPORTED_FEATURE),
            -152 => Some(tl_resp_err_t::TL_RESP_ERR__PURGE_QUEUE),
            -151 => Some(tl_resp_err_t::TL_RESP_ERR__PURGE_INFLIGHT),
            -1 => Some(tl_resp_err_t::TL_RESP_ERR_UNKNOWN_SERVER_ERROR),
            0 => Some(tl_resp_err_t::TL_RESP_ERR_NONE),
            1 => Some(tl_resp_err_t::TL_RESP_ERR_OFFSET_OUT_OF_RANGE),
            2 => Some(tl_resp_err_t::TL_RESP_ERR_CORRUPT_MESSAGE),
            3 => Some(tl_resp_err_t::TL_RESP_ERR_UNKNOWN_TOPIC_OR_PARTITION),
            4 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_FETCH_SIZE),
            5 => Some(tl_resp_err_t::TL_RESP_ERR_LEADER_NOT_AVAILABLE),
            6 => Some(tl_resp_err_t::TL_RESP_ERR_NOT_LEADER_OR_FOLLOWER),
            7 => Some(tl_resp_err_t::TL_RESP_ERR_REQUEST_TIMED_OUT),
            8 => Some(tl_resp_err_t::TL_RESP_ERR_BROKER_NOT_AVAILABLE),
            9 => Some(tl_resp_err_t::TL_RESP_ERR_REPLICA_NOT_AVAILABLE),
            10 => Some(tl_resp_err_t::TL_RESP_ERR_MESSAGE_TOO_LARGE),
            11 => Some(tl_resp_err_t::TL_RESP_ERR_STALE_CONTROLLER_EPOCH),
            12 => Some(tl_resp_err_t::TL_RESP_ERR_OFFSET_METADATA_TOO_LARGE),
            13 => Some(tl_resp_err_t::TL_RESP_ERR_NETWORK_EXCEPTION),
            14 => Some(tl_resp_err_t::TL_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS),
            15 => Some(tl_resp_err_t::TL_RESP_ERR_COORDINATOR_NOT_AVAILABLE),
            16 => Some(tl_resp_err_t::TL_RESP_ERR_NOT_COORDINATOR),
            17 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_TOPIC_EXCEPTION),
            18 => Some(tl_resp_err_t::TL_RESP_ERR_RECORD_LIST_TOO_LARGE),
            19 => Some(tl_resp_err_t::TL_RESP_ERR_NOT_ENOUGH_REPLICAS),
            20 => Some(tl_resp_err_t::TL_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND),
            21 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_REQUIRED_ACKS),
            22 => Some(tl_resp_err_t::TL_RESP_ERR_ILLEGAL_GENERATION),
            23 => Some(tl_resp_err_t::TL_RESP_ERR_INCONSISTENT_GROUP_PROTOCOL),
            24 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_GROUP_ID),
            25 => Some(tl_resp_err_t::TL_RESP_ERR_UNKNOWN_MEMBER_ID),
            26 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_SESSION_TIMEOUT),
            27 => Some(tl_resp_err_t::TL_RESP_ERR_REBALANCE_IN_PROGRESS),
            28 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE),
            29 => Some(tl_resp_err_t::TL_RESP_ERR_TOPIC_AUTHORIZATION_FAILED),
            30 => Some(tl_resp_err_t::TL_RESP_ERR_GROUP_AUTHORIZATION_FAILED),
            31 => Some(tl_resp_err_t::TL_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED),
            32 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_TIMESTAMP),
            33 => Some(tl_resp_err_t::TL_RESP_ERR_UNSUPPORTED_SASL_MECHANISM),
            34 => Some(tl_resp_err_t::TL_RESP_ERR_ILLEGAL_SASL_STATE),
            35 => Some(tl_resp_err_t::TL_RESP_ERR_UNSUPPORTED_VERSION),
            36 => Some(tl_resp_err_t::TL_RESP_ERR_TOPIC_ALREADY_EXISTS),
            37 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_PARTITIONS),
            38 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_REPLICATION_FACTOR),
            39 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_REPLICA_ASSIGNMENT),
            40 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_CONFIG),
            41 => Some(tl_resp_err_t::TL_RESP_ERR_NOT_CONTROLLER),
            42 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_REQUEST),
            43 => Some(tl_resp_err_t::TL_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT),
            44 => Some(tl_resp_err_t::TL_RESP_ERR_POLICY_VIOLATION),
            45 => Some(tl_resp_err_t::TL_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER),
            46 => Some(tl_resp_err_t::TL_RESP_ERR_DUPLICATE_SEQUENCE_NUMBER),
            47 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_PRODUCER_EPOCH),
            48 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_TXN_STATE),
            49 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_PRODUCER_ID_MAPPING),
            50 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_TRANSACTION_TIMEOUT),
            51 => Some(tl_resp_err_t::TL_RESP_ERR_CONCURRENT_TRANSACTIONS),
            52 => Some(tl_resp_err_t::TL_RESP_ERR_TRANSACTION_COORDINATOR_FENCED),
            53 => Some(tl_resp_err_t::TL_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
            54 => Some(tl_resp_err_t::TL_RESP_ERR_SECURITY_DISABLED),
            55 => Some(tl_resp_err_t::TL_RESP_ERR_OPERATION_NOT_ATTEMPTED),
            56 => Some(tl_resp_err_t::TL_RESP_ERR_KAFKA_STORAGE_ERROR),
            57 => Some(tl_resp_err_t::TL_RESP_ERR_LOG_DIR_NOT_FOUND),
            58 => Some(tl_resp_err_t::TL_RESP_ERR_SASL_AUTHENTICATION_FAILED),
            59 => Some(tl_resp_err_t::TL_RESP_ERR_UNKNOWN_PRODUCER_ID),
            60 => Some(tl_resp_err_t::TL_RESP_ERR_REASSIGNMENT_IN_PROGRESS),
            61 => Some(tl_resp_err_t::TL_RESP_ERR_DELEGATION_TOKEN_AUTH_DISABLED),
            62 => Some(tl_resp_err_t::TL_RESP_ERR_DELEGATION_TOKEN_NOT_FOUND),
            63 => Some(tl_resp_err_t::TL_RESP_ERR_DELEGATION_TOKEN_OWNER_MISMATCH),
            64 => Some(tl_resp_err_t::TL_RESP_ERR_DELEGATION_TOKEN_REQUEST_NOT_ALLOWED),
            65 => Some(tl_resp_err_t::TL_RESP_ERR_DELEGATION_TOKEN_AUTHORIZATION_FAILED),
            66 => Some(tl_resp_err_t::TL_RESP_ERR_DELEGATION_TOKEN_EXPIRED),
            67 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_PRINCIPAL_TYPE),
            68 => Some(tl_resp_err_t::TL_RESP_ERR_NON_EMPTY_GROUP),
            69 => Some(tl_resp_err_t::TL_RESP_ERR_GROUP_ID_NOT_FOUND),
            70 => Some(tl_resp_err_t::TL_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND),
            71 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_FETCH_SESSION_EPOCH),
            72 => Some(tl_resp_err_t::TL_RESP_ERR_LISTENER_NOT_FOUND),
            73 => Some(tl_resp_err_t::TL_RESP_ERR_TOPIC_DELETION_DISABLED),
            74 => Some(tl_resp_err_t::TL_RESP_ERR_FENCED_LEADER_EPOCH),
            75 => Some(tl_resp_err_t::TL_RESP_ERR_UNKNOWN_LEADER_EPOCH),
            76 => Some(tl_resp_err_t::TL_RESP_ERR_UNSUPPORTED_COMPRESSION_TYPE),
            77 => Some(tl_resp_err_t::TL_RESP_ERR_STALE_BROKER_EPOCH),
            78 => Some(tl_resp_err_t::TL_RESP_ERR_OFFSET_NOT_AVAILABLE),
            79 => Some(tl_resp_err_t::TL_RESP_ERR_MEMBER_ID_REQUIRED),
            80 => Some(tl_resp_err_t::TL_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE),
            81 => Some(tl_resp_err_t::TL_RESP_ERR_GROUP_MAX_SIZE_REACHED),
            82 => Some(tl_resp_err_t::TL_RESP_ERR_FENCED_INSTANCE_ID),
            83 => Some(tl_resp_err_t::TL_RESP_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE),
            84 => Some(tl_resp_err_t::TL_RESP_ERR_ELECTION_NOT_NEEDED),
            85 => Some(tl_resp_err_t::TL_RESP_ERR_NO_REASSIGNMENT_IN_PROGRESS),
            86 => Some(tl_resp_err_t::TL_RESP_ERR_GROUP_SUBSCRIBED_TO_TOPIC),
            87 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_RECORD),
            88 => Some(tl_resp_err_t::TL_RESP_ERR_UNSTABLE_OFFSET_COMMIT),
            89 => Some(tl_resp_err_t::TL_RESP_ERR_THROTTLING_QUOTA_EXCEEDED),
            90 => Some(tl_resp_err_t::TL_RESP_ERR_PRODUCER_FENCED),
            91 => Some(tl_resp_err_t::TL_RESP_ERR_RESOURCE_NOT_FOUND),
            92 => Some(tl_resp_err_t::TL_RESP_ERR_DUPLICATE_RESOURCE),
            93 => Some(tl_resp_err_t::TL_RESP_ERR_UNACCEPTABLE_CREDENTIAL),
            94 => Some(tl_resp_err_t::TL_RESP_ERR_INCONSISTENT_VOTER_SET),
            95 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_UPDATE_VERSION),
            96 => Some(tl_resp_err_t::TL_RESP_ERR_FEATURE_UPDATE_FAILED),
            97 => Some(tl_resp_err_t::TL_RESP_ERR_PRINCIPAL_DESERIALIZATION_FAILURE),
            98 => Some(tl_resp_err_t::TL_RESP_ERR_SNAPSHOT_NOT_FOUND),
            99 => Some(tl_resp_err_t::TL_RESP_ERR_POSITION_OUT_OF_RANGE),
            100 => Some(tl_resp_err_t::TL_RESP_ERR_UNKNOWN_TOPIC_ID),
            101 => Some(tl_resp_err_t::TL_RESP_ERR_DUPLICATE_BROKER_REGISTRATION),
            102 => Some(tl_resp_err_t::TL_RESP_ERR_BROKER_ID_NOT_REGISTERED),
            103 => Some(tl_resp_err_t::TL_RESP_ERR_INCONSISTENT_TOPIC_ID),
            104 => Some(tl_resp_err_t::TL_RESP_ERR_INCONSISTENT_CLUSTER_ID),
            105 => Some(tl_resp_err_t::TL_RESP_ERR_TRANSACTIONAL_ID_NOT_FOUND),
            106 => Some(tl_resp_err_t::TL_RESP_ERR_FETCH_SESSION_TOPIC_ID_ERROR),
            107 => Some(tl_resp_err_t::TL_RESP_ERR_INELIGIBLE_REPLICA),
            108 => Some(tl_resp_err_t::TL_RESP_ERR_NEW_LEADER_ELECTED),
            109 => Some(tl_resp_err_t::TL_RESP_ERR_OFFSET_MOVED_TO_TIERED_STORAGE),
            110 => Some(tl_resp_err_t::TL_RESP_ERR_FENCED_MEMBER_EPOCH),
            111 => Some(tl_resp_err_t::TL_RESP_ERR_UNRELEASED_INSTANCE_ID),
            112 => Some(tl_resp_err_t::TL_RESP_ERR_UNSUPPORTED_ASSIGNOR),
            113 => Some(tl_resp_err_t::TL_RESP_ERR_STALE_MEMBER_EPOCH),
            114 => Some(tl_resp_err_t::TL_RESP_ERR_MISMATCHED_ENDPOINT_TYPE),
            115 => Some(tl_resp_err_t::TL_RESP_ERR_UNSUPPORTED_ENDPOINT_TYPE),
            116 => Some(tl_resp_err_t::TL_RESP_ERR_UNKNOWN_CONTROLLER_ID),
            117 => Some(tl_resp_err_t::TL_RESP_ERR_UNKNOWN_SUBSCRIPTION_ID),
            118 => Some(tl_resp_err_t::TL_RESP_ERR_TELEMETRY_TOO_LARGE),
            119 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_REGISTRATION),
            120 => Some(tl_resp_err_t::TL_RESP_ERR_TRANSACTION_ABORTABLE),
            121 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_RECORD_STATE),
            122 => Some(tl_resp_err_t::TL_RESP_ERR_SHARE_SESSION_NOT_FOUND),
            123 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_SHARE_SESSION_EPOCH),
            124 => Some(tl_resp_err_t::TL_RESP_ERR_FENCED_STATE_EPOCH),
            125 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_VOTER_KEY),
            126 => Some(tl_resp_err_t::TL_RESP_ERR_DUPLICATE_VOTER),
            127 => Some(tl_resp_err_t::TL_RESP_ERR_VOTER_NOT_FOUND),
            128 => Some(tl_resp_err_t::TL_RESP_ERR_INVALID_REGULAR_EXPRESSION),
            129 => Some(tl_resp_err_t::TL_RESP_ERR_REBOOTSTRAP_REQUIRED),
            _ => None,
        }
    }
}
