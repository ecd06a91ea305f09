//! `tl_admin_t`: the core's admin client ([`Admin`]) for C: topics, partitions, configs,
//! consumer groups and offsets. Each call blocks until the cluster answers or
//! `timeout_ms` passes, and acts on one item, returning that item's error.

use crate::conf::tl_conf_t;
use crate::error::{catch, status, Failure};
use crate::message::{c_string, tl_partition_list_t, PartitionEntry, TL_OFFSET_INVALID};
use crate::{handle, text, timeout, tl_resp_err_t};
use std::ffi::{c_char, c_int, CString};
use std::future::Future;
use tidelog::client::admin::{
    Admin, AdminConfig, AlterConfigOp, ConfigResource, NewTopic, OffsetSpec, ResourceType,
};
use tidelog::client::consumer::TopicPartition;
use tidelog::client::ClientKind;
use tidelog::error::Error;

/// tl_admin_describe_configs / tl_admin_alter_config: a topic's configs (Kafka's
/// `ConfigResource.Type` value).
pub const TL_RESOURCE_TOPIC: i32 = 2;
/// tl_admin_describe_configs / tl_admin_alter_config: a broker's configs, named by its id.
pub const TL_RESOURCE_BROKER: i32 = 4;

/// A Kafka admin client.
pub struct tl_admin_t {
    admin: Admin,
}

/// An admin client configured by `conf` (its admin keys: `bootstrap.servers`,
/// `client.id`, `request.timeout.ms`; keys of other clients are ignored). It connects on
/// the first call.
///
/// Returns a handle owned by the caller (free it with tl_admin_destroy), or NULL with the
/// reason in `errstr` (a missing `bootstrap.servers`, a NULL `conf`). `conf` is only
/// read. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_admin_new(
    conf: *const tl_conf_t,
    errstr: *mut c_char,
    errstr_size: usize,
) -> *mut tl_admin_t {
    let result = catch(|| {
        let conf = handle(conf, "conf")?;
        let config = AdminConfig::from_pairs(conf.settings(ClientKind::Admin))?;
        Ok(Box::into_raw(Box::new(tl_admin_t {
            admin: Admin::new(config),
        })))
    });
    crate::error::made_or_null(result, errstr, errstr_size)
}

/// Frees the admin client; NULL is ignored. Not concurrently with other calls on it.
#[no_mangle]
pub unsafe extern "C" fn tl_admin_destroy(admin: *mut tl_admin_t) {
    crate::destroy(admin);
}

/// Runs an admin call on tidelog's runtime, up to `timeout_ms`.
fn wait<T>(
    operation: &str,
    timeout_ms: c_int,
    call: impl Future<Output = Result<T, Error>>,
) -> Result<T, Failure> {
    let limit = timeout(timeout_ms);
    tidelog::runtime::handle()
        .block_on(async { tokio::time::timeout(limit, call).await })
        .map_err(|_| Error::Timeout {
            operation: operation.into(),
            timeout_ms: limit.as_millis() as u64,
        })?
        .map_err(Failure::from)
}

/// Writes each partition's answer into its entry of `list`: the offset `offset` takes
/// from it, or TL_OFFSET_INVALID and the partition's error.
fn write_back<T>(
    list: &mut tl_partition_list_t,
    found: &[(TopicPartition, Result<T, Error>)],
    offset: impl Fn(&T) -> i64,
) {
    for entry in &mut list.entries {
        let key = (entry.topic.to_string_lossy().into_owned(), entry.partition);
        (entry.offset, entry.err) = match found.iter().find(|(tp, _)| *tp == key) {
            Some((_, Ok(answer))) => (offset(answer), tl_resp_err_t::TL_RESP_ERR_NONE),
            Some((_, Err(error))) => (TL_OFFSET_INVALID, Failure::of(error, false).code),
            None => (
                TL_OFFSET_INVALID,
                tl_resp_err_t::TL_RESP_ERR_UNKNOWN_TOPIC_OR_PARTITION,
            ),
        };
    }
}

