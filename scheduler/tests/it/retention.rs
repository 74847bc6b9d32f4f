use crate::harness::{claim, queued_job, tenant};
use catalytic_scheduler::retention::Retention;
use catalytic_shared::db::jobs::{self, Change, Guard};
use catalytic_shared::ids::JobId;
use catalytic_shared::job::{JobState, Usage};
use catalytic_shared::testkit::TestDatabase;
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

async fn succeeded_job(db: &TestDatabase, result: Value) -> anyhow::Result<JobId> {
    let tenant = tenant(&db.pool).await?;
    let job = queued_job(db, tenant, 3).await?;
    claim(db, job, 1).await?;
    let mut conn = db.pool.acquire().await?;
    let guard = Guard {
        job,
        from: JobState::Running,
        attempt: 1,
    };
    jobs::transition(
        &mut conn,
        guard,
        Change::Succeed {
            result,
            usage: Usage::default(),
        },
    )
    .await?;
    Ok(job)
}

/// The duty with the shipped defaults (7-day results, hourly rounds).
fn retention(db: &TestDatabase) -> Retention {
    Retention {
        pool: db.pool.clone(),
        interval: Duration::from_secs(3600),
        results: Duration::from_secs(7 * 86_400),
        sent_outbox: Duration::from_secs(86_400),
        jobs: Duration::from_secs(90 * 86_400),
        lockout_window: Duration::from_secs(300),
        webhook_attempts: Duration::from_secs(30 * 86_400),
        mail_messages: Duration::from_secs(30 * 86_400),
    }
}

async fn exec(db: &TestDatabase, sql: &'static str) -> anyhow::Result<u64> {
    Ok(sqlx::query(sql).execute(&db.pool).await?.rows_affected())
}

async fn scalar_i64(db: &TestDatabase, sql: &'static str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(&db.pool).await?)
}

#[tokio::test]
async fn retention_prunes_old_rows_and_keeps_new_ones() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let old = succeeded_job(&db, json!({"length": 7, "path": [[0], [1]]})).await?;
    let new = succeeded_job(&db, json!({"length": 3, "path": [[0]]})).await?;
    sqlx::query("UPDATE jobs SET finished_at = now() - interval '8 days', created_at = now() - interval '8 days' WHERE id = $1")
        .bind(old.as_uuid())
        .execute(&db.pool)
        .await?;
    // Every outbox row of the test was published: two old, the rest new, one unsent and old.
    exec(&db, "UPDATE job_outbox SET sent_at = now()").await?;
    sqlx::query("UPDATE job_outbox SET sent_at = now() - interval '2 days' WHERE job_id = $1")
        .bind(old.as_uuid())
        .execute(&db.pool)
        .await?;
    let unsent_tenant = tenant(&db.pool).await?;
    let unsent = queued_job(&db, unsent_tenant, 3).await?;
    sqlx::query("UPDATE job_outbox SET created_at = now() - interval '9 days', run_at = now() - interval '9 days' WHERE job_id = $1")
        .bind(unsent.as_uuid())
        .execute(&db.pool)
        .await?;

    // Accounts: one expired and one live row of each kind.
    let user_tenant = tenant(&db.pool).await?;
    let user = Uuid::now_v7();
    sqlx::query("INSERT INTO users (id, tenant_id, email, password_hash, role) VALUES ($1, $2, 'a@example.com', 'x', 'owner')")
        .bind(user)
        .bind(user_tenant.as_uuid())
        .execute(&db.pool)
        .await?;
    for (hash, expires) in [("old", "-1 hour"), ("new", "1 hour")] {
        sqlx::query("INSERT INTO refresh_tokens (id, family_id, user_id, tenant_id, token_hash, expires_at) VALUES ($1, $1, $2, $3, $4, now() + $5::interval)")
            .bind(Uuid::now_v7())
            .bind(user)
            .bind(user_tenant.as_uuid())
            .bind(hash.as_bytes())
            .bind(expires)
            .execute(&db.pool)
            .await?;
        sqlx::query("INSERT INTO revoked_tokens (jti, tenant_id, expires_at) VALUES ($1, $2, now() + $3::interval)")
            .bind(Uuid::now_v7())
            .bind(user_tenant.as_uuid())
            .bind(expires)
            .execute(&db.pool)
            .await?;
    }
    exec(
        &db,
        "INSERT INTO login_lockouts (email, failures, window_started_at, locked_until) VALUES
        ('stale@example.com', 2, now() - interval '1 hour', NULL),
        ('lock-over@example.com', 0, now() - interval '1 hour', now() - interval '10 minutes'),
        ('counting@example.com', 2, now() - interval '1 minute', NULL),
        ('locked@example.com', 0, now() - interval '1 hour', now() + interval '5 minutes')",
    )
    .await?;

    // Uniqueness holds: one expired, one live.
    for (key, expires) in [("expired", "-1 second"), ("live", "1 hour")] {
        sqlx::query("INSERT INTO job_unique_keys (tenant_id, key, job_id, expires_at) SELECT tenant_id, $2, id, now() + $3::interval FROM jobs WHERE id = $1")
            .bind(new.as_uuid())
            .bind(key)
            .bind(expires)
            .execute(&db.pool)
            .await?;
    }

    let retention = retention(&db);
    let pruned = retention.run_once().await;
    assert_eq!(pruned.job_results, 1);
    assert_eq!(pruned.sent_outbox, 1);
    assert_eq!(pruned.refresh_tokens, 1);
    assert_eq!(pruned.revoked_tokens, 1);
    assert_eq!(pruned.login_lockouts, 2);
    assert_eq!(pruned.unique_keys, 1);
    let holds: Vec<String> = sqlx::query_scalar("SELECT key FROM job_unique_keys")
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(holds, ["live"], "the live hold is kept");

    let result = |job: JobId| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, Value>("SELECT result FROM jobs WHERE id = $1")
                .bind(job.as_uuid())
                .fetch_one(&pool)
                .await
        }
    };
    assert_eq!(result(old).await?, json!({"pruned": true, "length": 7}));
    assert_eq!(result(new).await?, json!({"length": 3, "path": [[0]]}));
    assert_eq!(
        scalar_i64(&db, "SELECT count(*) FROM jobs").await?,
        3,
        "job rows stay"
    );
    assert_eq!(
        scalar_i64(&db, "SELECT count(*) FROM job_outbox WHERE sent_at IS NULL").await?,
        1,
        "an unsent row is kept whatever its age"
    );
    assert_eq!(scalar_i64(&db, "SELECT count(*) FROM job_outbox").await?, 2);
    assert_eq!(
        scalar_i64(
            &db,
            "SELECT count(*) FROM refresh_tokens WHERE expires_at > now()"
        )
        .await?,
        1
    );
    assert_eq!(
        scalar_i64(&db, "SELECT count(*) FROM refresh_tokens").await?,
        1
    );
    assert_eq!(
        scalar_i64(&db, "SELECT count(*) FROM revoked_tokens").await?,
        1
    );
    let emails: Vec<String> = sqlx::query_scalar("SELECT email FROM login_lockouts ORDER BY email")
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(emails, ["counting@example.com", "locked@example.com"]);

    // A second round finds nothing more: the summary is not re-summarised.
    assert_eq!(retention.run_once().await, Default::default());
    db.drop_database().await
}

