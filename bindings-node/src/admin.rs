//! `Admin`: the core admin client. Calls on several items resolve to one result per
//! item, its `error` set when that item failed (the JS layer throws KafkaJS's errors).

use crate::error::{info, ErrorInfo};
use crate::message::{TopicPartition, TopicPartitionOffset};
use napi::{Env, JsObject};
use tidelog::client::admin::{
    Admin as CoreAdmin, AdminConfig, AlterConfigOp, ConfigResource, NewTopic as CoreNewTopic,
    OffsetSpec, ResourceType,
};
use tidelog::client::cluster::{BrokerInfo, ClusterMetadata};
use tidelog::error::Error;

/// A config key and value.
#[napi(object)]
pub struct ConfigPair {
    pub name: String,
    pub value: String,
}

/// A topic to create; unset counts take the broker's defaults.
#[napi(object)]
pub struct NewTopic {
    pub topic: String,
    pub num_partitions: Option<i32>,
    pub replication_factor: Option<i32>,
    pub config_entries: Option<Vec<ConfigPair>>,
}

/// The outcome for one named item (topic, group).
#[napi(object)]
pub struct ItemResult {
    pub name: String,
    pub error: Option<ErrorInfo>,
}

/// A (topic, partition) and its outcome.
#[napi(object)]
pub struct PartitionResult {
    pub topic: String,
    pub partition: i32,
    /// The offset found (ListOffsets, OffsetFetch) or the new log start (DeleteRecords);
    /// -1 when there is none.
    pub offset: i64,
    pub metadata: Option<String>,
    pub error: Option<ErrorInfo>,
}

/// A partition total for `createPartitions`.
#[napi(object)]
pub struct PartitionCount {
    pub topic: String,
    pub count: i32,
}

/// A ListOffsets query: `spec` is `earliest`, `latest` or `timestamp` (then `timestamp`
/// is ms since the epoch).
#[napi(object)]
pub struct OffsetQuery {
    pub topic: String,
    pub partition: i32,
    pub spec: String,
    pub timestamp: Option<i64>,
}

/// A config resource: `resourceType` is Kafka's number (2 topic, 4 broker).
#[napi(object)]
pub struct Resource {
    pub resource_type: i32,
    pub resource_name: String,
    /// For `alterConfigs`: the keys to set.
    pub config_entries: Option<Vec<ConfigPair>>,
}

/// A described config value; `source` is Kafka's ConfigSource number (5 default).
#[napi(object)]
pub struct ConfigValue {
    pub name: String,
    pub value: Option<String>,
    pub read_only: bool,
    pub source: i32,
    pub is_sensitive: bool,
}

/// A resource's configs or the error describing or altering them.
#[napi(object)]
pub struct ResourceResult {
    pub resource_type: i32,
    pub resource_name: String,
    pub entries: Vec<ConfigValue>,
    pub error: Option<ErrorInfo>,
}

/// A broker of the cluster.
#[napi(object)]
pub struct Broker {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
}

/// One partition's leadership.
#[napi(object)]
pub struct PartitionMetadata {
    pub partition_id: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// Kafka's numeric code, 0 when healthy.
    pub partition_error_code: i32,
}

/// One topic's metadata.
#[napi(object)]
pub struct TopicMetadata {
    pub name: String,
    pub is_internal: bool,
    pub partitions: Vec<PartitionMetadata>,
    pub error: Option<ErrorInfo>,
}

/// The cluster: its id, controller, brokers and (for `metadata`) topics.
#[napi(object)]
pub struct Cluster {
    pub cluster_id: String,
    pub controller: i32,
    pub brokers: Vec<Broker>,
    pub topics: Vec<TopicMetadata>,
}

/// A group as ListGroups gives it.
#[napi(object)]
pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    pub state: String,
}

/// A group member, with its decoded assignment.
#[napi(object)]
pub struct GroupMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub assignment: Vec<TopicPartition>,
}

/// A group as DescribeGroups gives it, or the error describing it.
#[napi(object)]
pub struct GroupDescription {
    pub group_id: String,
    pub state: String,
    pub protocol_type: String,
    pub protocol: String,
    pub members: Vec<GroupMember>,
    pub error: Option<ErrorInfo>,
}

/// An admin client configured by Kafka keys (`bootstrap.servers`, `client.id`,
/// `request.timeout.ms`). Connects lazily.
#[napi]
pub struct Admin {
    admin: CoreAdmin,
}

fn items<T>(results: Vec<(String, Result<T, Error>)>) -> Vec<ItemResult> {
    results
        .into_iter()
        .map(|(name, result)| ItemResult {
            name,
            error: result.err().as_ref().map(info),
        })
        .collect()
}

