use catalytic_shared::queue::Topology;
use catalytic_shared::tenant::QueueClass;
use catalytic_shared::testkit;
use futures::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, BasicRejectOptions, ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use std::time::Duration;

#[tokio::test]
async fn the_topology_is_idempotent_routes_by_class_and_dead_letters_rejects() -> anyhow::Result<()>
{
    let conn = Connection::connect(&testkit::amqp_url(), ConnectionProperties::default()).await?;
    let channel = conn.create_channel().await?;
    let topology = Topology::new(&testkit::unique_name(), 5);
    // Two processes starting at once both declare: both succeed.
    let other = conn.create_channel().await?;
    let (a, b) = tokio::join!(topology.declare(&channel), topology.declare(&other));
    a?;
    b?;

    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    channel
        .basic_publish(
            topology.jobs_exchange().into(),
            QueueClass::Standard.as_str().into(),
            BasicPublishOptions {
                mandatory: true,
                ..Default::default()
            },
            b"poison",
            BasicProperties::default(),
        )
        .await?
        .await?;
    let standard = topology.job_queue(QueueClass::Standard);
    assert_eq!(topology.ready_messages(&channel, &standard).await?, 1);
    assert_eq!(
        topology
            .ready_messages(&channel, &topology.job_queue(QueueClass::Low))
            .await?,
        0
    );

    // A worker rejecting it without requeue sends it to the dead-letter queue.
    let mut consumer = channel
        .basic_consume(
            standard.as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let delivery = tokio::time::timeout(Duration::from_secs(10), consumer.next())
        .await?
        .ok_or_else(|| anyhow::anyhow!("consumer ended"))??;
    delivery
        .reject(BasicRejectOptions { requeue: false })
        .await?;
    let dead = topology.dead_letter_queue();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while topology.ready_messages(&other, &dead).await? != 1 {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the reject never reached the DLQ"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(consumer);
    channel.close(200, "done".into()).await?;
    topology.delete(&other).await?;
    conn.close(200, "done".into()).await?;
    Ok(())
}
