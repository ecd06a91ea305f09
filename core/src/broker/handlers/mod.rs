//! Request handlers, one module per API family, and the dispatch from a decoded frame
//! to them. [`supported_apis`] is what ApiVersions advertises: exactly what is handled.

mod admin;
mod api_versions;
mod configs;
mod fetch;
pub mod groups;
mod list_offsets;
mod metadata;
mod produce;

use super::state::{ApiError, BrokerState};
use crate::error::ErrorCode;
use crate::protocol::frame::{decode_request, FrameError};
use crate::protocol::messages::{ApiKey, RequestKind, ResponseKind};
use bytes::Bytes;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The APIs this broker handles and the version range of each (before clipping to what
/// the codec knows and Kafka considers stable). Floors follow Kafka 4.0, which dropped
/// the pre-0.11 message formats and the oldest admin versions.
const HANDLED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 11),
    (ApiKey::Fetch, 4, 17),
    (ApiKey::ListOffsets, 1, 10),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::DescribeCluster, 0, 1),
    (ApiKey::FindCoordinator, 0, 6),
    (ApiKey::JoinGroup, 2, 9),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::OffsetCommit, 2, 9),
    (ApiKey::OffsetFetch, 1, 9),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::InitProducerId, 0, 5),
];

/// Every API the broker advertises in ApiVersions, with its (min, max) version.
pub fn supported_apis() -> Vec<(ApiKey, i16, i16)> {
    HANDLED
        .iter()
        .map(|&(key, min, max)| {
            let codec = key.versions();
            let stable_max = if key.latest_version_unstable() {
                codec.max - 1
            } else {
                codec.max
            };
            (key, min.max(codec.min), max.min(stable_max))
        })
        .collect()
}

fn advertised(api_key: ApiKey, version: i16) -> bool {
    supported_apis()
        .iter()
        .any(|&(key, min, max)| key == api_key && (min..=max).contains(&version))
}

/// An outcome as the (error code, error message) pair most responses carry.
fn error_parts(result: Result<(), ApiError>) -> (i16, Option<String>) {
    match result {
        Ok(()) => (0, None),
        Err(error) => (error.code.code(), error.message),
    }
}

/// A response, now or once something has happened (data arrived, an fsync finished).
pub enum Reply {
    Now(ResponseKind),
    Later(Pin<Box<dyn Future<Output = ResponseKind> + Send>>),
}

impl Reply {
    fn now(body: impl Into<ResponseKind>) -> Self {
        Reply::Now(body.into())
    }
}

/// What the connection does with a frame.
pub enum Outcome {
    Respond {
        correlation_id: i32,
        version: i16,
        reply: Reply,
    },
    /// acks=0 produce: the client expects no response.
    NoResponse,
    /// The frame cannot be answered (unreadable header, unknown API, a version we do not
    /// advertise, a malformed body): Kafka closes the connection in these cases too.
    Close(String),
}

/// Decodes one request frame from `peer` and handles it.
pub fn handle(state: &Arc<BrokerState>, frame: Bytes, peer: std::net::SocketAddr) -> Outcome {
    let (header, body) = match decode_request(frame) {
        Ok(decoded) => decoded,
        // KIP-511: a client may open with an ApiVersions version newer than ours; answer
        // in v0 with UNSUPPORTED_VERSION and our ranges so it can retry with one we know.
        Err(FrameError::Body {
            header,
            api_key: ApiKey::ApiVersions,
            ..
        }) => {
            return Outcome::Respond {
                correlation_id: header.correlation_id,
                version: 0,
                reply: Reply::now(api_versions::response(ErrorCode::UnsupportedVersion)),
            };
        }
        Err(error) => return Outcome::Close(error.to_string()),
    };
    let api_key = body.api_key();
    let version = header.request_api_version;
    if !advertised(api_key, version) {
        if api_key == ApiKey::ApiVersions {
            return Outcome::Respond {
                correlation_id: header.correlation_id,
                version: 0,
                reply: Reply::now(api_versions::response(ErrorCode::UnsupportedVersion)),
            };
        }
        return Outcome::Close(format!("{} v{version} is not supported", api_key.name()));
    }
    let reply = match body {
        RequestKind::ApiVersions(_) => Reply::now(api_versions::response(ErrorCode::None)),
        RequestKind::Metadata(request) => Reply::now(metadata::handle(state, request, version)),
        RequestKind::Produce(request) => match produce::handle(state, request) {
            Some(reply) => reply,
            None => return Outcome::NoResponse,
        },
        RequestKind::Fetch(request) => fetch::handle(state, request, version),
        RequestKind::ListOffsets(request) => {
            Reply::now(list_offsets::handle(state, request, version))
        }
        RequestKind::CreateTopics(request) => Reply::now(admin::create_topics(state, request)),
        RequestKind::DeleteTopics(request) => Reply::now(admin::delete_topics(state, request)),
        RequestKind::CreatePartitions(request) => {
            Reply::now(admin::create_partitions(state, request))
        }
        RequestKind::DeleteRecords(request) => Reply::now(admin::delete_records(state, request)),
        RequestKind::DescribeCluster(request) => {
            Reply::now(admin::describe_cluster(state, request))
        }
        RequestKind::DescribeConfigs(request) => {
            Reply::now(configs::describe(state, request, version))
        }
        RequestKind::AlterConfigs(request) => Reply::now(configs::alter(state, request)),
        RequestKind::IncrementalAlterConfigs(request) => {
            Reply::now(configs::incremental_alter(state, request))
        }
        RequestKind::InitProducerId(request) => Reply::now(produce::init_producer_id(request)),
        RequestKind::FindCoordinator(request) => {
            Reply::now(groups::find_coordinator(state, request, version))
        }
        RequestKind::JoinGroup(request) => {
            // Kafka reports the client host as `/<ip>`.
            let host = format!("/{}", peer.ip());
            groups::join_group(
                state,
                request,
                version,
                header.client_id.as_deref().unwrap_or_default(),
                &host,
            )
        }
        RequestKind::SyncGroup(request) => groups::sync_group(state, request),
        RequestKind::Heartbeat(request) => Reply::now(groups::heartbeat(state, request)),
        RequestKind::LeaveGroup(request) => {
            Reply::now(groups::leave_group(state, request, version))
        }
        RequestKind::OffsetCommit(request) => groups::offset_commit(state, request),
        RequestKind::OffsetFetch(request) => {
            Reply::now(groups::offset_fetch(state, request, version))
        }
        RequestKind::DescribeGroups(request) => Reply::now(groups::describe_groups(state, request)),
        RequestKind::ListGroups(request) => Reply::now(groups::list_groups(state, request)),
        RequestKind::DeleteGroups(request) => Reply::now(groups::delete_groups(state, request)),
        RequestKind::OffsetDelete(request) => Reply::now(groups::offset_delete(state, request)),
        other => return Outcome::Close(format!("{} is not handled", other.api_key().name())),
    };
    Outcome::Respond {
        correlation_id: header.correlation_id,
        version,
        reply,
    }
}