fn partition_results<T>(
    results: Vec<((String, i32), Result<T, Error>)>,
    offset: impl Fn(T) -> i64,
) -> Vec<PartitionResult> {
    results
        .into_iter()
        .map(|((topic, partition), result)| {
            let (offset, error) = match result {
                Ok(found) => (offset(found), None),
                Err(failed) => (-1, Some(info(&failed))),
            };
            PartitionResult {
                topic,
                partition,
                offset,
                metadata: None,
                error,
            }
        })
        .collect()
}

fn resource(env: &Env, r: &Resource) -> napi::Result<ConfigResource> {
    let kind = match r.resource_type {
        2 => ResourceType::Topic,
        4 => ResourceType::Broker,
        other => {
            return Err(crate::error::to_js(
                env,
                &Error::Kafka {
                    code: tidelog::error::ErrorCode::InvalidRequest,
                    message: Some(format!(
                        "resource type {other} is not supported (2 topic, 4 broker)"
                    )),
                },
            ))
        }
    };
    Ok(ConfigResource {
        kind,
        name: r.resource_name.clone(),
    })
}

fn brokers(list: Vec<BrokerInfo>) -> Vec<Broker> {
    list.into_iter()
        .map(|b| Broker {
            node_id: b.node_id,
            host: b.host,
            port: b.port,
        })
        .collect()
}

fn cluster(metadata: ClusterMetadata) -> Cluster {
    let topics = metadata
        .topics
        .into_iter()
        .map(|t| TopicMetadata {
            error: Error::check(t.error.code(), None).err().as_ref().map(info),
            name: t.name,
            is_internal: t.is_internal,
            partitions: t
                .partitions
                .into_iter()
                .map(|p| PartitionMetadata {
                    partition_id: p.partition,
                    leader: p.leader,
                    replicas: p.replicas,
                    isr: p.isr,
                    partition_error_code: i32::from(p.error.code()),
                })
                .collect(),
        })
        .collect();
    Cluster {
        cluster_id: metadata.cluster_id.unwrap_or_default(),
        controller: metadata.controller_id,
        brokers: brokers(metadata.brokers),
        topics,
    }
}

#[napi]
impl Admin {
    /// Throws a `config` error naming the key for a bad key or value.
    #[napi(constructor)]
    pub fn new(env: Env, settings: Vec<Vec<String>>) -> napi::Result<Admin> {
        let config = AdminConfig::from_pairs(crate::pairs(&settings)?)
            .map_err(|e| crate::error::to_js(&env, &e))?;
        Ok(Admin {
            admin: CoreAdmin::new(config),
        })
    }

