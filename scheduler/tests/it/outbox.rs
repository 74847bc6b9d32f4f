//! The outbox relay's SQL (`catalytic_scheduler::db::outbox`): one leader at
//! a time, fair claims capped by each plan's running slots, and rows of jobs
//! that moved on superseded.

use crate::harness::{claim, queued_job, tenant};
use catalytic_scheduler::db::outbox;
use catalytic_scheduler::wakeup::Wakeup;
use catalytic_shared::db::jobs::{self, Change, Guard};
use catalytic_shared::ids::TenantId;
use catalytic_shared::job::{JobState, Usage};
use catalytic_shared::tenant::Plan;
use catalytic_shared::testkit::TestDatabase;
use serde_json::json;
use sqlx::Connection;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn caps() -> Vec<(String, i32)> {
    Plan::ALL
        .iter()
        .map(|p| (p.as_str().to_owned(), p.limits().running_at_once as i32))
        .collect()
}

#[tokio::test]
async fn one_relay_leads_at_a_time_until_its_session_ends() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    queued_job(&db, tenant(&db.pool).await?, 3).await?;
    let mut first = db.pool.acquire().await?.detach();
    let mut second = db.pool.acquire().await?.detach();
    assert!(outbox::try_lead(&mut first).await?);
    assert!(!outbox::try_lead(&mut second).await?, "the lead is held");
    assert_eq!(outbox::claim_fair(&mut first, 10, &caps()).await?.len(), 1);
    first.close().await?;
    // The server drops the session's locks when it sees the close; poll for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !outbox::try_lead(&mut second).await? {
        assert!(
            std::time::Instant::now() < deadline,
            "the lead was not released when the leader's session ended"
        );
        tokio::task::yield_now().await;
    }
    second.close().await?;
    db.drop_database().await
}

#[tokio::test]
async fn a_tenant_is_published_only_while_it_has_free_running_slots() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    // The free plan runs 2 at once: of 4 queued jobs, 2 are published...
    let flooder = tenant(&db.pool).await?;
    let first = queued_job(&db, flooder, 3).await?;
    for _ in 0..3 {
        queued_job(&db, flooder, 3).await?;
    }
    let other = tenant(&db.pool).await?;
    queued_job(&db, other, 3).await?;
    let mut tx = db.pool.begin().await?;
    let round = outbox::claim_fair(&mut tx, 100, &caps()).await?;
    let of = |t: TenantId| round.iter().filter(|r| r.tenant_id == t).count();
    assert_eq!(
        (of(flooder), of(other)),
        (2, 1),
        "capped at 2, and the other tenant is not starved"
    );
    // Tenants take turns: each tenant's first row comes before anyone's second.
    let order: Vec<TenantId> = round.iter().map(|r| r.tenant_id).collect();
    assert_ne!(order[0], order[1], "{order:?}");
    let ids: Vec<i64> = round.iter().map(|r| r.id).collect();
    outbox::retire_sent(&mut tx, &ids).await?;
    // Published rows leave the outbox; their jobs record the dispatch.
    let (left, dispatched): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM job_outbox WHERE id = ANY($1)),
                (SELECT count(*) FROM jobs WHERE dispatched_attempt = attempt)",
    )
    .bind(&ids)
    .fetch_one(&mut *tx)
    .await?;
    assert_eq!((left, dispatched), (0, 3));
    tx.commit().await?;

    // ...and nothing more of the flooder while those two are in flight.
    let mut tx = db.pool.begin().await?;
    assert!(outbox::claim_fair(&mut tx, 100, &caps()).await?.is_empty());
    tx.rollback().await?;

    // One finishes (claimed, then succeeded): one more slot.
    claim(&db, first, 1).await?;
    let mut conn = db.pool.acquire().await?;
    let guard = Guard {
        job: first,
        from: JobState::Running,
        attempt: 1,
    };
    let change = Change::Succeed {
        result: json!({"length": 1}),
        usage: Usage::default(),
    };
    jobs::transition(&mut conn, guard, change).await?;
    drop(conn);
    let mut tx = db.pool.begin().await?;
    assert_eq!(outbox::claim_fair(&mut tx, 100, &caps()).await?.len(), 1);
    tx.rollback().await?;
    db.drop_database().await
}