/// The single result of a call on one item.
fn only<K, T>(results: Vec<(K, Result<T, Error>)>) -> Result<T, Failure> {
    match results.into_iter().next() {
        Some((_, result)) => Ok(result?),
        None => Err(Failure::fail("the broker answered without a result".into())),
    }
}

/// Creates `topic` with `partitions` partitions and `replication_factor` replicas (-1
/// each: the broker's defaults) and `config_count` topic configs from `configs`, an array
/// of `2 * config_count` strings: key, value, key, value... (NULL when 0).
///
/// Errors: TL_RESP_ERR_TOPIC_ALREADY_EXISTS, TL_RESP_ERR_INVALID_TOPIC_EXCEPTION,
/// TL_RESP_ERR_INVALID_PARTITIONS, TL_RESP_ERR_INVALID_CONFIG, ..., request errors
/// (TL_RESP_ERR__TRANSPORT, ...), TL_RESP_ERR__TIMED_OUT, TL_RESP_ERR__INVALID_ARG for a
/// NULL argument. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_admin_create_topic(
    admin: *mut tl_admin_t,
    topic: *const c_char,
    partitions: i32,
    replication_factor: i16,
    configs: *const *const c_char,
    config_count: usize,
    timeout_ms: c_int,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = handle(admin, "admin")?;
        let mut pairs = Vec::with_capacity(config_count);
        if config_count > 0 {
            if configs.is_null() {
                return Err(Failure::null("configs"));
            }
            for pair in std::slice::from_raw_parts(configs, 2 * config_count).chunks(2) {
                pairs.push((
                    text(pair[0], "config key")?.to_string(),
                    text(pair[1], "config value")?.to_string(),
                ));
            }
        }
        let new_topic = NewTopic {
            name: text(topic, "topic")?.to_string(),
            partitions: (partitions >= 0).then_some(partitions),
            replication_factor: (replication_factor >= 0).then_some(replication_factor),
            configs: pairs,
        };
        only(wait(
            "create topic",
            timeout_ms,
            this.admin.create_topics(&[new_topic], false),
        )?)
        .map(drop)
    }))
}

/// Deletes `topic`.
///
/// Errors: TL_RESP_ERR_UNKNOWN_TOPIC_OR_PARTITION, TL_RESP_ERR_TOPIC_DELETION_DISABLED,
/// ..., request errors, TL_RESP_ERR__TIMED_OUT, TL_RESP_ERR__INVALID_ARG for a NULL
/// argument. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_admin_delete_topic(
    admin: *mut tl_admin_t,
    topic: *const c_char,
    timeout_ms: c_int,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = handle(admin, "admin")?;
        let names = [text(topic, "topic")?.to_string()];
        only(wait(
            "delete topic",
            timeout_ms,
            this.admin.delete_topics(&names),
        )?)
    }))
}

/// Deletes `group` (DeleteGroups): its committed offsets and metadata.
///
/// Errors: TL_RESP_ERR_NON_EMPTY_GROUP while it has members,
/// TL_RESP_ERR_GROUP_ID_NOT_FOUND, the coordinator's errors, request errors,
/// TL_RESP_ERR__TIMED_OUT, TL_RESP_ERR__INVALID_ARG for a NULL argument. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_admin_delete_group(
    admin: *mut tl_admin_t,
    group: *const c_char,
    timeout_ms: c_int,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = handle(admin, "admin")?;
        let names = [text(group, "group")?.to_string()];
        only(wait(
            "delete group",
            timeout_ms,
            this.admin.delete_groups(&names),
        )?)
    }))
}

/// Grows `topic` to `total` partitions (CreatePartitions).
///
/// Errors: TL_RESP_ERR_INVALID_PARTITIONS (not more than now),
/// TL_RESP_ERR_UNKNOWN_TOPIC_OR_PARTITION, ..., request errors, TL_RESP_ERR__TIMED_OUT,
/// TL_RESP_ERR__INVALID_ARG for a NULL argument. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_admin_create_partitions(
    admin: *mut tl_admin_t,
    topic: *const c_char,
    total: i32,
    timeout_ms: c_int,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = handle(admin, "admin")?;
        let totals = [(text(topic, "topic")?.to_string(), total)];
        only(wait(
            "create partitions",
            timeout_ms,
            this.admin.create_partitions(&totals, false),
        )?)
    }))
}