    /// CreateTopics; one result per topic (TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, ...).
    #[napi(ts_return_type = "Promise<Array<ItemResult>>")]
    pub fn create_topics(
        &self,
        env: Env,
        topics: Vec<NewTopic>,
        validate_only: bool,
    ) -> napi::Result<JsObject> {
        let topics: Vec<CoreNewTopic> = topics
            .into_iter()
            .map(|t| CoreNewTopic {
                name: t.topic,
                // KafkaJS's -1 (its default) is the broker's default; any other value
                // goes to the broker, which refuses 0 as Kafka does.
                partitions: t.num_partitions.filter(|n| *n != -1),
                replication_factor: t
                    .replication_factor
                    .filter(|n| *n != -1)
                    .map(|n| n.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16),
                configs: t
                    .config_entries
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| (c.name, c.value))
                    .collect(),
            })
            .collect();
        let admin = self.admin.clone();
        crate::promise(
            &env,
            async move { admin.create_topics(&topics, validate_only).await },
            |_, results| Ok(items(results)),
        )
    }

    /// DeleteTopics; one result per topic.
    #[napi(ts_return_type = "Promise<Array<ItemResult>>")]
    pub fn delete_topics(&self, env: Env, names: Vec<String>) -> napi::Result<JsObject> {
        let admin = self.admin.clone();
        crate::promise(
            &env,
            async move { admin.delete_topics(&names).await },
            |_, results| Ok(items(results)),
        )
    }

    /// CreatePartitions to the given totals; one result per topic.
    #[napi(ts_return_type = "Promise<Array<ItemResult>>")]
    pub fn create_partitions(
        &self,
        env: Env,
        totals: Vec<PartitionCount>,
        validate_only: bool,
    ) -> napi::Result<JsObject> {
        let totals: Vec<(String, i32)> = totals.into_iter().map(|t| (t.topic, t.count)).collect();
        let admin = self.admin.clone();
        crate::promise(
            &env,
            async move { admin.create_partitions(&totals, validate_only).await },
            |_, results| Ok(items(results)),
        )
    }

    /// The names of the topics, internal ones left out, sorted.
    #[napi(ts_return_type = "Promise<Array<string>>")]
    pub fn list_topics(&self, env: Env) -> napi::Result<JsObject> {
        let admin = self.admin.clone();
        crate::promise(
            &env,
            async move { admin.list_topics(false).await },
            |_, topics| Ok(topics.into_iter().map(|t| t.name).collect::<Vec<_>>()),
        )
    }

    /// Metadata of `topics` (every topic when null), with the brokers.
    #[napi(ts_return_type = "Promise<Cluster>")]
    pub fn metadata(&self, env: Env, topics: Option<Vec<String>>) -> napi::Result<JsObject> {
        let admin = self.admin.clone();
        crate::promise(
            &env,
            async move { admin.metadata(topics.as_deref()).await },
            |_, metadata| Ok(cluster(metadata)),
        )
    }

    /// ListOffsets; one result per partition.
    #[napi(ts_return_type = "Promise<Array<PartitionResult>>")]
    pub fn list_offsets(&self, env: Env, queries: Vec<OffsetQuery>) -> napi::Result<JsObject> {
        let mut wanted = Vec::with_capacity(queries.len());
        for q in queries {
            let spec = match (q.spec.as_str(), q.timestamp) {
                ("earliest", _) => OffsetSpec::Earliest,
                ("latest", _) => OffsetSpec::Latest,
                ("timestamp", Some(ts)) => OffsetSpec::Timestamp(ts),
                (other, _) => {
                    return Err(napi::Error::new(
                        napi::Status::InvalidArg,
                        format!("offset spec `{other}` is not earliest, latest or timestamp with a timestamp"),
                    ))
                }
            };
            wanted.push((q.topic, q.partition, spec));
        }
        let admin = self.admin.clone();
        crate::promise(
            &env,
            async move { admin.list_offsets(&wanted).await },
            |_, results| Ok(partition_results(results, |(offset, _)| offset)),
        )
    }

    /// DeleteRecords before the given offsets; one result per partition, `offset` the
    /// new log start offset.
    #[napi(ts_return_type = "Promise<Array<PartitionResult>>")]
    pub fn delete_records(
        &self,
        env: Env,
        before: Vec<TopicPartitionOffset>,
    ) -> napi::Result<JsObject> {
        let before: Vec<(String, i32, i64)> = before
            .into_iter()
            .map(|o| (o.topic, o.partition, o.offset))
            .collect();
        let admin = self.admin.clone();
        crate::promise(
            &env,
            async move { admin.delete_records(&before).await },
            |_, results| Ok(partition_results(results, |low| low)),
        )
    }

    /// DescribeConfigs; one result per resource.
    #[napi(ts_return_type = "Promise<Array<ResourceResult>>")]
    pub fn describe_configs(&self, env: Env, resources: Vec<Resource>) -> napi::Result<JsObject> {
        let wanted = resources
            .iter()
            .map(|r| resource(&env, r))
            .collect::<napi::Result<Vec<_>>>()?;
        let admin = self.admin.clone();
        crate::promise(
            &env,
            async move { admin.describe_configs(&wanted).await },
            |_, results| {
                Ok(results
                    .into_iter()
                    .map(|(r, result)| {
                        let (entries, error) = match result {
                            Ok(entries) => (entries, None),
                            Err(failed) => (Vec::new(), Some(info(&failed))),
                        };
                        ResourceResult {
                            resource_type: r.kind as i32,
                            resource_name: r.name,
                            entries: entries
                                .into_iter()
                                .map(|e| ConfigValue {
                                    name: e.name,
                                    value: e.value,
                                    read_only: e.read_only,
                                    source: i32::from(e.source),
                                    is_sensitive: e.is_sensitive,
                                })
                                .collect(),
                            error,
                        }
                    })
                    .collect::<Vec<_>>())
            },
        )
    }

    /// Sets the given keys (IncrementalAlterConfigs SET); one result per resource.
    #[napi(ts_return_type = "Promise<Array<ResourceResult>>")]
    pub fn alter_configs(
        &self,
        env: Env,
        resources: Vec<Resource>,
        validate_only: bool,
    ) -> napi::Result<JsObject> {
        let mut changes = Vec::with_capacity(resources.len());
        for r in resources {
            let target = resource(&env, &r)?;
            let ops = r
                .config_entries
                .unwrap_or_default()
                .into_iter()
                .map(|c| AlterConfigOp::Set(c.name, c.value))
                .collect();
            changes.push((target, ops));
        }
        let admin = self.admin.clone();
        crate::promise(
            &env,
            async move {
                admin
                    .incremental_alter_configs(&changes, validate_only)
                    .await
            },
            |_, results| {
                Ok(results
                    .into_iter()
                    .map(|(r, result)| ResourceResult {
                        resource_type: r.kind as i32,
                        resource_name: r.name,
                        entries: Vec::new(),
                        error: result.err().as_ref().map(info),
                    })
                    .collect::<Vec<_>>())
            },
        )
    }

    /// ListGroups on every broker.
    #[napi(ts_return_type = "Promise<Array<GroupListing>>")]
    pub fn list_groups(&self, env: Env) -> napi::Result<JsObject> {
        let admin = self.admin.clone();
        crate::promise(
            &env,
            async move { admin.list_groups(&[]).await },
            |_, groups| {
                Ok(groups
                    .into_iter()
                    .map(|g| GroupListing {
                        group_id: g.group_id,
                        protocol_type: g.protocol_type,
                        state: g.state,
                    })
                    .collect::<Vec<_>>())
            },
        )
    }

    /// DescribeGroups; one result per group.
    #[napi(ts_return_type = "Promise<Array<GroupDescription>>")]
    pub fn describe_groups(&self, env: Env, groups: Vec<String>) -> napi::Result<JsObject> {
        let admin = self.admin.clone();
        crate::promise(
            &env,
            async move { admin.describe_groups(&groups).await },
            |_, results| {
                Ok(results
                    .into_iter()
                    .map(|(group_id, result)| match result {
                        Ok(g) => GroupDescription {
                            group_id,
                            state: g.state,
                            protocol_type: g.protocol_type,
                            protocol: g.protocol,
                            members: g
                                .members
                                .into_iter()
                                .map(|m| GroupMember {
                                    member_id: m.member_id,
                                    group_instance_id: m.group_instance_id,
                                    client_id: m.client_id,
                                    client_host: m.client_host,
                                    assignment: m.assignment.into_iter().map(Into::into).collect(),
                                })
                                .collect(),
                            error: None,
                        },
                        Err(failed) => GroupDescription {
                            group_id,
                            state: String::new(),
                            protocol_type: String::new(),
                            protocol: String::new(),
                            members: Vec::new(),
                            error: Some(info(&failed)),
                        },
                    })
                    .collect::<Vec<_>>())
            },
        )
    }

    /// DeleteGroups; one result per group.
    #[napi(ts_return_type = "Promise<Array<ItemResult>>")]
    pub fn delete_groups(&self, env: Env, groups: Vec<String>) -> napi::Result<JsObject> {
        let admin = self.admin.clone();
        crate::promise(
            &env,
            async move { admin.delete_groups(&groups).await },
            |_, results| Ok(items(results)),
        )
    }

    /// The group's committed offsets (OffsetFetch) for `partitions`, or all it has.
    #[napi(ts_return_type = "Promise<Array<PartitionResult>>")]
    pub fn list_group_offsets(
        &self,
        env: Env,
        group: String,
        partitions: Option<Vec<TopicPartition>>,
    ) -> napi::Result<JsObject> {
        let partitions: Option<Vec<(String, i32)>> =
            partitions.map(|list| list.into_iter().map(Into::into).collect());
        let admin = self.admin.clone();
        crate::promise(
            &env,
            async move {
                admin
                    .list_group_offsets(&group, partitions.as_deref())
                    .await
            },
            |_, found| {
                Ok(found
                    .into_iter()
                    .map(|((topic, partition), offset, metadata)| PartitionResult {
                        topic,
                        partition,
                        offset,
                        metadata,
                        error: None,
                    })
                    .collect::<Vec<_>>())
            },
        )
    }

    /// Commits `offsets` for a group with no active members (OffsetCommit as a
    /// non-member); one result per partition.
    #[napi(ts_return_type = "Promise<Array<PartitionResult>>")]
    pub fn alter_group_offsets(
        &self,
        env: Env,
        group: String,
        offsets: Vec<TopicPartitionOffset>,
    ) -> napi::Result<JsObject> {
        let offsets: Vec<(String, i32, i64)> = offsets
            .into_iter()
            .map(|o| (o.topic, o.partition, o.offset))
            .collect();
        let admin = self.admin.clone();
        crate::promise(
            &env,
            async move { admin.alter_group_offsets(&group, &offsets).await },
            |_, results| Ok(partition_results(results, |()| -1)),
        )
    }

    /// DescribeCluster: the cluster id, the controller and the brokers.
    #[napi(ts_return_type = "Promise<Cluster>")]
    pub fn describe_cluster(&self, env: Env) -> napi::Result<JsObject> {
        let admin = self.admin.clone();
        crate::promise(
            &env,
            async move { admin.describe_cluster().await },
            |_, c| {
                Ok(Cluster {
                    cluster_id: c.cluster_id,
                    controller: c.controller_id,
                    brokers: brokers(c.brokers),
                    topics: Vec::new(),
                })
            },
        )
    }
}
