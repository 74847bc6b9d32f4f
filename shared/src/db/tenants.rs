//! Tenants and their API keys. Until the accounts issue lands, keys are made
//! by `catalytic-api bootstrap` and are the only way in.

use super::DbError;
use crate::ids::{ApiKeyId, TenantId};
use crate::tenant::Plan;
use sqlx::PgPool;

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
}

pub async fn insert_api_key(
    pool: &PgPool,
    id: ApiKeyId,
    tenant: TenantId,
    name: &str,
    prefix: &str,
    key_hmac: &[u8],
) -> Result<(), DbError> {
    sqlx::query!(
        "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hmac) VALUES ($1, $2, $3, $4, $5)",
        id as ApiKeyId,
        tenant as TenantId,
        name,
        prefix,
        key_hmac,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The live (unrevoked) key with this prefix, with its tenant's plan.
pub async fn find_api_key(pool: &PgPool, prefix: &str) -> Result<Option<StoredApiKey>, DbError> {
    Ok(sqlx::query_as!(
        StoredApiKey,
        r#"SELECT k.id AS "id: ApiKeyId", k.tenant_id AS "tenant_id: TenantId", k.key_hmac, t.plan
           FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
           WHERE k.prefix = $1 AND k.revoked_at IS NULL"#,
        prefix,
    )
    .fetch_optional(pool)
    .await?)
}
