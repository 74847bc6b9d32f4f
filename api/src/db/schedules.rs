//! Cron schedules' rows as the api reads and writes them (issue 21;
//! migrations/0023_schedules.sql). Every query takes the tenant first:
//! another tenant's schedule is simply not found. The scheduler fires them
//! (scheduler/src/db/schedules.rs).

use catalytic_shared::db::DbError;
use catalytic_shared::ids::{JobId, LatticeId, TenantId};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct ScheduleRow {
    pub id: Uuid,
    pub name: String,
    pub cron: String,
    pub timezone: String,
    pub template: Value,
    pub spec: Value,
    pub lattice_id: Option<Uuid>,
    pub overlap: String,
    pub catch_up: String,
    pub paused: bool,
    pub next_fire_at: DateTime<Utc>,
    pub last_job_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A schedule to store (validated by the route).
pub struct NewSchedule<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub cron: &'a str,
    pub timezone: &'a str,
    pub template: &'a Value,
    pub spec: &'a Value,
    pub lattice_id: Option<LatticeId>,
    pub overlap: &'static str,
    pub catch_up: &'static str,
    pub next_fire_at: DateTime<Utc>,
}

/// Stores it; `None` when the tenant already has a schedule of that name.
pub async fn insert(
    conn: &mut PgConnection,
    tenant: TenantId,
    new: &NewSchedule<'_>,
) -> Result<Option<ScheduleRow>, DbError> {
    Ok(sqlx::query_as!(
        ScheduleRow,
        r#"INSERT INTO schedules (id, tenant_id, name, cron, timezone, template, spec, lattice_id,
                                  overlap, catch_up, next_fire_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (tenant_id, name) DO NOTHING
           RETURNING id, name, cron, timezone, template, spec, lattice_id, overlap, catch_up,
                     paused, next_fire_at, last_job_id, created_at, updated_at"#,
        new.id,
        tenant as TenantId,
        new.name,
        new.cron,
        new.timezone,
        new.template,
        new.spec,
        new.lattice_id.map(|l| l.as_uuid()),
        new.overlap,
        new.catch_up,
        new.next_fire_at,
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// How many schedules the tenant keeps (under its quota lock).
pub async fn count(conn: &mut PgConnection, tenant: TenantId) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM schedules WHERE tenant_id = $1"#,
        tenant as TenantId,
    )
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get(
    pool: &PgPool,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<ScheduleRow>, DbError> {
    Ok(sqlx::query_as!(
        ScheduleRow,
        r#"SELECT id, name, cron, timezone, template, spec, lattice_id, overlap, catch_up, paused,
                  next_fire_at, last_job_id, created_at, updated_at
           FROM schedules WHERE id = $1 AND tenant_id = $2"#,
        id,
        tenant as TenantId,
    )
    .fetch_optional(pool)
    .await?)
}

/// All of the tenant's schedules (the plan caps them), oldest first.
/// Index: `schedules_tenant`.
pub async fn list(pool: &PgPool, tenant: TenantId) -> Result<Vec<ScheduleRow>, DbError> {
    Ok(sqlx::query_as!(
        ScheduleRow,
        r#"SELECT id, name, cron, timezone, template, spec, lattice_id, overlap, catch_up, paused,
                  next_fire_at, last_job_id, created_at, updated_at
           FROM schedules WHERE tenant_id = $1 ORDER BY created_at, id"#,
        tenant as TenantId,
    )
    .fetch_all(pool)
    .await?)
}

/// Pauses, or resumes from `next_fire_at` (the first tick after now: the
/// ticks of the pause are not caught up). `None` when there is no such
/// schedule.
pub async fn set_paused(
    pool: &PgPool,
    tenant: TenantId,
    id: Uuid,
    paused: bool,
    next_fire_at: Option<DateTime<Utc>>,
) -> Result<Option<ScheduleRow>, DbError> {
    Ok(sqlx::query_as!(
        ScheduleRow,
        r#"UPDATE schedules SET paused = $3, next_fire_at = COALESCE($4, next_fire_at), updated_at = now()
           WHERE id = $1 AND tenant_id = $2
           RETURNING id, name, cron, timezone, template, spec, lattice_id, overlap, catch_up,
                     paused, next_fire_at, last_job_id, created_at, updated_at"#,
        id,
        tenant as TenantId,
        paused,
        next_fire_at,
    )
    .fetch_optional(pool)
    .await?)
}

/// Deletes it and its history (its jobs stay); false when there was none.
pub async fn delete(pool: &PgPool, tenant: TenantId, id: Uuid) -> Result<bool, DbError> {
    let rows = sqlx::query!(
        "DELETE FROM schedules WHERE id = $1 AND tenant_id = $2",
        id,
        tenant as TenantId,
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(rows == 1)
}

/// Records a manual trigger's job in the schedule's history.
pub async fn record_trigger(pool: &PgPool, id: Uuid, job: JobId) -> Result<(), DbError> {
    sqlx::query!(
        "INSERT INTO schedule_runs (schedule_id, tick_at, manual, outcome, job_id)
         VALUES ($1, clock_timestamp(), true, 'submitted', $2)",
        id,
        job as JobId,
    )
    .execute(pool)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct RunRow {
    pub tick_at: DateTime<Utc>,
    pub manual: bool,
    pub outcome: String,
    pub job_id: Option<Uuid>,
    pub detail: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// The schedule's latest `limit` runs, newest first.
pub async fn runs(pool: &PgPool, id: Uuid, limit: i64) -> Result<Vec<RunRow>, DbError> {
    Ok(sqlx::query_as!(
        RunRow,
        "SELECT tick_at, manual, outcome, job_id, detail, recorded_at
         FROM schedule_runs WHERE schedule_id = $1
         ORDER BY tick_at DESC, manual LIMIT $2",
        id,
        limit,
    )
    .fetch_all(pool)
    .await?)
}
