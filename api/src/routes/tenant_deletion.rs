//! Deleting the tenant (issue 20). An owner asks, giving their password;
//! the tenant is erased `GRACE_DAYS` later by the scheduler
//! (scheduler/src/erasure.rs), which leaves only what billing law requires
//! (invoices and their lines, usage, plan changes). Until then everything
//! works as before, an owner can cancel, and the data can be exported
//! (`GET /v1/tenant/export`). Owners are mailed; both steps are in the
//! audit log.

use crate::audit::{self, Action, Actor, ClientIp};
use crate::auth::{TenantScope, password};
use crate::db::{self, account_tokens, deletion};
use crate::error::{ApiError, Problem};
use crate::json::ApiJson;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use catalytic_shared::Secret;
use catalytic_shared::db::mail;
use catalytic_shared::mail::Mail;
use catalytic_shared::tenant::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const PROBLEM: &str = "application/problem+json";

/// Days between the request and the erasure.
pub const GRACE_DAYS: i32 = 7;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_deletion, schedule_deletion, cancel_deletion))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletionIn {
    /// The owner's current password: deleting a tenant is not done by a
    /// stolen access token alone.
    #[schema(value_type = String, format = Password)]
    pub password: Secret<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeletionOut {
    pub requested_at: DateTime<Utc>,
    /// When the scheduler erases the tenant (requested_at + 7 days).
    pub erase_at: DateTime<Utc>,
}

/// Whether the tenant's deletion is scheduled, and when it happens.
#[utoipa::path(get, path = "/v1/tenant/deletion", tag = "tenant", security(("api_key" = [])),
    responses(
        (status = 200, description = "scheduled: when it was asked for and when the tenant is erased", body = DeletionOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "no deletion is scheduled", body = Problem, content_type = PROBLEM),
    ))]
async fn get_deletion(
    State(state): State<AppState>,
    scope: TenantScope,
) -> Result<Json<DeletionOut>, ApiError> {
    let mut conn = state.db.acquire().await?;
    deletion::scheduled(&mut conn, scope.tenant_id)
        .await?
        .map(|s| {
            Json(DeletionOut {
                requested_at: s.requested_at,
                erase_at: s.erase_at,
            })
        })
        .ok_or(ApiError::NotFound("scheduled deletion"))
}

/// Delete the tenant in 7 days (an owner, with their password). Everything
/// works until then; `DELETE /v1/tenant/deletion` cancels.
#[utoipa::path(post, path = "/v1/tenant/deletion", tag = "tenant", request_body = DeletionIn,
    security(("api_key" = [])),
    responses(
        (status = 202, description = "scheduled; the owners are mailed", body = DeletionOut),
        (status = 401, description = "missing or invalid access token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "an owner's session only (not an API key)", body = Problem, content_type = PROBLEM),
        (status = 409, description = "a deletion is scheduled already", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`password` is not the owner's", body = Problem, content_type = PROBLEM),
    ))]
async fn schedule_deletion(
    State(state): State<AppState>,
    scope: TenantScope,
    ip: ClientIp,
    ApiJson(body): ApiJson<DeletionIn>,
) -> Result<(StatusCode, Json<DeletionOut>), ApiError> {
    scope.require(Role::Owner)?;
    let Some(session) = scope.user else {
        return Err(ApiError::Forbidden(
            "deleting a tenant takes an owner's session and password, not an API key".to_owned(),
        ));
    };
    let mut tx = state.db.begin().await?;
    let stored = account_tokens::password_hash(&mut tx, session.user_id).await?;
    if !password::verify(body.password, stored).await? {
        return Err(ApiError::field("password", "is not your password"));
    }
    let Some(deletion::Scheduled {
        requested_at,
        erase_at,
    }) = deletion::schedule(&mut tx, scope.tenant_id, GRACE_DAYS).await?
    else {
        return Err(ApiError::Conflict(
            "the tenant's deletion is scheduled already; DELETE /v1/tenant/deletion cancels it"
                .to_owned(),
        ));
    };
    let (tenant_name, _) = db::accounts::tenant_summary(&mut *tx, scope.tenant_id)
        .await?
        .ok_or(ApiError::NotFound("tenant"))?;
    let requested_by = audit::actor_email(&mut tx, &scope).await?;
    let notice = Mail::DeletionScheduled {
        tenant_name,
        requested_by,
        erase_at: erase_at.to_rfc3339(),
    };
    mail::enqueue_to_members(&mut tx, scope.tenant_id, Role::Owner, &notice).await?;
    audit::record(
        &mut tx,
        scope.tenant_id,
        Action::DeletionScheduled,
        Actor::of(&scope),
        ip,
        None,
        serde_json::json!({"erase_at": erase_at}),
    )
    .await?;
    tx.commit().await?;
    tracing::warn!(tenant_id = %scope.tenant_id, %erase_at, "tenant deletion scheduled");
    Ok((
        StatusCode::ACCEPTED,
        Json(DeletionOut {
            requested_at,
            erase_at,
        }),
    ))
}

/// Cancel the scheduled deletion (an owner).
#[utoipa::path(delete, path = "/v1/tenant/deletion", tag = "tenant", security(("api_key" = [])),
    responses(
        (status = 204, description = "cancelled: the tenant stays"),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "owners only", body = Problem, content_type = PROBLEM),
        (status = 404, description = "no deletion is scheduled", body = Problem, content_type = PROBLEM),
    ))]
async fn cancel_deletion(
    State(state): State<AppState>,
    scope: TenantScope,
    ip: ClientIp,
) -> Result<StatusCode, ApiError> {
    scope.require(Role::Owner)?;
    let mut tx = state.db.begin().await?;
    if !deletion::cancel(&mut tx, scope.tenant_id).await? {
        return Err(ApiError::NotFound("scheduled deletion"));
    }
    audit::record(
        &mut tx,
        scope.tenant_id,
        Action::DeletionCancelled,
        Actor::of(&scope),
        ip,
        None,
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %scope.tenant_id, "tenant deletion cancelled");
    Ok(StatusCode::NO_CONTENT)
}
