//! SQL of firing cron schedules (issue 21; scheduler/src/schedules.rs
//! decides what a fire does). The due schedules are locked `FOR UPDATE
//! SKIP LOCKED` for the whole fire: replicas split them, and a schedule is
//! fired by one transaction at a time, which also records its ticks
//! (`schedule_runs`' primary key refuses a tick twice) and moves
//! `next_fire_at` past them.

use catalytic_shared::db::DbError;
use catalytic_shared::ids::{JobId, TenantId};
use catalytic_shared::job::JobState;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// A due schedule, locked, with what a fire needs.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub plan: String,
    pub cron: String,
    pub timezone: String,
    pub spec: Value,
    pub lattice_id: Option<Uuid>,
    pub overlap: String,
    pub catch_up: String,
    pub next_fire_at: DateTime<Utc>,
    /// The previous fire's job and where it is now.
    pub last_job: Option<(JobId, JobState, i32)>,
    /// The tenant's submits are refused (billing).
    pub suspended: bool,
    /// The database's clock at the lock: ticks are due up to it.
    pub now: DateTime<Utc>,
}

/// Locks up to `limit` due, unpaused schedules, the most overdue first.
/// Index: `schedules_due`.
pub async fn lock_due(conn: &mut PgConnection, limit: i64) -> Result<Vec<Due>, DbError> {
    let rows = sqlx::query!(
        r#"SELECT s.id, s.tenant_id AS "tenant_id: TenantId", t.plan, s.cron, s.timezone, s.spec,
                  s.lattice_id, s.overlap, s.catch_up, s.next_fire_at,
                  j.id AS "last_id?: JobId", j.status AS "last_status?: JobState",
                  j.attempt AS "last_attempt?",
                  EXISTS (SELECT 1 FROM stripe_customers c
                          WHERE c.tenant_id = s.tenant_id AND c.suspended_at IS NOT NULL) AS "suspended!",
                  now() AS "now!"
           FROM schedules s
           JOIN tenants t ON t.id = s.tenant_id
           LEFT JOIN jobs j ON j.id = s.last_job_id
           WHERE NOT s.paused AND s.next_fire_at <= now()
           ORDER BY s.next_fire_at
           LIMIT $1
           FOR UPDATE OF s SKIP LOCKED"#,
        limit,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Due {
            id: r.id,
            tenant_id: r.tenant_id,
            plan: r.plan,
            cron: r.cron,
            timezone: r.timezone,
            spec: r.spec,
            lattice_id: r.lattice_id,
            overlap: r.overlap,
            catch_up: r.catch_up,
            next_fire_at: r.next_fire_at,
            last_job: match (r.last_id, r.last_status, r.last_attempt) {
                (Some(id), Some(status), Some(attempt)) => Some((id, status, attempt)),
                _ => None,
            },
            suspended: r.suspended,
            now: r.now,
        })
        .collect())
}

/// One handled tick of the schedule's history.
pub async fn record_run(
    conn: &mut PgConnection,
    schedule: Uuid,
    tick_at: DateTime<Utc>,
    outcome: &str,
    job: Option<JobId>,
    detail: Option<&str>,
) -> Result<(), DbError> {
    sqlx::query!(
        "INSERT INTO schedule_runs (schedule_id, tick_at, outcome, job_id, detail)
         VALUES ($1, $2, $3, $4, $5)",
        schedule,
        tick_at,
        outcome,
        job.map(|j| j.as_uuid()),
        detail,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Moves the schedule to its next tick (paused instead when it has none,
/// or its expression no longer parses), with the last fire's job.
pub async fn advance(
    conn: &mut PgConnection,
    schedule: Uuid,
    next_fire_at: Option<DateTime<Utc>>,
    last_job: Option<JobId>,
) -> Result<(), DbError> {
    sqlx::query!(
        "UPDATE schedules SET next_fire_at = COALESCE($2, next_fire_at), paused = paused OR $2::timestamptz IS NULL,
                              last_job_id = COALESCE($3, last_job_id), updated_at = now()
         WHERE id = $1",
        schedule,
        next_fire_at,
        last_job.map(|j| j.as_uuid()),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
