//! The desired-replica signal rises under a real burst and falls after it;
//! the DLQ depth gauge follows the dead-letter queue.

use catalytic_scheduler::autoscale::Autoscaler;
use catalytic_scheduler::autoscale::desired::Policy;
use catalytic_shared::Secret;
use catalytic_shared::queue::{Broker, Topology};
use catalytic_shared::tenant::QueueClass;
use catalytic_shared::testkit::{self, TestDatabase};
use lapin::BasicProperties;
use lapin::options::{BasicPublishOptions, QueuePurgeOptions};
use std::sync::Arc;
use std::time::Duration;

/// 10 per worker, 1 to 20, and no stabilisation window: a fall shows at once.
fn autoscaler(db: &TestDatabase, broker: &Arc<Broker>, topology: &Topology) -> Autoscaler {
    Autoscaler {
        pool: db.pool.clone(),
        broker: broker.clone(),
        topology: topology.clone(),
        policy: Policy {
            target_per_worker: 10,
            min_workers: 1,
            max_workers: 20,
            scale_down_window: Duration::ZERO,
        },
        interval: Duration::from_secs(1),
        stabiliser: Default::default(),
    }
}

#[tokio::test]
async fn the_signal_rises_under_a_burst_and_falls_after_it() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let topology = Topology::new(&testkit::unique_name(), 5);
    let broker = Arc::new(Broker::new(
        Secret::new(testkit::amqp_url()),
        "autoscale-test",
    ));
    let channel = broker.channel().await?;
    topology.declare(&channel).await?;
    let autoscaler = autoscaler(&db, &broker, &topology);
    assert_eq!(autoscaler.run_once().await?.desired, 1, "idle: the minimum");

    // A burst: 95 messages waiting in the standard queue.
    channel.confirm_select(Default::default()).await?;
    for _ in 0..95 {
        channel
            .basic_publish(
                topology.jobs_exchange().into(),
                QueueClass::Standard.as_str().into(),
                BasicPublishOptions::default(),
                b"{}",
                BasicProperties::default(),
            )
            .await?
            .await?;
    }
    let signal = autoscaler.run_once().await?;
    assert_eq!((signal.backlog, signal.desired), (95, 10), "{signal:?}");
    let standard = signal
        .classes
        .iter()
        .find(|c| c.class == "standard")
        .map(|c| c.ready_messages);
    assert_eq!(standard, Some(95));

    // The burst is worked off: back down.
    channel
        .queue_purge(
            topology.job_queue(QueueClass::Standard).into(),
            QueuePurgeOptions::default(),
        )
        .await?;
    assert_eq!(autoscaler.run_once().await?.desired, 1);
    let stored = catalytic_shared::db::scaling::load(&db.pool).await?;
    assert_eq!(
        stored
            .iter()
            .find(|r| r.class == "all")
            .map(|r| r.desired_workers),
        Some(1)
    );

    topology.delete(&channel).await?;
    broker.close().await;
    db.drop_database().await
}

fn dlq_depth() -> anyhow::Result<Option<f64>> {
    let rendered = catalytic_shared::metrics::render(&catalytic_shared::metrics::install(
        catalytic_shared::metrics::Process::Scheduler,
    )?);
    Ok(rendered.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        (series == "catalytic_dlq_depth_messages")
            .then(|| value.parse().ok())
            .flatten()
    }))
}

/// `catalytic_dlq_depth_messages` (issue 7) is what waits in the
/// dead-letter queue, read by the signal round.
#[tokio::test]
async fn the_dlq_depth_gauge_follows_the_dead_letter_queue() -> anyhow::Result<()> {
    // Not registered at 0 (issue 19): a scaling input appears with the
    // first round that computed it, never as a 0 nobody measured.
    assert_eq!(dlq_depth()?, None, "absent before the first round");
    let db = TestDatabase::create().await?;
    let topology = Topology::new(&testkit::unique_name(), 5);
    let broker = Arc::new(Broker::new(Secret::new(testkit::amqp_url()), "dlq-test"));
    let channel = broker.channel().await?;
    topology.declare(&channel).await?;
    let autoscaler = autoscaler(&db, &broker, &topology);
    channel.confirm_select(Default::default()).await?;
    for _ in 0..3 {
        channel
            .basic_publish(
                topology.dead_letter_exchange().into(),
                "dead".into(),
                BasicPublishOptions::default(),
                b"{}",
                BasicProperties::default(),
            )
            .await?
            .await?;
    }
    autoscaler.run_once().await?;
    assert_eq!(dlq_depth()?, Some(3.0));

    channel
        .queue_purge(
            topology.dead_letter_queue().into(),
            QueuePurgeOptions::default(),
        )
        .await?;
    autoscaler.run_once().await?;
    assert_eq!(dlq_depth()?, Some(0.0));
    topology.delete(&channel).await?;
    db.drop_database().await
}

/// Each class's row carries the age of its own oldest queued job (issue
/// 18: every class showed the fleet-wide oldest); the `all` row the oldest
/// of any.
#[tokio::test]
async fn each_class_reports_its_own_oldest_queued_job() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let topology = Topology::new(&testkit::unique_name(), 5);
    let broker = Arc::new(Broker::new(Secret::new(testkit::amqp_url()), "oldest-test"));
    let channel = broker.channel().await?;
    topology.declare(&channel).await?;
    let tenant = crate::harness::tenant(&db.pool).await?;
    let low = crate::harness::queued_job(&db, tenant, 3).await?;
    let high = crate::harness::queued_job(&db, tenant, 3).await?;
    for (job, class, age_secs) in [(low, "low", 600.0), (high, "high", 30.0)] {
        sqlx::query(
            "UPDATE jobs SET queue_class = $2, created_at = now() - make_interval(secs => $3)
             WHERE id = $1",
        )
        .bind(job.as_uuid())
        .bind(class)
        .bind(age_secs)
        .execute(&db.pool)
        .await?;
    }
    let signal = autoscaler(&db, &broker, &topology).run_once().await?;
    let oldest = |class: &str| {
        signal
            .classes
            .iter()
            .find(|c| c.class == class)
            .map(|c| c.oldest_queued_secs)
    };
    let near = |got: Option<f64>, want: f64| got.is_some_and(|g| (g - want).abs() < 5.0);
    assert!(near(oldest("low"), 600.0), "low: {:?}", oldest("low"));
    assert!(near(oldest("high"), 30.0), "high: {:?}", oldest("high"));
    assert_eq!(oldest("standard"), Some(0.0), "nothing queued");
    let stored = catalytic_shared::db::scaling::load(&db.pool).await?;
    let all = stored
        .iter()
        .find(|r| r.class == "all")
        .map(|r| r.oldest_queued_secs);
    assert!(near(all, 600.0), "all: {all:?}");
    topology.delete(&channel).await?;
    broker.close().await;
    db.drop_database().await
}
