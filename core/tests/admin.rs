//! The admin client against a real broker (an EmbeddedBroker, or the cluster at
//! `TIDELOG_TEST_BOOTSTRAP`) over real sockets.

#[path = "support/broker.rs"]
mod broker;

use broker::{eventually, unique_name, TestBroker};
use tidelog::client::admin::*;
use tidelog::client::connection::BrokerConnection;
use tidelog::error::{Error, ErrorCode};
use tidelog::protocol::compression::Compression;
use tidelog::protocol::messages::{produce_request, ProduceRequest};
use tidelog::protocol::records::RecordBatchBuilder;

fn code<T>(result: &Result<T, Error>) -> Option<ErrorCode> {
    result.as_ref().err().map(Error::code)
}

/// Creates `topic` and produces `count` records with timestamps 1000, 2000, ... to it.
async fn produce(broker: &TestBroker, topic: &str, count: i64) {
    let mut builder = RecordBatchBuilder::new(Compression::None);
    for i in 0..count {
        builder
            .append(
                1000 * (i + 1),
                Some(b"k"),
                Some(format!("v{i}").as_bytes()),
                &[],
            )
            .unwrap();
    }
    let request = ProduceRequest {
        acks: -1,
        timeout_ms: 5_000,
        topic_data: vec![produce_request::TopicProduceData {
            name: topic.into(),
            partition_data: vec![produce_request::PartitionProduceData {
                index: 0,
                records: Some(builder.build().unwrap()),
            }],
        }],
        ..Default::default()
    };
    broker.create_topic(topic, 1, &[]).await;
    let connection = BrokerConnection::connect(broker.bootstrap_servers(), "test")
        .await
        .unwrap();
    let (_, response) = connection.call(request, 3).await.unwrap();
    assert_eq!(response.responses[0].partition_responses[0].error_code, 0);
}

