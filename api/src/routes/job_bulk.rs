//! Bulk operations by filter (issue 21): cancel every unfinished job, or
//! delete every finished one (issue 22), that matches, in batches of 500
//! (one statement each), at most 10,000 per request. Both take the job
//! list's filters, answered with a count and whether more match.

use crate::auth::TenantScope;
use crate::error::{ApiError, Problem};
use crate::json::ApiJson;
use crate::responses::{CancelledOut, DeletedOut};
use crate::routes::job_params::{parse_operation, parse_status};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use catalytic_shared::db;
use catalytic_shared::db::DbError;
use catalytic_shared::db::job_queries::JobFilter;
use catalytic_shared::ids::JobId;
use catalytic_shared::tenant::Role;
use serde::Deserialize;
use utoipa::ToSchema;

/// The most jobs one request cancels or deletes; its answer's `more` says
/// when more matched.
pub const BULK_MAX: usize = 10_000;
/// Jobs per statement.
const BULK_BATCH: i64 = 500;

/// Which jobs a bulk cancel or delete takes. Every field narrows; `{}`
/// takes every unfinished job (cancel) or every finished one (delete).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobsMatchingIn {
    /// A cancel: any of `scheduled`, `waiting`, `queued`, `running`
    /// (default: all four). A delete: any of `succeeded`, `failed`,
    /// `cancelled` (default: all three).
    pub status: Option<Vec<String>>,
    /// Only jobs of this operation.
    pub operation: Option<String>,
    /// Only jobs created at or after this instant.
    pub created_after: Option<chrono::DateTime<chrono::Utc>>,
    /// Only jobs created before this instant.
    pub created_before: Option<chrono::DateTime<chrono::Utc>>,
    /// Only jobs with this concurrency key.
    pub concurrency_key: Option<String>,
    /// Only jobs this cron schedule submitted (its id).
    pub schedule: Option<uuid::Uuid>,
}

impl JobsMatchingIn {
    /// The filter, with every state in `status` finished (`finished`) or
    /// unfinished (else 422 naming `status[i]`, saying which it takes).
    fn filter(self, finished: bool) -> Result<JobFilter, ApiError> {
        let allowed = match finished {
            true => "must be succeeded, failed or cancelled",
            false => "must be scheduled, waiting, queued or running",
        };
        let statuses = self
            .status
            .map(|list| {
                list.iter()
                    .enumerate()
                    .map(|(i, s)| match parse_status(s) {
                        Ok(state) if state.is_terminal() == finished => Ok(state),
                        _ => Err(ApiError::field(format!("status[{i}]"), allowed)),
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(JobFilter {
            statuses,
            operation: self.operation.as_deref().map(parse_operation).transpose()?,
            created_after: self.created_after,
            created_before: self.created_before,
            concurrency_key: self.concurrency_key,
            schedule: self.schedule,
        })
    }
}

/// What one batch did: jobs that matched, of them changed, the smallest id
/// looked at (the next batch starts below it).
type Batch = (usize, usize, Option<JobId>);

/// Runs `batch` from the newest matching job down until a batch comes back
/// short or `BULK_MAX` jobs changed; answers how many changed and whether
/// more match.
async fn in_batches<F, Fut>(mut batch: F) -> Result<(usize, bool), ApiError>
where
    F: FnMut(Option<JobId>, i64) -> Fut,
    Fut: Future<Output = Result<Batch, DbError>>,
{
    let mut changed = 0;
    let mut before = None;
    loop {
        let (matched, done, last) = batch(before, BULK_BATCH).await?;
        changed += done;
        before = last;
        let exhausted = matched < BULK_BATCH as usize;
        if exhausted || changed >= BULK_MAX {
            return Ok((changed, !exhausted));
        }
    }
}

/// Cancels every unfinished job of the tenant that matches, in batches of
/// 500 (each one guarded statement), at most 10,000 per request.
#[utoipa::path(
    post, path = "/v1/jobs/cancel", tag = "jobs",
    request_body = JobsMatchingIn,
    security(("api_key" = [])),
    responses(
        (status = 200, description = "how many matching jobs were cancelled, and whether more match (send it again)", body = CancelledOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "viewers may only read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "an unknown field, a bad value, or a finished state in `status` (the problem names it)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn cancel_matching(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiJson(body): ApiJson<JobsMatchingIn>,
) -> Result<Json<CancelledOut>, ApiError> {
    scope.require(Role::Member)?;
    let filter = body.filter(false)?;
    let (cancelled, more) = in_batches(|before, n| {
        let (state, filter) = (&state, &filter);
        async move {
            let b = db::job_queries::cancel_batch(
                &state.db,
                scope.tenant_id,
                filter,
                before,
                n,
                "cancelled by the tenant (bulk)",
            )
            .await?;
            Ok((b.matched, b.cancelled, b.last))
        }
    })
    .await?;
    tracing::info!(cancelled, more, "bulk cancel answered");
    Ok(Json(CancelledOut { cancelled, more }))
}

/// Deletes every finished job of the tenant that matches, newest first, as
/// `DELETE /v1/jobs/{id}` deletes one, in batches of 500 (one statement
/// each), at most 10,000 per request.
#[utoipa::path(
    post, path = "/v1/jobs/delete", tag = "jobs",
    request_body = JobsMatchingIn,
    security(("api_key" = [])),
    responses(
        (status = 200, description = "how many matching jobs were deleted, and whether more match (send it again)", body = DeletedOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "viewers may only read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "an unknown field, a bad value, or an unfinished state in `status` (the problem names it)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_matching(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiJson(body): ApiJson<JobsMatchingIn>,
) -> Result<Json<DeletedOut>, ApiError> {
    scope.require(Role::Member)?;
    let filter = body.filter(true)?;
    let (deleted, more) = in_batches(|before, n| {
        let (state, filter) = (&state, &filter);
        async move {
            let b = db::job_queries::delete_batch(&state.db, scope.tenant_id, filter, before, n)
                .await?;
            Ok((b.matched, b.deleted, b.last))
        }
    })
    .await?;
    tracing::info!(deleted, more, "bulk delete answered");
    Ok(Json(DeletedOut { deleted, more }))
}
