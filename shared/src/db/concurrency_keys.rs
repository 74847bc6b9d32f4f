//! Stored concurrency limits (issue 21, migrations/0031): a tenant's limit
//! per concurrency key, which overrides the `max_concurrency` of every job
//! of that key. The api stores, lists and deletes them
//! (`/v1/concurrency-keys`); the scheduler's release reads them in its own
//! query (`fitting`, scheduler/src/db/dependencies.rs). Every query takes
//! the tenant first: another tenant's key is simply not found.

use super::DbError;
use crate::ids::TenantId;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// The most limits a tenant stores.
pub const MAX_PER_TENANT: i64 = 1000;

/// A stored limit, with the key's unfinished jobs now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitRow {
    pub key: String,
    pub max_concurrency: i32,
    /// Jobs of the key held for a slot (`waiting`), parents' or not.
    pub waiting: i64,
    /// Jobs of the key holding a slot (`queued` or `running`).
    pub active: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One page of the tenant's limits in key order, after `after`, each with
/// its counts.
pub async fn list(
    conn: &mut PgConnection,
    tenant: TenantId,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<LimitRow>, DbError> {
    select(conn, tenant, after, None, limit).await
}

/// One stored limit with its counts; `None` when the tenant stores none
/// for `key`.
pub async fn get(
    conn: &mut PgConnection,
    tenant: TenantId,
    key: &str,
) -> Result<Option<LimitRow>, DbError> {
    Ok(select(conn, tenant, None, Some(key), 1).await?.pop())
}

/// The tenant's limits after `after` (or only `exact`'s) in key order.
/// Index: the primary key, then `jobs_concurrency` per key for the counts
/// (at most the tenant's unfinished keyed jobs in all, which the plan's
/// queued-jobs cap bounds).
async fn select(
    conn: &mut PgConnection,
    tenant: TenantId,
    after: Option<&str>,
    exact: Option<&str>,
    limit: i64,
) -> Result<Vec<LimitRow>, DbError> {
    Ok(sqlx::query_as!(
        LimitRow,
        r#"SELECT l.concurrency_key AS key, l.max_concurrency, l.created_at, l.updated_at,
                  c.waiting AS "waiting!", c.active AS "active!"
           FROM concurrency_key_limits l
           CROSS JOIN LATERAL (
               SELECT count(*) FILTER (WHERE j.status = 'waiting') AS waiting,
                      count(*) FILTER (WHERE j.status IN ('queued', 'running')) AS active
               FROM jobs j
               WHERE j.tenant_id = l.tenant_id AND j.concurrency_key = l.concurrency_key
                 AND j.status IN ('waiting', 'queued', 'running')) c
           WHERE l.tenant_id = $1
             AND ($2::text IS NULL OR l.concurrency_key > $2)
             AND ($3::text IS NULL OR l.concurrency_key = $3)
           ORDER BY l.concurrency_key
           LIMIT $4"#,
        tenant as TenantId,
        after,
        exact,
        limit,
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// How many limits the tenant stores (under its lock), and whether one of
/// them is `key`'s.
pub async fn count(
    conn: &mut PgConnection,
    tenant: TenantId,
    key: &str,
) -> Result<(i64, bool), DbError> {
    let row = sqlx::query!(
        r#"SELECT count(*) AS "n!", COALESCE(bool_or(concurrency_key = $2), false) AS "has!"
           FROM concurrency_key_limits WHERE tenant_id = $1"#,
        tenant as TenantId,
        key,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok((row.n, row.has))
}

/// Stores `key`'s limit (a new one, or a change) and wakes the release
/// (`wake`); the previous limit, if there was one. Call in the
/// transaction that checks the tenant's cap.
pub async fn set(
    conn: &mut PgConnection,
    tenant: TenantId,
    key: &str,
    max: i32,
) -> Result<Option<i32>, DbError> {
    let previous = sqlx::query_scalar!(
        "SELECT max_concurrency FROM concurrency_key_limits
         WHERE tenant_id = $1 AND concurrency_key = $2 FOR UPDATE",
        tenant as TenantId,
        key,
    )
    .fetch_optional(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO concurrency_key_limits (tenant_id, concurrency_key, max_concurrency)
         VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, concurrency_key)
             DO UPDATE SET max_concurrency = EXCLUDED.max_concurrency, updated_at = now()",
        tenant as TenantId,
        key,
        max,
    )
    .execute(&mut *conn)
    .await?;
    wake(conn, tenant, key).await?;
    Ok(previous)
}

/// Deletes `key`'s limit (its jobs' own `max_concurrency` applies again)
/// and wakes the release; the limit it had, `None` when there was none.
pub async fn delete(
    conn: &mut PgConnection,
    tenant: TenantId,
    key: &str,
) -> Result<Option<i32>, DbError> {
    let deleted = sqlx::query_scalar!(
        "DELETE FROM concurrency_key_limits WHERE tenant_id = $1 AND concurrency_key = $2
         RETURNING max_concurrency",
        tenant as TenantId,
        key,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if deleted.is_some() {
        wake(conn, tenant, key).await?;
    }
    Ok(deleted)
}

/// Tells the dependency duty (`job_slots`, on commit) to fill the key's
/// free slots now: the payload is a job id, whose key it looks up, so the
/// key's oldest waiting job is named. Nothing waits: nothing to tell (a
/// job that starts waiting later sends its own). Index: `jobs_concurrency`.
async fn wake(conn: &mut PgConnection, tenant: TenantId, key: &str) -> Result<(), DbError> {
    sqlx::query!(
        "SELECT pg_notify('job_slots', id::text) FROM (
             SELECT id FROM jobs
             WHERE tenant_id = $1 AND concurrency_key = $2 AND status = 'waiting'
             ORDER BY id LIMIT 1) oldest",
        tenant as TenantId,
        key,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
