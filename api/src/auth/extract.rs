//! `TenantScope`: the authenticated tenant of a request, and who acts in it.
//! Handlers that take it can only be reached with a valid credential, and
//! every query they make takes `scope.tenant_id` first: another tenant's
//! resource is simply not found. Write handlers also call
//! `scope.require(Role::Member)?` (403 for viewers).
//!
//! Two credentials, both `Authorization: Bearer ...`:
//! - an API key (`clc_...`, see `api_key`): acts as `Role::Member`;
//! - a JWT access token (see `jwt`): acts as its user, with the user's
//!   *current* role read from PostgreSQL, refused once revoked (see
//!   `revocation`) or once the user is deleted.
//!
//! Both are resolved from this process's cache when it can (`principals`:
//! kept current by PostgreSQL notifications), from PostgreSQL otherwise.

use super::api_key::{KEY_PREFIX, prefix_of};
use super::principals::{KeyPrincipal, SessionPrincipal};
use crate::error::ApiError;
use crate::limits::enforce::RateSlot;
use crate::limits::rate::Rate;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use catalytic_shared::db;
use catalytic_shared::ids::{ApiKeyId, SessionId, TenantId, UserId};
use catalytic_shared::metrics as m;
use catalytic_shared::tenant::{Plan, Role};
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct TenantScope {
    pub tenant_id: TenantId,
    /// The key used, when the caller sent an API key.
    pub api_key_id: Option<ApiKeyId>,
    /// The user and session, when the caller sent an access token.
    pub user: Option<UserSession>,
    pub role: Role,
    pub plan: Plan,
}

/// The access token a user presented.
#[derive(Debug, Clone, Copy)]
pub struct UserSession {
    pub user_id: UserId,
    pub session: SessionId,
    pub jti: uuid::Uuid,
    /// The token's `exp` (Unix seconds): how long a revocation must last.
    pub expires_at: i64,
}

impl TenantScope {
    /// 403 unless the caller's role is at least `needed`.
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        match self.role.at_least(needed) {
            true => Ok(()),
            false => Err(ApiError::Forbidden(format!(
                "this needs the {needed} role or higher; the caller is {}",
                self.role
            ))),
        }
    }
}

impl FromRequestParts<AppState> for TenantScope {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let credential = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError::Unauthorized(
                "send an API key or an access token: Authorization: Bearer ...",
            ))?;
        let scope = match credential.starts_with(KEY_PREFIX) {
            true => from_api_key(state, credential).await?,
            false => from_access_token(state, credential).await?,
        };
        tracing::Span::current().record("tenant_id", tracing::field::display(scope.tenant_id));
        spend_tenant_budget(parts, state, &scope).await?;
        Ok(scope)
    }
}

async fn from_api_key(state: &AppState, key: &str) -> Result<TenantScope, ApiError> {
    let invalid = || ApiError::Unauthorized("invalid API key");
    let prefix = prefix_of(key).ok_or_else(invalid)?;
    let principal = match state.principals.key(prefix) {
        Some(cached) => {
            metrics::counter!(m::AUTH_CACHE_HITS, "credential" => "api_key").increment(1);
            cached
        }
        None => read_api_key(state, prefix).await?.ok_or_else(invalid)?,
    };
    // A hit is verified like a read: the prefix is no secret, the key is.
    if !state.api_keys.verify(key, &principal.key_hmac) {
        return Err(invalid());
    }
    state.last_used.record(&state.db, principal.id);
    Ok(TenantScope {
        tenant_id: principal.tenant_id,
        api_key_id: Some(principal.id),
        user: None,
        role: principal.role,
        plan: principal.plan,
    })
}

