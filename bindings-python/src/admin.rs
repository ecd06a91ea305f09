//! `AdminClient`, as confluent-kafka's: each call returns `concurrent.futures.Future`s (a
//! dict of them keyed by topic, resource, group or partition, or one) and spawns the core
//! call on tidelog's runtime; the task completes the futures under the GIL when the
//! broker answers, so no thread waits per call. The argument and result classes are the
//! plain-data ones of `tidelog/admin.py`.

use crate::error;
use crate::message::{TopicPartition, OFFSET_INVALID};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString};
use std::future::Future;
use std::time::Duration;
use tidelog::client::admin::{
    Admin, AdminConfig, AlterConfigOp, ConfigResource, GroupDescription, NewTopic, OffsetSpec,
    ResourceType,
};
use tidelog::client::cluster::ClusterMetadata;
use tidelog::error::Error;

static ADMIN_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// A class of `tidelog.admin` (or `concurrent.futures.Future`), called with `args`.
fn new_object<'py>(
    py: Python<'py>,
    class: &str,
    args: impl pyo3::call::PyCallArgs<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    ADMIN_MODULE
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import("tidelog.admin")?.unbind()))?
        .bind(py)
        .getattr(class)?
        .call1(args)
}

/// An enum member of `tidelog.admin` by value, e.g. `ConsumerGroupState(3)`.
fn enum_member<'py>(py: Python<'py>, class: &str, value: i32) -> PyResult<Bound<'py, PyAny>> {
    new_object(py, class, (value,))
}

/// The value of enum member `member`, or the int itself (confluent-kafka accepts both).
fn enum_value(member: &Bound<'_, PyAny>, what: &str) -> PyResult<i32> {
    let value = if member.hasattr("value")? {
        member.getattr("value")?
    } else {
        member.clone()
    };
    value
        .extract()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be an enum member or int")))
}

/// `object.name`, converted, with a TypeError naming the attribute and what it belongs to.
fn attribute<'py, T: FromPyObjectOwned<'py>>(
    object: &Bound<'py, PyAny>,
    name: &str,
    owner: &str,
) -> PyResult<T> {
    object
        .getattr(name)
        .map_err(|_| PyTypeError::new_err(format!("{owner} has no attribute `{name}`")))?
        .extract()
        .map_err(|_| PyTypeError::new_err(format!("{owner}.{name} has the wrong type")))
}

/// A non-empty list argument, or ValueError naming it (confluent-kafka's check).
fn non_empty<'py>(items: Vec<Bound<'py, PyAny>>, what: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if items.is_empty() {
        return Err(PyValueError::new_err(format!(
            "expected a non-empty list of {what}"
        )));
    }
    Ok(items)
}

fn new_future(py: Python<'_>) -> PyResult<Py<PyAny>> {
    static FUTURE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    Ok(FUTURE
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("concurrent.futures")?.getattr("Future")?.unbind())
        })?
        .bind(py)
        .call0()?
        .unbind())
}

/// One future per item, keyed in the returned dict by the item's Python key.
struct Futures {
    dict: Py<PyDict>,
    futures: Vec<Py<PyAny>>,
}

impl Futures {
    fn for_keys<'py>(
        py: Python<'py>,
        keys: impl IntoIterator<Item = Bound<'py, PyAny>>,
    ) -> PyResult<Futures> {
        let dict = PyDict::new(py);
        let mut futures = Vec::new();
        for key in keys {
            if dict.contains(&key)? {
                return Err(PyValueError::new_err(format!("duplicate item {key}")));
            }
            let future = new_future(py)?;
            dict.set_item(key, &future)?;
            futures.push(future);
        }
        Ok(Futures {
            dict: dict.unbind(),
            futures,
        })
    }
}

/// An item's outcome: its future's result, or the exception it raises.
type Outcome = PyResult<Py<PyAny>>;

fn settle(py: Python<'_>, future: &Py<PyAny>, outcome: Outcome) {
    let future = future.bind(py);
    // A future the application cancelled takes no result.
    if future
        .call_method0("done")
        .and_then(|d| d.is_truthy())
        .unwrap_or(true)
    {
        return;
    }
    let set = match outcome {
        Ok(value) => future.call_method1("set_result", (value,)),
        Err(error) => future.call_method1("set_exception", (error.into_value(py),)),
    };
    if let Err(failed) = set {
        failed.write_unraisable(py, Some(future));
    }
}

