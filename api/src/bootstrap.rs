//! Operator commands run against the database directly (so only whoever
//! holds its credentials can run them): `bootstrap` creates a tenant with
//! an API key, `admin create-operator-key` a key for `/v1/admin/*`. Each
//! prints its key once.

use crate::auth::ApiKeyHasher;
use anyhow::Context;
use catalytic_shared::db::{self, DbError};
use catalytic_shared::ids::{ApiKeyId, TenantId};
use catalytic_shared::tenant::Plan;
use catalytic_shared::{Secret, Settings};

pub struct Bootstrapped {
    pub tenant_id: TenantId,
    pub api_key: Secret<String>,
}

pub async fn run(
    settings: &Settings,
    tenant_name: &str,
    plan: Plan,
) -> anyhow::Result<Bootstrapped> {
    let pool = db::pool(&settings.database)?;
    db::ensure_schema_current(&pool)
        .await
        .context("checking the schema")?;
    let hasher = ApiKeyHasher::new(settings.api.api_key_secret.clone());
    let tenant_id = TenantId::new();
    db::tenants::create(&pool, tenant_id, tenant_name, plan).await?;
    // A prefix collision (48 random bits) is astronomically rare; retry anyway.
    for _ in 0..3 {
        let key = hasher.generate();
        let new = db::tenants::NewApiKey {
            id: ApiKeyId::new(),
            tenant: tenant_id,
            name: "bootstrap",
            prefix: &key.prefix,
            key_hmac: &key.hmac,
            scope: "write",
            expires_at: None,
        };
        match db::tenants::insert_api_key(&pool, &new).await {
            Ok(()) => {
                return Ok(Bootstrapped {
                    tenant_id,
                    api_key: key.key,
                });
            }
            Err(DbError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!("could not create a unique API key prefix")
}

/// `catalytic-api admin create-operator-key`: a key for the platform's
/// `/v1/admin/*` endpoints, printed once.
pub async fn create_operator_key(
    settings: &Settings,
    name: &str,
) -> anyhow::Result<Secret<String>> {
    let pool = db::pool(&settings.database)?;
    db::ensure_schema_current(&pool)
        .await
        .context("checking the schema")?;
    let hasher = ApiKeyHasher::new(settings.api.api_key_secret.clone());
    for _ in 0..3 {
        let key = hasher.generate_with(crate::auth::api_key::OPERATOR_KEY_PREFIX);
        match db::tenants::insert_operator_key(
            &pool,
            uuid::Uuid::now_v7(),
            name,
            &key.prefix,
            &key.hmac,
        )
        .await
        {
            Ok(()) => return Ok(key.key),
            Err(DbError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!("could not create a unique operator key prefix")
}
