//! Kafka's error codes ([`ErrorCode`]) and the error every client call returns
//! ([`Error`]): one taxonomy for the broker, the clients and every binding.
//!
//! Numbers and names are Kafka's (Kafka protocol guide: "Error Codes"); `retriable`
//! follows Kafka's classification (its `RetriableException` family). The descriptions are
//! ours.

#![warn(missing_docs)]

/// Declares [`ErrorCode`] and its lookup table from one list.
macro_rules! error_codes {
    ($($variant:ident = ($code:expr, $name:expr, $retriable:expr, $description:expr),)*) => {
        /// A Kafka protocol error code, with Kafka's numeric value as discriminant.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(i16)]
        pub enum ErrorCode {
            $(
                #[doc = $description]
                $variant = $code,
            )*
        }

        impl ErrorCode {
            /// Every known code, in numeric order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code's name as Kafka spells it, e.g. `"NOT_LEADER_OR_FOLLOWER"`.
            pub fn name(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name,)* }
            }

            /// Whether a client may retry the operation as it is.
            pub fn is_retriable(self) -> bool {
                match self { $(ErrorCode::$variant => $retriable,)* }
            }

            /// A one-sentence description.
            pub fn description(self) -> &'static str {
                match self { $(ErrorCode::$variant => $description,)* }
            }

            /// The code with this number; unknown numbers are `None`.
            pub fn from_code(code: i16) -> Option<ErrorCode> {
                match code { $($code => Some(ErrorCode::$variant),)* _ => None }
            }

            /// The code with this name (`"UNKNOWN_TOPIC_OR_PARTITION"`); `None` if unknown.
            pub fn from_name(name: &str) -> Option<ErrorCode> {
                match name { $($name => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

error_codes! {
    UnknownServerError = (-1, "UNKNOWN_SERVER_ERROR", false, "The server hit an unexpected error while handling the request."),
    None = (0, "NONE", false, "No error."),
    OffsetOutOfRange = (1, "OFFSET_OUT_OF_RANGE", false, "The offset is outside the range the partition holds."),
    CorruptMessage = (2, "CORRUPT_MESSAGE", true, "The record batch failed validation (CRC, size, or a null key on a compacted topic)."),
    UnknownTopicOrPartition = (3, "UNKNOWN_TOPIC_OR_PARTITION", true, "This broker does not host the topic or partition."),
    InvalidFetchSize = (4, "INVALID_FETCH_SIZE", false, "The fetch size is invalid."),
    LeaderNotAvailable = (5, "LEADER_NOT_AVAILABLE", true, "The partition has no leader at the moment."),
    NotLeaderOrFollower = (6, "NOT_LEADER_OR_FOLLOWER", true, "This broker is not the leader (or a replica) of the partition."),
    RequestTimedOut = (7, "REQUEST_TIMED_OUT", true, "The request timed out."),
    BrokerNotAvailable = (8, "BROKER_NOT_AVAILABLE", false, "The broker is not available."),
    ReplicaNotAvailable = (9, "REPLICA_NOT_AVAILABLE", true, "The replica is not available."),
    MessageTooLarge = (10, "MESSAGE_TOO_LARGE", false, "A record batch is larger than the broker or topic accepts."),
    StaleControllerEpoch = (11, "STALE_CONTROLLER_EPOCH", false, "The controller epoch is stale."),
    OffsetMetadataTooLarge = (12, "OFFSET_METADATA_TOO_LARGE", false, "The offset commit metadata is too large."),
    NetworkException = (13, "NETWORK_EXCEPTION", true, "The connection closed before a response arrived."),
    CoordinatorLoadInProgress = (14, "COORDINATOR_LOAD_IN_PROGRESS", true, "The coordinator is still loading its state."),
    CoordinatorNotAvailable = (15, "COORDINATOR_NOT_AVAILABLE", true, "The coordinator is not available."),
    NotCoordinator = (16, "NOT_COORDINATOR", true, "This broker is not the coordinator for the group or transaction."),
    InvalidTopicException = (17, "INVALID_TOPIC_EXCEPTION", false, "The topic name is invalid or the topic cannot be used this way."),
    RecordListTooLarge = (18, "RECORD_LIST_TOO_LARGE", false, "The record batch is larger than the segment size."),
    NotEnoughReplicas = (19, "NOT_ENOUGH_REPLICAS", true, "Fewer in-sync replicas than min.insync.replicas; nothing was written."),
    NotEnoughReplicasAfterAppend = (20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", true, "Written, but to fewer in-sync replicas than required."),
    InvalidRequiredAcks = (21, "INVALID_REQUIRED_ACKS", false, "acks must be 0, 1 or -1."),
    IllegalGeneration = (22, "ILLEGAL_GENERATION", false, "The group generation is not the current one."),
    InconsistentGroupProtocol = (23, "INCONSISTENT_GROUP_PROTOCOL", false, "The member's protocols do not match the group's."),
    InvalidGroupId = (24, "INVALID_GROUP_ID", false, "The group id is invalid."),
    UnknownMemberId = (25, "UNKNOWN_MEMBER_ID", false, "The coordinator does not know this member."),
    InvalidSessionTimeout = (26, "INVALID_SESSION_TIMEOUT", false, "The session timeout is outside the broker's allowed range."),
    RebalanceInProgress = (27, "REBALANCE_IN_PROGRESS", false, "The group is rebalancing; rejoin."),
    InvalidCommitOffsetSize = (28, "INVALID_COMMIT_OFFSET_SIZE", false, "The committed offset data is too large."),
    TopicAuthorizationFailed = (29, "TOPIC_AUTHORIZATION_FAILED", false, "Not authorized to access the topic."),
    GroupAuthorizationFailed = (30, "GROUP_AUTHORIZATION_FAILED", false, "Not authorized to access the group."),
    ClusterAuthorizationFailed = (31, "CLUSTER_AUTHORIZATION_FAILED", false, "Not authorized for this cluster operation."),
    InvalidTimestamp = (32, "INVALID_TIMESTAMP", false, "A record timestamp is outside the accepted range."),
    UnsupportedSaslMechanism = (33, "UNSUPPORTED_SASL_MECHANISM", false, "The SASL mechanism is not supported."),
    IllegalSaslState = (34, "ILLEGAL_SASL_STATE", false, "The request is not valid in the current SASL state."),
    UnsupportedVersion = (35, "UNSUPPORTED_VERSION", false, "The API version is not supported."),
    TopicAlreadyExists = (36, "TOPIC_ALREADY_EXISTS", false, "A topic with this name already exists."),
    InvalidPartitions = (37, "INVALID_PARTITIONS", false, "The number of partitions is invalid."),
    InvalidReplicationFactor = (38, "INVALID_REPLICATION_FACTOR", false, "The replication factor is invalid."),
    InvalidReplicaAssignment = (39, "INVALID_REPLICA_ASSIGNMENT", false, "The replica assignment is invalid."),
    InvalidConfig = (40, "INVALID_CONFIG", false, "The configuration is invalid."),
    NotController = (41, "NOT_CONTROLLER", true, "This broker is not the controller."),
    InvalidRequest = (42, "INVALID_REQUEST", false, "The request is malformed or not valid for this broker."),
    UnsupportedForMessageFormat = (43, "UNSUPPORTED_FOR_MESSAGE_FORMAT", false, "The message format does not support the request."),
    PolicyViolation = (44, "POLICY_VIOLATION", false, "The request violates a configured policy."),
    OutOfOrderSequenceNumber = (45, "OUT_OF_ORDER_SEQUENCE_NUMBER", false, "The producer's sequence number is out of order."),
    DuplicateSequenceNumber = (46, "DUPLICATE_SEQUENCE_NUMBER", false, "The producer's sequence number is a duplicate."),
    InvalidProducerEpoch = (47, "INVALID_PRODUCER_EPOCH", false, "The producer epoch is older than the current one."),
    InvalidTxnState = (48, "INVALID_TXN_STATE", false, "The transactional operation is not valid in the current state."),
    InvalidProducerIdMapping = (49, "INVALID_PRODUCER_ID_MAPPING", false, "The producer id is not assigned to this transactional id."),
    InvalidTransactionTimeout = (50, "INVALID_TRANSACTION_TIMEOUT", false, "The transaction timeout exceeds the broker's maximum."),
    ConcurrentTransactions = (51, "CONCURRENT_TRANSACTIONS", true, "Another operation on the same transaction is in progress."),
    TransactionCoordinatorFenced = (52, "TRANSACTION_COORDINATOR_FENCED", false, "The transaction coordinator is no longer current."),
    TransactionalIdAuthorizationFailed = (53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", false, "Not authorized for the transactional id."),
    SecurityDisabled = (54, "SECURITY_DISABLED", false, "Security features are disabled."),
    OperationNotAttempted = (55, "OPERATION_NOT_ATTEMPTED", false, "The broker did not attempt this operation."),
    KafkaStorageError = (56, "KAFKA_STORAGE_ERROR", true, "A disk error occurred while accessing the log."),
    LogDirNotFound = (57, "LOG_DIR_NOT_FOUND", false, "The log directory is not configured on the broker."),
    SaslAuthenticationFailed = (58, "SASL_AUTHENTICATION_FAILED", false, "SASL authentication failed."),
    UnknownProducerId = (59, "UNKNOWN_PRODUCER_ID", false, "The broker has no state for this producer id."),
    ReassignmentInProgress = (60, "REASSIGNMENT_IN_PROGRESS", false, "A partition reassignment is in progress."),
    DelegationTokenAuthDisabled = (61, "DELEGATION_TOKEN_AUTH_DISABLED", false, "Delegation tokens are disabled."),
    DelegationTokenNotFound = (62, "DELEGATION_TOKEN_NOT_FOUND", false, "The delegation token was not found."),
    DelegationTokenOwnerMismatch = (63, "DELEGATION_TOKEN_OWNER_MISMATCH", false, "The principal is not the token's owner or renewer."),
    DelegationTokenRequestNotAllowed = (64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", false, "Delegation token requests are not allowed on this channel."),
    DelegationTokenAuthorizationFailed = (65, "DELEGATION_TOKEN_AUTHORIZATION_FAILED", false, "Delegation token authorization failed."),
    DelegationTokenExpired = (66, "DELEGATION_TOKEN_EXPIRED", false, "The delegation token has expired."),
    InvalidPrincipalType = (67, "INVALID_PRINCIPAL_TYPE", false, "The principal type is not supported."),
    NonEmptyGroup = (68, "NON_EMPTY_GROUP", false, "The group is not empty."),
    GroupIdNotFound = (69, "GROUP_ID_NOT_FOUND", false, "The group does not exist."),
    FetchSessionIdNotFound = (70, "FETCH_SESSION_ID_NOT_FOUND", true, "The fetch session was not found."),
    InvalidFetchSessionEpoch = (71, "INVALID_FETCH_SESSION_EPOCH", true, "The fetch session epoch is invalid."),
    ListenerNotFound = (72, "LISTENER_NOT_FOUND", true, "No listener on the leader matches the one the request came in on."),
    TopicDeletionDisabled = (73, "TOPIC_DELETION_DISABLED", false, "Topic deletion is disabled."),
    FencedLeaderEpoch = (74, "FENCED_LEADER_EPOCH", true, "The request's leader epoch is older than the broker's."),
    UnknownLeaderEpoch = (75, "UNKNOWN_LEADER_EPOCH", true, "The request's leader epoch is newer than the broker's."),
    UnsupportedCompressionType = (76, "UNSUPPORTED_COMPRESSION_TYPE", false, "The client does not support the partition's compression type."),
    StaleBrokerEpoch = (77, "STALE_BROKER_EPOCH", false, "The broker epoch has changed."),
    OffsetNotAvailable = (78, "OFFSET_NOT_AVAILABLE", true, "The new leader's high watermark has not caught up yet."),
    MemberIdRequired = (79, "MEMBER_ID_REQUIRED", false, "The member must rejoin with the member id it was given."),
    PreferredLeaderNotAvailable = (80, "PREFERRED_LEADER_NOT_AVAILABLE", true, "The preferred leader is not available."),
    GroupMaxSizeReached = (81, "GROUP_MAX_SIZE_REACHED", false, "The group has reached its maximum size."),
    FencedInstanceId = (82, "FENCED_INSTANCE_ID", false, "Another member with the same group.instance.id replaced this one."),
    EligibleLeadersNotAvailable = (83, "ELIGIBLE_LEADERS_NOT_AVAILABLE", true, "No eligible leader is available."),
    ElectionNotNeeded = (84, "ELECTION_NOT_NEEDED", false, "No leader election is needed."),
    NoReassignmentInProgress = (85, "NO_REASSIGNMENT_IN_PROGRESS", false, "No partition reassignment is in progress."),
    GroupSubscribedToTopic = (86, "GROUP_SUBSCRIBED_TO_TOPIC", false, "The group is subscribed to the topic whose offsets are being deleted."),
    InvalidRecord = (87, "INVALID_RECORD", false, "A record failed broker-side validation."),
    UnstableOffsetCommit = (88, "UNSTABLE_OFFSET_COMMIT", true, "Pending transactional offsets must be resolved first."),
    ThrottlingQuotaExceeded = (89, "THROTTLING_QUOTA_EXCEEDED", true, "The throttling quota was exceeded."),
    ProducerFenced = (90, "PRODUCER_FENCED", false, "A newer producer with the same transactional id fenced this one."),
    ResourceNotFound = (91, "RESOURCE_NOT_FOUND", false, "The referenced resource does not exist."),
    DuplicateResource = (92, "DUPLICATE_RESOURCE", false, "The same resource was named twice."),
    UnacceptableCredential = (93, "UNACCEPTABLE_CREDENTIAL", false, "The credential does not meet the acceptance criteria."),
    InconsistentVoterSet = (94, "INCONSISTENT_VOTER_SET", false, "The sender or receiver is not an expected voter."),
    InvalidUpdateVersion = (95, "INVALID_UPDATE_VERSION", false, "The update version is invalid."),
    FeatureUpdateFailed = (96, "FEATURE_UPDATE_FAILED", false, "Finalized features could not be updated."),
    PrincipalDeserializationFailure = (97, "PRINCIPAL_DESERIALIZATION_FAILURE", false, "The forwarded principal could not be read."),
    SnapshotNotFound = (98, "SNAPSHOT_NOT_FOUND", false, "The snapshot was not found."),
    PositionOutOfRange = (99, "POSITION_OUT_OF_RANGE", false, "The snapshot position is out of range."),
    UnknownTopicId = (100, "UNKNOWN_TOPIC_ID", true, "This broker does not host the topic id."),
    DuplicateBrokerRegistration = (101, "DUPLICATE_BROKER_REGISTRATION", false, "The broker id is already registered."),
    BrokerIdNotRegistered = (102, "BROKER_ID_NOT_REGISTERED", false, "The broker id is not registered."),
    InconsistentTopicId = (103, "INCONSISTENT_TOPIC_ID", true, "The topic id does not match the log's."),
    InconsistentClusterId = (104, "INCONSISTENT_CLUSTER_ID", false, "The cluster id does not match."),
    TransactionalIdNotFound = (105, "TRANSACTIONAL_ID_NOT_FOUND", false, "The transactional id was not found."),
    FetchSessionTopicIdError = (106, "FETCH_SESSION_TOPIC_ID_ERROR", true, "The fetch session used topic ids inconsistently."),
    IneligibleReplica = (107, "INELIGIBLE_REPLICA", false, "The new ISR contains an ineligible replica."),
    NewLeaderElected = (108, "NEW_LEADER_ELECTED", false, "The partition state changed, but so did the leader."),
    OffsetMovedToTieredStorage = (109, "OFFSET_MOVED_TO_TIERED_STORAGE", false, "The offset is in tiered storage."),
    FencedMemberEpoch = (110, "FENCED_MEMBER_EPOCH", false, "The member epoch is fenced; rejoin."),
    UnreleasedInstanceId = (111, "UNRELEASED_INSTANCE_ID", false, "The instance id is still held by another member."),
    UnsupportedAssignor = (112, "UNSUPPORTED_ASSIGNOR", false, "The assignor is not supported by the group."),
    StaleMemberEpoch = (113, "STALE_MEMBER_EPOCH", false, "The member epoch is stale."),
    MismatchedEndpointType = (114, "MISMATCHED_ENDPOINT_TYPE", false, "The request went to the wrong kind of endpoint."),
    UnsupportedEndpointType = (115, "UNSUPPORTED_ENDPOINT_TYPE", false, "The endpoint type is not supported."),
    UnknownControllerId = (116, "UNKNOWN_CONTROLLER_ID", false, "The controller id is unknown."),
    UnknownSubscriptionId = (117, "UNKNOWN_SUBSCRIPTION_ID", false, "The telemetry subscription id is unknown or outdated."),
    TelemetryTooLarge = (118, "TELEMETRY_TOO_LARGE", false, "The telemetry push is too large."),
    InvalidRegistration = (119, "INVALID_REGISTRATION", false, "The broker registration is invalid."),
    TransactionAbortable = (120, "TRANSACTION_ABORTABLE", false, "The transaction failed and can be aborted."),
    InvalidRecordState = (121, "INVALID_RECORD_STATE", false, "The record state does not allow this acknowledgement."),
    ShareSessionNotFound = (122, "SHARE_SESSION_NOT_FOUND", true, "The share session was not found."),
    InvalidShareSessionEpoch = (123, "INVALID_SHARE_SESSION_EPOCH", true, "The share session epoch is invalid."),
    FencedStateEpoch = (124, "FENCED_STATE_EPOCH", false, "The share-group state epoch does not match."),
    InvalidVoterKey = (125, "INVALID_VOTER_KEY", false, "The voter key does not match."),
    DuplicateVoter = (126, "DUPLICATE_VOTER", false, "The voter is already in the voter set."),
    VoterNotFound = (127, "VOTER_NOT_FOUND", false, "The voter is not in the voter set."),
    InvalidRegularExpression = (128, "INVALID_REGULAR_EXPRESSION", false, "The regular expression is invalid."),
    RebootstrapRequired = (129, "REBOOTSTRAP_REQUIRED", false, "The client must rebootstrap its metadata."),
}

impl ErrorCode {
    /// The numeric code as sent on the wire.
    pub fn code(self) -> i16 {
        self as i16
    }

    /// Whether this is [`ErrorCode::None`].
    pub fn is_ok(self) -> bool {
        self == ErrorCode::None
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.name(),
            self.code(),
            self.description()
        )
    }
}

/// Declares [`LocalCode`] from one list.
macro_rules! local_codes {
    ($($variant:ident = ($code:expr, $name:expr, $description:expr),)*) => {
        /// A client-side error code from librdkafka's local range (below -100, apart from
        /// Kafka's codes), for failures that are not the broker's: the codes librdkafka,
        /// confluent-kafka and their users test against. Bindings report these where
        /// [`Error::code`] gives the closest Kafka code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum LocalCode {
            $(
                #[doc = $description]
                $variant = $code,
            )*
        }

        impl LocalCode {
            /// Every local code tidelog reports, in numeric order.
            pub const ALL: &'static [LocalCode] = &[$(LocalCode::$variant),*];

            /// The code's name as librdkafka spells it, e.g. `"_TRANSPORT"`.
            pub fn name(self) -> &'static str {
                match self { $(LocalCode::$variant => $name,)* }
            }

            /// A one-sentence description.
            pub fn description(self) -> &'static str {
                match self { $(LocalCode::$variant => $description,)* }
            }
        }
    };
}

local_codes! {
    BadMsg = (-199, "_BAD_MSG", "A request could not be encoded or a response decoded."),
    Fail = (-196, "_FAIL", "A local failure (a broker that cannot start, an internal error)."),
    Transport = (-195, "_TRANSPORT", "The connection to a broker failed or closed."),
    MsgTimedOut = (-192, "_MSG_TIMED_OUT", "The record was not delivered within delivery.timeout.ms."),
    InvalidArg = (-186, "_INVALID_ARG", "An argument or configuration value is invalid."),
    TimedOut = (-185, "_TIMED_OUT", "The operation did not finish in time."),
    QueueFull = (-184, "_QUEUE_FULL", "The producer holds buffer.memory bytes of records; poll to make room."),
    State = (-172, "_STATE", "The client is in a state that does not allow the call (closed)."),
    UnsupportedFeature = (-165, "_UNSUPPORTED_FEATURE", "The broker does not support a protocol version the call needs."),
    PurgeQueue = (-152, "_PURGE_QUEUE", "The record was purged from the producer's queue before it was sent."),
    PurgeInflight = (-151, "_PURGE_INFLIGHT", "The record was purged while in flight: it may or may not have been written."),
}

impl LocalCode {
    /// The numeric code, e.g. -195 for `_TRANSPORT`.
    pub fn code(self) -> i32 {
        self as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_names_and_numbers_agree() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(code.code()), Some(*code));
            assert_eq!(ErrorCode::from_name(code.name()), Some(*code));
        }
        assert_eq!(ErrorCode::NotLeaderOrFollower.code(), 6);
        assert!(ErrorCode::NotLeaderOrFollower.is_retriable());
        assert!(!ErrorCode::MessageTooLarge.is_retriable());
        assert_eq!(
            ErrorCode::from_code(-1),
            Some(ErrorCode::UnknownServerError)
        );
        assert_eq!(ErrorCode::from_code(30_000), None);
    }
}