/// Runs `work` on tidelog's runtime (within `limit`, if given) and completes `futures`
/// with what `deliver` makes of its result: one outcome per future, by position (`None`
/// for an item the broker's answer left out). A failed request fails every future.
fn spawn<R: Send + 'static>(
    futures: Vec<Py<PyAny>>,
    limit: Option<Duration>,
    work: impl Future<Output = Result<R, Error>> + Send + 'static,
    deliver: impl FnOnce(Python<'_>, R) -> PyResult<Vec<Option<Outcome>>> + Send + 'static,
) {
    tidelog::runtime::handle().spawn(async move {
        let result = match limit {
            Some(limit) => tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
                Err(Error::Timeout {
                    operation: "admin request".into(),
                    timeout_ms: limit.as_millis() as u64,
                })
            }),
            None => work.await,
        };
        Python::attach(
            |py| match result.map_err(error::raise).and_then(|r| deliver(py, r)) {
                Ok(outcomes) => {
                    let mut outcomes = outcomes.into_iter();
                    for future in &futures {
                        let outcome = outcomes.next().flatten().unwrap_or_else(|| {
                            Err(error::exception(
                                py,
                                error::FAIL,
                                "the broker's answer left this item out",
                                false,
                            ))
                        });
                        settle(py, future, outcome);
                    }
                }
                Err(error) => {
                    for future in &futures {
                        settle(py, future, Err(error.clone_ref(py)));
                    }
                }
            },
        );
    });
}

/// `None` for a successful item (confluent-kafka's result for create/delete calls).
fn done(py: Python<'_>, result: Result<(), Error>) -> Outcome {
    result.map(|()| py.None()).map_err(error::raise)
}

/// Each of `items`' outcome, found by key in `results` (answers in any order).
fn by_key<K: PartialEq, T>(
    items: &[K],
    results: Vec<(K, Result<T, Error>)>,
    mut convert: impl FnMut(T) -> Outcome,
) -> Vec<Option<Outcome>> {
    let mut results: Vec<Option<(K, Result<T, Error>)>> = results.into_iter().map(Some).collect();
    items
        .iter()
        .map(|item| {
            let found = results
                .iter_mut()
                .find(|r| r.as_ref().is_some_and(|(key, _)| key == item))?
                .take()?;
            Some(found.1.map_err(error::raise).and_then(&mut convert))
        })
        .collect()
}

/// The `topic` of a NewTopic or NewPartitions (`owner`), which must not carry a
/// replica_assignment (ValueError: not supported).
fn topic_of(item: &Bound<'_, PyAny>, owner: &str) -> PyResult<String> {
    let name: String = attribute(item, "topic", owner)?;
    let assignment: Vec<Bound<'_, PyAny>> = attribute(item, "replica_assignment", owner)?;
    if !assignment.is_empty() {
        return Err(PyValueError::new_err(format!(
            "{owner} `{name}`: replica_assignment is not supported"
        )));
    }
    Ok(name)
}

/// A client-side limit for a call's `request_timeout` (seconds; None or negative: none).
fn request_limit(seconds: Option<f64>) -> Option<Duration> {
    seconds
        .filter(|s| *s >= 0.0)
        .map(|s| crate::timeout(Some(s)))
}

fn partition_key(tp: &Bound<'_, TopicPartition>) -> (String, i32) {
    let tp = tp.borrow();
    (tp.topic.clone(), tp.partition)
}

/// The metadata as confluent-kafka's `ClusterMetadata` (of `tidelog.admin`), for the
/// `list_topics` of every client.
pub fn cluster_metadata(py: Python<'_>, metadata: ClusterMetadata) -> PyResult<Bound<'_, PyAny>> {
    let brokers = PyDict::new(py);
    for broker in metadata.brokers {
        let object = new_object(
            py,
            "BrokerMetadata",
            (broker.node_id, broker.host, broker.port),
        )?;
        brokers.set_item(broker.node_id, object)?;
    }
    let code_error = |code: tidelog::error::ErrorCode| -> PyResult<Option<Bound<'_, PyAny>>> {
        if code == tidelog::error::ErrorCode::None {
            return Ok(None);
        }
        let error = Error::Kafka {
            code,
            message: None,
        };
        error::kafka_error(py, &error, false).map(Some)
    };
    let topics = PyDict::new(py);
    for topic in metadata.topics {
        let partitions = PyDict::new(py);
        for p in topic.partitions {
            let object = new_object(
                py,
                "PartitionMetadata",
                (
                    p.partition,
                    p.leader,
                    p.replicas,
                    p.isr,
                    code_error(p.error)?,
                ),
            )?;
            partitions.set_item(p.partition, object)?;
        }
        let object = new_object(
            py,
            "TopicMetadata",
            (&topic.name, partitions, code_error(topic.error)?),
        )?;
        topics.set_item(topic.name, object)?;
    }
    new_object(
        py,
        "ClusterMetadata",
        (metadata.cluster_id, metadata.controller_id, brokers, topics),
    )
}

/// `list_topics` of any client: the metadata of `topic` (every topic when None), waiting
/// up to `timeout` seconds (None or negative: no limit) with the GIL released.
pub fn list_topics<'py, F>(
    py: Python<'py>,
    topic: Option<String>,
    timeout: Option<f64>,
    metadata: impl FnOnce(Option<Vec<String>>) -> F,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<ClusterMetadata, Error>> + Send,
{
    let limit = crate::timeout(timeout);
    let asked = metadata(topic.map(|t| vec![t]));
    let found = crate::wait(py, async move { tokio::time::timeout(limit, asked).await })?
        .map_err(|_| {
            error::raise(Error::Timeout {
                operation: "list_topics".into(),
                timeout_ms: limit.as_millis() as u64,
            })
        })?
        .map_err(error::raise)?;
    cluster_metadata(py, found)
}