/// Lists the cluster's topics (without internal ones such as `__consumer_offsets`) with
/// their partitions, in `*partitions`: one entry per (topic, partition), its offset
/// TL_OFFSET_INVALID and its error the partition's (e.g. TL_RESP_ERR_LEADER_NOT_AVAILABLE).
///
/// `*partitions` is a new list owned by the caller: free it with
/// tl_partition_list_destroy. Errors: request errors, TL_RESP_ERR__TIMED_OUT,
/// TL_RESP_ERR__INVALID_ARG for a NULL argument. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_admin_list_topics(
    admin: *mut tl_admin_t,
    timeout_ms: c_int,
    partitions: *mut *mut tl_partition_list_t,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = handle(admin, "admin")?;
        if partitions.is_null() {
            return Err(Failure::null("partitions"));
        }
        let topics = wait("list topics", timeout_ms, this.admin.list_topics(false))?;
        let mut list = tl_partition_list_t::default();
        for topic in topics {
            let name = c_string(topic.name);
            for partition in topic.partitions {
                list.entries.push(PartitionEntry {
                    topic: name.clone(),
                    partition: partition.partition,
                    offset: TL_OFFSET_INVALID,
                    err: crate::error::code(i32::from(partition.error.code())),
                });
            }
        }
        *partitions = Box::into_raw(Box::new(list));
        Ok(())
    }))
}

/// A config resource from C's (type, name).
unsafe fn resource(resource_type: i32, name: *const c_char) -> Result<ConfigResource, Failure> {
    let kind = match resource_type {
        TL_RESOURCE_TOPIC => ResourceType::Topic,
        TL_RESOURCE_BROKER => ResourceType::Broker,
        other => {
            return Err(Failure::invalid(format!(
                "resource type {other} is neither TL_RESOURCE_TOPIC nor TL_RESOURCE_BROKER"
            )))
        }
    };
    Ok(ConfigResource {
        kind,
        name: text(name, "name")?.to_string(),
    })
}

/// One described config value.
struct ConfigEntry {
    name: CString,
    value: Option<CString>,
    read_only: bool,
    is_sensitive: bool,
    source: i8,
}

/// Config values, as tl_admin_describe_configs reports them.
pub struct tl_config_list_t {
    entries: Vec<ConfigEntry>,
}

/// Describes the configs of a topic (`resource_type` TL_RESOURCE_TOPIC, `name` its name)
/// or a broker (TL_RESOURCE_BROKER, `name` its id), in `*configs`.
///
/// `*configs` is a new list owned by the caller: free it with tl_config_list_destroy.
/// Errors: TL_RESP_ERR_UNKNOWN_TOPIC_OR_PARTITION, ..., request errors,
/// TL_RESP_ERR__TIMED_OUT, TL_RESP_ERR__INVALID_ARG for a NULL argument or an unknown
/// resource type. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_admin_describe_configs(
    admin: *mut tl_admin_t,
    resource_type: i32,
    name: *const c_char,
    timeout_ms: c_int,
    configs: *mut *mut tl_config_list_t,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = handle(admin, "admin")?;
        if configs.is_null() {
            return Err(Failure::null("configs"));
        }
        let resources = [resource(resource_type, name)?];
        let described = only(wait(
            "describe configs",
            timeout_ms,
            this.admin.describe_configs(&resources),
        )?)?;
        let entries = described
            .into_iter()
            .map(|entry| ConfigEntry {
                name: c_string(entry.name),
                value: entry.value.map(c_string),
                read_only: entry.read_only,
                is_sensitive: entry.is_sensitive,
                source: entry.source,
            })
            .collect();
        *configs = Box::into_raw(Box::new(tl_config_list_t { entries }));
        Ok(())
    }))
}

