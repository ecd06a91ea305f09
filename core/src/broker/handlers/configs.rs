//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs (KIP-339) for topics; the
//! broker's own configs can be described but are static (set at start).

use super::error_parts;
use crate::broker::state::{ApiError, BrokerState};
use crate::config::{ConfigSource, ConfigType, BROKER_CONFIGS, TOPIC_CONFIGS};
use crate::error::ErrorCode;
use crate::protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use crate::protocol::messages::{
    alter_configs_response, incremental_alter_configs_response, AlterConfigsRequest,
    AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Kafka's ConfigResource.Type codes.
const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;

/// IncrementalAlterConfigs operation codes (KIP-339).
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

struct Entry {
    name: &'static str,
    value: String,
    source: ConfigSource,
    kind: ConfigType,
    doc: &'static str,
    read_only: bool,
    synonyms: Vec<(String, String, ConfigSource)>,
}

fn topic_entries(state: &BrokerState, name: &str) -> Result<Vec<Entry>, ApiError> {
    let topic = state.topic(name).ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnknownTopicOrPartition,
            format!("topic `{name}` does not exist"),
        )
    })?;
    let overrides = topic.config.overrides();
    Ok(topic
        .config
        .entries()
        .into_iter()
        .map(|entry| {
            let def = TOPIC_CONFIGS
                .iter()
                .find(|d| d.key.name == entry.name)
                .expect("declared key");
            // Synonyms in precedence order: the topic override, the broker setting, the default.
            let mut synonyms = Vec::new();
            if let Some(value) = overrides.get(entry.name) {
                synonyms.push((
                    entry.name.to_string(),
                    value.clone(),
                    ConfigSource::DynamicTopic,
                ));
            }
            if let Some((broker_key, value)) = &entry.broker_value {
                synonyms.push((
                    broker_key.to_string(),
                    value.clone(),
                    ConfigSource::StaticBroker,
                ));
            }
            synonyms.push((
                def.broker_synonym.to_string(),
                def.key.default.to_string(),
                ConfigSource::Default,
            ));
            Entry {
                name: entry.name,
                value: entry.value,
                source: entry.source,
                kind: entry.kind,
                doc: entry.doc,
                read_only: false,
                synonyms,
            }
        })
        .collect())
}

fn broker_entries(state: &BrokerState, name: &str) -> Result<Vec<Entry>, ApiError> {
    if name != state.node_id.to_string() && !name.is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("this is broker {}, not `{name}`", state.node_id),
        ));
    }
    let keys = BROKER_CONFIGS.iter().map(|def| (def.name, def)).chain(
        TOPIC_CONFIGS
            .iter()
            .map(|def| (def.broker_synonym, &def.key)),
    );
    Ok(keys
        .map(|(key, def)| {
            let value = state.config.get(key).unwrap_or(def.default).to_string();
            let source = if state.config.is_set(key) {
                ConfigSource::StaticBroker
            } else {
                ConfigSource::Default
            };
            Entry {
                name: key,
                synonyms: vec![(key.to_string(), value.clone(), source)],
                value,
                source,
                kind: def.kind,
                doc: def.doc,
                read_only: true,
            }
        })
        .collect())
}

pub fn describe(
    state: &Arc<BrokerState>,
    request: DescribeConfigsRequest,
    version: i16,
) -> DescribeConfigsResponse {
    let results = request
        .resources
        .into_iter()
        .map(|resource| {
            let entries = match resource.resource_type {
                RESOURCE_TOPIC => topic_entries(state, &resource.resource_name),
                RESOURCE_BROKER => broker_entries(state, &resource.resource_name),
                other => Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("resource type {other} has no configs here"),
                )),
            };
            let mut result = DescribeConfigsResult {
                resource_type: resource.resource_type,
                resource_name: resource.resource_name,
                ..Default::default()
            };
            match entries {
                Ok(entries) => {
                    let wanted = resource.configuration_keys;
                    result.configs = entries
                        .into_iter()
                        .filter(|e| {
                            wanted
                                .as_ref()
                                .is_none_or(|keys| keys.iter().any(|k| k == e.name))
                        })
                        .map(|e| DescribeConfigsResourceResult {
                            name: e.name.to_string(),
                            value: Some(e.value),
                            read_only: e.read_only,
                            // IsDefault is v0 only; v1+ carries config_source instead.
                            is_default: false,
                            config_source: e.source as i8,
                            is_sensitive: false,
                            synonyms: if request.include_synonyms {
                                e.synonyms
                                    .into_iter()
                                    .map(|(name, value, source)| DescribeConfigsSynonym {
                                        name,
                                        value: Some(value),
                                        source: source as i8,
                                    })
                                    .collect()
                            } else {
                                Vec::new()
                            },
                            config_type: if version >= 3 { e.kind as i8 } else { 0 },
                            documentation: (request.include_documentation && version >= 3)
                                .then(|| e.doc.to_string()),
                        })
                        .collect();
                }
                Err(error) => {
                    result.error_code = error.code.code();
                    result.error_message = error.message;
                }
            }
            result
        })
        .collect();
    DescribeConfigsResponse {
        results,
        ..Default::default()
    }
}