#[tokio::test]
async fn rows_of_jobs_that_moved_on_are_superseded_not_published() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let job = queued_job(&db, tenant(&db.pool).await?, 3).await?;
    let mut conn = db.pool.acquire().await?;
    let guard = Guard {
        job,
        from: JobState::Queued,
        attempt: 1,
    };
    jobs::transition(
        &mut conn,
        guard,
        Change::Cancel {
            reason: "test".into(),
        },
    )
    .await?;
    let mut tx = db.pool.begin().await?;
    assert!(
        outbox::claim_fair(&mut tx, 10, &caps()).await?.is_empty(),
        "a row whose job moved on is never claimed"
    );
    assert_eq!(outbox::supersede_stale(&mut tx, 200).await?, 1);
    let (left,): (i64,) = sqlx::query_as("SELECT count(*) FROM job_outbox WHERE job_id = $1")
        .bind(job.as_uuid())
        .fetch_one(&mut *tx)
        .await?;
    assert_eq!(left, 0, "the stale row is deleted");
    assert_eq!(
        outbox::lag_seconds(&mut tx).await?,
        0.0,
        "nothing due is left"
    );
    tx.commit().await?;
    drop(conn);
    db.drop_database().await
}

/// Delayed jobs (issue 21): a scheduled job has no outbox row until its
/// `run_at`; then one statement queues it, logs the transition and writes
/// its first outbox row, and a job not yet due stays as it is.
#[tokio::test]
async fn due_scheduled_jobs_are_queued_with_their_outbox_row_and_others_wait() -> anyhow::Result<()>
{
    let db = TestDatabase::create().await?;
    let tenant = crate::harness::tenant(&db.pool).await?;
    let job = |run_at: chrono::DateTime<chrono::Utc>| jobs::NewJob {
        id: catalytic_shared::ids::JobId::new(),
        tenant_id: tenant,
        operation: "shortest_path",
        spec: json!({"lattice": {"sizes": [2]}, "operation": "shortest_path", "params": {"start": [0], "end": [1]}}),
        queue_class: catalytic_shared::tenant::QueueClass::Low,
        max_attempts: 3,
        time_limit: std::time::Duration::from_secs(10),
        lattice_id: None,
        run_at: Some(run_at),
        unique: None,
        parents: None,
        concurrency: None,
        result_ttl: None,
        traceparent: None,
    };
    let now = chrono::Utc::now();
    let due = job(now - chrono::TimeDelta::seconds(1));
    let later = job(now + chrono::TimeDelta::hours(1));
    // A keyed job with a time: scheduled, then it waits for its key's slot.
    let keyed = jobs::NewJob {
        concurrency: Some(jobs::Concurrency {
            key: "k".into(),
            max: 1,
        }),
        ..job(now - chrono::TimeDelta::seconds(1))
    };
    let mut tx = db.pool.begin().await?;
    let stored = jobs::insert_batch(
        &mut tx,
        &[(&due, None), (&later, None), (&keyed, None)],
        &[],
    )
    .await?;
    tx.commit().await?;
    assert_eq!(stored.len(), 3, "every job is stored");
    let state = |id: catalytic_shared::ids::JobId| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_as::<_, (String, i64)>(
                "SELECT status::text, (SELECT count(*) FROM job_outbox WHERE job_id = $1)
                 FROM jobs WHERE id = $1",
            )
            .bind(id.as_uuid())
            .fetch_one(&pool)
            .await
        }
    };
    assert_eq!(state(due.id).await?, ("scheduled".to_owned(), 0));

    assert_eq!(state(keyed.id).await?, ("scheduled".to_owned(), 0));

    let mut slots = sqlx::postgres::PgListener::connect_with(&db.pool).await?;
    slots.listen("job_slots").await?;
    let mut conn = db.pool.acquire().await?;
    assert_eq!(outbox::promote_due(&mut conn, 10).await?, 1);
    assert_eq!(state(due.id).await?, ("queued".to_owned(), 1));
    assert_eq!(state(later.id).await?, ("scheduled".to_owned(), 0));
    assert_eq!(
        state(keyed.id).await?,
        ("waiting".to_owned(), 0),
        "waits for its slot, with no message yet"
    );
    let told = tokio::time::timeout(std::time::Duration::from_secs(5), slots.recv()).await??;
    assert_eq!(
        told.payload(),
        keyed.id.to_string(),
        "the dependency duty is told"
    );
    let logged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM job_transitions
         WHERE job_id = $1 AND from_status = 'scheduled' AND to_status = 'queued'",
    )
    .bind(due.id.as_uuid())
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(logged, 1);
    // Nothing else is due: a second pass queues nothing.
    assert_eq!(outbox::promote_due(&mut conn, 10).await?, 0);
    // A keyed job due alone is told too (a notification that hung on a
    // queued job beside it would never be sent).
    let alone = jobs::NewJob {
        id: catalytic_shared::ids::JobId::new(),
        ..keyed.clone()
    };
    let mut tx = db.pool.begin().await?;
    jobs::insert_batch(&mut tx, &[(&alone, None)], &[]).await?;
    tx.commit().await?;
    // The submit itself tells the duty (a keyed job may fit at once).
    let at_submit = tokio::time::timeout(std::time::Duration::from_secs(5), slots.recv()).await??;
    assert_eq!(at_submit.payload(), alone.id.to_string());
    assert_eq!(outbox::promote_due(&mut conn, 10).await?, 0);
    assert_eq!(state(alone.id).await?, ("waiting".to_owned(), 0));
    let told = tokio::time::timeout(std::time::Duration::from_secs(5), slots.recv()).await??;
    assert_eq!(told.payload(), alone.id.to_string());
    // The queued job's row is claimable like any other.
    let mut tx = conn.begin().await?;
    let claimed = outbox::claim_fair(&mut tx, 10, &caps()).await?;
    assert_eq!(
        claimed.iter().map(|m| m.job_id).collect::<Vec<_>>(),
        vec![due.id]
    );
    tx.commit().await?;
    drop(conn);
    db.drop_database().await
}