/// The `_metadata_future` of any client: an asyncio future of the ClusterMetadata of
/// `topic` (every topic when None).
pub fn metadata_future<F>(
    py: Python<'_>,
    topic: Option<String>,
    metadata: impl FnOnce(Option<Vec<String>>) -> F,
) -> PyResult<Py<PyAny>>
where
    F: Future<Output = Result<ClusterMetadata, Error>> + Send + 'static,
{
    let asked = metadata(topic.map(|t| vec![t]));
    crate::asyncio_future(py, asked, |py, found| {
        Ok(cluster_metadata(py, found.map_err(error::raise)?)?.unbind())
    })
}

/// Kafka's group state names (ListGroups, DescribeGroups) as ConsumerGroupState values.
const GROUP_STATES: [(&str, i32); 5] = [
    ("PreparingRebalance", 1),
    ("CompletingRebalance", 2),
    ("Stable", 3),
    ("Dead", 4),
    ("Empty", 5),
];

fn group_state<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    let value = GROUP_STATES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(0, |(_, v)| *v);
    enum_member(py, "ConsumerGroupState", value)
}

/// ConsumerGroupType.CLASSIC: DescribeGroups describes only classic-protocol groups.
const CLASSIC_GROUP: i32 = 2;

fn group_description(py: Python<'_>, group: GroupDescription) -> Outcome {
    let members = PyList::empty(py);
    for member in group.members {
        let partitions = PyList::empty(py);
        for (topic, partition) in member.assignment {
            partitions.append(TopicPartition::at(topic, partition, OFFSET_INVALID))?;
        }
        let assignment = new_object(py, "MemberAssignment", (partitions,))?;
        members.append(new_object(
            py,
            "MemberDescription",
            (
                member.member_id,
                member.client_id,
                member.client_host,
                assignment,
                member.group_instance_id,
            ),
        )?)?;
    }
    let description = new_object(
        py,
        "ConsumerGroupDescription",
        (
            group.group_id,
            group.protocol_type.is_empty(),
            members,
            group.protocol,
            group_state(py, &group.state)?,
            py.None(),
            py.None(),
            enum_member(py, "ConsumerGroupType", CLASSIC_GROUP)?,
        ),
    )?;
    Ok(description.unbind())
}

/// `offsets` as a `ConsumerGroupTopicPartitions(group, [TopicPartition])`, each
/// partition's `error` set from its result.
fn group_partitions(
    py: Python<'_>,
    group: &str,
    offsets: impl IntoIterator<Item = ((String, i32), i64, Option<String>, Option<Error>)>,
) -> Outcome {
    let list = PyList::empty(py);
    for ((topic, partition), offset, metadata, error) in offsets {
        let error = error
            .map(|e| error::kafka_error(py, &e, false).map(Bound::unbind))
            .transpose()?;
        list.append(TopicPartition {
            metadata,
            error,
            ..TopicPartition::at(topic, partition, offset)
        })?;
    }
    Ok(new_object(py, "ConsumerGroupTopicPartitions", (group, list))?.unbind())
}

/// A group's `ConsumerGroupTopicPartitions` request: the group id and its partitions (and
/// offsets), `None` when it names none.
type GroupRequest = (String, Option<Vec<(String, i32, i64)>>);

fn group_request(request: &Bound<'_, PyAny>) -> PyResult<GroupRequest> {
    let group: String = attribute(request, "group_id", "ConsumerGroupTopicPartitions")?;
    let partitions: Option<Vec<Bound<'_, TopicPartition>>> =
        attribute(request, "topic_partitions", "ConsumerGroupTopicPartitions")?;
    let partitions = partitions.map(|list| {
        list.iter()
            .map(|tp| {
                let tp = tp.borrow();
                (tp.topic.clone(), tp.partition, tp.offset)
            })
            .collect()
    });
    Ok((group, partitions))
}

fn config_resource(resource: &Bound<'_, PyAny>) -> PyResult<ConfigResource> {
    let kind = enum_value(&resource.getattr("restype")?, "ConfigResource.restype")?;
    let kind = match kind {
        2 => ResourceType::Topic,
        4 => ResourceType::Broker,
        other => {
            return Err(PyValueError::new_err(format!(
                "configs exist for TOPIC and BROKER resources, not resource type {other}"
            )))
        }
    };
    Ok(ConfigResource {
        kind,
        name: attribute(resource, "name", "ConfigResource")?,
    })
}

