//! Read-side SQL on `jobs` for the api (listing, re-run) and the cancel
//! request, which wraps `jobs::transition` with the worker notification.
//! Every state change still goes through `jobs::transition`.

use super::DbError;
use super::jobs::{self, Change, Guard, JobRow, Transitioned};
use crate::ids::{JobId, LatticeId, TenantId};
use crate::job::JobState;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// The PostgreSQL channel workers LISTEN on; the payload is the job id.
pub const CANCEL_CHANNEL: &str = "job_cancel";

/// What a job listing keeps; `None` keeps everything on that axis.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Any of these states.
    pub statuses: Option<Vec<JobState>>,
    pub operation: Option<String>,
    /// Created at or after.
    pub created_after: Option<DateTime<Utc>>,
    /// Created before.
    pub created_before: Option<DateTime<Utc>>,
    /// With this concurrency key.
    pub concurrency_key: Option<String>,
    /// Submitted by this cron schedule (its runs' jobs).
    pub schedule: Option<uuid::Uuid>,
}

/// What one batch of a bulk cancel did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CancelBatch {
    /// Unfinished jobs that matched (at most the batch size).
    pub matched: usize,
    /// Of them, cancelled now.
    pub cancelled: usize,
    /// The smallest id looked at: the next batch starts below it.
    pub last: Option<JobId>,
}