/// Issue 17: a claimed row carries its job's spec and time limit when the
/// spec is small, for the worker to run the job through; a large spec stays
/// in the database (the message is then only a pointer).
#[tokio::test]
async fn a_small_spec_rides_with_its_row_and_a_large_one_does_not() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let small = queued_job(&db, tenant(&db.pool).await?, 3).await?;
    let large = queued_job(&db, tenant(&db.pool).await?, 3).await?;
    // 12.8 KB of hex digits: more than INLINE_SPEC_MAX_BYTES even compressed.
    sqlx::query(
        "UPDATE jobs SET spec = jsonb_build_object('blob',
             (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 400) i))
         WHERE id = $1",
    )
    .bind(large.as_uuid())
    .execute(&db.pool)
    .await?;
    let mut tx = db.pool.begin().await?;
    let round = outbox::claim_fair(&mut tx, 10, &caps()).await?;
    tx.rollback().await?;
    let row = |job| {
        round
            .iter()
            .find(|r| r.job_id == job)
            .ok_or_else(|| anyhow::anyhow!("job {job} not claimed"))
    };
    let spec: serde_json::Value = sqlx::query_scalar("SELECT spec FROM jobs WHERE id = $1")
        .bind(small.as_uuid())
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(row(small)?.inline_spec.as_ref(), Some(&spec));
    assert_eq!(row(small)?.time_limit_ms, 10_000);
    assert_eq!(row(large)?.inline_spec, None);
    db.drop_database().await
}

/// The relay's wake-up: notifications that arrived before a round are that
/// round's (each is sent after its commit, so the round's claim sees the
/// row), and they do not wake the round after it for nothing.
#[tokio::test]
async fn notifications_that_arrived_before_a_round_are_that_rounds() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let mut wakeup = Wakeup::new(db.pool.clone(), "job_outbox", Duration::from_secs(600));
    wakeup.listen().await;
    let tenant = tenant(&db.pool).await?;
    // Room for all three in one claim (the free plan runs two at once).
    sqlx::query("UPDATE tenants SET plan = 'enterprise' WHERE id = $1")
        .bind(tenant.as_uuid())
        .execute(&db.pool)
        .await?;
    for _ in 0..3 {
        queued_job(&db, tenant, 3).await?; // its own transaction: one NOTIFY each
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut taken = 0;
    while taken < 3 {
        assert!(
            Instant::now() < deadline,
            "{taken} of 3 notifications arrived"
        );
        taken += wakeup.take_arrived().await;
        tokio::task::yield_now().await;
    }
    assert_eq!(taken, 3);
    let mut tx = db.pool.begin().await?;
    assert_eq!(
        outbox::claim_fair(&mut tx, 10, &caps()).await?.len(),
        3,
        "the round after the take sees every announced row"
    );
    tx.rollback().await?;

    // Nothing is left to wake the next round (the poll is 600 s)...
    let shutdown = CancellationToken::new();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), wakeup.wait(&shutdown))
            .await
            .is_err(),
        "a notification already taken woke the next round"
    );
    // ...until a new row comes.
    queued_job(&db, tenant, 3).await?;
    tokio::time::timeout(Duration::from_secs(10), wakeup.wait(&shutdown)).await?;
    db.drop_database().await
}