/// The number of entries; 0 for NULL. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_config_list_count(configs: *const tl_config_list_t) -> usize {
    configs.as_ref().map_or(0, |c| c.entries.len())
}

/// The entry at `index`: its key, its value (NULL when sensitive or unset), whether it is
/// read-only and sensitive, and Kafka's ConfigSource number (1 topic, 2 dynamic broker, 4
/// static broker, 5 default, ...). Output pointers may be NULL.
///
/// The strings belong to the list. Errors: TL_RESP_ERR__INVALID_ARG for a NULL list or
/// an index out of range. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_config_list_get(
    configs: *const tl_config_list_t,
    index: usize,
    name: *mut *const c_char,
    value: *mut *const c_char,
    read_only: *mut bool,
    is_sensitive: *mut bool,
    source: *mut i8,
) -> tl_resp_err_t {
    status(catch(|| {
        let configs = handle(configs, "configs")?;
        let entry = crate::at(&configs.entries, index, "config")?;
        write(name, entry.name.as_ptr());
        write(
            value,
            entry
                .value
                .as_ref()
                .map_or(std::ptr::null(), |v| v.as_ptr()),
        );
        write(read_only, entry.read_only);
        write(is_sensitive, entry.is_sensitive);
        write(source, entry.source);
        Ok(())
    }))
}

/// Writes `value` to an output pointer that may be NULL.
unsafe fn write<T>(output: *mut T, value: T) {
    if !output.is_null() {
        *output = value;
    }
}

/// Frees a list returned by tl_admin_describe_configs; NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn tl_config_list_destroy(configs: *mut tl_config_list_t) {
    crate::destroy(configs);
}

/// Sets config `key` of a topic or broker (see tl_admin_describe_configs) to `value`,
/// or, with a NULL `value`, returns it to its default (IncrementalAlterConfigs SET /
/// DELETE, KIP-339). Other keys keep their values.
///
/// Errors: TL_RESP_ERR_INVALID_CONFIG (unknown key or bad value, with the broker's
/// message in tl_last_error), TL_RESP_ERR_UNKNOWN_TOPIC_OR_PARTITION, ..., request errors,
/// TL_RESP_ERR__TIMED_OUT, TL_RESP_ERR__INVALID_ARG for a NULL argument. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_admin_alter_config(
    admin: *mut tl_admin_t,
    resource_type: i32,
    name: *const c_char,
    key: *const c_char,
    value: *const c_char,
    timeout_ms: c_int,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = handle(admin, "admin")?;
        let key = text(key, "key")?.to_string();
        let op = match value.is_null() {
            true => AlterConfigOp::Delete(key),
            false => AlterConfigOp::Set(key, text(value, "value")?.to_string()),
        };
        let changes = [(resource(resource_type, name)?, vec![op])];
        only(wait(
            "alter config",
            timeout_ms,
            this.admin.incremental_alter_configs(&changes, false),
        )?)
    }))
}

/// One group: its id, state and protocol type, with its protocol and members when
/// described.
struct Group {
    group_id: CString,
    state: CString,
    protocol_type: CString,
    protocol: CString,
    members: Vec<Member>,
}

struct Member {
    member_id: CString,
    client_id: CString,
    client_host: CString,
    assignment: tl_partition_list_t,
}

/// Consumer groups, as tl_admin_list_groups and tl_admin_describe_group report them.
pub struct tl_group_list_t {
    groups: Vec<Group>,
}

