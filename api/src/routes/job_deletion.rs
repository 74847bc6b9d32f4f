//! Deleting a finished job (issue 22); by filter, `routes::job_bulk`. The job row
//! goes with everything that only describes it; its usage event stays for
//! billing (migrations/0027_job_retention_and_deletion.sql). Unfinished
//! jobs are never deleted: cancel them first.

use crate::auth::TenantScope;
use crate::error::{ApiError, Problem};
use crate::routes::job_params::job_id;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use catalytic_shared::db;
use catalytic_shared::db::job_queries::Deleted;
use catalytic_shared::tenant::Role;

/// Deletes a finished job: it is gone at once from every read (GET answers
/// 404 on every api replica), with its result, error, transitions and
/// webhook messages. What it was billed stays on the usage and invoices.
#[utoipa::path(
    delete, path = "/v1/jobs/{id}", tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "the job id")),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "viewers may only read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such job for this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the job has not finished (the problem names its state): cancel it first", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_job(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    scope.require(Role::Member)?;
    let id = job_id(&id)?;
    match db::job_queries::delete_finished(&state.db, scope.tenant_id, id).await? {
        Deleted::Gone => {
            tracing::info!(job_id = %id, "job deleted");
            Ok(StatusCode::NO_CONTENT)
        }
        Deleted::Unfinished(status) => Err(ApiError::Conflict(format!(
            "the job is {status}: only finished jobs can be deleted; cancel it first"
        ))),
        Deleted::Missing => Err(ApiError::NotFound("job")),
    }
}
