//! Jobs: submit (202, durable before the answer) and read back.

use crate::auth::TenantScope;
use crate::enqueue;
use crate::error::{ApiError, Problem};
use crate::job_request::JobIn;
use crate::json::ApiJson;
use crate::startup::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use catalytic_shared::db;
use catalytic_shared::ids::{JobId, LatticeId};
use catalytic_shared::tenant::Role;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit_job))
        .routes(routes!(get_job))
}

/// The answer to a submit.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobAccepted {
    pub id: uuid::Uuid,
    /// Always `queued`.
    pub status: String,
    /// Where to poll: `/v1/jobs/{id}`.
    pub location: String,
}

/// A job as its tenant sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobOut {
    pub id: uuid::Uuid,
    /// `queued`, `running`, `succeeded`, `failed` or `cancelled`.
    pub status: String,
    pub operation: String,
    /// The validated request: lattice sizes per axis, operation and params.
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    /// The current (or last) attempt, from 1.
    pub attempt: i32,
    pub max_attempts: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Present when `succeeded`. For `shortest_path`: `reachable`, `length`,
    /// `path` (coordinates from start to end), `vertices_visited`, `engine`.
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// Present when `failed` (and after a retried attempt).
    #[schema(value_type = Option<Object>)]
    pub error: Option<serde_json::Value>,
}

impl From<db::jobs::JobRow> for JobOut {
    fn from(row: db::jobs::JobRow) -> Self {
        JobOut {
            id: row.id.into(),
            status: row.status.to_string(),
            operation: row.operation,
            request: row.spec,
            attempt: row.attempt,
            max_attempts: row.max_attempts,
            created_at: row.created_at,
            updated_at: row.updated_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            result: row.result,
            error: row.error,
        }
    }
}

/// Submit a job. It is validated, stored with its outbox row in one
/// transaction, and answered 202; a worker computes it later.
#[utoipa::path(
    post, path = "/v1/jobs", tag = "jobs",
    request_body = JobIn,
    security(("api_key" = [])),
    responses(
        (status = 202, description = "accepted and durable", body = JobAccepted,
         headers(("Location" = String, description = "the job's URL"))),
        (status = 400, description = "the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or invalid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "viewers may only read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "lattice_id names no lattice of this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "the free plan's monthly jobs are used (the problem says when they reset)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "the body exceeds api.max_body_bytes", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid field(s), each named", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "the plan's queued-jobs cap is reached", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
async fn submit_job(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiJson(job): ApiJson<JobIn>,
) -> Result<impl IntoResponse, ApiError> {
    scope.require(Role::Member)?;
    let stored = match job.lattice_id {
        None => None,
        Some(id) => {
            let id = LatticeId::from_uuid(id);
            let row = db::lattices::get(&state.db, scope.tenant_id, id)
                .await?
                .ok_or(ApiError::NotFound("lattice"))?;
            Some((id, row.definition()?))
        }
    };
    let lattice_id = stored.as_ref().map(|(id, _)| *id);
    let spec = job.into_spec(&scope.plan.limits(), stored.map(|(_, def)| def))?;
    let id = enqueue::submit(&state.db, scope.tenant_id, scope.plan, &spec, lattice_id).await?;
    tracing::Span::current().record("job_id", tracing::field::display(id));
    tracing::info!(operation = spec.operation.name(), "job accepted");
    let location = format!("/v1/jobs/{id}");
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location.clone())],
        Json(JobAccepted {
            id: id.into(),
            status: "queued".to_owned(),
            location,
        }),
    ))
}

/// A job's status, timestamps, attempts, and its result once succeeded.
#[utoipa::path(
    get, path = "/v1/jobs/{id}", tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "the job id")),
    security(("api_key" = [])),
    responses(
        (status = 200, body = JobOut),
        (status = 401, description = "missing or invalid API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such job for this tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_job(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
) -> Result<Json<JobOut>, ApiError> {
    // A malformed id names no job: the same 404 as an unknown one.
    let id: JobId = id.parse().map_err(|_| ApiError::NotFound("job"))?;
    tracing::Span::current().record("job_id", tracing::field::display(id));
    let row = db::jobs::get(&state.db, scope.tenant_id, id)
        .await?
        .ok_or(ApiError::NotFound("job"))?;
    Ok(Json(row.into()))
}
