//! The broker side of idempotent producers (KIP-98) over real sockets: InitProducerId,
//! a retried batch answered with its original offset, a gap refused.

use tidelog::client::admin::{Admin, AdminConfig, NewTopic, OffsetSpec};
use tidelog::client::connection::BrokerConnection;
use tidelog::embedded::{EmbeddedBroker, EmbeddedOptions};
use tidelog::error::ErrorCode;
use tidelog::protocol::compression::Compression;
use tidelog::protocol::messages::{produce_request, InitProducerIdRequest, ProduceRequest};
use tidelog::protocol::records::RecordBatchBuilder;

fn produce(records: bytes::Bytes) -> ProduceRequest {
    ProduceRequest {
        acks: -1,
        timeout_ms: 5_000,
        topic_data: vec![produce_request::TopicProduceData {
            name: "idempotent".into(),
            partition_data: vec![produce_request::PartitionProduceData {
                index: 0,
                records: Some(records),
            }],
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn a_retried_batch_gets_its_original_offset_and_a_gap_is_refused() {
    let broker = EmbeddedBroker::start(EmbeddedOptions::default()).unwrap();
    let admin = Admin::new(
        AdminConfig::from_pairs([("bootstrap.servers", broker.bootstrap_servers())]).unwrap(),
    );
    let topic = NewTopic {
        name: "idempotent".into(),
        partitions: Some(1),
        replication_factor: None,
        configs: Vec::new(),
    };
    admin.create_topics(&[topic], false).await.unwrap()[0]
        .1
        .as_ref()
        .unwrap();
    let connection = BrokerConnection::connect(broker.bootstrap_servers(), "test")
        .await
        .unwrap();

    let (_, init) = connection
        .call(
            InitProducerIdRequest {
                transactional_id: None,
                transaction_timeout_ms: 60_000,
                producer_id: -1,
                producer_epoch: -1,
            },
            0,
        )
        .await
        .unwrap();
    assert_eq!(init.error_code, 0);
    assert!(init.producer_id >= 0);
    let batch = |first: i32| {
        let mut builder = RecordBatchBuilder::new(Compression::Zstd).with_producer(
            init.producer_id,
            init.producer_epoch,
            first,
        );
        for i in 0..4 {
            builder
                .append(
                    1,
                    Some(b"k"),
                    Some(format!("v{}", first + i).as_bytes()),
                    &[],
                )
                .unwrap();
        }
        builder.build().unwrap()
    };
    let answer = |response: tidelog::protocol::messages::ProduceResponse| {
        let partition = &response.responses[0].partition_responses[0];
        (partition.error_code, partition.base_offset)
    };
    assert_eq!(
        answer(connection.call(produce(batch(0)), 3).await.unwrap().1),
        (0, 0)
    );
    assert_eq!(
        answer(connection.call(produce(batch(4)), 3).await.unwrap().1),
        (0, 4)
    );
    // The response to the second batch was "lost": the producer sends it again.
    assert_eq!(
        answer(connection.call(produce(batch(4)), 3).await.unwrap().1),
        (0, 4)
    );
    assert_eq!(
        answer(connection.call(produce(batch(12)), 3).await.unwrap().1).0,
        ErrorCode::OutOfOrderSequenceNumber.code()
    );
    let end = admin
        .list_offsets(&[("idempotent".into(), 0, OffsetSpec::Latest)])
        .await
        .unwrap();
    assert_eq!(
        end[0].1.as_ref().unwrap().0,
        8,
        "no duplicate and nothing from the refused batch"
    );
}