/// The live key with `prefix` from PostgreSQL, cached when no invalidation
/// raced the read (`Principals::ticket`).
async fn read_api_key(state: &AppState, prefix: &str) -> Result<Option<KeyPrincipal>, ApiError> {
    let ticket = state.principals.ticket();
    metrics::counter!(m::AUTH_DB_READS, "credential" => "api_key").increment(1);
    let Some(stored) = db::tenants::find_api_key(&state.db, prefix).await? else {
        return Ok(None);
    };
    let plan = stored
        .plan
        .parse()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("tenant {} has {e}", stored.tenant_id)))?;
    let principal = KeyPrincipal {
        id: stored.id,
        tenant_id: stored.tenant_id,
        key_hmac: stored.key_hmac,
        plan,
        // A key's scope caps it at a role: `read` keys are viewers, `write`
        // keys members; key and user management need a user session.
        role: match stored.scope.as_str() {
            "read" => Role::Viewer,
            _ => Role::Member,
        },
    };
    if let Some(ticket) = ticket {
        // Negative or NaN never happens for a live key; treat it as expired.
        let expires_in = stored
            .expires_in_secs
            .map(|s| Duration::try_from_secs_f64(s).unwrap_or(Duration::ZERO));
        state
            .principals
            .fill_key(ticket, prefix, principal.clone(), expires_in);
    }
    Ok(Some(principal))
}

async fn from_access_token(state: &AppState, token: &str) -> Result<TenantScope, ApiError> {
    let claims = state.jwt.verify(token)?;
    let revoked = ApiError::Unauthorized("this access token was revoked");
    let cached = state.principals.session(claims.jti).filter(|p| {
        // A jti is unique; the check only guards against a forged jti reuse
        // across users, which the signature already rules out.
        p.tenant_id == claims.tenant_id && p.user_id == claims.sub && p.session == claims.sid
    });
    let current = match cached {
        Some(hit) => {
            metrics::counter!(m::AUTH_CACHE_HITS, "credential" => "session").increment(1);
            hit
        }
        None => {
            if state.auth_cache.known_revoked(claims.jti, claims.sid).await {
                return Err(revoked);
            }
            let ticket = state.principals.ticket();
            metrics::counter!(m::AUTH_DB_READS, "credential" => "session").increment(1);
            let current = crate::db::accounts::session_state(
                &state.db,
                claims.tenant_id,
                claims.sub,
                claims.jti,
                claims.sid,
            )
            .await?
            .ok_or(ApiError::Unauthorized(
                "this access token's user no longer exists",
            ))?;
            let principal = SessionPrincipal {
                tenant_id: claims.tenant_id,
                user_id: claims.sub,
                session: claims.sid,
                role: current.role,
                plan: current.plan,
                revoked: current.revoked,
            };
            if let Some(ticket) = ticket {
                state.principals.fill_session(ticket, claims.jti, principal);
            }
            principal
        }
    };
    if current.revoked {
        return Err(revoked);
    }
    Ok(TenantScope {
        tenant_id: claims.tenant_id,
        api_key_id: None,
        user: Some(UserSession {
            user_id: claims.sub,
            session: claims.sid,
            jti: claims.jti,
            expires_at: claims.exp,
        }),
        role: current.role,
        plan: current.plan,
    })
}

/// The tenant's rate limit (its plan's requests per minute, shared by all
/// its keys and users and every api process). The decision goes to the
/// rate-limit middleware through `RateSlot`, which reports the headers.
async fn spend_tenant_budget(
    parts: &Parts,
    state: &AppState,
    scope: &TenantScope,
) -> Result<(), ApiError> {
    let rate = Rate::per_minute(scope.plan.limits().requests_per_minute);
    let decision = state
        .rate_limiter
        .check(&format!("tenant:{}", scope.tenant_id), rate)
        .await;
    if let Some(slot) = parts.extensions.get::<RateSlot>() {
        slot.set(decision);
    }
    match decision.allowed {
        true => Ok(()),
        false => Err(ApiError::TooManyRequests {
            message: format!(
                "the {} plan allows {} requests per minute; retry in {} s",
                scope.plan, decision.limit, decision.retry_after_secs
            ),
            limit: "requests_per_tenant",
            retry_after: Some(decision.retry_after_secs.max(1)),
        }),
    }
}
