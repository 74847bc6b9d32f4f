use crate::harness::{claim, count, expire_lease, job_state, queued_job, tenant};
use catalytic_scheduler::leases::{ReapedCounts, Reaper};
use catalytic_shared::testkit::TestDatabase;
use std::time::Duration;

fn reaper(db: &TestDatabase) -> Reaper {
    Reaper {
        pool: db.pool.clone(),
        interval: Duration::from_millis(100),
        batch: 100,
    }
}

#[tokio::test]
async fn an_expired_lease_is_requeued_with_the_next_attempt_after_a_backoff() -> anyhow::Result<()>
{
    let db = TestDatabase::create().await?;
    let tenant = tenant(&db.pool).await?;
    let job = queued_job(&db, tenant, 3).await?;
    claim(&db, job, 1).await?;
    expire_lease(&db, job).await?;

    let counts = reaper(&db).run_once().await?;
    assert_eq!(
        counts,
        ReapedCounts {
            retried: 1,
            ..Default::default()
        }
    );
    let (status, attempt, error) = job_state(&db, job).await?;
    assert_eq!((status.as_str(), attempt), ("queued", 2));
    assert_eq!(
        error.as_ref().and_then(|e| e["kind"].as_str()),
        Some("lease_expired")
    );
    // The next attempt's message waits in the outbox until the backoff is over.
    let delayed = count(
        &db,
        "SELECT count(*) FROM job_outbox WHERE job_id = $1 AND attempt = 2 AND sent_at IS NULL AND run_at > now()",
        job,
    )
    .await?;
    assert_eq!(delayed, 1);
    // Nothing else is expired: a second round does nothing.
    assert_eq!(reaper(&db).run_once().await?, ReapedCounts::default());
    db.drop_database().await
}

#[tokio::test]
async fn at_max_attempts_the_job_fails_with_every_attempts_error_and_is_not_billed()
-> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let tenant = tenant(&db.pool).await?;
    let job = queued_job(&db, tenant, 2).await?;
    let reaper = reaper(&db);
    claim(&db, job, 1).await?;
    expire_lease(&db, job).await?;
    assert_eq!(reaper.run_once().await?.retried, 1);
    claim(&db, job, 2).await?;
    expire_lease(&db, job).await?;
    let counts = reaper.run_once().await?;
    assert_eq!(
        counts,
        ReapedCounts {
            failed: 1,
            ..Default::default()
        }
    );

    let (status, attempt, error) = job_state(&db, job).await?;
    assert_eq!((status.as_str(), attempt), ("failed", 2));
    let error = error.ok_or_else(|| anyhow::anyhow!("no error recorded"))?;
    assert_eq!(error["kind"], "attempts_exhausted");
    let errors = error["errors"]
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("no errors list: {error}"))?;
    assert_eq!(errors.len(), 2, "{error}");
    assert_eq!(errors[0]["attempt"], 1);
    assert_eq!(errors[1]["attempt"], 2);
    assert!(errors.iter().all(|e| e["kind"] == "lease_expired"));

    let usage = count(
        &db,
        "SELECT count(*) FROM usage_events WHERE job_id = $1 AND NOT billable",
        job,
    )
    .await?;
    assert_eq!(usage, 1, "one usage event, not billable");
    let webhooks = count(
        &db,
        "SELECT count(*) FROM webhook_messages WHERE job_id = $1 AND event_type = 'job.failed'",
        job,
    )
    .await?;
    assert_eq!(webhooks, 1);
    db.drop_database().await
}

#[tokio::test]
async fn a_running_job_with_a_live_lease_is_untouched() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let tenant = tenant(&db.pool).await?;
    let job = queued_job(&db, tenant, 3).await?;
    claim(&db, job, 1).await?;

    assert_eq!(reaper(&db).run_once().await?, ReapedCounts::default());
    let (status, attempt, _) = job_state(&db, job).await?;
    assert_eq!((status.as_str(), attempt), ("running", 1));
    db.drop_database().await
}

#[tokio::test]
async fn two_reapers_at_once_reap_each_job_exactly_once() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let tenant = tenant(&db.pool).await?;
    let mut jobs = Vec::new();
    for _ in 0..40 {
        let job = queued_job(&db, tenant, 3).await?;
        claim(&db, job, 1).await?;
        expire_lease(&db, job).await?;
        jobs.push(job);
    }
    let (a, b) = (reaper(&db), reaper(&db));
    let (ra, rb) = tokio::join!(a.run_once(), b.run_once());
    let (ra, rb) = (ra?, rb?);
    // A reaper that ran second (or skipped locked rows) may find the rest.
    let rest = reaper(&db).run_once().await?;
    assert_eq!(ra.retried + rb.retried + rest.retried, jobs.len());
    for job in jobs {
        let requeues = count(
            &db,
            "SELECT count(*) FROM job_transitions WHERE job_id = $1 AND from_status = 'running' AND to_status = 'queued'",
            job,
        )
        .await?;
        assert_eq!(requeues, 1, "job {job} reaped {requeues} times");
        let (status, attempt, _) = job_state(&db, job).await?;
        assert_eq!((status.as_str(), attempt), ("queued", 2));
    }
    db.drop_database().await
}
