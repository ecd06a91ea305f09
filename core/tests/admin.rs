//! The admin client against a real broker (EmbeddedBroker) over real sockets.

use tidelog::client::admin::*;
use tidelog::client::connection::BrokerConnection;
use tidelog::embedded::{EmbeddedBroker, EmbeddedOptions};
use tidelog::error::{Error, ErrorCode};
use tidelog::protocol::compression::Compression;
use tidelog::protocol::messages::{produce_request, ProduceRequest};
use tidelog::protocol::records::RecordBatchBuilder;

fn admin(broker: &EmbeddedBroker) -> Admin {
    Admin::new(
        AdminConfig::from_pairs([("bootstrap.servers", broker.bootstrap_servers())]).unwrap(),
    )
}

fn code<T>(result: &Result<T, Error>) -> Option<ErrorCode> {
    result.as_ref().err().map(Error::code)
}

/// Creates `topic` and produces `count` records with timestamps 1000, 2000, ... to it.
async fn produce(bootstrap: &str, topic: &str, count: i64) {
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
    let admin = Admin::new(AdminConfig::from_pairs([("bootstrap.servers", bootstrap)]).unwrap());
    let new_topic = NewTopic {
        name: topic.into(),
        partitions: Some(1),
        replication_factor: None,
        configs: Vec::new(),
    };
    admin.create_topics(&[new_topic], false).await.unwrap()[0]
        .1
        .as_ref()
        .unwrap();
    let connection = BrokerConnection::connect(bootstrap, "test").await.unwrap();
    let (_, response) = connection.call(request, 3).await.unwrap();
    assert_eq!(response.responses[0].partition_responses[0].error_code, 0);
}

#[tokio::test]
async fn topics_partitions_and_configs() {
    let broker = EmbeddedBroker::start(EmbeddedOptions::default()).unwrap();
    let admin = admin(&broker);
    let topic = NewTopic {
        name: "orders".into(),
        partitions: Some(3),
        replication_factor: None,
        configs: vec![("retention.ms".into(), "3600000".into())],
    };
    let created = admin
        .create_topics(
            &[
                topic.clone(),
                NewTopic {
                    name: "bad/name".into(),
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

    let listed = admin.list_topics(false).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|t| (t.name.as_str(), t.partitions.len()))
            .collect::<Vec<_>>(),
        vec![("orders", 3)]
    );
    let grown = admin
        .create_partitions(&[("orders".into(), 5)], false)
        .await
        .unwrap();
    assert!(grown[0].1.is_ok());
    let described = admin
        .describe_topics(&["orders".into(), "missing".into()])
        .await
        .unwrap();
    assert_eq!(described[0].1.as_ref().unwrap().partitions.len(), 5);
    assert_eq!(
        code(&described[1].1),
        Some(ErrorCode::UnknownTopicOrPartition)
    );

    let resource = ConfigResource {
        kind: ResourceType::Topic,
        name: "orders".into(),
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
    let configs = admin
        .describe_configs(std::slice::from_ref(&resource))
        .await
        .unwrap();
    let entries = configs[0].1.as_ref().unwrap();
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

    let deleted = admin.delete_topics(&["orders".into()]).await.unwrap();
    assert!(deleted[0].1.is_ok());
    assert!(admin.list_topics(false).await.unwrap().is_empty());
}

#[tokio::test]
async fn offsets_by_time_and_delete_records() {
    let broker = EmbeddedBroker::start(EmbeddedOptions::default()).unwrap();
    let admin = admin(&broker);
    produce(broker.bootstrap_servers(), "events", 10).await;
    let offsets = admin
        .list_offsets(&[("events".into(), 0, OffsetSpec::Earliest)])
        .await
        .unwrap();
    assert_eq!(offsets[0].1.as_ref().unwrap().0, 0);
    for (spec, expected) in [
        (OffsetSpec::Latest, 10),
        (OffsetSpec::Timestamp(4_500), 4),
        (OffsetSpec::MaxTimestamp, 9),
    ] {
        let found = admin
            .list_offsets(&[("events".into(), 0, spec)])
            .await
            .unwrap();
        assert_eq!(found[0].1.as_ref().unwrap().0, expected, "{spec:?}");
    }
    let missing = admin
        .list_offsets(&[("events".into(), 7, OffsetSpec::Latest)])
        .await
        .unwrap();
    assert_eq!(
        code(&missing[0].1),
        Some(ErrorCode::UnknownTopicOrPartition)
    );

    let low = admin
        .delete_records(&[("events".into(), 0, 6)])
        .await
        .unwrap();
    assert_eq!(*low[0].1.as_ref().unwrap(), 6);
    let earliest = admin
        .list_offsets(&[("events".into(), 0, OffsetSpec::Earliest)])
        .await
        .unwrap();
    assert_eq!(earliest[0].1.as_ref().unwrap().0, 6);
    let too_far = admin
        .delete_records(&[("events".into(), 0, 99)])
        .await
        .unwrap();
    assert_eq!(code(&too_far[0].1), Some(ErrorCode::OffsetOutOfRange));
}

#[tokio::test]
async fn group_offsets_listing_and_deletion() {
    let broker = EmbeddedBroker::start(EmbeddedOptions::default()).unwrap();
    let admin = admin(&broker);
    produce(broker.bootstrap_servers(), "events", 3).await;
    let set = admin
        .alter_group_offsets("reporting", &[("events".into(), 0, 2)])
        .await
        .unwrap();
    assert!(set[0].1.is_ok());
    let committed = admin.list_group_offsets("reporting", None).await.unwrap();
    assert_eq!(
        committed,
        vec![(("events".to_string(), 0), 2, Some(String::new()))]
    );
    let partial = admin
        .list_group_offsets(
            "reporting",
            Some(&[("events".into(), 0), ("events".into(), 1)]),
        )
        .await
        .unwrap();
    assert_eq!(
        partial
            .iter()
            .map(|(tp, o, _)| (tp.1, *o))
            .collect::<Vec<_>>(),
        vec![(0, 2), (1, -1)]
    );

    let groups = admin.list_groups(&[]).await.unwrap();
    assert_eq!(
        groups,
        vec![GroupListing {
            group_id: "reporting".into(),
            protocol_type: String::new(),
            state: "Empty".into()
        }]
    );
    assert!(admin
        .list_groups(&["Stable".into()])
        .await
        .unwrap()
        .is_empty());
    let described = admin.describe_groups(&["reporting".into()]).await.unwrap();
    let description = described[0].1.as_ref().unwrap();
    assert_eq!(
        (description.state.as_str(), description.members.len()),
        ("Empty", 0)
    );

    let deleted = admin
        .delete_groups(&["reporting".into(), "nobody".into()])
        .await
        .unwrap();
    assert!(deleted[0].1.is_ok());
    assert_eq!(code(&deleted[1].1), Some(ErrorCode::GroupIdNotFound));
    assert!(admin
        .list_group_offsets("reporting", None)
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
