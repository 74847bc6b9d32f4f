//! Batched transitions (issue 17): `claim_many` and `transition_many` keep
//! the guarded meaning of one transition per item. Fresh items apply, stale
//! ones (wrong attempt, wrong state, a duplicate of an item already
//! answered, a missing job) write nothing, and each applied terminal item
//! writes exactly one transition row, webhook message and usage event.

use catalytic_shared::db::jobs::{self, Change, Guard, NewJob, Transitioned};
use catalytic_shared::db::{self, DbError};
use catalytic_shared::ids::{JobId, TenantId, WorkerId};
use catalytic_shared::job::{Failure, JobState, Usage};
use catalytic_shared::tenant::{Plan, QueueClass};
use catalytic_shared::testkit::TestDatabase;
use serde_json::json;
use sqlx::postgres::PgListener;
use std::time::Duration;

async fn tenant_with_jobs(db: &TestDatabase, n: usize) -> anyhow::Result<(TenantId, Vec<JobId>)> {
    let tenant = TenantId::new();
    db::tenants::create(&db.pool, tenant, "batches", Plan::Enterprise).await?;
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let job = NewJob {
            id: JobId::new(),
            tenant_id: tenant,
            operation: "shortest_path",
            spec: json!({"n": i}),
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
        ids.push(job.id);
    }
    Ok((tenant, ids))
}

fn guard(job: JobId, from: JobState, attempt: i32) -> Guard {
    Guard { job, from, attempt }
}

fn succeed(n: i64) -> Change {
    Change::Succeed {
        result: json!({"length": n}),
        usage: Usage {
            billable: true,
            vertex_visits: n,
            compute_ms: 1,
            device: Some("cpu"),
        },
    }
}

fn fail() -> Change {
    Change::Fail {
        error: Failure::Invalid {
            message: "off the lattice".into(),
        },
        usage: Usage::default(),
    }
}

async fn count(db: &TestDatabase, sql: &'static str, job: JobId) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql)
        .bind(job.as_uuid())
        .fetch_one(&db.pool)
        .await?)
}

async fn status(db: &TestDatabase, job: JobId) -> anyhow::Result<(String, i32)> {
    Ok(
        sqlx::query_as("SELECT status::text, attempt FROM jobs WHERE id = $1")
            .bind(job.as_uuid())
            .fetch_one(&db.pool)
            .await?,
    )
}

const TRANSITIONS: &str = "SELECT count(*) FROM job_transitions WHERE job_id = $1";
const TERMINAL: &str = "SELECT count(*) FROM job_transitions WHERE job_id = $1
     AND to_status IN ('succeeded', 'failed', 'cancelled')";
const MESSAGES: &str = "SELECT count(*) FROM webhook_messages WHERE job_id = $1";
const USAGE: &str = "SELECT count(*) FROM usage_events WHERE job_id = $1";