/// Cancels the newest `batch` unfinished jobs of `tenant` matching `filter`
/// with ids below `before` (bulk cancel, issue 21): one read, then one
/// guarded terminal statement for all of them (`jobs::transition_many`),
/// and the cancel notification for the running ones' workers, in one
/// transaction. A job that moved on since the read (finished, claimed) is
/// left as it is and not counted. `filter.statuses` must hold unfinished
/// states only (the caller refuses others).
pub async fn cancel_batch(
    pool: &PgPool,
    tenant: TenantId,
    filter: &JobFilter,
    before: Option<JobId>,
    batch: i64,
    reason: &str,
) -> Result<CancelBatch, DbError> {
    let unfinished: Vec<JobState> = JobState::ALL
        .into_iter()
        .filter(|s| !s.is_terminal())
        .filter(|s| {
            filter
                .statuses
                .as_ref()
                .is_none_or(|wanted| wanted.contains(s))
        })
        .collect();
    let mut tx = pool.begin().await?;
    // The filter's WHERE is `list`'s (keep the two in step); only the
    // guard's columns are read, not the jobs' specs and results.
    let rows = sqlx::query!(
        r#"SELECT id AS "id: JobId", status AS "status: JobState", attempt
           FROM jobs
           WHERE tenant_id = $1
             AND status = ANY($2)
             AND ($3::uuid IS NULL OR id < $3)
             AND ($5::text IS NULL OR operation = $5)
             AND ($6::timestamptz IS NULL OR created_at >= $6)
             AND ($7::timestamptz IS NULL OR created_at < $7)
             AND ($8::text IS NULL OR concurrency_key = $8)
             AND ($9::uuid IS NULL OR id IN (SELECT r.job_id FROM schedule_runs r
                                             JOIN schedules s ON s.id = r.schedule_id
                                             WHERE r.schedule_id = $9 AND s.tenant_id = $1))
           ORDER BY id DESC
           LIMIT $4"#,
        tenant as TenantId,
        &unfinished as &[JobState],
        before.map(|b| b.as_uuid()),
        batch,
        filter.operation.as_deref(),
        filter.created_after,
        filter.created_before,
        filter.concurrency_key.as_deref(),
        filter.schedule,
    )
    .fetch_all(&mut *tx)
    .await?;
    let items = rows
        .iter()
        .map(|r| {
            let guard = Guard {
                job: r.id,
                from: r.status,
                attempt: r.attempt,
            };
            let change = Change::Cancel {
                reason: reason.to_owned(),
            };
            (guard, change)
        })
        .collect();
    let answers = jobs::transition_many(&mut tx, items).await?;
    let mut cancelled = Vec::new();
    for (row, answer) in rows.iter().zip(answers) {
        if let Transitioned::Applied(_) = answer? {
            cancelled.push(row.id.to_string());
        }
    }
    // Running jobs' workers stop at the notification; the others ignore it.
    sqlx::query!(
        "SELECT pg_notify($1, id) FROM unnest($2::text[]) AS c(id)",
        CANCEL_CHANNEL,
        &cancelled,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(CancelBatch {
        matched: rows.len(),
        cancelled: cancelled.len(),
        last: rows.last().map(|r| r.id),
    })
}

/// A tenant's jobs, newest first (ids are UUIDv7), after the cursor
/// `after`, matching `filter`. Index: `jobs_tenant_status_id` with one
/// status, the primary key otherwise (a tenant's jobs by id, filtered).
pub async fn list(
    pool: &PgPool,
    tenant: TenantId,
    filter: &JobFilter,
    after: Option<JobId>,
    limit: i64,
) -> Result<Vec<JobRow>, DbError> {
    Ok(sqlx::query_as!(
        JobRow,
        r#"SELECT id AS "id: JobId", tenant_id AS "tenant_id: TenantId",
                  status AS "status: JobState", operation, spec, attempt, max_attempts,
                  result, error, created_at, updated_at, started_at, finished_at, run_at,
                  ARRAY(SELECT d.parent_id FROM job_dependencies d
                        WHERE d.child_id = jobs.id ORDER BY d.parent_id) AS "depends_on!",
                  result_ttl_secs, result_expires_at,
                  job_progress_shown(id, attempt, status) AS progress
           FROM jobs
           WHERE tenant_id = $1
             AND ($2::job_status[] IS NULL OR status = ANY($2))
             AND ($3::uuid IS NULL OR id < $3)
             AND ($5::text IS NULL OR operation = $5)
             AND ($6::timestamptz IS NULL OR created_at >= $6)
             AND ($7::timestamptz IS NULL OR created_at < $7)
             AND ($8::text IS NULL OR concurrency_key = $8)
             AND ($9::uuid IS NULL OR id IN (SELECT r.job_id FROM schedule_runs r
                                             JOIN schedules s ON s.id = r.schedule_id
                                             WHERE r.schedule_id = $9 AND s.tenant_id = $1))
           ORDER BY id DESC
           LIMIT $4"#,
        tenant as TenantId,
        filter.statuses.as_deref() as Option<&[JobState]>,
        after.map(|a| a.as_uuid()),
        limit,
        filter.operation.as_deref(),
        filter.created_after,
        filter.created_before,
        filter.concurrency_key.as_deref(),
        filter.schedule,
    )
    .fetch_all(pool)
    .await?)
}

/// The stored lattice a job named, if any (its definition is in `spec`).
pub async fn lattice_of(
    pool: &PgPool,
    tenant: TenantId,
    job: JobId,
) -> Result<Option<LatticeId>, DbError> {
    let row = sqlx::query_scalar!(
        "SELECT lattice_id FROM jobs WHERE id = $1 AND tenant_id = $2",
        job as JobId,
        tenant as TenantId,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.flatten().map(LatticeId::from_uuid))
}

/// Which of `jobs` are the tenant's (another tenant's job is not found,
/// as a missing one): a submit's parents (`depends_on`) are checked here.
pub async fn existing(
    pool: &PgPool,
    tenant: TenantId,
    jobs: &[JobId],
) -> Result<Vec<JobId>, DbError> {
    let ids: Vec<uuid::Uuid> = jobs.iter().map(|j| j.as_uuid()).collect();
    Ok(sqlx::query_scalar!(
        r#"SELECT id AS "id!: JobId" FROM jobs WHERE tenant_id = $1 AND id = ANY($2)"#,
        tenant as TenantId,
        &ids,
    )
    .fetch_all(pool)
    .await?)
}

/// Cancels a queued or running job (guarded like every transition) and, in
/// the same transaction, notifies `CANCEL_CHANNEL`. NOTIFY is delivered only
/// on commit, so a worker never hears of a cancel that did not happen.
pub async fn cancel(pool: &PgPool, guard: Guard, reason: &str) -> Result<Transitioned, DbError> {
    let mut tx = pool.begin().await?;
    let moved = cancel_in(&mut tx, guard, reason).await?;
    tx.commit().await?;
    Ok(moved)
}

/// [`cancel`] inside the caller's transaction (a schedule's
/// `cancel_previous` fire cancels and submits in one).
pub async fn cancel_in(
    conn: &mut PgConnection,
    guard: Guard,
    reason: &str,
) -> Result<Transitioned, DbError> {
    let moved = jobs::transition(
        conn,
        guard,
        Change::Cancel {
            reason: reason.to_owned(),
        },
    )
    .await?;
    if let Transitioned::Applied(_) = moved {
        sqlx::query!(
            "SELECT pg_notify($1, $2)",
            CANCEL_CHANNEL,
            guard.job.to_string()
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(moved)
}

/// What a delete of one job found (issue 22).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// Finished, and now gone.
    Gone,
    /// Not finished: nothing deleted (cancel it first).
    Unfinished(JobState),
    /// No such job for this tenant.
    Missing,
}

/// Deletes a finished job of `tenant` and what only describes it (its
/// outbox rows, transitions, webhook messages and their deliveries;
/// migrations/0027); its usage event stays for billing. The api
/// processes' caches are told (`job_erased`) at commit. An unfinished job
/// is left as it is: its state is read under the row lock, so a job that
/// finishes meanwhile is either deleted finished or reported unfinished,
/// never deleted while a worker writes its outcome.
pub async fn delete_finished(
    pool: &PgPool,
    tenant: TenantId,
    job: JobId,
) -> Result<Deleted, DbError> {
    let row = sqlx::query!(
        r#"WITH target AS MATERIALIZED (
               SELECT id, status FROM jobs WHERE id = $1 AND tenant_id = $2 FOR UPDATE),
           gone AS (
               DELETE FROM jobs j USING target t
               WHERE j.id = t.id AND t.status IN ('succeeded', 'failed', 'cancelled')
               RETURNING j.id)
           SELECT t.status AS "status!: JobState",
                  notify_jobs_erased(ARRAY(SELECT id FROM gone)) AS told
           FROM target t"#,
        job as JobId,
        tenant as TenantId,
    )
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        None => Deleted::Missing,
        Some(r) if r.status.is_terminal() => Deleted::Gone,
        Some(r) => Deleted::Unfinished(r.status),
    })
}