/// An error from a tidelog client call: one taxonomy for the Rust API and every binding.
///
/// Errors the broker reports are [`Error::Kafka`]; the other variants are local failures,
/// each mapped to the closest Kafka code by [`Error::code`] so that bindings can expose a
/// single numeric code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The broker answered with a Kafka error code (Kafka protocol guide, "Error Codes").
    #[error("{}{}", .code, .message.as_ref().map(|m| format!(": {m}")).unwrap_or_default())]
    Kafka {
        /// The code; never [`ErrorCode::None`].
        code: ErrorCode,
        /// The broker's error message where the response carries one, else tidelog's
        /// context (the topic or partition concerned) or nothing.
        message: Option<String>,
    },
    /// A network failure talking to `broker`.
    #[error("broker {broker}: {source}")]
    Io {
        /// The broker's `host:port`.
        broker: String,
        /// The socket error (connect, write or read).
        source: std::io::Error,
    },
    /// The connection closed before the response arrived, or the broker answered out of
    /// order (a response whose correlation id is not the next one expected).
    #[error("broker {broker}: connection closed")]
    Disconnected {
        /// The broker's `host:port`.
        broker: String,
    },
    /// The broker's response could not be decoded.
    #[error("broker {broker}: malformed response: {source}")]
    Decode {
        /// The broker's `host:port`.
        broker: String,
        /// What was wrong with the response.
        source: crate::protocol::codec::DecodeError,
    },
    /// A request could not be encoded at the negotiated version, e.g. a field set that the
    /// version lacks.
    #[error("cannot encode request: {0}")]
    Encode(#[from] crate::protocol::codec::EncodeError),
    /// The broker supports no version of an API that this client speaks, or none at or
    /// above the lowest version the call needs.
    #[error("broker {broker} does not support {api} in any version tidelog speaks")]
    UnsupportedApi {
        /// The broker's `host:port`.
        broker: String,
        /// The API's name as Kafka spells it, e.g. `"DescribeCluster"`.
        api: &'static str,
    },
    /// A configuration key or value is invalid; the message names the key.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The producer's `purge` failed the record before it was reported.
    #[error("{}", if *.in_flight { "purged while in flight: the record may or may not have been written" } else { "purged from the producer's queue before it was sent" })]
    Purged {
        /// Whether the record was in a Produce request awaiting its response.
        in_flight: bool,
    },
    /// The operation did not finish within the time allowed.
    #[error("timed out after {timeout_ms} ms: {operation}")]
    Timeout {
        /// What timed out, e.g. `"flush"`.
        operation: String,
        /// The time allowed (ms).
        timeout_ms: u64,
    },
}

