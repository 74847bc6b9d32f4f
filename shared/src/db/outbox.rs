//! The job outbox: rows written with the job in the submit transaction (or
//! by a retry), claimed by the relay with `FOR UPDATE SKIP LOCKED` so any
//! number of relay replicas share the work without publishing a row twice
//! at once, and marked sent only after the broker confirmed them.

use super::DbError;
use crate::ids::{JobId, MessageId, TenantId};
use crate::tenant::QueueClass;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use std::time::Duration;

/// A due, unsent row, claimed (row-locked) by the caller's transaction.
#[derive(Debug, Clone)]
pub struct DueMessage {
    pub id: i64,
    pub message_id: MessageId,
    pub job_id: JobId,
    pub tenant_id: TenantId,
    pub attempt: i32,
    pub queue_class: String,
    pub run_at: DateTime<Utc>,
}

/// Queues one publish of `job`'s `attempt`, due after `delay`.
pub async fn insert(
    conn: &mut PgConnection,
    job: JobId,
    tenant: TenantId,
    attempt: i32,
    class: QueueClass,
    delay: Duration,
) -> Result<MessageId, DbError> {
    let message_id = MessageId::new();
    sqlx::query!(
        "INSERT INTO job_outbox (message_id, job_id, tenant_id, attempt, queue_class, run_at)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))",
        message_id as MessageId,
        job as JobId,
        tenant as TenantId,
        attempt,
        class.as_str(),
        delay.as_secs_f64(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(message_id)
}

/// Takes the relay's round lock: one relay publishes at a time, so the
/// per-tenant gate below sees every in-flight message. False = another
/// relay holds it this round (replicas stay for availability, not speed).
pub async fn try_lock_round(conn: &mut PgConnection) -> Result<bool, DbError> {
    Ok(
        sqlx::query_scalar!(r#"SELECT pg_try_advisory_xact_lock(7361) AS "locked!""#)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Marks handled the due rows whose job is no longer queued at that attempt
/// (cancelled, failed, or re-queued under a newer attempt): publishing them
/// could only produce a stale claim. Returns how many.
pub async fn supersede_stale(conn: &mut PgConnection) -> Result<u64, DbError> {
    Ok(sqlx::query!(
        "UPDATE job_outbox o SET sent_at = now()
         WHERE o.sent_at IS NULL AND o.run_at <= now()
           AND NOT EXISTS (SELECT 1 FROM jobs j
                           WHERE j.id = o.job_id AND j.status = 'queued' AND j.attempt = o.attempt)"
    )
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Up to `limit` due rows, fairly (issue 5, design §1): a tenant's rows are
/// taken only while it has free running slots, i.e. while its running jobs
/// plus its messages already in the broker stay under its plan's
/// `running_at_once`; and tenants take turns (each tenant's first row, then
/// each one's second, ...), so one tenant's backlog cannot fill the queue.
/// `caps` maps plan names to their running caps (the plan table stays in Rust).
/// Call under `try_lock_round`.
pub async fn claim_fair(
    conn: &mut PgConnection,
    limit: i64,
    caps: &[(String, i32)],
) -> Result<Vec<DueMessage>, DbError> {
    let plans: Vec<String> = caps.iter().map(|(p, _)| p.clone()).collect();
    let limits: Vec<i32> = caps.iter().map(|(_, c)| *c).collect();
    Ok(sqlx::query_as!(
        DueMessage,
        r#"WITH caps AS (SELECT * FROM unnest($2::text[], $3::int[]) AS c(plan, cap)),
           dispatched AS (
               SELECT j.tenant_id, count(*) AS n FROM jobs j
               WHERE j.status = 'running'
                  OR (j.status = 'queued' AND EXISTS (
                        SELECT 1 FROM job_outbox s
                        WHERE s.job_id = j.id AND s.attempt = j.attempt AND s.sent_at IS NOT NULL))
               GROUP BY j.tenant_id),
           due AS (
               SELECT o.id, o.tenant_id, o.run_at,
                      row_number() OVER (PARTITION BY o.tenant_id ORDER BY o.run_at, o.id) AS rn
               FROM job_outbox o
               WHERE o.sent_at IS NULL AND o.run_at <= now())
           SELECT o.id, o.message_id AS "message_id: MessageId", o.job_id AS "job_id: JobId",
                  o.tenant_id AS "tenant_id: TenantId", o.attempt, o.queue_class, o.run_at
           FROM due
           JOIN job_outbox o ON o.id = due.id
           JOIN tenants t ON t.id = due.tenant_id
           JOIN caps ON caps.plan = t.plan
           LEFT JOIN dispatched d ON d.tenant_id = due.tenant_id
           WHERE due.rn <= caps.cap - COALESCE(d.n, 0)
           ORDER BY due.rn, due.run_at
           LIMIT $1"#,
        limit,
        &plans,
        &limits,
    )
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn mark_sent(conn: &mut PgConnection, ids: &[i64]) -> Result<(), DbError> {
    sqlx::query!(
        "UPDATE job_outbox SET sent_at = now() WHERE id = ANY($1)",
        ids
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Seconds since the oldest due, unsent row became due (0 when none): the
/// relay-lag signal alerts watch.
pub async fn lag_seconds(pool: &PgPool) -> Result<f64, DbError> {
    let lag = sqlx::query_scalar!(
        r#"SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(run_at))::float8, 0) AS "lag!"
           FROM job_outbox WHERE sent_at IS NULL AND run_at <= now()"#
    )
    .fetch_one(pool)
    .await?;
    Ok(lag.max(0.0))
}