/// Issue 22: a result with its own `result_ttl_secs` goes when its time
/// comes (minutes, not the fleet's days), and one kept longer than the
/// default stays past it; the api processes hear which rows changed
/// (`job_erased`), so their caches stop answering the full result.
#[tokio::test]
async fn own_ttls_decide_when_a_result_goes_and_the_api_is_told() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let due = succeeded_job(&db, json!({"length": 5, "path": [[0], [1]]})).await?;
    let later = succeeded_job(&db, json!({"length": 4, "path": [[0]]})).await?;
    let long = succeeded_job(&db, json!({"length": 3, "path": [[0]]})).await?;
    let default = succeeded_job(&db, json!({"length": 2, "path": [[0]]})).await?;
    // `due` is an hour past its 60-second TTL; `later` has an hour left;
    // `long` keeps its result 30 days and finished 8 days ago (past the
    // default 7); `default` finished 8 days ago on the default.
    for (job, ttl, finished) in [
        (due, 60, "1 hour"),
        (later, 7200, "1 hour"),
        (long, 30 * 86_400, "8 days"),
    ] {
        sqlx::query("UPDATE jobs SET result_ttl_secs = $2, finished_at = now() - $3::interval,
                                     result_expires_at = now() - $3::interval + make_interval(secs => $2)
                     WHERE id = $1")
            .bind(job.as_uuid())
            .bind(ttl)
            .bind(finished)
            .execute(&db.pool)
            .await?;
    }
    sqlx::query("UPDATE jobs SET finished_at = now() - interval '8 days' WHERE id = $1")
        .bind(default.as_uuid())
        .execute(&db.pool)
        .await?;
    let mut listener = sqlx::postgres::PgListener::connect_with(&db.pool).await?;
    listener.listen("job_erased").await?;

    let retention = retention(&db);
    // The minute's look takes only the due one.
    assert_eq!(retention.expire_own_results().await, 1);
    let told = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await??;
    assert_eq!(told.payload(), due.to_string());
    // The full round: the default one; the own-TTL ones keep theirs.
    let pruned = retention.run_once().await;
    assert_eq!((pruned.job_results, pruned.own_ttl_results), (1, 0));
    let told = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await??;
    assert_eq!(told.payload(), default.to_string());

    let state = |job: JobId| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_as::<_, (Value, bool)>(
                "SELECT result, result_expires_at IS NOT NULL FROM jobs WHERE id = $1",
            )
            .bind(job.as_uuid())
            .fetch_one(&pool)
            .await
        }
    };
    assert_eq!(
        state(due).await?,
        (json!({"pruned": true, "length": 5}), false)
    );
    assert_eq!(
        state(later).await?,
        (json!({"length": 4, "path": [[0]]}), true)
    );
    assert_eq!(
        state(long).await?,
        (json!({"length": 3, "path": [[0]]}), true)
    );
    assert_eq!(
        state(default).await?,
        (json!({"pruned": true, "length": 2}), false)
    );
    assert_eq!(retention.expire_own_results().await, 0, "nothing twice");
    drop(listener);
    db.drop_database().await
}

