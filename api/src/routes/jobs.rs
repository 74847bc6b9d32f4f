//! Jobs: submit (202, durable before the answer, idempotent with a key),
//! read back (optionally long-polling for the end), list, cancel, re-run;
//! deletion is `routes::job_deletion`'s, cancel and delete by filter
//! `routes::job_bulk`'s.

use crate::auth::TenantScope;
use crate::enqueue::{self, Placed, Submit};
use crate::error::{ApiError, Problem};
use crate::idempotency::{self, IdempotencyKey};
use crate::job_request::JobIn;
use crate::json::ApiJson;
use crate::pagination::PageQuery;
use crate::query::ApiQuery;
use crate::responses::{JobAccepted, JobOut, JobPage};
use crate::routes::job_params::{job_id, parse_operation, parse_status};
use crate::routes::{job_bulk, job_deletion, job_results};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use catalytic_shared::db;
use catalytic_shared::db::job_queries::JobFilter;
use catalytic_shared::db::jobs::{Guard, Holder, Transitioned};
use catalytic_shared::ids::JobId;
use catalytic_shared::job::{JobSpec, JobState};
use catalytic_shared::metrics as m;
use catalytic_shared::tenant::Role;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit_job))
        .routes(routes!(get_job, job_deletion::delete_job))
        .routes(routes!(list_jobs))
        .routes(routes!(cancel_job))
        .routes(routes!(job_bulk::cancel_matching))
        .routes(routes!(rerun_job))
        .routes(routes!(job_bulk::delete_matching))
        .routes(routes!(job_results::download_part))
}

/// The longest `?wait=` a read may long-poll, in seconds.
pub const MAX_WAIT_SECS: u64 = 60;

/// The 202 of a submit, a replayed submit or a re-run.
fn accepted(id: JobId, status: JobState, rerun_of: Option<JobId>, replayed: bool) -> Response {
    let body = JobAccepted {
        rerun_of: rerun_of.map(Into::into),
        ..JobAccepted::new(id, status)
    };
    let mut response = (
        StatusCode::ACCEPTED,
        [(header::LOCATION, body.location.clone())],
        Json(body),
    )
        .into_response();
    if replayed {
        response.headers_mut().insert(
            idempotency::REPLAYED_HEADER,
            HeaderValue::from_static("true"),
        );
    }
    response
}

/// The answer to a submit that stored nothing because a live uniqueness
/// hold names an existing job: 200 and that job.
fn existing(holder: Holder) -> Response {
    let body = JobAccepted {
        existing: true,
        ..JobAccepted::new(holder.job, holder.status)
    };
    (
        StatusCode::OK,
        [(header::LOCATION, body.location.clone())],
        Json(body),
    )
        .into_response()
}