fn alter_op(entry: &Bound<'_, PyAny>) -> PyResult<AlterConfigOp> {
    let name: String = attribute(entry, "name", "ConfigEntry")?;
    let value: Option<String> = attribute(entry, "value", "ConfigEntry")?;
    let operation = entry.getattr("incremental_operation")?;
    if operation.is_none() {
        return Err(PyValueError::new_err(format!(
            "ConfigEntry `{name}` needs an incremental_operation (AlterConfigOpType)"
        )));
    }
    let needs_value = || {
        value.clone().ok_or_else(|| {
            PyValueError::new_err(format!("ConfigEntry `{name}`: the operation needs a value"))
        })
    };
    Ok(match enum_value(&operation, "incremental_operation")? {
        0 => AlterConfigOp::Set(name.clone(), needs_value()?),
        1 => AlterConfigOp::Delete(name),
        2 => AlterConfigOp::Append(name.clone(), needs_value()?),
        3 => AlterConfigOp::Subtract(name.clone(), needs_value()?),
        other => {
            return Err(PyValueError::new_err(format!(
                "ConfigEntry `{name}`: unknown incremental_operation {other}"
            )))
        }
    })
}

fn offset_spec(spec: &Bound<'_, PyAny>) -> PyResult<OffsetSpec> {
    let value: i64 = spec
        .getattr("_value")
        .and_then(|v| v.extract())
        .map_err(|_| PyTypeError::new_err("list_offsets takes OffsetSpec values"))?;
    Ok(match value {
        -2 => OffsetSpec::Earliest,
        -1 => OffsetSpec::Latest,
        -3 => OffsetSpec::MaxTimestamp,
        ms if ms >= 0 => OffsetSpec::Timestamp(ms),
        other => {
            return Err(PyValueError::new_err(format!(
                "no OffsetSpec has value {other}"
            )))
        }
    })
}

/// A Kafka admin client configured by a confluent-kafka style dict (`bootstrap.servers`,
/// `client.id`, `request.timeout.ms`, the broker-side timeout in ms of topic and record
/// operations). Raises `KafkaException(_INVALID_ARG)` naming the key for a bad key or
/// value.
///
/// Every method takes `request_timeout` (seconds; None: no client-side limit), after
/// which its futures fail with `KafkaException(_TIMED_OUT)`. Calls with a broker-side
/// `operation_timeout` accept it for compatibility; the config's `request.timeout.ms`
/// is what the broker gets. Futures fail with `KafkaException` when the request cannot be
/// made (e.g. `_TRANSPORT`) or with the item's Kafka error.
#[pyclass(module = "tidelog._native", frozen)]
pub struct AdminClient {
    admin: Admin,
}

#[pymethods]
impl AdminClient {
    #[new]
    #[pyo3(signature = (config = None, **kwargs))]
    fn new(
        py: Python<'_>,
        config: Option<&Bound<'_, PyDict>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<AdminClient> {
        let (pairs, _) = crate::client_config(py, config, kwargs, &[])?;
        let config = AdminConfig::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(error::raise)?;
        Ok(AdminClient {
            admin: Admin::new(config),
        })
    }

    /// Creates topics (CreateTopics) from a list of NewTopic; with `validate_only` the
    /// broker only checks them. Returns {topic name: Future}; `result()` is None or
    /// raises KafkaException (TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS,
    /// INVALID_REPLICATION_FACTOR, INVALID_CONFIG, ...). Raises ValueError for an empty
    /// list, a duplicate name or a replica_assignment, TypeError for other objects.
    #[pyo3(signature = (new_topics, operation_timeout = None, request_timeout = None, validate_only = false))]
    fn create_topics(
        &self,
        py: Python<'_>,
        new_topics: Vec<Bound<'_, PyAny>>,
        operation_timeout: Option<f64>,
        request_timeout: Option<f64>,
        validate_only: bool,
    ) -> PyResult<Py<PyDict>> {
        let _ = operation_timeout;
        let mut topics = Vec::new();
        for item in non_empty(new_topics, "NewTopic")? {
            let name = topic_of(&item, "NewTopic")?;
            let partitions: i32 = attribute(&item, "num_partitions", "NewTopic")?;
            let replication: i16 = attribute(&item, "replication_factor", "NewTopic")?;
            let configs: std::collections::BTreeMap<String, String> =
                attribute(&item, "config", "NewTopic")?;
            topics.push(NewTopic {
                name,
                partitions: (partitions >= 0).then_some(partitions),
                replication_factor: (replication >= 0).then_some(replication),
                configs: configs.into_iter().collect(),
            });
        }
        let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
        let futures = Futures::for_keys(py, names.iter().map(|n| PyString::new(py, n).into_any()))?;
        let admin = self.admin.clone();
        spawn(
            futures.futures,
            request_limit(request_timeout),
            async move { admin.create_topics(&topics, validate_only).await },
            move |py, results| Ok(by_key(&names, results, |_id| Ok(py.None()))),
        );
        Ok(futures.dict)
    }

