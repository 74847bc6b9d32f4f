//! A tenant's scheduled deletion (migration 0030): asked for, read,
//! cancelled. The erasure itself is the scheduler's
//! (scheduler/src/db/erasure.rs).

use catalytic_shared::db::DbError;
use catalytic_shared::ids::TenantId;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// When the deletion was asked for and when it happens.
#[derive(Debug, Clone, Copy)]
pub struct Scheduled {
    pub requested_at: DateTime<Utc>,
    pub erase_at: DateTime<Utc>,
}

pub async fn scheduled(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> Result<Option<Scheduled>, DbError> {
    let row = sqlx::query!(
        r#"SELECT deletion_requested_at AS "requested_at?", erase_at AS "erase_at?"
           FROM tenants WHERE id = $1 AND erased_at IS NULL"#,
        tenant as TenantId,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|r| {
        Some(Scheduled {
            requested_at: r.requested_at?,
            erase_at: r.erase_at?,
        })
    }))
}

/// Schedules the erasure `grace_days` from now (the database's clock);
/// None when a deletion is scheduled already.
pub async fn schedule(
    conn: &mut PgConnection,
    tenant: TenantId,
    grace_days: i32,
) -> Result<Option<Scheduled>, DbError> {
    let row = sqlx::query!(
        r#"UPDATE tenants SET deletion_requested_at = now(),
                              erase_at = now() + make_interval(days => $2)
           WHERE id = $1 AND erase_at IS NULL AND erased_at IS NULL
           RETURNING deletion_requested_at AS "requested_at!", erase_at AS "erase_at!""#,
        tenant as TenantId,
        grace_days,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| Scheduled {
        requested_at: r.requested_at,
        erase_at: r.erase_at,
    }))
}

/// False when none was scheduled.
pub async fn cancel(conn: &mut PgConnection, tenant: TenantId) -> Result<bool, DbError> {
    let cancelled = sqlx::query!(
        "UPDATE tenants SET deletion_requested_at = NULL, erase_at = NULL
         WHERE id = $1 AND erase_at IS NOT NULL AND erased_at IS NULL",
        tenant as TenantId,
    )
    .execute(conn)
    .await?;
    Ok(cancelled.rows_affected() == 1)
}