#[tokio::test]
async fn claim_many_answers_fresh_stale_duplicate_and_missing_guards_each() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let (tenant, ids) = tenant_with_jobs(&db, 3).await?;
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    let missing = JobId::new();
    let guards = [
        guard(a, JobState::Queued, 1),
        guard(b, JobState::Queued, 2), // another attempt's message
        guard(a, JobState::Queued, 1), // a duplicate in the same batch
        guard(missing, JobState::Queued, 1),
        guard(c, JobState::Queued, 1),
    ];
    let mut conn = db.pool.acquire().await?;
    let answers =
        jobs::claim_many(&mut conn, &guards, WorkerId::new(), Duration::from_secs(30)).await?;
    assert_eq!(answers.len(), guards.len());
    for (i, spec_n) in [(0, 0), (4, 2)] {
        let Transitioned::Applied(moved) = &answers[i] else {
            anyhow::bail!("item {i} must apply: {:?}", answers[i]);
        };
        assert_eq!(
            (moved.tenant_id, moved.to, moved.attempt),
            (tenant, JobState::Running, 1)
        );
        let claimed = moved
            .claimed
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("a claim hands the worker its job"))?;
        assert_eq!(
            claimed.spec,
            json!({"n": spec_n}),
            "item {i} got its own job"
        );
        assert_eq!(claimed.time_limit, Duration::from_secs(10));
    }
    for i in [1, 2, 3] {
        assert_eq!(answers[i], Transitioned::Stale, "item {i}");
    }
    // A claim that comes again in a later batch is stale too.
    assert_eq!(
        jobs::claim_many(
            &mut conn,
            &guards[..1],
            WorkerId::new(),
            Duration::from_secs(30)
        )
        .await?,
        vec![Transitioned::Stale]
    );
    // The transition table still applies to every item.
    assert!(matches!(
        jobs::claim_many(
            &mut conn,
            &[guard(c, JobState::Running, 1)],
            WorkerId::new(),
            Duration::from_secs(30)
        )
        .await,
        Err(DbError::IllegalTransition(_))
    ));
    drop(conn);
    assert_eq!(status(&db, a).await?, ("running".to_owned(), 1));
    assert_eq!(status(&db, b).await?, ("queued".to_owned(), 1));
    assert_eq!(status(&db, c).await?, ("running".to_owned(), 1));
    assert_eq!(count(&db, TRANSITIONS, a).await?, 1, "one claim row");
    assert_eq!(count(&db, TRANSITIONS, b).await?, 0);
    assert_eq!(count(&db, TRANSITIONS, c).await?, 1);
    let leased: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE status = 'running' AND worker_id IS NOT NULL
         AND lease_expires_at > now() + interval '20 seconds' AND started_at IS NOT NULL",
    )
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(leased, 2);
    db.drop_database().await
}