/// Applies an edit of a topic's overrides, or reports why it cannot.
fn edit_topic(
    state: &BrokerState,
    resource_type: i8,
    name: &str,
    validate_only: bool,
    edit: impl FnOnce(&mut BTreeMap<String, String>) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    match resource_type {
        RESOURCE_TOPIC => {}
        RESOURCE_BROKER => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "broker configs are static; set them at start with --set",
            ))
        }
        other => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("resource type {other} has no configs here"),
            ))
        }
    }
    let topic = state.topic(name).ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnknownTopicOrPartition,
            format!("topic `{name}` does not exist"),
        )
    })?;
    let mut overrides = topic.config.overrides().clone();
    edit(&mut overrides)?;
    state.set_topic_config(name, &overrides, validate_only)
}

pub fn alter(state: &Arc<BrokerState>, request: AlterConfigsRequest) -> AlterConfigsResponse {
    let responses = request
        .resources
        .into_iter()
        .map(|resource| {
            let result = edit_topic(
                state,
                resource.resource_type,
                &resource.resource_name,
                request.validate_only,
                |overrides| {
                    // AlterConfigs replaces the whole set of overrides.
                    overrides.clear();
                    overrides.extend(
                        resource
                            .configs
                            .into_iter()
                            .filter_map(|c| c.value.map(|v| (c.name, v))),
                    );
                    Ok(())
                },
            );
            let (error_code, error_message) = error_parts(result);
            alter_configs_response::AlterConfigsResourceResponse {
                error_code,
                error_message,
                resource_type: resource.resource_type,
                resource_name: resource.resource_name,
            }
        })
        .collect();
    AlterConfigsResponse {
        responses,
        ..Default::default()
    }
}

pub fn incremental_alter(
    state: &Arc<BrokerState>,
    request: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let responses = request
        .resources
        .into_iter()
        .map(|resource| {
            let result = edit_topic(
                state,
                resource.resource_type,
                &resource.resource_name,
                request.validate_only,
                |overrides| {
                    for change in resource.configs {
                        let value = change.value.unwrap_or_default();
                        let list = |overrides: &BTreeMap<String, String>| -> Vec<String> {
                            let current = overrides.get(&change.name).cloned().or_else(|| {
                                TOPIC_CONFIGS
                                    .iter()
                                    .find(|d| d.key.name == change.name)
                                    .map(|d| d.key.default.to_string())
                            });
                            current
                                .unwrap_or_default()
                                .split(',')
                                .filter(|s| !s.is_empty())
                                .map(String::from)
                                .collect()
                        };
                        match change.config_operation {
                            OP_SET => {
                                overrides.insert(change.name, value);
                            }
                            OP_DELETE => {
                                overrides.remove(&change.name);
                            }
                            OP_APPEND | OP_SUBTRACT => {
                                let mut items = list(overrides);
                                for item in value.split(',').filter(|s| !s.is_empty()) {
                                    let present = items.iter().any(|i| i == item);
                                    if change.config_operation == OP_APPEND && !present {
                                        items.push(item.to_string());
                                    } else if change.config_operation == OP_SUBTRACT {
                                        items.retain(|i| i != item);
                                    }
                                }
                                overrides.insert(change.name, items.join(","));
                            }
                            other => {
                                return Err(ApiError::new(
                                    ErrorCode::InvalidRequest,
                                    format!("unknown config operation {other}"),
                                ))
                            }
                        }
                    }
                    Ok(())
                },
            );
            let (error_code, error_message) = error_parts(result);
            incremental_alter_configs_response::AlterConfigsResourceResponse {
                error_code,
                error_message,
                resource_type: resource.resource_type,
                resource_name: resource.resource_name,
            }
        })
        .collect();
    IncrementalAlterConfigsResponse {
        responses,
        ..Default::default()
    }
}