/// What one batch of a bulk delete did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeleteBatch {
    /// Finished jobs that matched (at most the batch size).
    pub matched: usize,
    /// Of them, deleted now (a concurrent delete may have taken some).
    pub deleted: usize,
    /// The smallest id looked at: the next batch starts below it.
    pub last: Option<JobId>,
}

/// Deletes the newest `batch` finished jobs of `tenant` matching `filter`
/// with ids below `before`, as `delete_finished` deletes one, in one
/// statement (bulk delete, issue 21/22). `filter.statuses` must hold
/// finished states only (the caller refuses others); None means all three.
pub async fn delete_batch(
    pool: &PgPool,
    tenant: TenantId,
    filter: &JobFilter,
    before: Option<JobId>,
    batch: i64,
) -> Result<DeleteBatch, DbError> {
    let finished: Vec<JobState> = JobState::ALL
        .into_iter()
        .filter(|s| s.is_terminal())
        .filter(|s| {
            filter
                .statuses
                .as_ref()
                .is_none_or(|wanted| wanted.contains(s))
        })
        .collect();
    // The filter's WHERE is `list`'s (keep the two in step).
    let row = sqlx::query!(
        r#"WITH picked AS MATERIALIZED (
               SELECT id FROM jobs
               WHERE tenant_id = $1
                 AND status = ANY($2)
                 AND ($3::uuid IS NULL OR id < $3)
                 AND ($5::text IS NULL OR operation = $5)
                 AND ($6::timestamptz IS NULL OR created_at >= $6)
                 AND ($7::timestamptz IS NULL OR created_at < $7)
                 AND ($8::text IS NULL OR concurrency_key = $8)
                 AND ($9::uuid IS NULL OR id IN (SELECT r.job_id FROM schedule_runs r
                                                 JOIN schedules s ON s.id = r.schedule_id
                                                 WHERE r.schedule_id = $9 AND s.tenant_id = $1))
               ORDER BY id DESC
               LIMIT $4
               FOR UPDATE),
           gone AS (
               DELETE FROM jobs j USING picked p WHERE j.id = p.id RETURNING j.id)
           SELECT (SELECT count(*) FROM picked) AS "matched!",
                  (SELECT id FROM picked ORDER BY id LIMIT 1) AS "last: JobId",
                  (SELECT count(*) FROM gone) AS "deleted!",
                  notify_jobs_erased(ARRAY(SELECT id FROM gone)) AS told"#,
        tenant as TenantId,
        &finished as &[JobState],
        before.map(|b| b.as_uuid()),
        batch,
        filter.operation.as_deref(),
        filter.created_after,
        filter.created_before,
        filter.concurrency_key.as_deref(),
        filter.schedule,
    )
    .fetch_one(pool)
    .await?;
    Ok(DeleteBatch {
        matched: usize::try_from(row.matched).unwrap_or(0),
        deleted: usize::try_from(row.deleted).unwrap_or(0),
        last: row.last,
    })
}
