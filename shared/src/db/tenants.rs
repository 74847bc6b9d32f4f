//! Tenants, their plans and their API keys (with scope, expiry and last
//! use), and the platform's operator keys.

use super::DbError;
use crate::ids::{ApiKeyId, TenantId};
use crate::tenant::Plan;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

pub async fn create(pool: &PgPool, id: TenantId, name: &str, plan: Plan) -> Result<(), DbError> {
    sqlx::query!(
        "INSERT INTO tenants (id, name, plan) VALUES ($1, $2, $3)",
        id as TenantId,
        name,
        plan.as_str(),
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// A stored key: what verification needs, never the key itself.
#[derive(Debug, Clone)]
pub struct StoredApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub key_hmac: Vec<u8>,
    pub plan: String,
    /// `read` or `write`.
    pub scope: String,
    /// Seconds until the key expires, by the database's clock; None when it
    /// never does. What a cache of the key may not outlive.
    pub expires_in_secs: Option<f64>,
}

/// A key about to be stored.
pub struct NewApiKey<'a> {
    pub id: ApiKeyId,
    pub tenant: TenantId,
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hmac: &'a [u8],
    /// `read` or `write`.
    pub scope: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn insert_api_key(
    pool: impl sqlx::PgExecutor<'_>,
    key: &NewApiKey<'_>,
) -> Result<(), DbError> {
    sqlx::query!(
        "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hmac, scope, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        key.id as ApiKeyId,
        key.tenant as TenantId,
        key.name,
        key.prefix,
        key.key_hmac,
        key.scope,
        key.expires_at,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The live (unrevoked, unexpired) key with this prefix, with its tenant's plan.
pub async fn find_api_key(pool: &PgPool, prefix: &str) -> Result<Option<StoredApiKey>, DbError> {
    Ok(sqlx::query_as!(
        StoredApiKey,
        r#"SELECT k.id AS "id: ApiKeyId", k.tenant_id AS "tenant_id: TenantId", k.key_hmac, t.plan, k.scope,
                  extract(epoch FROM k.expires_at - now())::float8 AS expires_in_secs
           FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
           WHERE k.prefix = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())"#,
        prefix,
    )
    .fetch_optional(pool)
    .await?)
}

/// Records a key's use, at most once a minute per key (a write per request
/// would cost more than the request).
pub async fn touch_api_key(pool: &PgPool, id: ApiKeyId) -> Result<(), DbError> {
    sqlx::query!(
        "UPDATE api_keys SET last_used_at = now()
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
        id as ApiKeyId,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// A key as its tenant's admins see it (never the secret).
#[derive(Debug, Clone)]
pub struct ApiKeyRow {
    pub id: ApiKeyId,
    pub name: String,
    pub prefix: String,
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Up to `limit` of the tenant's keys after the cursor `after`, newest
/// first (ids are UUIDv7, so id order is creation order).
pub async fn list_api_keys(
    pool: &PgPool,
    tenant: TenantId,
    after: Option<ApiKeyId>,
    limit: i64,
) -> Result<Vec<ApiKeyRow>, DbError> {
    Ok(sqlx::query_as!(
        ApiKeyRow,
        r#"SELECT id AS "id: ApiKeyId", name, prefix, scope, created_at, expires_at, last_used_at, revoked_at
           FROM api_keys WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id < $2)
           ORDER BY id DESC LIMIT $3"#,
        tenant as TenantId,
        after.map(|a| a.as_uuid()),
        limit,
    )
    .fetch_all(pool)
    .await?)
}

/// Revokes a live key of this tenant; false when there is none.
pub async fn revoke_api_key(
    pool: impl sqlx::PgExecutor<'_>,
    tenant: TenantId,
    id: ApiKeyId,
) -> Result<bool, DbError> {
    let rows = sqlx::query!(
        "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL",
        id as ApiKeyId,
        tenant as TenantId,
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(rows == 1)
}

/// Changes a tenant's plan; returns the previous one. A real change is
/// recorded in `plan_changes` in the same transaction: billing prorates the
/// base price by it (docs/adr/0003-plans.md). For a paid change (a Stripe
/// subscription event) or an operator's; an owner's own goes through
/// [`change_plan_downward`].
pub async fn change_plan(
    pool: &PgPool,
    tenant: TenantId,
    plan: Plan,
) -> Result<Option<String>, DbError> {
    match change_plan_guarded(pool, tenant, plan, false).await? {
        PlanMove::Changed { previous } => Ok(Some(previous)),
        PlanMove::NoTenant | PlanMove::WouldUpgrade { .. } => Ok(None),
    }
}

/// What an owner's own plan change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanMove {
    /// Applied (or already on that plan); the plan before.
    Changed {
        previous: String,
    },
    /// Refused: `plan` costs more than the current one (issue 18: an
    /// upgrade goes through payment or an operator).
    WouldUpgrade {
        current: String,
    },
    NoTenant,
}

/// An owner's plan change: to the same plan or a cheaper one only. The
/// check is in the UPDATE itself, against the row's current plan, so a
/// plan changed a moment ago by a Stripe event (a cancelled subscription
/// back to free) cannot be raced into a free upgrade by a stale read.
pub async fn change_plan_downward(
    pool: &PgPool,
    tenant: TenantId,
    plan: Plan,
) -> Result<PlanMove, DbError> {
    change_plan_guarded(pool, tenant, plan, true).await
}

async fn change_plan_guarded(
    pool: &PgPool,
    tenant: TenantId,
    plan: Plan,
    downward_only: bool,
) -> Result<PlanMove, DbError> {
    // Plan::ALL is in price order (docs/adr/0003-plans.md); a plan's rank is its place there.
    let ranks: Vec<&str> = Plan::ALL.iter().map(|p| p.as_str()).collect();
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        r#"WITH current AS (SELECT plan FROM tenants WHERE id = $1 FOR UPDATE),
           changed AS (
               UPDATE tenants t SET plan = $2 FROM current
               WHERE t.id = $1
                 AND (NOT $3 OR array_position($4::text[], current.plan)
                                >= array_position($4::text[], $2::text))
               RETURNING current.plan AS previous)
           SELECT (SELECT plan FROM current) AS "current?",
                  (SELECT previous FROM changed) AS "previous?""#,
        tenant as TenantId,
        plan.as_str(),
        downward_only,
        &ranks as &[&str],
    )
    .fetch_one(&mut *tx)
    .await?;
    let outcome = match (row.current, row.previous) {
        (None, _) => PlanMove::NoTenant,
        (Some(current), None) => PlanMove::WouldUpgrade { current },
        (Some(_), Some(previous)) => {
            if previous != plan.as_str() {
                super::billing::record_plan_change(&mut tx, tenant, &previous, plan).await?;
            }
            PlanMove::Changed { previous }
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

pub async fn insert_operator_key(
    pool: &PgPool,
    id: Uuid,
    name: &str,
    prefix: &str,
    key_hmac: &[u8],
) -> Result<(), DbError> {
    sqlx::query!(
        "INSERT INTO operator_keys (id, name, prefix, key_hmac) VALUES ($1, $2, $3, $4)",
        id,
        name,
        prefix,
        key_hmac,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The HMAC of the live operator key with this prefix.
pub async fn find_operator_key(
    pool: &PgPool,
    prefix: &str,
) -> Result<Option<(Uuid, Vec<u8>)>, DbError> {
    Ok(sqlx::query!(
        "SELECT id, key_hmac FROM operator_keys WHERE prefix = $1 AND revoked_at IS NULL",
        prefix
    )
    .fetch_optional(pool)
    .await?
    .map(|r| (r.id, r.key_hmac)))
}