/// Lists the cluster's groups, in `*groups` (without members).
///
/// `*groups` is a new list owned by the caller: free it with tl_group_list_destroy.
/// Errors: request errors, TL_RESP_ERR__TIMED_OUT, TL_RESP_ERR__INVALID_ARG for a NULL
/// argument. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_admin_list_groups(
    admin: *mut tl_admin_t,
    timeout_ms: c_int,
    groups: *mut *mut tl_group_list_t,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = handle(admin, "admin")?;
        if groups.is_null() {
            return Err(Failure::null("groups"));
        }
        let listed = wait("list groups", timeout_ms, this.admin.list_groups(&[]))?;
        let list = listed
            .into_iter()
            .map(|g| Group {
                group_id: c_string(g.group_id),
                state: c_string(g.state),
                protocol_type: c_string(g.protocol_type),
                protocol: CString::default(),
                members: Vec::new(),
            })
            .collect();
        *groups = Box::into_raw(Box::new(tl_group_list_t { groups: list }));
        Ok(())
    }))
}

/// Describes `group`, in `*description`: a list of one group with its members (Kafka
/// answers state "Dead" for a group that does not exist).
///
/// `*description` is a new list owned by the caller: free it with tl_group_list_destroy.
/// Errors: TL_RESP_ERR_GROUP_AUTHORIZATION_FAILED, ..., request errors,
/// TL_RESP_ERR__TIMED_OUT, TL_RESP_ERR__INVALID_ARG for a NULL argument. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_admin_describe_group(
    admin: *mut tl_admin_t,
    group: *const c_char,
    timeout_ms: c_int,
    description: *mut *mut tl_group_list_t,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = handle(admin, "admin")?;
        if description.is_null() {
            return Err(Failure::null("description"));
        }
        let names = [text(group, "group")?.to_string()];
        let described = only(wait(
            "describe group",
            timeout_ms,
            this.admin.describe_groups(&names),
        )?)?;
        let members = described
            .members
            .into_iter()
            .map(|m| Member {
                member_id: c_string(m.member_id),
                client_id: c_string(m.client_id),
                client_host: c_string(m.client_host),
                assignment: tl_partition_list_t::of(
                    m.assignment.into_iter().map(|tp| (tp, TL_OFFSET_INVALID)),
                ),
            })
            .collect();
        let group = Group {
            group_id: c_string(described.group_id),
            state: c_string(described.state),
            protocol_type: c_string(described.protocol_type),
            protocol: c_string(described.protocol),
            members,
        };
        *description = Box::into_raw(Box::new(tl_group_list_t {
            groups: vec![group],
        }));
        Ok(())
    }))
}

/// The number of groups; 0 for NULL. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_group_list_count(groups: *const tl_group_list_t) -> usize {
    groups.as_ref().map_or(0, |g| g.groups.len())
}

/// The group at `index`: its id, state (Empty, PreparingRebalance, CompletingRebalance,
/// Stable, Dead), protocol type (`consumer` for consumer groups), protocol (the assignor,
/// when described and stable; else empty) and member count (when described; else 0).
/// Output pointers may be NULL.
///
/// The strings belong to the list. Errors: TL_RESP_ERR__INVALID_ARG for a NULL list or
/// an index out of range. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_group_list_get(
    groups: *const tl_group_list_t,
    index: usize,
    group_id: *mut *const c_char,
    state: *mut *const c_char,
    protocol_type: *mut *const c_char,
    protocol: *mut *const c_char,
    member_count: *mut usize,
) -> tl_resp_err_t {
    status(catch(|| {
        let group = group_at(groups, index)?;
        write(group_id, group.group_id.as_ptr());
        write(state, group.state.as_ptr());
        write(protocol_type, group.protocol_type.as_ptr());
        write(protocol, group.protocol.as_ptr());
        write(member_count, group.members.len());
        Ok(())
    }))
}

unsafe fn group_at<'a>(groups: *const tl_group_list_t, index: usize) -> Result<&'a Group, Failure> {
    let groups = handle(groups, "groups")?;
    crate::at(&groups.groups, index, "group")
}

