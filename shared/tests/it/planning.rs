//! Planned-once pools make their plans again (issue 17). A generic plan
//! made while `jobs` was small scanned it whole once it was large, and
//! PostgreSQL keeps a generic plan until an ANALYZE: connections of a
//! `Planning::Once` pool are replaced every `database.replan_after_secs`,
//! so each new one plans against the tables as they are.

use catalytic_shared::Secret;
use catalytic_shared::config::DatabaseSettings;
use catalytic_shared::db::jobs::{self, Change, Guard, Transitioned};
use catalytic_shared::db::{self, DbError, Planning};
use catalytic_shared::ids::{JobId, TenantId, WorkerId};
use catalytic_shared::job::{JobState, Usage};
use catalytic_shared::tenant::Plan;
use catalytic_shared::testkit::{self, TestDatabase};
use serde_json::json;
use std::time::{Duration, Instant};

fn settings(db: &TestDatabase) -> DatabaseSettings {
    DatabaseSettings {
        url: Secret::new(db.url.clone()),
        max_connections: 1,
        acquire_timeout_secs: 5,
        replan_after_secs: 1,
        tls_ca_file: None,
    }
}

/// The backend of the pool's one connection, and its plan cache mode and
/// whether it may plan sequential scans.
async fn backend(pool: &sqlx::PgPool) -> anyhow::Result<(i32, String)> {
    let (pid, mode, seqscan): (i32, String, String) = sqlx::query_as(
        "SELECT pg_backend_pid(), current_setting('plan_cache_mode'), current_setting('enable_seqscan')",
    )
    .fetch_one(pool)
    .await?;
    Ok((pid, format!("{mode}, seqscan {seqscan}")))
}

#[tokio::test]
async fn planned_once_connections_are_replaced_and_others_kept() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let once = db::pool_with(&settings(&db), Planning::Once)?;
    let per_execution = db::pool_with(&settings(&db), Planning::PerExecution)?;
    let (first, mode) = backend(&once).await?;
    assert_eq!(mode, "force_generic_plan, seqscan off");
    let (kept, mode) = backend(&per_execution).await?;
    assert_eq!(mode, "auto, seqscan on");

    // Poll with a deadline: the replacement happens at a release after
    // the lifetime has passed.
    let deadline = Instant::now() + Duration::from_secs(20);
    let replaced = loop {
        let (pid, _) = backend(&once).await?;
        if pid != first {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        replaced,
        "the planned-once connection outlived replan_after_secs"
    );
    assert_eq!(
        backend(&per_execution).await?.0,
        kept,
        "a per-execution pool keeps its connection"
    );
    once.close().await;
    per_execution.close().await;
    db.drop_database().await
}

/// This connection's tuples read from `jobs` and `job_outbox` so far (by
/// scans and index scans), pending counts included: a statement's cost is
/// the difference around it, in one transaction.
async fn tuples_read(conn: &mut sqlx::PgConnection) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(sum(COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0)), 0)::int8
         FROM pg_stat_xact_user_tables WHERE relname IN ('jobs', 'job_outbox')",
    )
    .fetch_one(&mut *conn)
    .await?)
}

fn guard(job: JobId, from: JobState) -> Guard {
    Guard {
        job,
        from,
        attempt: 1,
    }
}

fn succeed() -> Change {
    Change::Succeed {
        result: json!({"length": 1}),
        usage: Usage::default(),
    }
}

/// Issue 17: the worker's batches (claims, outcomes) are planned once per
/// connection, and on a fresh database at their first execution, while
/// `jobs` is nearly empty. Such a plan must still reach each job by its
/// key once the table is large: with sequential scans allowed, the
/// outcome statement read all of `jobs` twice per batch (21 million rows
/// for 7,858 jobs in a 25 s load run), and its wake-up of the relay read
/// every unsent outbox row of each tenant.
#[tokio::test]
async fn batches_planned_on_empty_tables_read_only_their_own_jobs() -> anyhow::Result<()> {
    use sqlx::Connection;
    let db = TestDatabase::create().await?;
    let tenant = TenantId::new();
    db::tenants::create(&db.pool, tenant, "planning", Plan::Enterprise).await?;
    let mut conn = db.pool.acquire().await?.detach();
    sqlx::query(Planning::ONCE_SQL).execute(&mut conn).await?;
    // Planned now, on a table of two jobs: a claim, an outcome, and a run-through.
    let first = testkit::queue_jobs(&db.pool, &[tenant], 2).await?;
    let worker = WorkerId::new();
    let claim = Change::Claim {
        worker,
        lease: Duration::from_secs(60),
    };
    jobs::transition_many(
        &mut conn,
        vec![(guard(first[0], JobState::Queued), claim.clone())],
    )
    .await?;
    jobs::transition_many(
        &mut conn,
        vec![(guard(first[0], JobState::Running), succeed())],
    )
    .await?;
    let spec: serde_json::Value = sqlx::query_scalar("SELECT spec FROM jobs WHERE id = $1")
        .bind(first[1].as_uuid())
        .fetch_one(&db.pool)
        .await?;
    let run_through = Change::RunThrough {
        worker,
        spec,
        result: json!({"length": 1}),
        usage: Usage::default(),
    };
    jobs::transition_many(
        &mut conn,
        vec![(guard(first[1], JobState::Queued), run_through)],
    )
    .await?;

    // The queue grows to 5,000; ten of them are claimed and finished.
    let grown = testkit::queue_jobs(&db.pool, &[tenant], 5_000).await?;
    let batch = &grown[..10];
    let mut tx = conn.begin().await?;
    let before = tuples_read(&mut tx).await?;
    let claims = batch
        .iter()
        .map(|&j| (guard(j, JobState::Queued), claim.clone()))
        .collect();
    let claimed = jobs::transition_many(&mut tx, claims).await?;
    let finishes = batch
        .iter()
        .map(|&j| (guard(j, JobState::Running), succeed()))
        .collect();
    let finished = jobs::transition_many(&mut tx, finishes).await?;
    let read = tuples_read(&mut tx).await? - before;
    tx.commit().await?;

    let applied = |answers: &[Result<Transitioned, DbError>]| {
        answers
            .iter()
            .filter(|a| matches!(a, Ok(Transitioned::Applied(_))))
            .count()
    };
    assert_eq!(applied(&claimed), 10, "{claimed:?}");
    assert_eq!(applied(&finished), 10, "{finished:?}");
    // Each job is read a few times by key (lock, update, the outcome's
    // notice); a scan of the table would read 5,000 rows at least.
    assert!(
        read < 200,
        "a claim and an outcome of 10 jobs read {read} tuples of jobs and job_outbox with 5,002 queued"
    );
    db.drop_database().await
}
