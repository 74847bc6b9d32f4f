use crate::harness::{claim, count, eventually, expire_lease, job_state, queued_job, tenant};
use catalytic_scheduler::dead_letters::{DeadLetters, Handled};
use catalytic_scheduler::leases::Reaper;
use catalytic_shared::ids::{JobId, MessageId, TenantId};
use catalytic_shared::queue::{Broker, JobMessage, Topology};
use catalytic_shared::secret::Secret;
use catalytic_shared::tenant::QueueClass;
use catalytic_shared::testkit::{self, TestDatabase};
use futures::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, BasicRejectOptions, ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn message(job: JobId, tenant: TenantId, attempt: i32) -> JobMessage {
    JobMessage::new(MessageId::new(), job, tenant, attempt)
}

async fn publish(
    channel: &Channel,
    exchange: String,
    key: &str,
    body: &[u8],
) -> anyhow::Result<()> {
    channel
        .basic_publish(
            exchange.into(),
            key.into(),
            BasicPublishOptions {
                mandatory: true,
                ..Default::default()
            },
            body,
            BasicProperties::default().with_delivery_mode(2),
        )
        .await?
        .await?;
    Ok(())
}

struct Setup {
    db: TestDatabase,
    topology: Topology,
    broker: Arc<Broker>,
    channel: Channel,
}

async fn setup() -> anyhow::Result<Setup> {
    let db = TestDatabase::create().await?;
    let topology = Topology::new(&testkit::unique_name(), 5);
    let broker = Arc::new(Broker::new(
        Secret::new(testkit::amqp_url()),
        "scheduler-test",
    ));
    let channel = broker.channel().await?;
    topology.declare(&channel).await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    Ok(Setup {
        db,
        topology,
        broker,
        channel,
    })
}

fn consumer(s: &Setup, broker: Arc<Broker>) -> DeadLetters {
    DeadLetters {
        pool: s.db.pool.clone(),
        broker,
        topology: s.topology.clone(),
        prefetch: 10,
    }
}

#[tokio::test]
async fn a_message_a_worker_rejects_fails_its_job_with_the_reason() -> anyhow::Result<()> {
    let s = setup().await?;
    let tenant = tenant(&s.db.pool).await?;
    let job = queued_job(&s.db, tenant, 3).await?;

    // A worker rejects the job's message from its class queue.
    publish(
        &s.channel,
        s.topology.jobs_exchange(),
        QueueClass::Low.as_str(),
        &message(job, tenant, 1).to_bytes(),
    )
    .await?;
    let mut class_queue = s
        .channel
        .basic_consume(
            s.topology.job_queue(QueueClass::Low).into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let delivery = tokio::time::timeout(Duration::from_secs(10), class_queue.next())
        .await?
        .ok_or_else(|| anyhow::anyhow!("consumer ended"))??;
    delivery
        .reject(BasicRejectOptions { requeue: false })
        .await?;

    let shutdown = CancellationToken::new();
    let own_broker = Arc::new(Broker::new(
        Secret::new(testkit::amqp_url()),
        "dead-letters",
    ));
    let task = tokio::spawn(consumer(&s, own_broker.clone()).run(shutdown.clone()));
    let error = eventually(Duration::from_secs(15), || async {
        let (status, _, error) = job_state(&s.db, job).await?;
        Ok((status == "failed").then_some(error))
    })
    .await?
    .ok_or_else(|| anyhow::anyhow!("failed without an error"))?;
    assert_eq!(error["kind"], "dead_letter");
    let reason = error["message"].as_str().unwrap_or_default();
    assert!(reason.contains("rejected"), "reason: {reason}");
    assert_eq!(
        count(
            &s.db,
            "SELECT count(*) FROM usage_events WHERE job_id = $1 AND NOT billable",
            job
        )
        .await?,
        1
    );

    shutdown.cancel();
    task.await?;
    own_broker.close().await;
    // Acked after the commit: nothing left in the dead-letter queue.
    assert_eq!(
        s.topology
            .ready_messages(&s.channel, &s.topology.dead_letter_queue())
            .await?,
        0
    );
    s.topology.delete(&s.channel).await?;
    s.broker.close().await;
    s.db.drop_database().await
}

#[tokio::test]
async fn garbage_is_acked_and_the_next_dead_letter_still_fails_its_job() -> anyhow::Result<()> {
    let s = setup().await?;
    let tenant = tenant(&s.db.pool).await?;
    let job = queued_job(&s.db, tenant, 3).await?;
    let dlx = s.topology.dead_letter_exchange();
    publish(&s.channel, dlx.clone(), "dead", b"\xffnot json").await?;
    publish(&s.channel, dlx, "dead", &message(job, tenant, 1).to_bytes()).await?;

    let shutdown = CancellationToken::new();
    let own_broker = Arc::new(Broker::new(
        Secret::new(testkit::amqp_url()),
        "dead-letters",
    ));
    let task = tokio::spawn(consumer(&s, own_broker.clone()).run(shutdown.clone()));
    // One consumer handles messages in order: once the job failed, the
    // garbage before it was settled.
    eventually(Duration::from_secs(15), || async {
        let (status, _, _) = job_state(&s.db, job).await?;
        Ok((status == "failed").then_some(()))
    })
    .await?;
    shutdown.cancel();
    task.await?;
    // Closing the consumer's connection returns anything unacked: none.
    own_broker.close().await;
    assert_eq!(
        s.topology
            .ready_messages(&s.channel, &s.topology.dead_letter_queue())
            .await?,
        0
    );
    s.topology.delete(&s.channel).await?;
    s.broker.close().await;
    s.db.drop_database().await
}

#[tokio::test]
async fn a_dead_letter_of_a_superseded_attempt_leaves_the_job_alone() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let tenant = tenant(&db.pool).await?;
    let job = queued_job(&db, tenant, 3).await?;
    claim(&db, job, 1).await?;
    expire_lease(&db, job).await?;
    let reaper = Reaper {
        pool: db.pool.clone(),
        interval: Duration::from_secs(1),
        batch: 10,
    };
    assert_eq!(reaper.run_once().await?.retried, 1);

    let dead_letters = DeadLetters {
        pool: db.pool.clone(),
        // Never connected: `handle` needs only the database.
        broker: Arc::new(Broker::new(Secret::new(testkit::amqp_url()), "unused")),
        topology: Topology::new(&testkit::unique_name(), 5),
        prefetch: 1,
    };
    let handled = dead_letters
        .handle(&message(job, tenant, 1).to_bytes(), None)
        .await?;
    assert_eq!(handled, Handled::Ignored { job });
    let (status, attempt, _) = job_state(&db, job).await?;
    assert_eq!((status.as_str(), attempt), ("queued", 2));

    // The current attempt's dead letter does fail it; a duplicate is ignored.
    let current = message(job, tenant, 2).to_bytes();
    assert!(matches!(
        dead_letters.handle(&current, None).await?,
        Handled::Failed { .. }
    ));
    assert_eq!(
        dead_letters.handle(&current, None).await?,
        Handled::Ignored { job }
    );
    assert_eq!(job_state(&db, job).await?.0, "failed");
    db.drop_database().await
}