/// Member `member` of the group at `index`: its member id, `client.id`, host and
/// assigned partitions (offsets TL_OFFSET_INVALID). Output pointers may be NULL.
///
/// The strings and the partition list belong to the group list: never free them.
/// Errors: TL_RESP_ERR__INVALID_ARG for a NULL list or an index out of range. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_group_list_member(
    groups: *const tl_group_list_t,
    index: usize,
    member: usize,
    member_id: *mut *const c_char,
    client_id: *mut *const c_char,
    client_host: *mut *const c_char,
    assignment: *mut *const tl_partition_list_t,
) -> tl_resp_err_t {
    status(catch(|| {
        let group = group_at(groups, index)?;
        let found = crate::at(&group.members, member, "member")?;
        write(member_id, found.member_id.as_ptr());
        write(client_id, found.client_id.as_ptr());
        write(client_host, found.client_host.as_ptr());
        write(assignment, &found.assignment as *const tl_partition_list_t);
        Ok(())
    }))
}

/// Frees a list returned by tl_admin_list_groups or tl_admin_describe_group; NULL is
/// ignored.
#[no_mangle]
pub unsafe extern "C" fn tl_group_list_destroy(groups: *mut tl_group_list_t) {
    crate::destroy(groups);
}

/// Deletes the records of each entry of `partitions` before the entry's offset
/// (DeleteRecords, asked of each partition's leader; TL_OFFSET_END: every record) and
/// writes the answer into the entry: its offset becomes the partition's new log start
/// offset, its error the partition's (e.g. TL_RESP_ERR_OFFSET_OUT_OF_RANGE past the high
/// watermark, TL_RESP_ERR_UNKNOWN_TOPIC_OR_PARTITION).
///
/// Errors: request errors, TL_RESP_ERR__TIMED_OUT, TL_RESP_ERR__INVALID_ARG for a NULL
/// argument. `partitions` stays the caller's. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_admin_delete_records(
    admin: *mut tl_admin_t,
    partitions: *mut tl_partition_list_t,
    timeout_ms: c_int,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = handle(admin, "admin")?;
        let list = partitions
            .as_mut()
            .ok_or_else(|| Failure::null("partitions"))?;
        let before: Vec<_> = list
            .offsets()
            .into_iter()
            .map(|((topic, partition), offset)| (topic, partition, offset))
            .collect();
        let found = wait(
            "delete records",
            timeout_ms,
            this.admin.delete_records(&before),
        )?;
        write_back(list, &found, |low_watermark| *low_watermark);
        Ok(())
    }))
}

/// Looks up offsets for each entry of `partitions` (ListOffsets, asked of each
/// partition's leader) and writes the answer into the entry: with `spec`
/// TL_OFFSET_BEGINNING the log start offset, TL_OFFSET_END the high watermark, a
/// timestamp in ms (>= 0) the first offset with a timestamp at or after it (-1 if none);
/// each entry's error is the partition's (e.g. TL_RESP_ERR_UNKNOWN_TOPIC_OR_PARTITION).
///
/// Errors: request errors, TL_RESP_ERR__TIMED_OUT, TL_RESP_ERR__INVALID_ARG for a NULL
/// argument or another negative `spec`. `partitions` stays the caller's. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn tl_admin_list_offsets(
    admin: *mut tl_admin_t,
    partitions: *mut tl_partition_list_t,
    spec: i64,
    timeout_ms: c_int,
) -> tl_resp_err_t {
    status(catch(|| {
        let this = handle(admin, "admin")?;
        let list = partitions
            .as_mut()
            .ok_or_else(|| Failure::null("partitions"))?;
        let spec = match spec {
            crate::message::TL_OFFSET_BEGINNING => OffsetSpec::Earliest,
            crate::message::TL_OFFSET_END => OffsetSpec::Latest,
            timestamp if timestamp >= 0 => OffsetSpec::Timestamp(timestamp),
            other => {
                return Err(Failure::invalid(format!(
                    "offset spec {other} is not valid"
                )))
            }
        };
        let wanted: Vec<_> = list
            .partitions()
            .into_iter()
            .map(|(topic, partition)| (topic, partition, spec))
            .collect();
        let found = wait("list offsets", timeout_ms, this.admin.list_offsets(&wanted))?;
        write_back(list, &found, |(offset, _timestamp)| *offset);
        Ok(())
    }))
}