impl Error {
    /// The Kafka error code: the broker's, or the closest Kafka code for local failures:
    /// NETWORK_EXCEPTION for [`Error::Io`] and [`Error::Disconnected`], INVALID_REQUEST
    /// for [`Error::Decode`] and [`Error::Encode`], UNSUPPORTED_VERSION for
    /// [`Error::UnsupportedApi`], INVALID_CONFIG for [`Error::Config`],
    /// REQUEST_TIMED_OUT for [`Error::Timeout`] and UNKNOWN_SERVER_ERROR for
    /// [`Error::Purged`] (Kafka has no code for it; [`Error::client_code`] does).
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Kafka { code, .. } => *code,
            Error::Io { .. } | Error::Disconnected { .. } => ErrorCode::NetworkException,
            Error::Decode { .. } | Error::Encode(_) => ErrorCode::InvalidRequest,
            Error::UnsupportedApi { .. } => ErrorCode::UnsupportedVersion,
            Error::Config(_) => ErrorCode::InvalidConfig,
            Error::Timeout { .. } => ErrorCode::RequestTimedOut,
            Error::Purged { .. } => ErrorCode::UnknownServerError,
        }
    }

    /// The code a binding reports, as librdkafka does: the Kafka code of [`Error::Kafka`],
    /// else a [`LocalCode`]: `_TRANSPORT` for [`Error::Io`] and [`Error::Disconnected`],
    /// `_BAD_MSG` for [`Error::Decode`] and [`Error::Encode`], `_UNSUPPORTED_FEATURE` for
    /// [`Error::UnsupportedApi`], `_INVALID_ARG` for [`Error::Config`], `_QUEUE_FULL` when
    /// [`Error::is_queue_full`], else `_MSG_TIMED_OUT` for a timeout in a delivery report
    /// (`delivery`) and `_TIMED_OUT` for any other, `_PURGE_QUEUE` / `_PURGE_INFLIGHT` for
    /// [`Error::Purged`].
    pub fn client_code(&self, delivery: bool) -> i32 {
        let local = match self {
            Error::Kafka { code, .. } => return i32::from(code.code()),
            Error::Io { .. } | Error::Disconnected { .. } => LocalCode::Transport,
            Error::Decode { .. } | Error::Encode(_) => LocalCode::BadMsg,
            Error::UnsupportedApi { .. } => LocalCode::UnsupportedFeature,
            Error::Config(_) => LocalCode::InvalidArg,
            Error::Timeout { .. } if self.is_queue_full() => LocalCode::QueueFull,
            Error::Timeout { .. } if delivery => LocalCode::MsgTimedOut,
            Error::Timeout { .. } => LocalCode::TimedOut,
            Error::Purged { in_flight: false } => LocalCode::PurgeQueue,
            Error::Purged { in_flight: true } => LocalCode::PurgeInflight,
        };
        local.code()
    }

    /// The message with its chain of causes, each once (`Display` shows only the
    /// first level for some variants): what bindings put in their error strings.
    pub fn full_message(&self) -> String {
        let mut message = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        message
    }

    /// Whether this is the producer refusing a record because `buffer.memory` is full
    /// ([`Producer::send`](crate::client::producer::Producer::send)): retry after
    /// delivery reports have made room.
    pub fn is_queue_full(&self) -> bool {
        matches!(self, Error::Timeout { operation, .. } if operation.starts_with("buffer.memory full"))
    }

    /// Whether retrying the same operation may succeed: [`ErrorCode::is_retriable`] of
    /// [`Error::code`], so network failures and timeouts are retriable, local encoding,
    /// decoding and configuration errors are not.
    pub fn is_retriable(&self) -> bool {
        self.code().is_retriable()
    }

    /// A Kafka error code from a response, as an [`Error`]; `Ok` for NONE.
    ///
    /// # Errors
    /// [`Error::Kafka`] with `code` and `message`; a number that is not a known code
    /// becomes UNKNOWN_SERVER_ERROR with the message `unknown error code {code}` (the
    /// broker's `message` is dropped then).
    pub fn check(code: i16, message: Option<String>) -> Result<(), Error> {
        match ErrorCode::from_code(code) {
            Some(ErrorCode::None) => Ok(()),
            Some(code) => Err(Error::Kafka { code, message }),
            None => Err(Error::Kafka {
                code: ErrorCode::UnknownServerError,
                message: Some(format!("unknown error code {code}")),
            }),
        }
    }
}
