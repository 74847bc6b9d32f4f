//! Schedule pages (issue 21): the tenant's cron schedules with their next
//! tick, pause / resume / trigger buttons for members, and one schedule's
//! history of runs. Through `/v1/schedules`; schedules are created with the
//! API or the CLI.

use super::backend::Backend;
use super::layout::{Nav, page, path_uuid, tenant_error, when, when_opt};
use super::session::{CsrfForm, TenantForm, TenantSession};
use crate::responses::JobAccepted;
use crate::routes::schedules::{ScheduleList, ScheduleOut, ScheduleRuns};
use crate::state::AppState;
use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::{Markup, html};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/schedules", get(list_schedules))
        .route("/dashboard/schedules/{id}", get(show_schedule))
        .route("/dashboard/schedules/{id}/{action}", post(act))
}

async fn list_schedules(
    session: TenantSession,
    Extension(backend): Extension<Backend>,
) -> Result<Response, Response> {
    let list: ScheduleList = backend
        .get("/v1/schedules", &session.token)
        .await
        .into_result()
        .map_err(tenant_error)?;
    let body = html! {
        h2 { "Schedules" }
        @if list.items.is_empty() {
            p.empty { "No schedules yet: create one with POST /v1/schedules or `catalytic schedules create`." }
        } @else {
            table #schedules {
                thead { tr { th { "Name" } th { "Cron" } th { "Zone" } th { "Next tick" } th { "Last job" } th { "" } } }
                tbody { @for s in &list.items { (row(s, &session)) } }
            }
        }
    };
    Ok(page(
        "Schedules",
        Nav::Tenant {
            csrf: &session.csrf,
        },
        body,
    )
    .into_response())
}

fn row(s: &ScheduleOut, session: &TenantSession) -> Markup {
    html! {
        tr data-id=(s.id) {
            td { a href=(format!("/dashboard/schedules/{}", s.id)) { (s.name) } }
            td { code { (s.cron) } }
            td { (s.timezone) }
            td {
                @if s.paused { span.badge.paused { "paused" } }
                @else { (when_opt(&s.next_fire_times.first().copied())) }
            }
            td {
                @if let Some(job) = s.last_job_id {
                    a href=(format!("/dashboard/jobs/{job}")) { (job) }
                }
            }
            td {
                @if session.may_write() {
                    @let action = if s.paused { "resume" } else { "pause" };
                    (button(s, action, &session.csrf))
                    (button(s, "trigger", &session.csrf))
                }
            }
        }
    }
}

fn button(s: &ScheduleOut, action: &str, csrf: &str) -> Markup {
    html! {
        form.inline method="post" action=(format!("/dashboard/schedules/{}/{action}", s.id)) {
            input type="hidden" name="csrf" value=(csrf);
            button type="submit" { (action) }
        }
    }
}

async fn show_schedule(
    session: TenantSession,
    Extension(backend): Extension<Backend>,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    let id = path_uuid(&id, "schedule").map_err(tenant_error)?;
    let s: ScheduleOut = backend
        .get(&format!("/v1/schedules/{id}"), &session.token)
        .await
        .into_result()
        .map_err(tenant_error)?;
    let runs: ScheduleRuns = backend
        .get(&format!("/v1/schedules/{id}/runs?limit=50"), &session.token)
        .await
        .into_result()
        .map_err(tenant_error)?;
    let body = html! {
        h2 { "Schedule " (s.name) }
        p { code { (s.cron) } " in " (s.timezone) "; overlap " (s.overlap) ", catch-up " (s.catch_up) }
        @if !s.paused {
            p { "Next ticks: " @for t in &s.next_fire_times { span.tick { (when(t)) } " " } }
        }
        h3 { "Runs" }
        @if runs.items.is_empty() {
            p.empty { "No tick handled yet." }
        } @else {
            table #runs {
                thead { tr { th { "Tick" } th { "Outcome" } th { "Job" } th { "Detail" } } }
                tbody {
                    @for r in &runs.items {
                        tr {
                            td { (when(&r.tick_at)) @if r.manual { " (manual)" } }
                            td { span class=(format!("badge {}", r.outcome)) { (r.outcome) } }
                            td { @if let Some(job) = r.job_id { a href=(format!("/dashboard/jobs/{job}")) { (job) } } }
                            td { (r.detail.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        "Schedule",
        Nav::Tenant {
            csrf: &session.csrf,
        },
        body,
    )
    .into_response())
}

/// Pause, resume or trigger (members; the API checks the role); a trigger
/// goes to its job's page.
async fn act(
    Extension(backend): Extension<Backend>,
    Path((id, action)): Path<(String, String)>,
    TenantForm { session, .. }: TenantForm<CsrfForm>,
) -> Result<Response, Response> {
    let id = path_uuid(&id, "schedule").map_err(tenant_error)?;
    let path = match action.as_str() {
        "pause" | "resume" | "trigger" => format!("/v1/schedules/{id}/{action}"),
        _ => return Err(tenant_error(super::backend::Refusal::not_found("action"))),
    };
    let answer = backend.post(&path, Some(&session.token), None).await;
    if action == "trigger" {
        let job: JobAccepted = answer.into_result().map_err(tenant_error)?;
        return Ok(Redirect::to(&format!("/dashboard/jobs/{}", job.id)).into_response());
    }
    answer
        .into_result::<serde_json::Value>()
        .map_err(tenant_error)?;
    Ok(Redirect::to("/dashboard/schedules").into_response())
}