    /// Deletes topics by name (DeleteTopics). Returns {topic name: Future}; `result()` is
    /// None or raises KafkaException (UNKNOWN_TOPIC_OR_PART, TOPIC_DELETION_DISABLED, ...).
    /// Raises ValueError for an empty list or a duplicate name.
    #[pyo3(signature = (topics, operation_timeout = None, request_timeout = None))]
    fn delete_topics(
        &self,
        py: Python<'_>,
        topics: Vec<String>,
        operation_timeout: Option<f64>,
        request_timeout: Option<f64>,
    ) -> PyResult<Py<PyDict>> {
        let _ = operation_timeout;
        if topics.is_empty() {
            return Err(PyValueError::new_err(
                "expected a non-empty list of topic names",
            ));
        }
        let futures =
            Futures::for_keys(py, topics.iter().map(|n| PyString::new(py, n).into_any()))?;
        let admin = self.admin.clone();
        let names = topics.clone();
        spawn(
            futures.futures,
            request_limit(request_timeout),
            async move { admin.delete_topics(&topics).await },
            move |py, results| Ok(by_key(&names, results, |()| Ok(py.None()))),
        );
        Ok(futures.dict)
    }

    /// Grows topics (CreatePartitions, KIP-195) from a list of NewPartitions; with
    /// `validate_only` the broker only checks. Returns {topic name: Future}; `result()` is
    /// None or raises KafkaException (INVALID_PARTITIONS for a count not above the
    /// current one, UNKNOWN_TOPIC_OR_PART, ...). Raises ValueError for an empty list, a
    /// duplicate topic or a replica_assignment.
    #[pyo3(signature = (new_partitions, operation_timeout = None, request_timeout = None, validate_only = false))]
    fn create_partitions(
        &self,
        py: Python<'_>,
        new_partitions: Vec<Bound<'_, PyAny>>,
        operation_timeout: Option<f64>,
        request_timeout: Option<f64>,
        validate_only: bool,
    ) -> PyResult<Py<PyDict>> {
        let _ = operation_timeout;
        let mut totals = Vec::new();
        for item in non_empty(new_partitions, "NewPartitions")? {
            let name = topic_of(&item, "NewPartitions")?;
            totals.push((name, attribute(&item, "new_total_count", "NewPartitions")?));
        }
        let names: Vec<String> = totals.iter().map(|(n, _)| n.clone()).collect();
        let futures = Futures::for_keys(py, names.iter().map(|n| PyString::new(py, n).into_any()))?;
        let admin = self.admin.clone();
        spawn(
            futures.futures,
            request_limit(request_timeout),
            async move { admin.create_partitions(&totals, validate_only).await },
            move |py, results| Ok(by_key(&names, results, |()| Ok(py.None()))),
        );
        Ok(futures.dict)
    }

