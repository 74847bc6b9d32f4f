//! Erasing a tenant whose deletion came due (issue 20, migration 0030).
//! The jobs go first, through the bulk cancel and delete of issue 21
//! (`catalytic_shared::db::job_queries`), which keep the queue's counts,
//! the workers' cancel notifications and the api caches right; then, in one
//! transaction, everything else the tenant stored. Kept, as billing law
//! requires: invoices and their lines, usage events and rollups, plan
//! changes and the Stripe link; the tenant row stays, renamed, for them.

use super::DbError;
use catalytic_shared::ids::TenantId;
use sqlx::PgPool;

/// One tenant whose erasure is due, claimed for this replica until the
/// transaction that erases its remaining rows commits (or the lease of
/// `claim_secs` runs out: another replica may then take it over).
pub async fn claim_due(pool: &PgPool, claim_secs: f64) -> Result<Option<TenantId>, DbError> {
    Ok(sqlx::query_scalar!(
        r#"UPDATE tenants SET erase_at = now() + make_interval(secs => $1)
           WHERE id = (SELECT id FROM tenants
                       WHERE erase_at <= now() AND erased_at IS NULL
                       ORDER BY erase_at LIMIT 1 FOR UPDATE SKIP LOCKED)
           RETURNING id AS "id: TenantId""#,
        claim_secs,
    )
    .fetch_optional(pool)
    .await?)
}

/// Nobody signs in or calls the API for the tenant any more: its keys,
/// users (with their sessions and mailed tokens) and invitations go, in
/// one transaction, before its jobs are touched.
pub async fn revoke_access(pool: &PgPool, tenant: TenantId) -> Result<(), DbError> {
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "DELETE FROM api_keys WHERE tenant_id = $1",
        tenant as TenantId
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM invitations WHERE tenant_id = $1",
        tenant as TenantId
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM refresh_tokens WHERE tenant_id = $1",
        tenant as TenantId
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM revoked_tokens WHERE tenant_id = $1",
        tenant as TenantId
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("DELETE FROM users WHERE tenant_id = $1", tenant as TenantId)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Jobs the tenant still has (the erasure is finished when none).
pub async fn jobs_left(pool: &PgPool, tenant: TenantId) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM jobs WHERE tenant_id = $1"#,
        tenant as TenantId
    )
    .fetch_one(pool)
    .await?)
}

/// Everything else, in one transaction, and the tenant marked erased. The
/// audit log's trigger lets this transaction delete the tenant's records
/// (`catalytic.erasing_tenant`, set for this transaction only).
pub async fn erase_rest(pool: &PgPool, tenant: TenantId) -> Result<(), DbError> {
    let mut tx = pool.begin().await?;
    sqlx::query_scalar!(
        "SELECT set_config('catalytic.erasing_tenant', $1, true)",
        tenant.to_string(),
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM webhook_attempts WHERE tenant_id = $1",
        tenant as TenantId
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM webhook_deliveries WHERE tenant_id = $1",
        tenant as TenantId
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM webhook_messages WHERE tenant_id = $1",
        tenant as TenantId
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM webhook_endpoints WHERE tenant_id = $1",
        tenant as TenantId
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM schedules WHERE tenant_id = $1",
        tenant as TenantId
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM concurrency_key_limits WHERE tenant_id = $1",
        tenant as TenantId
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM lattices WHERE tenant_id = $1",
        tenant as TenantId
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM idempotency_keys WHERE tenant_id = $1",
        tenant as TenantId
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM job_unique_keys WHERE tenant_id = $1",
        tenant as TenantId
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM mail_messages WHERE tenant_id = $1",
        tenant as TenantId
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM audit_events WHERE tenant_id = $1",
        tenant as TenantId
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE tenants SET name = 'erased tenant', erased_at = now() WHERE id = $1",
        tenant as TenantId,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
