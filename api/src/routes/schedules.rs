//! Cron schedules (issue 21): a cron expression in a time zone and a job
//! template, submitted by the scheduler at each tick
//! (scheduler/src/schedules.rs). The template is validated here as a
//! submit is, against the plan now; each fire re-checks it against the plan
//! then. Pause, resume, trigger now, delete, and the history of runs.

use crate::auth::TenantScope;
use crate::db::schedules::{self, NewSchedule, RunRow, ScheduleRow};
use crate::enqueue;
use crate::error::{ApiError, Problem};
use crate::job_request::JobIn;
use crate::json::ApiJson;
use crate::query::ApiQuery;
use crate::responses::JobAccepted;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use catalytic_shared::db::DbError;
use catalytic_shared::ids::LatticeId;
use catalytic_shared::job::{JobSpec, JobState};
use catalytic_shared::schedule::{CatchUp, Overlap, When, WhenError};
use catalytic_shared::tenant::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_schedule, list_schedules))
        .routes(routes!(get_schedule, delete_schedule))
        .routes(routes!(pause_schedule))
        .routes(routes!(resume_schedule))
        .routes(routes!(trigger_schedule))
        .routes(routes!(schedule_runs))
}

/// How many upcoming ticks a schedule's answer lists.
const NEXT_FIRES: usize = 5;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleIn {
    /// 1–100 characters, unique among the tenant's schedules.
    pub name: String,
    /// Five fields (minute hour day-of-month month day-of-week, e.g.
    /// `0 3 * * MON-FRI`) or a macro (`@hourly`, `@daily`, `@weekly`,
    /// `@monthly`, `@yearly`); at most one tick a minute.
    pub cron: String,
    /// IANA time zone the expression is read in (default `UTC`); daylight
    /// saving as docs/api.md ("Schedules") says.
    pub timezone: Option<String>,
    /// The job each tick submits: a submit body (`POST /v1/jobs`) without
    /// `run_at`, `delay_secs` or uniqueness.
    #[schema(value_type = JobIn)]
    pub job: serde_json::Value,
    /// While the previous tick's job is unfinished: `skip` (default) the
    /// tick, `queue` another job anyway, or `cancel_previous` then submit.
    pub overlap: Option<String>,
    /// After a downtime: `none` (only a tick at most 60 s late fires),
    /// `one` (default: the latest missed tick fires once) or `all` (each
    /// missed tick, up to 100).
    pub catch_up: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScheduleOut {
    pub id: uuid::Uuid,
    pub name: String,
    pub cron: String,
    pub timezone: String,
    /// The template as it was sent.
    #[schema(value_type = Object)]
    pub job: serde_json::Value,
    pub overlap: String,
    pub catch_up: String,
    pub paused: bool,
    /// The next ticks (up to five; none while paused).
    pub next_fire_times: Vec<DateTime<Utc>>,
    /// The job of the last tick that submitted one.
    pub last_job_id: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScheduleList {
    pub items: Vec<ScheduleOut>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScheduleRunOut {
    /// The tick (or, for a manual trigger, when it was asked).
    pub tick_at: DateTime<Utc>,
    /// `true` for `POST /v1/schedules/{id}/trigger`.
    pub manual: bool,
    /// `submitted`, `skipped_overlap` (the previous job was unfinished),
    /// `missed` (downtime, by the catch-up policy) or `refused` (the
    /// template no longer fits the plan, or the tenant is suspended).
    pub outcome: String,
    pub job_id: Option<uuid::Uuid>,
    pub detail: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScheduleRuns {
    /// Newest first.
    pub items: Vec<ScheduleRunOut>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// 1–100 (default 20).
    pub limit: Option<i64>,
}

pub(crate) fn out(row: ScheduleRow) -> ScheduleOut {
    let next_fire_times = match (row.paused, When::parse(&row.cron, &row.timezone)) {
        (false, Ok(when)) => {
            let mut ticks = vec![row.next_fire_at];
            ticks.extend(when.after(row.next_fire_at, NEXT_FIRES - 1));
            ticks
        }
        _ => Vec::new(),
    };
    ScheduleOut {
        id: row.id,
        name: row.name,
        cron: row.cron,
        timezone: row.timezone,
        job: row.template,
        overlap: row.overlap,
        catch_up: row.catch_up,
        paused: row.paused,
        next_fire_times,
        last_job_id: row.last_job_id,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn schedule_id(raw: &str) -> Result<uuid::Uuid, ApiError> {
    crate::error::path_id(raw, "schedule")
}

fn when(cron: &str, timezone: &str) -> Result<When, ApiError> {
    When::parse(cron, timezone).map_err(|e| match e {
        WhenError::Cron(why) => ApiError::field("cron", why),
        WhenError::Timezone(_) => ApiError::field("timezone", e.to_string()),
    })
}

fn policy<T: FromStr>(
    value: Option<&str>,
    field: &str,
    default: T,
    allowed: &str,
) -> Result<T, ApiError> {
    match value {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::field(field, format!("must be one of {allowed}"))),
    }
}

/// The template as a job: validated as a submit (its fields named
/// `job.…`), without the per-submit fields a tick cannot use.
async fn template(
    state: &AppState,
    scope: &TenantScope,
    body: &serde_json::Value,
) -> Result<(JobSpec, Option<LatticeId>), ApiError> {
    let job: JobIn =
        crate::json::parse(body.to_string().as_bytes()).map_err(|e| e.within("job"))?;
    for (given, field) in [
        (job.run_at.is_some(), "job.run_at"),
        (job.delay_secs.is_some(), "job.delay_secs"),
        (job.unique_for_secs.is_some(), "job.unique_for_secs"),
        (job.unique_key.is_some(), "job.unique_key"),
    ] {
        if given {
            return Err(ApiError::field(
                field,
                "a schedule's ticks decide when its jobs run",
            ));
        }
    }
    // A tick submits the template's spec alone: these would be ignored, so
    // they are refused rather than dropped without a word.
    for (given, field) in [
        (job.depends_on.is_some(), "job.depends_on"),
        (job.on_parent_failure.is_some(), "job.on_parent_failure"),
        (job.concurrency_key.is_some(), "job.concurrency_key"),
        (job.max_concurrency.is_some(), "job.max_concurrency"),
        (job.result_ttl_secs.is_some(), "job.result_ttl_secs"),
    ] {
        if given {
            return Err(ApiError::field(
                field,
                "not taken by a schedule's jobs (yet): submit such jobs yourself",
            ));
        }
    }
    let stored = enqueue::stored_lattice(&state.db, scope.tenant_id, job.lattice_id).await?;
    let lattice_id = stored.as_ref().map(|(id, _)| *id);
    let spec = job
        .into_spec(&scope.plan.limits(), stored.map(|(_, def)| def))
        .map_err(|e| e.within("job"))?;
    if let catalytic_shared::job::Operation::Transform(t) = &spec.operation
        && t.data.from_parent()
    {
        return Err(ApiError::field(
            "job.params.data.from",
            "a schedule's jobs have no parent to take their data from",
        ));
    }
    Ok((spec, lattice_id))
}

/// Create a schedule.
#[utoipa::path(post, path = "/v1/schedules", tag = "schedules", request_body = ScheduleIn,
    security(("api_key" = [])),
    responses(
        (status = 201, description = "stored; the schedule with its next ticks", body = ScheduleOut, headers(("Location" = String, description = "the schedule's URL"))),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "the plan's schedules cap is reached", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "viewers may only read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "the template's lattice_id names no lattice of this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the tenant has a schedule of that name", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid field(s), each named (`cron`, `timezone`, `job.…`, `overlap`, `catch_up`, `name`)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_schedule(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiJson(body): ApiJson<ScheduleIn>,
) -> Result<impl IntoResponse, ApiError> {
    scope.require(Role::Member)?;
    let chars = body.name.chars().count();
    if !(1..=100).contains(&chars) || body.name.chars().any(char::is_control) {
        return Err(ApiError::field(
            "name",
            "must be 1 to 100 characters, no control characters",
        ));
    }
    let timezone = body.timezone.as_deref().unwrap_or("UTC");
    let when = when(&body.cron, timezone)?;
    let overlap = policy(
        body.overlap.as_deref(),
        "overlap",
        Overlap::Skip,
        "skip, queue, cancel_previous",
    )?;
    let catch_up = policy(
        body.catch_up.as_deref(),
        "catch_up",
        CatchUp::One,
        "none, one, all",
    )?;
    let (spec, lattice_id) = template(&state, &scope, &body.job).await?;
    let spec = serde_json::to_value(&spec).map_err(|e| ApiError::Internal(e.into()))?;
    let next_fire_at = when
        .next_after(Utc::now())
        .ok_or_else(|| ApiError::field("cron", "never fires"))?;
    let cap = scope.plan.limits().schedules;
    let mut tx = state.db.begin().await.map_err(DbError::from)?;
    crate::db::quotas::lock_tenant(&mut tx, scope.tenant_id).await?;
    if schedules::count(&mut tx, scope.tenant_id).await? >= i64::from(cap) {
        return Err(ApiError::PaymentRequired {
            message: format!(
                "the {} plan keeps at most {cap} schedules; delete one or upgrade",
                scope.plan
            ),
            limit: "schedules",
        });
    }
    let new = NewSchedule {
        id: uuid::Uuid::now_v7(),
        name: &body.name,
        cron: body.cron.trim(),
        timezone,
        template: &body.job,
        spec: &spec,
        lattice_id,
        overlap: overlap.as_str(),
        catch_up: catch_up.as_str(),
        next_fire_at,
    };
    let row = schedules::insert(&mut tx, scope.tenant_id, &new)
        .await?
        .ok_or_else(|| ApiError::Conflict(format!("a schedule named {:?} exists", body.name)))?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(schedule_id = %row.id, cron = %row.cron, "schedule created");
    let location = format!("/v1/schedules/{}", row.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(out(row)),
    ))
}

/// The tenant's schedules, oldest first (the plan caps how many).
#[utoipa::path(get, path = "/v1/schedules", tag = "schedules", security(("api_key" = [])),
    responses(
        (status = 200, description = "every schedule of the tenant", body = ScheduleList),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_schedules(
    State(state): State<AppState>,
    scope: TenantScope,
) -> Result<Json<ScheduleList>, ApiError> {
    let rows = schedules::list(&state.db, scope.tenant_id).await?;
    Ok(Json(ScheduleList {
        items: rows.into_iter().map(out).collect(),
    }))
}

/// One schedule, with its next ticks.
#[utoipa::path(get, path = "/v1/schedules/{id}", tag = "schedules",
    params(("id" = uuid::Uuid, Path)), security(("api_key" = [])),
    responses(
        (status = 200, description = "the schedule", body = ScheduleOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such schedule for this tenant", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_schedule(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
) -> Result<Json<ScheduleOut>, ApiError> {
    let row = schedules::get(&state.db, scope.tenant_id, schedule_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound("schedule"))?;
    Ok(Json(out(row)))
}

/// Delete a schedule and its history; the jobs it submitted stay.
#[utoipa::path(delete, path = "/v1/schedules/{id}", tag = "schedules",
    params(("id" = uuid::Uuid, Path)), security(("api_key" = [])),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "viewers may only read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such schedule for this tenant", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_schedule(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    scope.require(Role::Member)?;
    match schedules::delete(&state.db, scope.tenant_id, schedule_id(&id)?).await? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::NotFound("schedule")),
    }
}

/// Pause: no tick fires until it is resumed.
#[utoipa::path(post, path = "/v1/schedules/{id}/pause", tag = "schedules",
    params(("id" = uuid::Uuid, Path)), security(("api_key" = [])),
    responses(
        (status = 200, description = "the schedule, paused", body = ScheduleOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "viewers may only read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such schedule for this tenant", body = Problem, content_type = "application/problem+json"),
    ))]
async fn pause_schedule(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
) -> Result<Json<ScheduleOut>, ApiError> {
    scope.require(Role::Member)?;
    let row = schedules::set_paused(&state.db, scope.tenant_id, schedule_id(&id)?, true, None)
        .await?
        .ok_or(ApiError::NotFound("schedule"))?;
    Ok(Json(out(row)))
}

/// Resume: the next tick after now fires; ticks during the pause do not.
#[utoipa::path(post, path = "/v1/schedules/{id}/resume", tag = "schedules",
    params(("id" = uuid::Uuid, Path)), security(("api_key" = [])),
    responses(
        (status = 200, description = "the schedule, running, with its next ticks", body = ScheduleOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "viewers may only read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such schedule for this tenant", body = Problem, content_type = "application/problem+json"),
    ))]