    /// The cluster's brokers and topics (Metadata; `topic` alone if given), as a
    /// ClusterMetadata, waiting up to `timeout` seconds (None or -1: no limit) with the GIL
    /// released. Raises KafkaException (`_TIMED_OUT`, `_TRANSPORT`, ...).
    #[pyo3(signature = (topic = None, timeout = None))]
    fn list_topics<'py>(
        &self,
        py: Python<'py>,
        topic: Option<String>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let admin = self.admin.clone();
        list_topics(py, topic, timeout, |topics| async move {
            admin.metadata(topics.as_deref()).await
        })
    }

    /// Every config of each ConfigResource (DescribeConfigs). Returns {ConfigResource:
    /// Future}; `result()` is {config name: ConfigEntry} or raises KafkaException
    /// (UNKNOWN_TOPIC_OR_PART, ...). Raises ValueError for an empty list or a resource
    /// type without configs.
    #[pyo3(signature = (resources, request_timeout = None))]
    fn describe_configs(
        &self,
        py: Python<'_>,
        resources: Vec<Bound<'_, PyAny>>,
        request_timeout: Option<f64>,
    ) -> PyResult<Py<PyDict>> {
        let resources = non_empty(resources, "ConfigResource")?;
        let wanted: Vec<ConfigResource> = resources
            .iter()
            .map(config_resource)
            .collect::<PyResult<_>>()?;
        let futures = Futures::for_keys(py, resources)?;
        let admin = self.admin.clone();
        spawn(
            futures.futures,
            request_limit(request_timeout),
            async move { admin.describe_configs(&wanted).await },
            |py, results| {
                Ok(results
                    .into_iter()
                    .map(|(_, result)| {
                        Some(result.map_err(error::raise).and_then(|entries| {
                            let configs = PyDict::new(py);
                            for entry in entries {
                                let object = new_object(
                                    py,
                                    "ConfigEntry",
                                    (
                                        &entry.name,
                                        entry.value,
                                        // An int, as confluent-kafka gives it.
                                        i32::from(entry.source),
                                        entry.read_only,
                                        entry.source == 5,
                                        entry.is_sensitive,
                                    ),
                                )?;
                                configs.set_item(entry.name, object)?;
                            }
                            Ok(configs.into_any().unbind())
                        }))
                    })
                    .collect())
            },
        );
        Ok(futures.dict)
    }

    /// Changes configs key by key (IncrementalAlterConfigs, KIP-339): each
    /// ConfigResource's `incremental_configs`, ConfigEntry objects with `name`, `value`
    /// and `incremental_operation` (AlterConfigOpType); with `validate_only` the broker
    /// only checks. Returns {ConfigResource: Future}; `result()` is None or raises
    /// KafkaException (INVALID_CONFIG, UNKNOWN_TOPIC_OR_PART, ...). Raises ValueError for
    /// an empty list or an entry without operation or needed value.
    #[pyo3(signature = (resources, request_timeout = None, validate_only = false, broker = None))]
    fn incremental_alter_configs(
        &self,
        py: Python<'_>,
        resources: Vec<Bound<'_, PyAny>>,
        request_timeout: Option<f64>,
        validate_only: bool,
        broker: Option<i32>,
    ) -> PyResult<Py<PyDict>> {
        if broker.is_some() {
            return Err(PyValueError::new_err(
                "incremental_alter_configs: choosing the broker is not supported",
            ));
        }
        let resources = non_empty(resources, "ConfigResource")?;
        let mut changes = Vec::new();
        for resource in &resources {
            let entries: Vec<Bound<'_, PyAny>> =
                attribute(resource, "incremental_configs", "ConfigResource")?;
            let ops = entries.iter().map(alter_op).collect::<PyResult<_>>()?;
            changes.push((config_resource(resource)?, ops));
        }
        let futures = Futures::for_keys(py, resources)?;
        let admin = self.admin.clone();
        spawn(
            futures.futures,
            request_limit(request_timeout),
            async move {
                admin
                    .incremental_alter_configs(&changes, validate_only)
                    .await
            },
            |py, results| {
                Ok(results
                    .into_iter()
                    .map(|(_, result)| Some(done(py, result)))
                    .collect())
            },
        );
        Ok(futures.dict)
    }

    /// Every group (ListGroups to every broker), those in one of `states` (a set or list
    /// of ConsumerGroupState) if given. Returns one Future; `result()` is a
    /// ListConsumerGroupsResult whose `valid` lists ConsumerGroupListing, or raises
    /// KafkaException when a broker cannot be asked. `types` is accepted for compatibility
    /// and must be empty (tidelog does not filter by group protocol).
    #[pyo3(signature = (request_timeout = None, states = None, types = None))]
    fn list_consumer_groups(
        &self,
        py: Python<'_>,
        request_timeout: Option<f64>,
        states: Option<Bound<'_, PyAny>>,
        types: Option<Vec<Bound<'_, PyAny>>>,
    ) -> PyResult<Py<PyAny>> {
        if types.is_some_and(|t| !t.is_empty()) {
            return Err(PyValueError::new_err(
                "list_consumer_groups: filtering by group type is not supported",
            ));
        }
        let states = states
            .map(|s| s.try_iter()?.collect::<PyResult<Vec<_>>>())
            .transpose()?
            .unwrap_or_default()
            .iter()
            .map(|state| {
                let value = enum_value(state, "a state")?;
                GROUP_STATES
                    .iter()
                    .find(|(_, v)| *v == value)
                    .map(|(name, _)| name.to_string())
                    .ok_or_else(|| {
                        PyValueError::new_err(format!("no group state has value {value}"))
                    })
            })
            .collect::<PyResult<Vec<_>>>()?;
        let future = new_future(py)?;
        let admin = self.admin.clone();
        spawn(
            vec![future.clone_ref(py)],
            request_limit(request_timeout),
            async move { admin.list_groups(&states).await },
            |py, groups| {
                let valid = PyList::empty(py);
                for group in groups {
                    valid.append(new_object(
                        py,
                        "ConsumerGroupListing",
                        (
                            group.group_id,
                            group.protocol_type.is_empty(),
                            group_state(py, &group.state)?,
                            enum_member(py, "ConsumerGroupType", 0)?,
                        ),
                    )?)?;
                }
                let result =
                    new_object(py, "ListConsumerGroupsResult", (valid, PyList::empty(py)))?;
                Ok(vec![Some(Ok(result.unbind()))])
            },
        );
        Ok(future)
    }

    /// Describes groups (DescribeGroups at each group's coordinator). Returns {group id:
    /// Future}; `result()` is a ConsumerGroupDescription (state DEAD for a group that does
    /// not exist) or raises KafkaException (COORDINATOR_NOT_AVAILABLE, ...).
    /// `include_authorized_operations` must be False (not supported). Raises ValueError
    /// for an empty list or a duplicate id.
    #[pyo3(signature = (group_ids, include_authorized_operations = false, request_timeout = None))]
    fn describe_consumer_groups(
        &self,
        py: Python<'_>,
        group_ids: Vec<String>,
        include_authorized_operations: bool,
        request_timeout: Option<f64>,
    ) -> PyResult<Py<PyDict>> {
        if include_authorized_operations {
            return Err(PyValueError::new_err(
                "include_authorized_operations is not supported",
            ));
        }
        if group_ids.is_empty() {
            return Err(PyValueError::new_err(
                "expected a non-empty list of group ids",
            ));
        }
        let futures = Futures::for_keys(
            py,
            group_ids.iter().map(|g| PyString::new(py, g).into_any()),
        )?;
        let admin = self.admin.clone();
        let ids = group_ids.clone();
        spawn(
            futures.futures,
            request_limit(request_timeout),
            async move { admin.describe_groups(&group_ids).await },
            move |py, results| Ok(by_key(&ids, results, |group| group_description(py, group))),
        );
        Ok(futures.dict)
    }

    /// Deletes empty groups and their offsets (DeleteGroups, KIP-229). Returns {group id:
    /// Future}; `result()` is None or raises KafkaException (NON_EMPTY_GROUP while it has
    /// members, GROUP_ID_NOT_FOUND, ...). Raises ValueError for an empty list.
    #[pyo3(signature = (group_ids, request_timeout = None))]
    fn delete_consumer_groups(
        &self,
        py: Python<'_>,
        group_ids: Vec<String>,
        request_timeout: Option<f64>,
    ) -> PyResult<Py<PyDict>> {
        if group_ids.is_empty() {
            return Err(PyValueError::new_err(
                "expected a non-empty list of group ids",
            ));
        }
        let futures = Futures::for_keys(
            py,
            group_ids.iter().map(|g| PyString::new(py, g).into_any()),
        )?;
        let admin = self.admin.clone();
        let ids = group_ids.clone();
        spawn(
            futures.futures,
            request_limit(request_timeout),
            async move { admin.delete_groups(&group_ids).await },
            move |py, results| Ok(by_key(&ids, results, |()| Ok(py.None()))),
        );
        Ok(futures.dict)
    }

    /// Committed offsets of groups (OffsetFetch), from a list of
    /// ConsumerGroupTopicPartitions (partitions None: every committed one). Returns
    /// {group id: Future}; `result()` is a ConsumerGroupTopicPartitions whose partitions
    /// carry the offset to consume next (-1 without a commit), or raises KafkaException.
    /// `require_stable` is accepted for compatibility (tidelog asks without it).
    #[pyo3(signature = (list_consumer_group_offsets_request, require_stable = false, request_timeout = None))]
    fn list_consumer_group_offsets(
        &self,
        py: Python<'_>,
        list_consumer_group_offsets_request: Vec<Bound<'_, PyAny>>,
        require_stable: bool,
        request_timeout: Option<f64>,
    ) -> PyResult<Py<PyDict>> {
        let _ = require_stable;
        self.group_offsets(
            py,
            list_consumer_group_offsets_request,
            request_timeout,
            false,
        )
    }

    /// Sets groups' committed offsets (OffsetCommit as an admin, allowed only while a
    /// group is empty), from a list of ConsumerGroupTopicPartitions whose partitions carry
    /// the next offset to consume. Returns {group id: Future}; `result()` is a
    /// ConsumerGroupTopicPartitions (a partition's `error` set where it failed, e.g.
    /// UNKNOWN_MEMBER_ID while the group has members), or raises KafkaException.
    #[pyo3(signature = (alter_consumer_group_offsets_request, request_timeout = None))]
    fn alter_consumer_group_offsets(
        &self,
        py: Python<'_>,
        alter_consumer_group_offsets_request: Vec<Bound<'_, PyAny>>,
        request_timeout: Option<f64>,
    ) -> PyResult<Py<PyDict>> {
        self.group_offsets(
            py,
            alter_consumer_group_offsets_request,
            request_timeout,
            true,
        )
    }

    /// Offsets by time (ListOffsets at each leader): {TopicPartition: OffsetSpec}. Returns
    /// {TopicPartition: Future}; `result()` is a ListOffsetsResultInfo or raises
    /// KafkaException (UNKNOWN_TOPIC_OR_PART, NOT_LEADER_OR_FOLLOWER, ...).
    /// `isolation_level` READ_COMMITTED is not supported (ValueError).
    #[pyo3(signature = (topic_partition_offsets, isolation_level = None, request_timeout = None))]
    fn list_offsets(
        &self,
        py: Python<'_>,
        topic_partition_offsets: &Bound<'_, PyDict>,
        isolation_level: Option<Bound<'_, PyAny>>,
        request_timeout: Option<f64>,
    ) -> PyResult<Py<PyDict>> {
        if let Some(level) = isolation_level {
            if enum_value(&level, "isolation_level")? != 0 {
                return Err(PyValueError::new_err(
                    "list_offsets: only IsolationLevel.READ_UNCOMMITTED is supported",
                ));
            }
        }
        let mut keys = Vec::new();
        let mut wanted = Vec::new();
        for (key, spec) in topic_partition_offsets.iter() {
            let tp = key
                .cast::<TopicPartition>()
                .map_err(|_| PyTypeError::new_err("list_offsets takes TopicPartition keys"))?;
            let (topic, partition) = partition_key(tp);
            wanted.push((topic, partition, offset_spec(&spec)?));
            keys.push(key.clone());
        }
        let keys = non_empty(keys, "TopicPartition")?;
        let futures = Futures::for_keys(py, keys)?;
        let admin = self.admin.clone();
        let items: Vec<(String, i32)> = wanted.iter().map(|(t, p, _)| (t.clone(), *p)).collect();
        spawn(
            futures.futures,
            request_limit(request_timeout),
            async move { admin.list_offsets(&wanted).await },
            move |py, results| {
                Ok(by_key(&items, results, |(offset, timestamp)| {
                    Ok(new_object(py, "ListOffsetsResultInfo", (offset, timestamp))?.unbind())
                }))
            },
        );
        Ok(futures.dict)
    }

    /// Deletes records before each TopicPartition's `offset` (DeleteRecords, KIP-107;
    /// OFFSET_END: up to the high watermark). Returns {TopicPartition: Future};
    /// `result()` is a DeletedRecords with the new `low_watermark`, or raises
    /// KafkaException (OFFSET_OUT_OF_RANGE beyond the high watermark,
    /// UNKNOWN_TOPIC_OR_PART, ...). Raises ValueError for an empty list.
    #[pyo3(signature = (topic_partition_offsets, request_timeout = None, operation_timeout = None))]
    fn delete_records(
        &self,
        py: Python<'_>,
        topic_partition_offsets: Vec<Bound<'_, TopicPartition>>,
        request_timeout: Option<f64>,
        operation_timeout: Option<f64>,
    ) -> PyResult<Py<PyDict>> {
        let _ = operation_timeout;
        let before: Vec<(String, i32, i64)> = topic_partition_offsets
            .iter()
            .map(|tp| {
                let tp = tp.borrow();
                (tp.topic.clone(), tp.partition, tp.offset)
            })
            .collect();
        let keys = non_empty(
            topic_partition_offsets
                .into_iter()
                .map(Bound::into_any)
                .collect(),
            "TopicPartition",
        )?;
        let futures = Futures::for_keys(py, keys)?;
        let admin = self.admin.clone();
        let items: Vec<(String, i32)> = before.iter().map(|(t, p, _)| (t.clone(), *p)).collect();
        spawn(
            futures.futures,
            request_limit(request_timeout),
            async move { admin.delete_records(&before).await },
            move |py, results| {
                Ok(by_key(&items, results, |low| {
                    Ok(new_object(py, "DeletedRecords", (low,))?.unbind())
                }))
            },
        );
        Ok(futures.dict)
    }
}