/// A replayed submit answers the job's state now (it may have been
/// scheduled, or have run since).
async fn replayed_state(
    state: &AppState,
    scope: &TenantScope,
    id: JobId,
) -> Result<JobState, ApiError> {
    Ok(db::jobs::get(&state.db, scope.tenant_id, id)
        .await?
        .map_or(JobState::Queued, |row| row.status))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct JobListQuery {
    /// Only jobs in these states, comma-separated: `scheduled`, `waiting`, `queued`,
    /// `running`, `succeeded`, `failed`, `cancelled`.
    pub status: Option<String>,
    /// Only jobs of this operation (`shortest_path`, `distances`, …).
    pub operation: Option<String>,
    /// Only jobs created at or after this instant (RFC 3339).
    pub created_after: Option<chrono::DateTime<chrono::Utc>>,
    /// Only jobs created before this instant (RFC 3339).
    pub created_before: Option<chrono::DateTime<chrono::Utc>>,
    /// Only jobs with this concurrency key.
    pub concurrency_key: Option<String>,
    /// Only jobs this cron schedule submitted (its id).
    pub schedule: Option<uuid::Uuid>,
    /// 1–100, default 100.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WaitQuery {
    /// Long-poll: answer as soon as the job is terminal, or after this
    /// many seconds (0–60) with its state then.
    pub wait: Option<String>,
}

/// Submit a job. It is validated, stored with its outbox row in one
/// transaction, and answered 202; a worker computes it later.
#[utoipa::path(
    post, path = "/v1/jobs", tag = "jobs",
    request_body = JobIn,
    params(("Idempotency-Key" = Option<String>, Header,
            description = "1–255 visible ASCII characters; the same key and body within 24 h answer the same job")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "nothing stored: a live uniqueness hold (`unique_for_secs`, `unique_key`) names this existing job (`existing: true`, `status` its state now)", body = JobAccepted,
         headers(("Location" = String, description = "the existing job's URL"))),
        (status = 202, description = "accepted and durable (or, with a known Idempotency-Key and the same body, the earlier job)", body = JobAccepted,
         headers(("Location" = String, description = "the job's URL"),
                 ("Idempotent-Replayed" = String, description = "`true` when an earlier submit with this Idempotency-Key is answered again"))),
        (status = 409, description = "the Idempotency-Key was used with another body in the last 24 h", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
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
    headers: HeaderMap,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    scope.require(Role::Member)?;
    let key = IdempotencyKey::from_request(&headers, &body)?;
    if let Some(key) = &key
        && let Some(id) = key.replay(&state.db, scope.tenant_id).await?
    {
        tracing::Span::current().record("job_id", tracing::field::display(id));
        tracing::info!("idempotent submit replayed");
        return Ok(accepted(
            id,
            replayed_state(&state, &scope, id).await?,
            None,
            true,
        ));
    }
    let job: JobIn = crate::json::parse(body.to_string().as_bytes())?;
    let stored = enqueue::stored_lattice(&state.db, scope.tenant_id, job.lattice_id).await?;
    let new = enqueue::from_request(scope.tenant_id, scope.plan, job, stored, None)?;
    let missing = enqueue::missing_parents(&state.db, scope.tenant_id, &[&new]).await?;
    if let Some(refusal) = missing.into_iter().flatten().next() {
        return Err(refusal);
    }
    let (operation, state_at_submit) = (new.operation, new.state());
    let submitted = enqueue::submit(&state.submits, scope.plan, new, key.as_ref()).await;
    let id = match (submitted, &key) {
        (Ok(Placed::Stored(id)), _) => {
            state.job_events.accepted([id], scope.tenant_id);
            id
        }
        (Ok(Placed::Existing(holder)), _) => {
            tracing::Span::current().record("job_id", tracing::field::display(holder.job));
            tracing::info!("unique submit answered with the job holding its key");
            return Ok(existing(holder));
        }
        (Err(Submit::Refused(e)), _) => return Err(e),
        // A concurrent submit with the same key won: answer its job.
        (Err(Submit::KeyTaken), Some(key)) => {
            return match key.replay(&state.db, scope.tenant_id).await? {
                Some(id) => Ok(accepted(
                    id,
                    replayed_state(&state, &scope, id).await?,
                    None,
                    true,
                )),
                None => Err(ApiError::Conflict(format!(
                    "{} {:?} is being used by a concurrent request; retry",
                    idempotency::HEADER,
                    key.key
                ))),
            };
        }
        (Err(Submit::KeyTaken), None) => {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "idempotency conflict without a key"
            )));
        }
    };
    tracing::Span::current().record("job_id", tracing::field::display(id));
    tracing::info!(operation, "job accepted");
    Ok(accepted(id, state_at_submit, None, false))
}

/// A job's status, timestamps, attempts, and its result once succeeded.
/// With `?wait=N` the answer waits up to N seconds for a terminal state.
#[utoipa::path(
    get, path = "/v1/jobs/{id}", tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "the job id"), WaitQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "the job: status, timestamps, attempts, and its result once succeeded", body = JobOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such job for this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`wait` is not 0–60", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_job(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<WaitQuery>,
) -> Result<Json<JobOut>, ApiError> {
    let id = job_id(&id)?;
    let wait = match query.wait.as_deref() {
        None => 0,
        Some(w) => w
            .parse::<u64>()
            .ok()
            .filter(|w| *w <= MAX_WAIT_SECS)
            .ok_or_else(|| {
                ApiError::field("wait", format!("must be 0 to {MAX_WAIT_SECS} seconds"))
            })?,
    };
    // Subscribe before the first look, so a transition committed in between
    // is not missed; look again on our job's notification, or every BACKSTOP.
    let mut done = state.job_events.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    // A long-poll of a job this process accepted and has not heard finish
    // (the usual request after a submit) knows the answer is not ready:
    // it waits for the notification before its first read.
    let mut known_unfinished = wait > 0 && state.job_events.unfinished_here(id, scope.tenant_id);
    loop {
        // A job that finished lately is answered from its notification.
        if let Some(row) = state.job_events.finished(id) {
            metrics::counter!(m::JOB_CACHE_HITS, "path" => "get").increment(1);
            return own(row, &scope);
        }
        if known_unfinished {
            known_unfinished = false;
            metrics::counter!(m::JOB_CACHE_HITS, "path" => "accepted").increment(1);
        } else {
            let row = db::jobs::get(&state.db, scope.tenant_id, id)
                .await?
                .ok_or(ApiError::NotFound("job"))?;
            if row.status.is_terminal() || tokio::time::Instant::now() >= deadline {
                return Ok(Json(row.into()));
            }
        }
        let next_read = deadline.min(tokio::time::Instant::now() + crate::job_events::BACKSTOP);
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(next_read) => break,
                event = done.recv() => match event {
                    Ok(finished) if finished.id == id => match finished.row {
                        Some(row) => {
                            metrics::counter!(m::JOB_CACHE_HITS, "path" => "long_poll").increment(1);
                            return own(row, &scope);
                        }
                        None => break,
                    },
                    Ok(_) => {}
                    // Lagged or closed: look again now.
                    Err(_) => break,
                },
            }
        }
    }
}

