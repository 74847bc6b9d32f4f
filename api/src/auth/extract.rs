//! `TenantScope`: the authenticated tenant of a request. Handlers that take
//! it can only be reached with a valid key, and every query they make takes
//! `scope.tenant_id` first: another tenant's resource is simply not found.

use super::api_key::prefix_of;
use crate::error::ApiError;
use crate::startup::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use catalytic_shared::db;
use catalytic_shared::ids::{ApiKeyId, TenantId};
use catalytic_shared::tenant::Plan;

#[derive(Debug, Clone, Copy)]
pub struct TenantScope {
    pub tenant_id: TenantId,
    pub api_key_id: ApiKeyId,
    pub plan: Plan,
}

impl FromRequestParts<AppState> for TenantScope {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized(
                "send an API key: Authorization: Bearer clc_...",
            ))?;
        let invalid = ApiError::Unauthorized("invalid API key");
        let prefix = prefix_of(key.trim()).ok_or(ApiError::Unauthorized("invalid API key"))?;
        let stored = db::tenants::find_api_key(&state.db, prefix)
            .await?
            .ok_or(invalid)?;
        if !state.api_keys.verify(key.trim(), &stored.key_hmac) {
            return Err(ApiError::Unauthorized("invalid API key"));
        }
        let plan = stored.plan.parse().map_err(|e| {
            ApiError::Internal(anyhow::anyhow!("tenant {} has {e}", stored.tenant_id))
        })?;
        tracing::Span::current().record("tenant_id", tracing::field::display(stored.tenant_id));
        Ok(TenantScope {
            tenant_id: stored.tenant_id,
            api_key_id: stored.id,
            plan,
        })
    }
}
