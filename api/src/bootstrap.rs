//! `catalytic-api bootstrap`: creates a tenant and its first API key and
//! prints the key once. The way in until accounts exist (the accounts issue
//! turns this into an operator-only command).

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
        match db::tenants::insert_api_key(
            &pool,
            ApiKeyId::new(),
            tenant_id,
            "bootstrap",
            &key.prefix,
            &key.hmac,
        )
        .await
        {
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