#[tokio::test]
async fn finish_many_writes_one_of_each_per_applied_item_and_nothing_for_stale_ones()
-> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let (tenant, ids) = tenant_with_jobs(&db, 4).await?;
    let (a, b, c, d) = (ids[0], ids[1], ids[2], ids[3]);
    let mut conn = db.pool.acquire().await?;
    let queued: Vec<Guard> = [a, b, c]
        .iter()
        .map(|&j| guard(j, JobState::Queued, 1))
        .collect();
    jobs::claim_many(&mut conn, &queued, WorkerId::new(), Duration::from_secs(30)).await?;

    let mut listener = PgListener::connect_with(&db.pool).await?;
    listener.listen("job_done").await?;

    let running = |j| guard(j, JobState::Running, 1);
    let items = vec![
        (running(a), succeed(7)),
        (running(b), fail()),
        (running(a), succeed(8)), // a duplicate of the first in the same batch
        (running(d), succeed(1)), // d is still queued: stale
        (guard(c, JobState::Running, 2), succeed(1)), // another attempt's outcome
        (running(JobId::new()), succeed(1)), // no such job
        (guard(c, JobState::Queued, 1), succeed(1)), // the table refuses it
    ];
    let answers = jobs::transition_many(&mut conn, items).await?;
    assert_eq!(answers.len(), 7);
    let applied = |i: usize| match &answers[i] {
        Ok(Transitioned::Applied(moved)) => Some((moved.to, moved.attempt, moved.tenant_id)),
        _ => None,
    };
    assert_eq!(applied(0), Some((JobState::Succeeded, 1, tenant)));
    assert_eq!(applied(1), Some((JobState::Failed, 1, tenant)));
    for (i, answer) in answers.iter().enumerate().take(6).skip(2) {
        assert!(
            matches!(answer, Ok(Transitioned::Stale)),
            "item {i}: {answer:?}"
        );
    }
    assert!(matches!(answers[6], Err(DbError::IllegalTransition(_))));
    drop(conn);

    // One of each per applied item, with that item's data.
    for job in [a, b] {
        assert_eq!(count(&db, TERMINAL, job).await?, 1);
        assert_eq!(count(&db, MESSAGES, job).await?, 1);
        assert_eq!(count(&db, USAGE, job).await?, 1);
    }
    let (result,): (Option<serde_json::Value>,) =
        sqlx::query_as("SELECT result FROM jobs WHERE id = $1")
            .bind(a.as_uuid())
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(
        result,
        Some(json!({"length": 7})),
        "the first of the duplicates"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM usage_events WHERE job_id = $1 AND billable AND vertex_visits = 7 AND device = 'cpu' AND operation = 'shortest_path' AND attempts = 1", a).await?, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM usage_events WHERE job_id = $1 AND NOT billable AND device IS NULL", b).await?, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM webhook_messages WHERE job_id = $1 AND event_type = 'job.succeeded' AND payload->'data'->>'tenant_id' = (SELECT tenant_id::text FROM jobs WHERE id = $1) AND (payload->'data'->'result'->>'length')::int = 7", a).await?, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM webhook_messages WHERE job_id = $1 AND event_type = 'job.failed' AND payload->'data'->'error'->>'kind' = 'invalid'", b).await?, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM job_transitions WHERE job_id = $1 AND to_status = 'failed' AND reason LIKE '%off the lattice%'", b).await?, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM job_transitions WHERE job_id = $1 AND to_status = 'succeeded' AND reason IS NULL", a).await?, 1);
    // Nothing for the stale ones.
    for job in [c, d] {
        assert_eq!(count(&db, TERMINAL, job).await?, 0);
        assert_eq!(count(&db, MESSAGES, job).await?, 0);
        assert_eq!(count(&db, USAGE, job).await?, 0);
    }
    assert_eq!(status(&db, c).await?, ("running".to_owned(), 1));
    assert_eq!(status(&db, d).await?, ("queued".to_owned(), 1));

    // One `job_done` per finished job, carrying its finished row (small
    // rows fit the payload: the api answers GETs and long-polls from it).
    let mut done = Vec::new();
    for _ in 0..2 {
        let n = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await??;
        let row: serde_json::Value = serde_json::from_str(n.payload())?;
        assert!(
            matches!(row["status"].as_str(), Some("succeeded" | "failed")),
            "{row}"
        );
        done.push(row["id"].as_str().unwrap_or_default().to_owned());
    }
    done.sort();
    let mut expected = vec![a.to_string(), b.to_string()];
    expected.sort();
    assert_eq!(done, expected);
    assert!(
        tokio::time::timeout(Duration::from_millis(200), listener.recv())
            .await
            .is_err(),
        "no notification for a stale item"
    );
    drop(listener);
    db.drop_database().await
}

#[tokio::test]
async fn a_batch_of_several_kinds_applies_all_or_nothing() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let (_, ids) = tenant_with_jobs(&db, 3).await?;
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    let mut conn = db.pool.acquire().await?;
    jobs::claim_many(
        &mut conn,
        &[guard(b, JobState::Queued, 1), guard(c, JobState::Queued, 1)],
        WorkerId::new(),
        Duration::from_secs(30),
    )
    .await?;
    let claim = Change::Claim {
        worker: WorkerId::new(),
        lease: Duration::from_secs(30),
    };
    let retry = Change::Retry {
        error: Failure::Engine {
            message: "boom".into(),
            attempt: 1,
        },
        backoff: Duration::from_secs(60),
    };
    let answers = jobs::transition_many(
        &mut conn,
        vec![
            (guard(a, JobState::Queued, 1), claim),
            (guard(b, JobState::Running, 1), succeed(3)),
            (guard(c, JobState::Running, 1), retry),
        ],
    )
    .await?;
    assert!(
        answers
            .iter()
            .all(|a| matches!(a, Ok(Transitioned::Applied(_)))),
        "{answers:?}"
    );
    drop(conn);
    assert_eq!(status(&db, a).await?, ("running".to_owned(), 1));
    assert_eq!(status(&db, b).await?, ("succeeded".to_owned(), 1));
    assert_eq!(status(&db, c).await?, ("queued".to_owned(), 2));
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM job_outbox WHERE job_id = $1 AND attempt = 2",
            c
        )
        .await?,
        1
    );
    db.drop_database().await
}

