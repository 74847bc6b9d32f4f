use catalytic_shared::db::jobs::{self, Change, Guard, NewJob, Transitioned};
use catalytic_shared::db::{self, DbError};
use catalytic_shared::ids::{JobId, TenantId, WorkerId};
use catalytic_shared::job::{Failure, JobState, Usage};
use catalytic_shared::tenant::{Plan, QueueClass};
use catalytic_shared::testkit::TestDatabase;
use serde_json::json;
use std::time::Duration;

async fn queued_job(db: &TestDatabase) -> anyhow::Result<(TenantId, JobId)> {
    let tenant = TenantId::new();
    db::tenants::create(&db.pool, tenant, "t", Plan::Free).await?;
    let job = NewJob {
        id: JobId::new(),
        tenant_id: tenant,
        operation: "shortest_path",
        spec: json!({"lattice": {"sizes": [2]}, "operation": "shortest_path", "params": {"start": [0], "end": [1]}}),
        queue_class: QueueClass::Low,
        max_attempts: 3,
        time_limit: Duration::from_secs(10),
        lattice_id: None,
        run_at: None,
        unique: None,
        parents: None,
        concurrency: None,
        result_ttl: None,
        traceparent: None,
    };
    let mut tx = db.pool.begin().await?;
    jobs::insert_with_outbox(&mut tx, &job).await?;
    tx.commit().await?;
    Ok((tenant, job.id))
}

fn claim() -> Change {
    Change::Claim {
        worker: WorkerId::new(),
        lease: Duration::from_secs(30),
    }
}

fn succeed() -> Change {
    Change::Succeed {
        result: json!({"length": 1}),
        usage: Usage {
            billable: true,
            vertex_visits: 2,
            compute_ms: 1,
            device: Some("cpu"),
        },
    }
}

async fn count(db: &TestDatabase, sql: &'static str, job: JobId) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql)
        .bind(job.as_uuid())
        .fetch_one(&db.pool)
        .await?)
}

#[tokio::test]
async fn guarded_transitions_apply_once_and_stale_ones_change_nothing() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let (tenant, job) = queued_job(&db).await?;
    let mut conn = db.pool.acquire().await?;
    let queued = Guard {
        job,
        from: JobState::Queued,
        attempt: 1,
    };
    let running = Guard {
        from: JobState::Running,
        ..queued
    };

    // A message for another attempt cannot claim.
    let wrong_attempt = Guard {
        attempt: 2,
        ..queued
    };
    assert_eq!(
        jobs::transition(&mut conn, wrong_attempt, claim()).await?,
        Transitioned::Stale
    );

    let Transitioned::Applied(moved) = jobs::transition(&mut conn, queued, claim()).await? else {
        anyhow::bail!("the first claim must apply");
    };
    assert_eq!(
        (moved.tenant_id, moved.to, moved.attempt),
        (tenant, JobState::Running, 1)
    );
    let claimed = moved
        .claimed
        .ok_or_else(|| anyhow::anyhow!("a claim hands the worker the job"))?;
    assert_eq!(claimed.time_limit, Duration::from_secs(10));
    assert_eq!(claimed.spec["operation"], "shortest_path");
    assert_eq!(
        jobs::transition(&mut conn, queued, claim()).await?,
        Transitioned::Stale,
        "a duplicate claim"
    );

    assert!(matches!(
        jobs::transition(&mut conn, running, succeed()).await?,
        Transitioned::Applied(_)
    ));
    assert_eq!(
        jobs::transition(&mut conn, running, succeed()).await?,
        Transitioned::Stale,
        "a duplicate result"
    );

    drop(conn);
    let row = jobs::get(&db.pool, tenant, job)
        .await?
        .ok_or_else(|| anyhow::anyhow!("job gone"))?;
    assert_eq!(row.status, JobState::Succeeded);
    assert_eq!(row.result, Some(json!({"length": 1})));
    assert!(row.finished_at.is_some());
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM job_transitions WHERE job_id = $1",
            job
        )
        .await?,
        2
    );
    assert_eq!(count(&db, "SELECT count(*) FROM webhook_messages WHERE job_id = $1 AND event_type = 'job.succeeded'", job).await?, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM usage_events WHERE job_id = $1 AND billable AND vertex_visits = 2 AND operation = 'shortest_path' AND attempts = 1", job).await?, 1);
    db.drop_database().await
}

#[tokio::test]
async fn terminal_states_are_final() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let (_, job) = queued_job(&db).await?;
    let mut conn = db.pool.acquire().await?;
    let queued = Guard {
        job,
        from: JobState::Queued,
        attempt: 1,
    };
    let cancel = Change::Cancel {
        reason: "tenant asked".into(),
    };
    assert!(matches!(
        jobs::transition(&mut conn, queued, cancel.clone()).await?,
        Transitioned::Applied(_)
    ));
    // The table refuses anything out of a terminal state before any SQL runs.
    let cancelled = Guard {
        from: JobState::Cancelled,
        ..queued
    };
    assert!(matches!(
        jobs::transition(&mut conn, cancelled, claim()).await,
        Err(DbError::IllegalTransition(_))
    ));
    // A worker still holding the old message finds nothing to claim.
    assert_eq!(
        jobs::transition(&mut conn, queued, claim()).await?,
        Transitioned::Stale
    );
    drop(conn);
    assert_eq!(count(&db, "SELECT count(*) FROM webhook_messages WHERE job_id = $1 AND event_type = 'job.cancelled'", job).await?, 1);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM usage_events WHERE job_id = $1 AND NOT billable",
            job
        )
        .await?,
        1
    );
    db.drop_database().await
}

#[tokio::test]
async fn a_retry_spends_an_attempt_and_schedules_a_later_publish() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let (tenant, job) = queued_job(&db).await?;
    let mut conn = db.pool.acquire().await?;
    let queued = Guard {
        job,
        from: JobState::Queued,
        attempt: 1,
    };
    jobs::transition(&mut conn, queued, claim()).await?;
    let retry = Change::Retry {
        error: Failure::Engine {
            message: "boom".into(),
            attempt: 1,
        },
        backoff: Duration::from_secs(60),
    };
    let running = Guard {
        from: JobState::Running,
        ..queued
    };
    let Transitioned::Applied(moved) = jobs::transition(&mut conn, running, retry).await? else {
        anyhow::bail!("the retry must apply");
    };
    assert_eq!((moved.to, moved.attempt), (JobState::Queued, 2));
    // The old attempt's late result is stale: the lease token moved on.
    assert_eq!(
        jobs::transition(&mut conn, running, succeed()).await?,
        Transitioned::Stale
    );
    drop(conn);
    // The next publish is for attempt 2, due in about a minute, not now.
    let due_now: i64 = count(
        &db,
        "SELECT count(*) FROM job_outbox WHERE job_id = $1 AND attempt = 2 AND run_at <= now()",
        job,
    )
    .await?;
    let later: i64 = count(&db, "SELECT count(*) FROM job_outbox WHERE job_id = $1 AND attempt = 2 AND run_at > now() + interval '50 seconds'", job).await?;
    assert_eq!((due_now, later), (0, 1));
    let row = jobs::get(&db.pool, tenant, job)
        .await?
        .ok_or_else(|| anyhow::anyhow!("job gone"))?;
    assert_eq!((row.status, row.attempt), (JobState::Queued, 2));
    db.drop_database().await
}