impl AdminClient {
    /// list_consumer_group_offsets (`alter` false) and alter_consumer_group_offsets:
    /// one future per group, each group asked in turn.
    fn group_offsets(
        &self,
        py: Python<'_>,
        requests: Vec<Bound<'_, PyAny>>,
        request_timeout: Option<f64>,
        alter: bool,
    ) -> PyResult<Py<PyDict>> {
        let requests = non_empty(requests, "ConsumerGroupTopicPartitions")?;
        let groups: Vec<GroupRequest> = requests
            .iter()
            .map(group_request)
            .collect::<PyResult<_>>()?;
        if alter
            && groups
                .iter()
                .any(|(_, p)| p.as_ref().is_none_or(Vec::is_empty))
        {
            return Err(PyValueError::new_err(
                "alter_consumer_group_offsets needs the partitions and offsets of each group",
            ));
        }
        let futures = Futures::for_keys(
            py,
            groups.iter().map(|(g, _)| PyString::new(py, g).into_any()),
        )?;
        let admin = self.admin.clone();
        // One task per group: a group's failure fails only its future.
        for ((group, partitions), future) in groups.into_iter().zip(futures.futures) {
            let admin = admin.clone();
            let name = group.clone();
            if alter {
                let offsets = partitions.unwrap_or_default();
                let asked = offsets.clone();
                spawn(
                    vec![future],
                    request_limit(request_timeout),
                    async move { admin.alter_group_offsets(&group, &offsets).await },
                    move |py, results| {
                        let mut failed: Vec<((String, i32), Error)> = results
                            .into_iter()
                            .filter_map(|(tp, result)| result.err().map(|e| (tp, e)))
                            .collect();
                        let found = asked.into_iter().map(|(topic, partition, offset)| {
                            let error = failed
                                .iter()
                                .position(|((t, p), _)| *t == topic && *p == partition)
                                .map(|i| failed.swap_remove(i).1);
                            ((topic, partition), offset, None, error)
                        });
                        Ok(vec![Some(group_partitions(py, &name, found))])
                    },
                );
            } else {
                let partitions: Option<Vec<(String, i32)>> =
                    partitions.map(|list| list.into_iter().map(|(t, p, _)| (t, p)).collect());
                spawn(
                    vec![future],
                    request_limit(request_timeout),
                    async move {
                        admin
                            .list_group_offsets(&group, partitions.as_deref())
                            .await
                    },
                    move |py, offsets| {
                        // No commit: OFFSET_INVALID, as confluent-kafka reports it.
                        let found = offsets.into_iter().map(|(tp, offset, metadata)| {
                            let offset = if offset < 0 { OFFSET_INVALID } else { offset };
                            (tp, offset, metadata, None)
                        });
                        Ok(vec![Some(group_partitions(py, &name, found))])
                    },
                );
            }
        }
        Ok(futures.dict)
    }
}