/// What the ledger of migrations/0018_queued_counts.sql says a tenant has
/// queued: its folded counter plus the deltas not yet folded.
async fn ledger_queued(db: &TestDatabase, tenant: TenantId) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE((SELECT queued FROM tenant_queue_counts WHERE tenant_id = $1), 0)
              + COALESCE((SELECT sum(delta) FROM job_queue_deltas WHERE tenant_id = $1), 0)::int8",
    )
    .bind(tenant.as_uuid())
    .fetch_one(&db.pool)
    .await?)
}

async fn really_queued(db: &TestDatabase, tenant: TenantId) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE tenant_id = $1 AND status = 'queued'")
            .bind(tenant.as_uuid())
            .fetch_one(&db.pool)
            .await?,
    )
}

async fn delta_rows(db: &TestDatabase) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM job_queue_deltas")
        .fetch_one(&db.pool)
        .await?)
}

/// The queued-jobs ledger (issue 17) follows every way a job enters or
/// leaves `queued` (submit, a batch of claims, a retry, a cancel, a
/// delete), one delta row per tenant and statement, and none for a
/// statement that moves nothing in or out of the queue.
#[tokio::test]
async fn the_queued_ledger_follows_every_transition_with_one_row_per_statement()
-> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let (tenant, ids) = tenant_with_jobs(&db, 5).await?;
    let (other, _) = tenant_with_jobs(&db, 2).await?;
    let check = |step: &'static str| {
        let db = &db;
        async move {
            for t in [tenant, other] {
                assert_eq!(
                    ledger_queued(db, t).await?,
                    really_queued(db, t).await?,
                    "after {step}"
                );
            }
            anyhow::Ok(())
        }
    };
    check("submits").await?;
    assert_eq!(ledger_queued(&db, tenant).await?, 5);

    let mut conn = db.pool.acquire().await?;
    let before = delta_rows(&db).await?;
    let queued: Vec<Guard> = ids[..3]
        .iter()
        .map(|&j| guard(j, JobState::Queued, 1))
        .collect();
    jobs::claim_many(&mut conn, &queued, WorkerId::new(), Duration::from_secs(30)).await?;
    assert_eq!(
        delta_rows(&db).await? - before,
        1,
        "a batch of three claims is one delta row"
    );
    check("a batch of claims").await?;

    let before = delta_rows(&db).await?;
    jobs::transition(&mut conn, guard(ids[0], JobState::Running, 1), succeed(1)).await?;
    sqlx::query("UPDATE jobs SET lease_expires_at = now() WHERE tenant_id = $1")
        .bind(tenant.as_uuid())
        .execute(&mut *conn)
        .await?;
    assert_eq!(
        delta_rows(&db).await?,
        before,
        "leaving running for a terminal state, or a heartbeat, writes no delta"
    );

    let retry = Change::Retry {
        error: Failure::Engine {
            message: "boom".into(),
            attempt: 1,
        },
        backoff: Duration::from_secs(60),
    };
    jobs::transition(&mut conn, guard(ids[1], JobState::Running, 1), retry).await?;
    check("a retry").await?;
    jobs::transition(
        &mut conn,
        guard(ids[3], JobState::Queued, 1),
        Change::Cancel {
            reason: "by the test".into(),
        },
    )
    .await?;
    check("a cancel").await?;
    for sql in [
        "DELETE FROM job_outbox WHERE job_id = $1",
        "DELETE FROM jobs WHERE id = $1",
    ] {
        sqlx::query(sql)
            .bind(ids[4].as_uuid())
            .execute(&mut *conn)
            .await?;
    }
    check("a delete").await?;
    drop(conn);
    // queued: ids[1] (retried); running: ids[2]; the rest finished or gone.
    assert_eq!(ledger_queued(&db, tenant).await?, 1);
    assert_eq!(ledger_queued(&db, other).await?, 2);
    db.drop_database().await
}

