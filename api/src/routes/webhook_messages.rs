//! The webhook log a tenant can read (issue 6): messages (one per event),
//! each message's delivery attempts (time, status, latency, the first 4 KiB
//! of the response, error), replay of one message, and replay of every
//! failed delivery since a time.

use crate::auth::TenantScope;
use crate::error::{ApiError, Problem};
use crate::json::ApiJson;
use crate::pagination::PageQuery;
use crate::query::ApiQuery;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use catalytic_shared::db::webhooks::{self as store, AttemptRow, MessageRow};
use catalytic_shared::ids::{EndpointId, WebhookMessageId};
use catalytic_shared::tenant::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_messages))
        .routes(routes!(list_attempts))
        .routes(routes!(replay_message))
        .routes(routes!(replay_failed))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageOut {
    /// The `webhook-id` header of every attempt.
    pub id: uuid::Uuid,
    pub event_type: String,
    pub job_id: Option<uuid::Uuid>,
    /// The body sent.
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    pub items: Vec<MessageOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<uuid::Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptOut {
    pub endpoint_id: uuid::Uuid,
    /// 1 = the first attempt of this delivery (a replay starts again at 1).
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    /// Absent when no response came (refused, timeout, SSRF guard).
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    /// The first 4 KiB of the response body.
    pub response_body: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayOut {
    /// Deliveries queued again (one per matching enabled endpoint).
    pub deliveries: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayFailedIn {
    /// Failed deliveries created at or after this time are sent again.
    pub since: DateTime<Utc>,
    /// Only those to this endpoint; absent: to every endpoint of the tenant.
    pub endpoint_id: Option<uuid::Uuid>,
}

impl From<MessageRow> for MessageOut {
    fn from(r: MessageRow) -> Self {
        MessageOut {
            id: r.id.into(),
            event_type: r.event_type,
            job_id: r.job_id.map(Into::into),
            payload: r.payload,
            created_at: r.created_at,
        }
    }
}

impl From<AttemptRow> for AttemptOut {
    fn from(r: AttemptRow) -> Self {
        AttemptOut {
            endpoint_id: r.endpoint_id.into(),
            attempt: r.attempt,
            started_at: r.started_at,
            status_code: r.status_code,
            latency_ms: r.latency_ms,
            response_body: r.response_body,
            error: r.error,
        }
    }
}

async fn message_id(
    state: &AppState,
    scope: &TenantScope,
    id: &str,
) -> Result<WebhookMessageId, ApiError> {
    let id: WebhookMessageId = crate::error::path_id(id, "webhook message")?;
    match store::message_exists(&state.db, scope.tenant_id, id).await? {
        true => Ok(id),
        false => Err(ApiError::NotFound("webhook message")),
    }
}

/// The tenant's webhook messages, newest first.
#[utoipa::path(get, path = "/v1/webhooks/messages", tag = "webhooks", params(PageQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "one page of the tenant's webhook messages, newest first", body = MessagePage),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "needs the admin role", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "bad `limit` or `cursor`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_messages(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<MessagePage>, ApiError> {
    scope.require(Role::Admin)?;
    let page = page.parse::<WebhookMessageId>()?;
    let mut rows =
        store::list_messages(&state.db, scope.tenant_id, page.after, page.fetch()).await?;
    let next_cursor = page.finish(&mut rows, |r| r.id.as_uuid());
    let items = rows.into_iter().map(MessageOut::from).collect();
    Ok(Json(MessagePage { items, next_cursor }))
}

/// Every delivery attempt of one message, oldest first.
#[utoipa::path(get, path = "/v1/webhooks/messages/{id}/attempts", tag = "webhooks",
    params(("id" = uuid::Uuid, Path)), security(("api_key" = [])),
    responses(
        (status = 200, description = "the message's delivery attempts, oldest first", body = Vec<AttemptOut>),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "needs the admin role", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such webhook message for this tenant", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_attempts(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
) -> Result<Json<Vec<AttemptOut>>, ApiError> {
    scope.require(Role::Admin)?;
    let id = message_id(&state, &scope, &id).await?;
    let rows = store::list_attempts(&state.db, scope.tenant_id, id).await?;
    Ok(Json(rows.into_iter().map(AttemptOut::from).collect()))
}

/// Deliver a message again to every enabled endpoint it matches, with a
/// fresh retry schedule.
#[utoipa::path(post, path = "/v1/webhooks/messages/{id}/replay", tag = "webhooks",
    params(("id" = uuid::Uuid, Path)), security(("api_key" = [])),
    responses(
        (status = 202, description = "queued again: one delivery per enabled endpoint the message matches", body = ReplayOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "needs the admin role", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such webhook message for this tenant", body = Problem, content_type = "application/problem+json"),
    ))]
async fn replay_message(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ReplayOut>), ApiError> {
    scope.require(Role::Admin)?;
    let id = message_id(&state, &scope, &id).await?;
    let deliveries = store::replay_message(&state.db, scope.tenant_id, id).await?;
    Ok((StatusCode::ACCEPTED, Json(ReplayOut { deliveries })))
}

/// Send again, each with a fresh schedule, every failed delivery created
/// since a time: to all the tenant's endpoints, or to one.
#[utoipa::path(post, path = "/v1/webhooks/messages/replay-failed", tag = "webhooks",
    request_body = ReplayFailedIn, security(("api_key" = [])),
    responses(
        (status = 202, description = "queued again: how many failed deliveries", body = ReplayOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "needs the admin role", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`endpoint_id` names no webhook endpoint of this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`since` is missing or not an RFC 3339 time, `endpoint_id` is not a UUID, or the body has an unknown field", body = Problem, content_type = "application/problem+json"),
    ))]
async fn replay_failed(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiJson(body): ApiJson<ReplayFailedIn>,
) -> Result<(StatusCode, Json<ReplayOut>), ApiError> {
    scope.require(Role::Admin)?;
    let endpoint = body.endpoint_id.map(EndpointId::from_uuid);
    let deliveries = store::recover_failed(&state.db, scope.tenant_id, endpoint, body.since)
        .await?
        .ok_or(ApiError::NotFound("webhook endpoint"))?;
    Ok((StatusCode::ACCEPTED, Json(ReplayOut { deliveries })))
}
