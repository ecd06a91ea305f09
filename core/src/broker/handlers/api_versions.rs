//! ApiVersions (KIP-35, KIP-511): the APIs and versions this broker handles.

use crate::broker::handlers::supported_apis;
use crate::error::ErrorCode;
use crate::protocol::messages::{api_versions_response::ApiVersion, ApiVersionsResponse};

pub fn response(error: ErrorCode) -> ApiVersionsResponse {
    ApiVersionsResponse {
        error_code: error.code(),
        api_keys: supported_apis()
            .into_iter()
            .map(|(key, min_version, max_version)| ApiVersion {
                api_key: key as i16,
                min_version,
                max_version,
            })
            .collect(),
        ..Default::default()
    }
}