/// Issue 17: a terminal batch wakes the relay only when a tenant of the
/// batch has unsent outbox rows (otherwise the round would find nothing),
/// and writes a job's webhook message already fanned out when no enabled
/// endpoint of the tenant takes its event type (the fan-out would only mark
/// it), without waking the fan-out. Absence is checked by order, not by
/// waiting: notifications arrive in commit order, so a marker sent after
/// the finish must be the next one received.
#[tokio::test]
async fn a_finish_wakes_the_relay_and_the_fan_out_only_when_they_have_work() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let (tenant, ids) = tenant_with_jobs(&db, 3).await?;
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    let mut conn = db.pool.acquire().await?;
    let queued: Vec<Guard> = ids.iter().map(|&j| guard(j, JobState::Queued, 1)).collect();
    jobs::claim_many(&mut conn, &queued, WorkerId::new(), Duration::from_secs(30)).await?;
    let sent = |jobs: Vec<JobId>| {
        let pool = db.pool.clone();
        async move {
            let jobs: Vec<uuid::Uuid> = jobs.iter().map(|j| j.as_uuid()).collect();
            sqlx::query("UPDATE job_outbox SET sent_at = now() WHERE job_id = ANY($1)")
                .bind(jobs)
                .execute(&pool)
                .await
        }
    };
    sent(vec![a, b]).await?; // c's row stays unsent: the tenant has work waiting
    let mut listener = PgListener::connect_with(&db.pool).await?;
    listener
        .listen_all(["job_outbox", "webhook_messages"])
        .await?;
    let marker = |channel: &'static str| {
        let pool = db.pool.clone();
        async move {
            sqlx::query("SELECT pg_notify($1, 'marker')")
                .bind(channel)
                .execute(&pool)
                .await
        }
    };
    let fanned = |job: JobId| {
        count(
            &db,
            "SELECT count(*) FROM webhook_messages WHERE job_id = $1 AND fanned_out_at IS NOT NULL",
            job,
        )
    };

    // a: the tenant has an unsent row, so the relay is woken; no endpoint,
    // so the message is written fanned out and the fan-out is not woken.
    jobs::transition(&mut conn, guard(a, JobState::Running, 1), succeed(1)).await?;
    marker("webhook_messages").await?;
    expect_next(&mut listener, ("job_outbox", ""), "the relay was not woken").await?;
    let why = "the fan-out was woken for a message nobody takes";
    expect_next(&mut listener, ("webhook_messages", "marker"), why).await?;
    assert_eq!(fanned(a).await?, 1);
    assert_eq!(
        count(&db, MESSAGES, a).await?,
        1,
        "the message is still kept"
    );

    // b: nothing unsent any more, so the relay is not woken; an endpoint
    // that takes only job.failed does not take b's job.succeeded.
    sent(vec![c]).await?;
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, tenant_id, url, event_types, secret_key_id, secret_sealed)
         VALUES ($1, $2, 'https://example.com/hook', '{job.failed}', 'k1', '\\x00')",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(tenant.as_uuid())
    .execute(&db.pool)
    .await?;
    jobs::transition(&mut conn, guard(b, JobState::Running, 1), succeed(2)).await?;
    marker("job_outbox").await?;
    let why = "the relay was woken with nothing waiting";
    expect_next(&mut listener, ("job_outbox", "marker"), why).await?;
    assert_eq!(fanned(b).await?, 1);

    // c fails: the endpoint takes job.failed, so the message waits for the
    // fan-out, which is woken.
    jobs::transition(&mut conn, guard(c, JobState::Running, 1), fail()).await?;
    let why = "the fan-out was not woken";
    expect_next(&mut listener, ("webhook_messages", ""), why).await?;
    assert_eq!(fanned(c).await?, 0);
    drop((conn, listener));
    db.drop_database().await
}

