//! Shared set-up: a tenant and jobs in a fresh database, in the states the
//! scheduler's duties act on, and a deadline poll (no sleeps as sync).

use catalytic_shared::db::jobs::{self, Change, Guard, NewJob, Transitioned};
use catalytic_shared::db::{self};
use catalytic_shared::ids::{JobId, TenantId, WorkerId};
use catalytic_shared::job::JobState;
use catalytic_shared::tenant::{Plan, QueueClass};
use catalytic_shared::testkit::TestDatabase;
use serde_json::json;
use sqlx::PgPool;
use std::time::Duration;

pub async fn tenant(pool: &PgPool) -> anyhow::Result<TenantId> {
    let tenant = TenantId::new();
    db::tenants::create(pool, tenant, "t", Plan::Free).await?;
    Ok(tenant)
}

pub async fn queued_job(
    db: &TestDatabase,
    tenant: TenantId,
    max_attempts: i32,
) -> anyhow::Result<JobId> {
    let job = NewJob {
        id: JobId::new(),
        tenant_id: tenant,
        operation: "shortest_path",
        spec: json!({"lattice": {"sizes": [2]}, "operation": "shortest_path", "params": {"start": [0], "end": [1]}}),
        queue_class: QueueClass::Low,
        max_attempts,
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
    Ok(job.id)
}

/// Claims the job's `attempt` as a worker would, with a 30 s lease.
pub async fn claim(db: &TestDatabase, job: JobId, attempt: i32) -> anyhow::Result<()> {
    let mut conn = db.pool.acquire().await?;
    let guard = Guard {
        job,
        from: JobState::Queued,
        attempt,
    };
    let change = Change::Claim {
        worker: WorkerId::new(),
        lease: Duration::from_secs(30),
    };
    match jobs::transition(&mut conn, guard, change).await? {
        Transitioned::Applied(_) => Ok(()),
        Transitioned::Stale => anyhow::bail!("claim of {job} attempt {attempt} was stale"),
    }
}

/// The worker vanished: its lease ran out a second ago.
pub async fn expire_lease(db: &TestDatabase, job: JobId) -> anyhow::Result<()> {
    let n = sqlx::query("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1 AND status = 'running'")
        .bind(job.as_uuid())
        .execute(&db.pool)
        .await?
        .rows_affected();
    anyhow::ensure!(n == 1, "job {job} is not running");
    Ok(())
}

/// (status, attempt, error) of a job.
pub async fn job_state(
    db: &TestDatabase,
    job: JobId,
) -> anyhow::Result<(String, i32, Option<serde_json::Value>)> {
    Ok(
        sqlx::query_as("SELECT status::text, attempt, error FROM jobs WHERE id = $1")
            .bind(job.as_uuid())
            .fetch_one(&db.pool)
            .await?,
    )
}

pub async fn count(db: &TestDatabase, sql: &'static str, job: JobId) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql)
        .bind(job.as_uuid())
        .fetch_one(&db.pool)
        .await?)
}

/// Polls `check` until it returns Some or `within` passes.
pub async fn eventually<T, F, Fut>(within: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