/// Issue 22: a progress row outlives its use once the job stops running
/// at the attempt that wrote it; retention deletes it, and keeps a running
/// job's.
#[tokio::test]
async fn progress_of_jobs_no_longer_running_is_deleted() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let finished = succeeded_job(&db, json!({"length": 1})).await?;
    let tenant = tenant(&db.pool).await?;
    let running = queued_job(&db, tenant, 3).await?;
    claim(&db, running, 1).await?;
    for (job, attempt) in [(finished, 1), (running, 1)] {
        sqlx::query("INSERT INTO job_progress (job_id, attempt, done, total, unit) VALUES ($1, $2, 1, 2, 'vertices')")
            .bind(job.as_uuid())
            .bind(attempt)
            .execute(&db.pool)
            .await?;
    }
    let pruned = retention(&db).run_once().await;
    assert_eq!(pruned.job_progress, 1);
    let left: Vec<Uuid> = sqlx::query_scalar("SELECT job_id FROM job_progress")
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(left, vec![running.as_uuid()]);
    db.drop_database().await
}

/// Issue 22: a stored result part goes with the result it belonged to
/// (summarised by retention) and when its attempt did not succeed; the
/// parts of a fresh success stay.
#[tokio::test]
async fn result_parts_go_with_their_result_and_with_failed_attempts() -> anyhow::Result<()> {
    use catalytic_shared::db::result_parts::{self, Stored};
    use catalytic_shared::job::Failure;
    use catalytic_shared::result_parts::Packer;
    let db = TestDatabase::create().await?;
    let tenant = tenant(&db.pool).await?;
    let mut packer = Packer::npy("field", "<i4", &[3], true);
    packer.write_i32s([0, 1, 2])?;
    let part = packer.finish()?;
    let mut jobs = Vec::new();
    for outcome in ["old", "failed", "fresh"] {
        let job = queued_job(&db, tenant, 3).await?;
        claim(&db, job, 1).await?;
        let stored = result_parts::store(&db.pool, job, 1, std::slice::from_ref(&part)).await?;
        assert_eq!(stored, Stored::Kept);
        let change = match outcome {
            "failed" => Change::Fail {
                error: Failure::Invalid {
                    message: "no".into(),
                },
                usage: Usage::default(),
            },
            _ => Change::Succeed {
                result: json!({"reachable": true}),
                usage: Usage::default(),
            },
        };
        let guard = Guard {
            job,
            from: JobState::Running,
            attempt: 1,
        };
        jobs::transition(&mut *db.pool.acquire().await?, guard, change).await?;
        jobs.push(job);
    }
    sqlx::query("UPDATE jobs SET finished_at = now() - interval '8 days' WHERE id = $1")
        .bind(jobs[0].as_uuid())
        .execute(&db.pool)
        .await?;
    let pruned = retention(&db).run_once().await;
    assert_eq!((pruned.job_results, pruned.orphan_parts), (1, 1));
    let left: Vec<Uuid> = sqlx::query_scalar("SELECT job_id FROM job_result_parts")
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(left, vec![jobs[2].as_uuid()]);
    let chunks: i64 = sqlx::query_scalar("SELECT count(*) FROM job_result_chunks")
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(chunks, 1, "the chunks went with their parts");
    db.drop_database().await
}