/// Asserts that the next notification (within 5 s) is `(channel, payload)`.
async fn expect_next(
    listener: &mut PgListener,
    expected: (&str, &str),
    why: &str,
) -> anyhow::Result<()> {
    let got = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await??;
    assert_eq!((got.channel(), got.payload()), expected, "{why}");
    Ok(())
}

/// Issue 22: a job submitted with its own `result_ttl_secs` learns when its
/// result goes in the statement that makes it succeed; its notification
/// carries both (the api's cache answers GETs from it). A job on the
/// default, or one that fails, has neither.
#[tokio::test]
async fn a_success_with_its_own_ttl_sets_when_the_result_goes() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let (_, ids) = tenant_with_jobs(&db, 3).await?;
    let (own, default, failing) = (ids[0], ids[1], ids[2]);
    sqlx::query("UPDATE jobs SET result_ttl_secs = 3600 WHERE id = ANY($1)")
        .bind(vec![own.as_uuid(), failing.as_uuid()])
        .execute(&db.pool)
        .await?;
    let mut conn = db.pool.acquire().await?;
    let queued: Vec<Guard> = ids.iter().map(|&j| guard(j, JobState::Queued, 1)).collect();
    jobs::claim_many(&mut conn, &queued, WorkerId::new(), Duration::from_secs(30)).await?;
    let mut listener = PgListener::connect_with(&db.pool).await?;
    listener.listen("job_done").await?;
    let running = |j| guard(j, JobState::Running, 1);
    let items = vec![
        (running(own), succeed(1)),
        (running(default), succeed(2)),
        (running(failing), fail()),
    ];
    for answer in jobs::transition_many(&mut conn, items).await? {
        assert!(matches!(answer, Ok(Transitioned::Applied(_))), "{answer:?}");
    }
    drop(conn);

    let pool = &db.pool;
    let expires = |job: JobId| async move {
        sqlx::query_scalar::<_, Option<f64>>(
            "SELECT extract(epoch FROM result_expires_at - finished_at)::float8 FROM jobs WHERE id = $1",
        )
        .bind(job.as_uuid())
        .fetch_one(pool)
        .await
    };
    assert_eq!(expires(own).await?, Some(3600.0));
    assert_eq!(expires(default).await?, None, "the fleet's default");
    assert_eq!(expires(failing).await?, None, "no result to keep");

    let mut payloads = std::collections::HashMap::new();
    for _ in 0..3 {
        let n = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await??;
        let row: serde_json::Value = serde_json::from_str(n.payload())?;
        payloads.insert(row["id"].as_str().unwrap_or_default().to_owned(), row);
    }
    let own_row = &payloads[&own.to_string()];
    assert_eq!(own_row["result_ttl_secs"], json!(3600), "{own_row}");
    let gap = own_row["result_expires_at"].as_i64().unwrap_or_default()
        - own_row["finished_at"].as_i64().unwrap_or_default();
    assert_eq!(gap, 3_600_000_000, "{own_row}");
    let default_row = &payloads[&default.to_string()];
    assert!(
        default_row.get("result_ttl_secs").is_none()
            && default_row.get("result_expires_at").is_none(),
        "keys only for the jobs that have them: {default_row}"
    );
    let failed_row = &payloads[&failing.to_string()];
    assert_eq!(failed_row["result_ttl_secs"], json!(3600));
    assert!(
        failed_row.get("result_expires_at").is_none(),
        "{failed_row}"
    );
    drop(listener);
    db.drop_database().await
}