/// A finished row from the notification, as the read would answer it: the
/// read matches the id and the tenant, and job ids are unique across
/// tenants, so another tenant's job is the same 404.
fn own(row: Arc<db::jobs::JobRow>, scope: &TenantScope) -> Result<Json<JobOut>, ApiError> {
    if row.tenant_id != scope.tenant_id {
        return Err(ApiError::NotFound("job"));
    }
    Ok(Json(Arc::unwrap_or_clone(row).into()))
}

/// The tenant's jobs, newest first, optionally of one state.
#[utoipa::path(
    get, path = "/v1/jobs", tag = "jobs",
    params(JobListQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "one page of the tenant's jobs, newest first", body = JobPage),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "an unknown parameter, or a bad `status`, `operation`, `created_after`, `created_before`, `limit` or `cursor` (the problem names it)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_jobs(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiQuery(query): ApiQuery<JobListQuery>,
) -> Result<Json<JobPage>, ApiError> {
    let filter = JobFilter {
        statuses: match query.status.as_deref() {
            None => None,
            Some(list) => Some(
                list.split(',')
                    .map(parse_status)
                    .collect::<Result<_, _>>()?,
            ),
        },
        operation: query
            .operation
            .as_deref()
            .map(parse_operation)
            .transpose()?,
        created_after: query.created_after,
        created_before: query.created_before,
        concurrency_key: query.concurrency_key,
        schedule: query.schedule,
    };
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .parse::<JobId>()?;
    let mut rows = db::job_queries::list(
        &state.db,
        scope.tenant_id,
        &filter,
        page.after,
        page.fetch(),
    )
    .await?;
    let next_cursor = page.finish(&mut rows, |r| r.id.as_uuid());
    Ok(Json(JobPage {
        items: rows.into_iter().map(JobOut::from).collect(),
        next_cursor,
    }))
}

/// Cancels a queued or running job. A queued job never starts; a running
/// one's worker is told at commit and stops computing within ~100 ms.
#[utoipa::path(
    post, path = "/v1/jobs/{id}/cancel", tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "the job id")),
    security(("api_key" = [])),
    responses(
        (status = 202, description = "cancelled; the job as it is now", body = JobOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "viewers may only read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such job for this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the job is already terminal (the problem names its state)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn cancel_job(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<JobOut>), ApiError> {
    scope.require(Role::Member)?;
    let id = job_id(&id)?;
    // Guarded from the state just read; if the job moved in between (a
    // worker claimed it), read again and try once more.
    for _ in 0..2 {
        let row = db::jobs::get(&state.db, scope.tenant_id, id)
            .await?
            .ok_or(ApiError::NotFound("job"))?;
        if row.status.is_terminal() {
            return Err(already(row.status));
        }
        let guard = Guard {
            job: id,
            from: row.status,
            attempt: row.attempt,
        };
        if let Transitioned::Applied(_) =
            db::job_queries::cancel(&state.db, guard, "cancelled by the tenant").await?
        {
            tracing::info!(from = %row.status, "job cancelled");
            let row = db::jobs::get(&state.db, scope.tenant_id, id)
                .await?
                .ok_or(ApiError::NotFound("job"))?;
            return Ok((StatusCode::ACCEPTED, Json(row.into())));
        }
    }
    let row = db::jobs::get(&state.db, scope.tenant_id, id)
        .await?
        .ok_or(ApiError::NotFound("job"))?;
    Err(if row.status.is_terminal() {
        already(row.status)
    } else {
        ApiError::Conflict(format!(
            "the job is changing state (now {}); retry the cancel",
            row.status
        ))
    })
}

fn already(status: JobState) -> ApiError {
    ApiError::Conflict(format!("the job is already {status}"))
}

/// Submits a failed or cancelled job again: a new job with the same
/// request, through the same plan quotas as a submit.
#[utoipa::path(
    post, path = "/v1/jobs/{id}/rerun", tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "the failed or cancelled job")),
    security(("api_key" = [])),
    responses(
        (status = 202, description = "the new job, accepted and durable; `rerun_of` names the original", body = JobAccepted,
         headers(("Location" = String, description = "the new job's URL"))),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "the free plan's monthly jobs are used", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "viewers may only read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such job for this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the job is not failed or cancelled (the problem names its state)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "the plan's queued-jobs cap is reached", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
async fn rerun_job(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    scope.require(Role::Member)?;
    let original = job_id(&id)?;
    let row = db::jobs::get(&state.db, scope.tenant_id, original)
        .await?
        .ok_or(ApiError::NotFound("job"))?;
    if !matches!(row.status, JobState::Failed | JobState::Cancelled) {
        return Err(ApiError::Conflict(format!(
            "only failed or cancelled jobs can be re-run; this one is {}",
            row.status
        )));
    }
    let spec: JobSpec = serde_json::from_value(row.spec)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored spec of job {original}: {e}")))?;
    let lattice_id = db::job_queries::lattice_of(&state.db, scope.tenant_id, original).await?;
    let id = enqueue::submit_stored(&state.submits, &scope, &spec, lattice_id).await?;
    tracing::info!(new_job_id = %id, "job re-run");
    Ok(accepted(id, JobState::Queued, Some(original), false))
}