async fn resume_schedule(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
) -> Result<Json<ScheduleOut>, ApiError> {
    scope.require(Role::Member)?;
    let id = schedule_id(&id)?;
    let row = schedules::get(&state.db, scope.tenant_id, id)
        .await?
        .ok_or(ApiError::NotFound("schedule"))?;
    let next = When::parse(&row.cron, &row.timezone)
        .ok()
        .and_then(|w| w.next_after(Utc::now()));
    let row = schedules::set_paused(&state.db, scope.tenant_id, id, false, next)
        .await?
        .ok_or(ApiError::NotFound("schedule"))?;
    Ok(Json(out(row)))
}

/// Submit the template now, as a submit (quotas apply), whatever the
/// ticks and the overlap policy; recorded in the history as manual.
#[utoipa::path(post, path = "/v1/schedules/{id}/trigger", tag = "schedules",
    params(("id" = uuid::Uuid, Path)), security(("api_key" = [])),
    responses(
        (status = 202, description = "the job, accepted and durable", body = JobAccepted, headers(("Location" = String, description = "the job's URL"))),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "the free plan's monthly jobs are used", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "viewers may only read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such schedule for this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "the plan's queued-jobs cap is reached", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "seconds"))),
    ))]
async fn trigger_schedule(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    scope.require(Role::Member)?;
    let row = schedules::get(&state.db, scope.tenant_id, schedule_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound("schedule"))?;
    let spec: JobSpec = serde_json::from_value(row.spec.clone())
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("schedule {}'s spec: {e}", row.id)))?;
    let lattice_id = row.lattice_id.map(LatticeId::from_uuid);
    let job_id = enqueue::submit_stored(&state.submits, &scope, &spec, lattice_id).await?;
    schedules::record_trigger(&state.db, row.id, job_id).await?;
    state.job_events.accepted([job_id], scope.tenant_id);
    tracing::info!(schedule_id = %row.id, %job_id, "schedule triggered");
    let body = JobAccepted::new(job_id, JobState::Queued);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, body.location.clone())],
        Json(body),
    ))
}

/// The schedule's history: each tick handled and each manual trigger.
#[utoipa::path(get, path = "/v1/schedules/{id}/runs", tag = "schedules",
    params(("id" = uuid::Uuid, Path), RunsQuery), security(("api_key" = [])),
    responses(
        (status = 200, description = "the latest runs, newest first", body = ScheduleRuns),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such schedule for this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` is not 1–100, or an unknown parameter", body = Problem, content_type = "application/problem+json"),
    ))]
async fn schedule_runs(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<RunsQuery>,
) -> Result<Json<ScheduleRuns>, ApiError> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1 to 100"));
    }
    let row = schedules::get(&state.db, scope.tenant_id, schedule_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound("schedule"))?;
    let items = schedules::runs(&state.db, row.id, limit)
        .await?
        .into_iter()
        .map(|r: RunRow| ScheduleRunOut {
            tick_at: r.tick_at,
            manual: r.manual,
            outcome: r.outcome,
            job_id: r.job_id,
            detail: r.detail,
            recorded_at: r.recorded_at,
        })
        .collect();
    Ok(Json(ScheduleRuns { items }))
}