#[tokio::test]
async fn account_rows_go_when_stale_and_audit_records_after_a_year() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let tenant = tenant(&db.pool).await?;
    sqlx::query(
        "INSERT INTO users (id, tenant_id, email, password_hash, role)
         VALUES (gen_random_uuid(), $1, 'r@example.com', 'x', 'owner')",
    )
    .bind(tenant.as_uuid())
    .execute(&db.pool)
    .await?;
    exec(
        &db,
        "INSERT INTO account_tokens (token_hash, kind, user_id, email, expires_at)
         SELECT sha256(v::bytea), 'password_reset', u.id, u.email, now() + (v || ' hours')::interval
         FROM users u, (VALUES ('-48'), ('-1'), ('1')) AS t(v)",
    )
    .await?;
    exec(
        &db,
        "INSERT INTO login_failures (email, ip, failures, window_started_at, locked_until, last_failure_at) VALUES
           ('r@example.com', '203.0.113.1', 3, now() - interval '2 days', NULL, now() - interval '2 days'),
           ('r@example.com', '203.0.113.2', 0, now() - interval '2 days', now() + interval '1 hour', now() - interval '2 days'),
           ('r@example.com', '203.0.113.3', 2, now(), NULL, now())",
    )
    .await?;
    sqlx::query(
        "INSERT INTO audit_events (id, tenant_id, action, at) VALUES
           (gen_random_uuid(), $1, 'auth.sign_in', now() - interval '400 days'),
           (gen_random_uuid(), $1, 'auth.sign_in', now() - interval '300 days')",
    )
    .bind(tenant.as_uuid())
    .execute(&db.pool)
    .await?;

    let pruned = retention(&db).run_once().await;
    assert_eq!(
        (
            pruned.account_tokens,
            pruned.login_failures,
            pruned.audit_events
        ),
        (1, 1, 1)
    );
    assert_eq!(
        scalar_i64(&db, "SELECT count(*) FROM account_tokens").await?,
        2
    );
    let left: Vec<String> = sqlx::query_scalar("SELECT host(ip) FROM login_failures ORDER BY ip")
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(
        left,
        ["203.0.113.2", "203.0.113.3"],
        "locked or recent stay"
    );
    assert_eq!(
        scalar_i64(&db, "SELECT count(*) FROM audit_events").await?,
        1
    );
    db.drop_database().await
}

#[tokio::test]
async fn finished_jobs_go_after_the_retention_or_their_own_ttl_and_usage_stays()
-> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let old = succeeded_job(&db, json!({"length": 1})).await?;
    let kept_by_ttl = succeeded_job(&db, json!({"length": 2})).await?;
    let recent = succeeded_job(&db, json!({"length": 3})).await?;
    let tenant = tenant(&db.pool).await?;
    let unfinished = queued_job(&db, tenant, 3).await?;
    // 91 days ago: past the 90-day retention; one of them asked for a
    // year of its own. The unfinished one is as old, never finished.
    for job in [old, kept_by_ttl] {
        sqlx::query("UPDATE jobs SET finished_at = now() - interval '91 days', created_at = now() - interval '91 days' WHERE id = $1")
            .bind(job.as_uuid())
            .execute(&db.pool)
            .await?;
    }
    sqlx::query("UPDATE jobs SET created_at = now() - interval '91 days' WHERE id = $1")
        .bind(unfinished.as_uuid())
        .execute(&db.pool)
        .await?;
    sqlx::query("UPDATE jobs SET result_ttl_secs = 31536000 WHERE id = $1")
        .bind(kept_by_ttl.as_uuid())
        .execute(&db.pool)
        .await?;
    let usage_before = scalar_i64(&db, "SELECT count(*) FROM usage_events").await?;

    let pruned = retention(&db).run_once().await;
    assert_eq!(pruned.jobs, 1, "only the old finished job goes");
    let left: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM jobs ORDER BY id")
        .fetch_all(&db.pool)
        .await?;
    let mut expected = vec![
        kept_by_ttl.as_uuid(),
        recent.as_uuid(),
        unfinished.as_uuid(),
    ];
    expected.sort();
    assert_eq!(left, expected);
    // What only described it went with it; its usage event stays, unlinked.
    let described = sqlx::query_scalar::<_, i64>(
        "SELECT (SELECT count(*) FROM job_transitions WHERE job_id = $1)
              + (SELECT count(*) FROM job_outbox WHERE job_id = $1)
              + (SELECT count(*) FROM webhook_messages WHERE job_id = $1)",
    )
    .bind(old.as_uuid())
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(described, 0);
    assert_eq!(
        scalar_i64(&db, "SELECT count(*) FROM usage_events").await?,
        usage_before
    );
    assert_eq!(
        scalar_i64(
            &db,
            "SELECT count(*) FROM usage_events WHERE job_id IS NULL"
        )
        .await?,
        1
    );
    // A second round finds nothing more.
    assert_eq!(retention(&db).run_once().await.jobs, 0);
    Ok(())
}