#[tokio::test]
async fn topics_partitions_and_configs() {
    let broker = TestBroker::start();
    let admin = broker.admin();
    let name = unique_name("orders");
    let topic = NewTopic {
        name: name.clone(),
        partitions: Some(3),
        replication_factor: None,
        configs: vec![("retention.ms".into(), "3600000".into())],
    };
    let created = admin
        .create_topics(
            &[
                topic.clone(),
                NewTopic {
                    name: format!("{name}/bad"),
                    ..topic.clone()
                },
            ],
            false,
        )
        .await
        .unwrap();
    assert!(created[0].1.is_ok());
    assert_eq!(code(&created[1].1), Some(ErrorCode::InvalidTopicException));
    let again = admin.create_topics(&[topic], false).await.unwrap();
    assert_eq!(code(&again[0].1), Some(ErrorCode::TopicAlreadyExists));

    // Of this test's topics, only the valid one exists.
    let listed = eventually("the new topic is listed", async || {
        let ours: Vec<(String, usize)> = admin
            .list_topics(false)
            .await
            .unwrap()
            .into_iter()
            .filter(|t| t.name.starts_with(&name))
            .map(|t| (t.name, t.partitions.len()))
            .collect();
        (!ours.is_empty()).then_some(ours)
    })
    .await;
    assert_eq!(listed, vec![(name.clone(), 3)]);
    let grown = admin
        .create_partitions(&[(name.clone(), 5)], false)
        .await
        .unwrap();
    assert!(grown[0].1.is_ok());
    let missing = unique_name("missing");
    let described = eventually("5 partitions are described", async || {
        let described = admin
            .describe_topics(&[name.clone(), missing.clone()])
            .await
            .unwrap();
        let grown = described[0].1.as_ref().unwrap().partitions.len() == 5;
        grown.then_some(described)
    })
    .await;
    assert_eq!(
        code(&described[1].1),
        Some(ErrorCode::UnknownTopicOrPartition)
    );

    let resource = ConfigResource {
        kind: ResourceType::Topic,
        name: name.clone(),
    };
    let configs = admin
        .describe_configs(std::slice::from_ref(&resource))
        .await
        .unwrap();
    let retention = configs[0]
        .1
        .as_ref()
        .unwrap()
        .iter()
        .find(|e| e.name == "retention.ms")
        .unwrap()
        .clone();
    assert_eq!(
        (retention.value.as_deref(), retention.source),
        (Some("3600000"), 1)
    );
    let altered = admin
        .incremental_alter_configs(
            &[(
                resource.clone(),
                vec![
                    AlterConfigOp::Delete("retention.ms".into()),
                    AlterConfigOp::Set("cleanup.policy".into(), "compact".into()),
                ],
            )],
            false,
        )
        .await
        .unwrap();
    assert!(altered[0].1.is_ok());
    // Both changes are applied together, so once one is described, so is the other.
    let entries = eventually("the altered configs are described", async || {
        let configs = admin
            .describe_configs(std::slice::from_ref(&resource))
            .await
            .unwrap();
        let entries = configs.into_iter().next().unwrap().1.unwrap();
        let compact = entries
            .iter()
            .any(|e| e.name == "cleanup.policy" && e.value.as_deref() == Some("compact"));
        compact.then_some(entries)
    })
    .await;
    let get = |name: &str| entries.iter().find(|e| e.name == name).unwrap().clone();
    assert_eq!(
        (
            get("retention.ms").value.as_deref(),
            get("retention.ms").source
        ),
        (Some("604800000"), 5)
    );
    assert_eq!(get("cleanup.policy").value.as_deref(), Some("compact"));
    let bad = admin
        .incremental_alter_configs(
            &[(
                resource,
                vec![AlterConfigOp::Set("retention.mss".into(), "1".into())],
            )],
            false,
        )
        .await
        .unwrap();
    assert_eq!(code(&bad[0].1), Some(ErrorCode::InvalidConfig));
    assert!(bad[0]
        .1
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("retention.mss"));

    let cluster = admin.describe_cluster().await.unwrap();
    assert_eq!(cluster.brokers.len(), 1);
    assert_eq!(cluster.brokers[0].address(), broker.bootstrap_servers());

    let deleted = admin
        .delete_topics(std::slice::from_ref(&name))
        .await
        .unwrap();
    assert!(deleted[0].1.is_ok());
    eventually("the deleted topic is no longer listed", async || {
        let listed = admin.list_topics(false).await.unwrap();
        (!listed.iter().any(|t| t.name == name)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn offsets_by_time_and_delete_records() {
    let broker = TestBroker::start();
    let admin = broker.admin();
    let topic = unique_name("events");
    produce(&broker, &topic, 10).await;
    let offsets = admin
        .list_offsets(&[(topic.clone(), 0, OffsetSpec::Earliest)])
        .await
        .unwrap();
    assert_eq!(offsets[0].1.as_ref().unwrap().0, 0);
    for (spec, expected) in [
        (OffsetSpec::Latest, 10),
        (OffsetSpec::Timestamp(4_500), 4),
        (OffsetSpec::MaxTimestamp, 9),
    ] {
        let found = admin
            .list_offsets(&[(topic.clone(), 0, spec)])
            .await
            .unwrap();
        assert_eq!(found[0].1.as_ref().unwrap().0, expected, "{spec:?}");
    }
    let missing = admin
        .list_offsets(&[(topic.clone(), 7, OffsetSpec::Latest)])
        .await
        .unwrap();
    assert_eq!(
        code(&missing[0].1),
        Some(ErrorCode::UnknownTopicOrPartition)
    );

    let low = admin
        .delete_records(&[(topic.clone(), 0, 6)])
        .await
        .unwrap();
    assert_eq!(*low[0].1.as_ref().unwrap(), 6);
    let earliest = admin
        .list_offsets(&[(topic.clone(), 0, OffsetSpec::Earliest)])
        .await
        .unwrap();
    assert_eq!(earliest[0].1.as_ref().unwrap().0, 6);
    let too_far = admin
        .delete_records(&[(topic.clone(), 0, 99)])
        .await
        .unwrap();
    assert_eq!(code(&too_far[0].1), Some(ErrorCode::OffsetOutOfRange));
}

#[tokio::test]
async fn group_offsets_listing_and_deletion() {
    let broker = TestBroker::start();
    let admin = broker.admin();
    let topic = unique_name("events");
    produce(&broker, &topic, 3).await;
    let group = unique_name("reporting");
    let set = admin
        .alter_group_offsets(&group, &[(topic.clone(), 0, 2)])
        .await
        .unwrap();
    assert!(set[0].1.is_ok(), "{set:?}");
    let committed = admin.list_group_offsets(&group, None).await.unwrap();
    assert_eq!(
        committed,
        vec![((topic.clone(), 0), 2, Some(String::new()))]
    );
    let partial = admin
        .list_group_offsets(&group, Some(&[(topic.clone(), 0), (topic.clone(), 1)]))
        .await
        .unwrap();
    assert_eq!(
        partial
            .iter()
            .map(|(tp, o, _)| (tp.1, *o))
            .collect::<Vec<_>>(),
        vec![(0, 2), (1, -1)]
    );

    let ours = |groups: Vec<GroupListing>| -> Vec<GroupListing> {
        groups.into_iter().filter(|g| g.group_id == group).collect()
    };
    assert_eq!(
        ours(admin.list_groups(&[]).await.unwrap()),
        vec![GroupListing {
            group_id: group.clone(),
            protocol_type: String::new(),
            state: "Empty".into()
        }]
    );
    assert!(ours(admin.list_groups(&["Stable".into()]).await.unwrap()).is_empty());
    let described = admin
        .describe_groups(std::slice::from_ref(&group))
        .await
        .unwrap();
    let description = described[0].1.as_ref().unwrap();
    assert_eq!(
        (description.state.as_str(), description.members.len()),
        ("Empty", 0)
    );

    let deleted = admin
        .delete_groups(&[group.clone(), unique_name("nobody")])
        .await
        .unwrap();
    assert!(deleted[0].1.is_ok());
    assert_eq!(code(&deleted[1].1), Some(ErrorCode::GroupIdNotFound));
    assert!(admin
        .list_group_offsets(&group, None)
        .await
        .unwrap()
        .is_empty());
}

#[test]
fn config_errors_name_the_key() {
    let error =
        AdminConfig::from_pairs([("bootstrap.servers", "x:1"), ("request.timeout.msx", "5")])
            .err()
            .unwrap();
    assert!(error.to_string().contains("request.timeout.msx"));
    let error = AdminConfig::from_pairs([("client.id", "x")]).err().unwrap();
    assert!(error.to_string().contains("bootstrap.servers"));
}
