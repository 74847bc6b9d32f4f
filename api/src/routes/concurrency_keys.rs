//! Stored concurrency limits (issue 21, migrations/0031): a tenant's limit
//! per concurrency key. While one is stored it is the limit of every job
//! of the key, waiting ones included, whatever `max_concurrency` each
//! submit named; a change wakes the scheduler's release at once (a
//! `job_slots` notification in the same transaction), so a raised limit
//! queues more waiting jobs now, and a lowered one holds releases (never
//! cancelling anything) until fewer are busy. Reads: any role; writes:
//! members, recorded in the audit log.

use crate::audit::{self, Action, Actor, ClientIp};
use crate::auth::TenantScope;
use crate::error::{ApiError, Problem};
use crate::job_request::{MAX_CONCURRENCY, check_key};
use crate::json::ApiJson;
use crate::pagination::PageQuery;
use crate::query::ApiQuery;
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use catalytic_shared::db::DbError;
use catalytic_shared::db::concurrency_keys::{self as store, LimitRow, MAX_PER_TENANT};
use catalytic_shared::tenant::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_concurrency_keys))
        .routes(routes!(
            set_concurrency_key,
            get_concurrency_key,
            delete_concurrency_key
        ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConcurrencyKeyIn {
    /// 1–1000: at most this many of the key's jobs are queued or running
    /// at once, whatever `max_concurrency` their submits named.
    pub max_concurrency: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConcurrencyKeyOut {
    /// The concurrency key, as submits name it (`concurrency_key`).
    pub key: String,
    /// The stored limit: it overrides each job's own `max_concurrency`.
    pub max_concurrency: i32,
    /// The key's jobs waiting for a slot now (those still waiting for
    /// their parents included).
    pub waiting_jobs: i64,
    /// The key's jobs queued or running now (they hold its slots; after a
    /// lowered limit, possibly more than it until they finish).
    pub active_jobs: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConcurrencyKeyPage {
    /// In key order.
    pub items: Vec<ConcurrencyKeyOut>,
    /// Pass as `cursor` for the next page (the last key of this one);
    /// absent on the last page.
    pub next_cursor: Option<String>,
}

impl From<LimitRow> for ConcurrencyKeyOut {
    fn from(r: LimitRow) -> Self {
        ConcurrencyKeyOut {
            key: r.key,
            max_concurrency: r.max_concurrency,
            waiting_jobs: r.waiting,
            active_jobs: r.active,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The key of the path, percent-decoded and checked as a submit checks
/// `concurrency_key` (422 naming `key`).
fn path_key(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(key) = path.map_err(|_| {
        ApiError::field(
            "key",
            "must be percent-encoded UTF-8 in the path, e.g. nightly%2Fexport for nightly/export",
        )
    })?;
    check_key("key", &key)?;
    Ok(key)
}

/// Store a key's limit (or change it): it applies at once to the key's
/// jobs, waiting ones included.
#[utoipa::path(put, path = "/v1/concurrency-keys/{key}", tag = "concurrency-keys", request_body = ConcurrencyKeyIn,
    params(("key" = String, Path, description = "the concurrency key (1–255 characters, percent-encoded)")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "changed: the key's limit and its jobs now", body = ConcurrencyKeyOut),
        (status = 201, description = "stored: the key's limit and its jobs now", body = ConcurrencyKeyOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "viewers may only read", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the tenant stores 1,000 limits already (delete one first)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid field, named: `key` (1–255 characters, no control characters) or `max_concurrency` (1–1000)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_concurrency_key(
    State(state): State<AppState>,
    scope: TenantScope,
    ip: ClientIp,
    path: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<ConcurrencyKeyIn>,
) -> Result<impl IntoResponse, ApiError> {
    scope.require(Role::Member)?;
    let key = path_key(path)?;
    let max = i32::try_from(body.max_concurrency)
        .ok()
        .filter(|m| (1..=MAX_CONCURRENCY).contains(&i64::from(*m)))
        .ok_or_else(|| {
            ApiError::field("max_concurrency", format!("must be 1 to {MAX_CONCURRENCY}"))
        })?;
    let mut tx = state.db.begin().await.map_err(DbError::from)?;
    crate::db::quotas::lock_tenant(&mut tx, scope.tenant_id).await?;
    let (stored, has) = store::count(&mut tx, scope.tenant_id, &key).await?;
    if !has && stored >= MAX_PER_TENANT {
        return Err(ApiError::Conflict(format!(
            "a tenant stores at most {MAX_PER_TENANT} concurrency key limits; delete one first"
        )));
    }
    let previous = store::set(&mut tx, scope.tenant_id, &key, max).await?;
    audit::record(
        &mut tx,
        scope.tenant_id,
        Action::ConcurrencyLimitSet,
        Actor::of(&scope),
        ip,
        Some(&key),
        serde_json::json!({"max_concurrency": max, "previous": previous}),
    )
    .await?;
    let row = store::get(&mut tx, scope.tenant_id, &key)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the limit just stored is gone")))?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(max, ?previous, "concurrency key limit stored");
    let status = match previous {
        Some(_) => StatusCode::OK,
        None => StatusCode::CREATED,
    };
    Ok((status, Json(ConcurrencyKeyOut::from(row))))
}

/// The tenant's stored limits, in key order, each with its jobs now.
#[utoipa::path(get, path = "/v1/concurrency-keys", tag = "concurrency-keys", params(PageQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "one page of the tenant's stored limits, in key order", body = ConcurrencyKeyPage),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "bad `limit` or `cursor`, or an unknown parameter", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_concurrency_keys(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ConcurrencyKeyPage>, ApiError> {
    let page = page.parse::<String>()?;
    if let Some(after) = &page.after {
        // A key: PostgreSQL takes no NUL in text, and no key has one.
        check_key("cursor", after)?;
    }
    let mut conn = state.db.acquire().await.map_err(DbError::from)?;
    let mut rows = store::list(
        &mut conn,
        scope.tenant_id,
        page.after.as_deref(),
        page.fetch(),
    )
    .await?;
    let next_cursor = page.finish(&mut rows, |r| r.key.clone());
    let items = rows.into_iter().map(ConcurrencyKeyOut::from).collect();
    Ok(Json(ConcurrencyKeyPage { items, next_cursor }))
}

/// One key's stored limit, with its jobs now.
#[utoipa::path(get, path = "/v1/concurrency-keys/{key}", tag = "concurrency-keys",
    params(("key" = String, Path, description = "the concurrency key (1–255 characters, percent-encoded)")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "the key's limit", body = ConcurrencyKeyOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "this tenant stores no limit for the key (its jobs' own `max_concurrency` applies)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`key` is not 1–255 characters or holds a control character", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_concurrency_key(
    State(state): State<AppState>,
    scope: TenantScope,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ConcurrencyKeyOut>, ApiError> {
    let key = path_key(path)?;
    let mut conn = state.db.acquire().await.map_err(DbError::from)?;
    let row = store::get(&mut conn, scope.tenant_id, &key)
        .await?
        .ok_or(ApiError::NotFound("concurrency key limit"))?;
    Ok(Json(row.into()))
}

/// Delete a key's limit: its jobs' own `max_concurrency` applies again,
/// at once.
#[utoipa::path(delete, path = "/v1/concurrency-keys/{key}", tag = "concurrency-keys",
    params(("key" = String, Path, description = "the concurrency key (1–255 characters, percent-encoded)")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "viewers may only read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "this tenant stores no limit for the key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`key` is not 1–255 characters or holds a control character", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_concurrency_key(
    State(state): State<AppState>,
    scope: TenantScope,
    ip: ClientIp,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    scope.require(Role::Member)?;
    let key = path_key(path)?;
    let mut tx = state.db.begin().await.map_err(DbError::from)?;
    let deleted = store::delete(&mut tx, scope.tenant_id, &key)
        .await?
        .ok_or(ApiError::NotFound("concurrency key limit"))?;
    audit::record(
        &mut tx,
        scope.tenant_id,
        Action::ConcurrencyLimitDeleted,
        Actor::of(&scope),
        ip,
        Some(&key),
        serde_json::json!({"previous": deleted}),
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(previous = deleted, "concurrency key limit deleted");
    Ok(StatusCode::NO_CONTENT)
}
