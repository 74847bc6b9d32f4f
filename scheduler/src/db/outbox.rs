//! The job outbox, the relay's side: rows written with the job in the
//! submit transaction (or by a retry; `catalytic_shared::db::outbox::insert`),
//! claimed by the relay with `FOR UPDATE SKIP LOCKED` so any number of relay
//! replicas share the work without publishing a row twice at once, and
//! marked sent only after the broker confirmed them.

use catalytic_shared::db::DbError;
use catalytic_shared::ids::{JobId, MessageId, TenantId};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

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

/// Tries to become the publishing relay: a session advisory lock, held
/// for as long as `conn` lives. One relay publishes at a time, so the
/// per-tenant gate below sees every in-flight message; replicas stay for
/// availability and take over when the leader's session ends. `conn` must
/// not go back to a pool (detach it): the lock would go with it.
///
/// A session lock, not a lock per round: a round is then two statements
/// (claim, mark) instead of seven (BEGIN, lock, supersede, claim, mark,
/// COMMIT, lag), and the relay ran a round per job (issue 8's profile).
pub async fn try_lead(conn: &mut PgConnection) -> Result<bool, DbError> {
    Ok(
        sqlx::query_scalar!(r#"SELECT pg_try_advisory_lock(7361) AS "led!""#)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Marks handled the due rows whose job is no longer queued at that attempt
/// (cancelled, failed, or re-queued under a newer attempt): publishing them
/// could only produce a stale claim. Returns how many. `claim_fair` skips
/// such rows itself; this is housekeeping (the lag gauge counts due rows).
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

/// Up to `limit` due rows, fairly (issue 5, docs/adr/0001-processes.md): a tenant's rows are
/// taken only while it has free running slots, i.e. while its running jobs
/// plus its messages already in the broker stay under its plan's
/// `running_at_once`; and tenants take turns (each tenant's first row, then
/// each one's second, ...), so one tenant's backlog cannot fill the queue.
/// `caps` maps plan names to their running caps (the plan table stays in Rust).
/// Rows whose job moved on (see `supersede_stale`) are never taken.
/// Call as the relay leader (`try_lead`).
///
/// The dispatched counts are taken once per tenant that has due rows, each
/// by index (`jobs_tenant_status_id`, `job_outbox_job_attempt`): a round
/// costs what its due rows and their tenants' in-flight jobs cost, not what
/// the whole `jobs` table does (the relay runs a round per submit at low
/// load, so this query is on every job's way). Both CTEs are MATERIALIZED:
/// inlined, the planner may evaluate the counts once per due row (seen on
/// fresh tables without statistics: 10,000 due rows, a 3-minute round).
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
           due AS MATERIALIZED (
               SELECT o.id, o.tenant_id, o.run_at,
                      row_number() OVER (PARTITION BY o.tenant_id ORDER BY o.run_at, o.id) AS rn
               FROM job_outbox o
               JOIN jobs j ON j.id = o.job_id AND j.status = 'queued' AND j.attempt = o.attempt
               WHERE o.sent_at IS NULL AND o.run_at <= now()),
           dispatched AS MATERIALIZED (
               SELECT t.tenant_id,
                      (SELECT count(*) FROM jobs j
                       WHERE j.tenant_id = t.tenant_id AND j.status = 'running')
                    + (SELECT count(*) FROM jobs j
                       JOIN job_outbox s ON s.job_id = j.id AND s.attempt = j.attempt
                       WHERE j.tenant_id = t.tenant_id AND j.status = 'queued'
                         AND s.sent_at IS NOT NULL) AS n
               FROM (SELECT DISTINCT tenant_id FROM due) t)
           SELECT o.id, o.message_id AS "message_id: MessageId", o.job_id AS "job_id: JobId",
                  o.tenant_id AS "tenant_id: TenantId", o.attempt, o.queue_class, o.run_at
           FROM due
           JOIN job_outbox o ON o.id = due.id
           JOIN tenants t ON t.id = due.tenant_id
           JOIN caps ON caps.plan = t.plan
           JOIN dispatched d ON d.tenant_id = due.tenant_id
           WHERE due.rn <= caps.cap - d.n
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
pub async fn lag_seconds(conn: &mut PgConnection) -> Result<f64, DbError> {
    let lag = sqlx::query_scalar!(
        r#"SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(run_at))::float8, 0) AS "lag!"
           FROM job_outbox WHERE sent_at IS NULL AND run_at <= now()"#
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(lag.max(0.0))
}