/// A run-through (issue 17): queued → succeeded at once, logged as a claim
/// then a success, with one message and usage event; stale when the job
/// moved on, when the spec computed from is not the row's, or when it is
/// not queued at that attempt; mixed in a batch with ordinary outcomes.
#[tokio::test]
async fn a_run_through_claims_and_finishes_in_one_statement_only_from_the_rows_spec()
-> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let (_tenant, ids) = tenant_with_jobs(&db, 5).await?;
    let (a, b, c, d, e) = (ids[0], ids[1], ids[2], ids[3], ids[4]);
    let worker = WorkerId::new();
    let mut conn = db.pool.acquire().await?;
    jobs::claim_many(
        &mut conn,
        &[guard(e, JobState::Queued, 1)],
        worker,
        Duration::from_secs(30),
    )
    .await?;
    jobs::transition(
        &mut conn,
        guard(c, JobState::Queued, 1),
        Change::Cancel {
            reason: "tenant".into(),
        },
    )
    .await?;
    let through = |n: i64, spec| Change::RunThrough {
        worker,
        spec,
        result: json!({"length": n}),
        usage: Usage {
            billable: true,
            vertex_visits: n,
            compute_ms: 40,
            device: Some("cpu"),
        },
    };
    let items = vec![
        (guard(a, JobState::Queued, 1), through(3, json!({"n": 0}))),
        (guard(b, JobState::Queued, 1), through(3, json!({"n": 99}))), // another spec
        (guard(c, JobState::Queued, 1), through(3, json!({"n": 2}))),  // cancelled first
        (guard(d, JobState::Queued, 2), through(3, json!({"n": 3}))),  // another attempt
        (guard(e, JobState::Running, 1), succeed(5)), // an ordinary outcome beside them
    ];
    let answers = jobs::transition_many(&mut conn, items).await?;
    let Ok(Transitioned::Applied(moved)) = &answers[0] else {
        anyhow::bail!("the run-through must apply: {:?}", answers[0]);
    };
    assert_eq!((moved.to, moved.attempt), (JobState::Succeeded, 1));
    for (i, answer) in answers.iter().enumerate().take(4).skip(1) {
        assert!(
            matches!(answer, Ok(Transitioned::Stale)),
            "item {i}: {answer:?}"
        );
    }
    assert!(matches!(answers[4], Ok(Transitioned::Applied(_))));
    // The table still applies: a run-through starts from queued only.
    let refused = jobs::transition_many(
        &mut conn,
        vec![(guard(b, JobState::Running, 1), through(1, json!({"n": 1})))],
    )
    .await?;
    assert!(matches!(refused[0], Err(DbError::IllegalTransition(_))));
    drop(conn);

    let history: Vec<(Option<String>, String, i32, bool)> = sqlx::query_as(
        "SELECT t.from_status::text, t.to_status::text, t.attempt, t.at <= j.finished_at
         FROM job_transitions t JOIN jobs j ON j.id = t.job_id
         WHERE t.job_id = $1 ORDER BY t.id",
    )
    .bind(a.as_uuid())
    .fetch_all(&db.pool)
    .await?;
    assert_eq!(
        history,
        vec![
            (Some("queued".into()), "running".into(), 1, true),
            (Some("running".into()), "succeeded".into(), 1, true),
        ]
    );
    let (by, started_before): (Option<uuid::Uuid>, bool) = sqlx::query_as(
        "SELECT worker_id, started_at < finished_at - interval '30 milliseconds'
         FROM jobs WHERE id = $1",
    )
    .bind(a.as_uuid())
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(by, Some(worker.as_uuid()), "the claim's worker is recorded");
    assert!(started_before, "started at the compute's start");
    assert_eq!(count(&db, MESSAGES, a).await?, 1);
    assert_eq!(count(&db, USAGE, a).await?, 1);
    // Stale items wrote nothing: b and d are still queued, untouched.
    for job in [b, d] {
        assert_eq!(status(&db, job).await?, ("queued".to_owned(), 1));
        assert_eq!(count(&db, TRANSITIONS, job).await?, 0);
        assert_eq!(count(&db, USAGE, job).await?, 0);
    }
    assert_eq!(status(&db, c).await?, ("cancelled".to_owned(), 1));
    assert_eq!(status(&db, e).await?, ("succeeded".to_owned(), 1));
    db.drop_database().await
}
