//! Job pages: the list (filtered by status, refreshed live while a job is
//! unfinished), one job with its result (a 2-D path drawn by `path_svg`),
//! the submit form, cancel and delete. Reads and writes go through `/v1/jobs`.

use super::backend::{Backend, Refusal, with_query};
use super::heatmap;
use super::layout::{Nav, page, path_uuid, refusal_box, tenant_error, when, when_opt};
use super::path_svg::{self, NoPicture};
use super::session::{CarriesCsrf, CsrfForm, TenantForm, TenantSession};
use crate::responses::{JobAccepted, JobOut, JobPage};
use crate::state::AppState;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/jobs", get(list_jobs).post(submit_job))
        .route("/dashboard/jobs/new", get(new_job))
        .route("/dashboard/jobs/{id}", get(show_job))
        .route("/dashboard/jobs/{id}/cancel", post(cancel_job))
        .route("/dashboard/jobs/{id}/delete", post(delete_job))
        .route("/dashboard/jobs/{id}/result/{part}", get(download_part))
        .route(
            "/dashboard/jobs/{id}/result/{part}/heatmap.svg",
            get(heat_map),
        )
        .route("/dashboard/jobs/cancel", post(cancel_matching))
}

const STATUSES: [&str; 7] = [
    "scheduled",
    "waiting",
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
];
/// Live regions refresh this often (milliseconds).
const LIVE_MS: u32 = 1000;
/// Results longer than this are cut in the raw view.
const MAX_RAW_CHARS: usize = 20_000;

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    cursor: Option<String>,
}

fn is_terminal(status: &str) -> bool {
    matches!(status, "succeeded" | "failed" | "cancelled")
}

async fn list_jobs(
    session: TenantSession,
    Extension(backend): Extension<Backend>,
    Query(query): Query<ListQuery>,
) -> Result<Response, Response> {
    let status = query.status.filter(|s| !s.is_empty());
    let mut pairs = vec![("limit", "50")];
    if let Some(status) = &status {
        pairs.push(("status", status));
    }
    if let Some(cursor) = &query.cursor {
        pairs.push(("cursor", cursor));
    }
    let path = with_query("/v1/jobs", &pairs);
    let jobs: JobPage = backend
        .get(&path, &session.token)
        .await
        .into_result()
        .map_err(tenant_error)?;
    let live = jobs.items.iter().any(|j| !is_terminal(&j.status));
    let body = html! {
        form.filters method="get" action="/dashboard/jobs" {
            label { "Status "
                select name="status" {
                    option value="" selected[status.is_none()] { "any" }
                    @for s in STATUSES {
                        option value=(s) selected[status.as_deref() == Some(s)] { (s) }
                    }
                }
            }
            button type="submit" { "Filter" }
            @if session.may_write() { a.button href="/dashboard/jobs/new" { "Submit a job" } }
        }
        @if session.may_write() && status.as_deref().is_none_or(|s| !is_terminal(s)) {
            // Bulk action: every unfinished job this filter shows, through
            // `POST /v1/jobs/cancel` (batches of 500, up to 10,000 a click).
            form.inline #cancel-matching method="post" action="/dashboard/jobs/cancel" {
                input type="hidden" name="csrf" value=(session.csrf);
                input type="hidden" name="status" value=(status.as_deref().unwrap_or(""));
                button type="submit" { "Cancel every " (status.as_deref().unwrap_or("unfinished")) " job" }
            }
        }
        section #jobs data-live=[live.then_some(LIVE_MS)] {
            @if jobs.items.is_empty() {
                p.empty { "No jobs" @if let Some(s) = &status { " " (s) } "." }
            } @else {
                table {
                    thead { tr { th { "Job" } th { "Operation" } th { "Status" } th { "Attempt" } th { "Created" } th { "Finished" } } }
                    tbody {
                        @for job in &jobs.items {
                            tr data-job=(job.id) {
                                td { a href=(format!("/dashboard/jobs/{}", job.id)) { code { (job.id) } } }
                                td { (job.operation) }
                                td { (badge(&job.status)) }
                                td { (job.attempt) "/" (job.max_attempts) }
                                td { (when(&job.created_at)) }
                                td { (when_opt(&job.finished_at)) }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(cursor) = jobs.next_cursor {
            p { a href=(older_link(status.as_deref(), cursor)) { "Older jobs →" } }
        }
    };
    Ok(page(
        "Jobs",
        Nav::Tenant {
            csrf: &session.csrf,
        },
        body,
    )
    .into_response())
}

fn older_link(status: Option<&str>, cursor: uuid::Uuid) -> String {
    let cursor = cursor.to_string();
    let mut pairs = vec![("cursor", cursor.as_str())];
    if let Some(status) = status {
        pairs.push(("status", status));
    }
    with_query("/dashboard/jobs", &pairs)
}

pub fn badge(status: &str) -> Markup {
    html! { span class=(format!("badge {status}")) data-status=(status) { (status) } }
}

async fn show_job(
    session: TenantSession,
    Extension(backend): Extension<Backend>,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    let id = path_uuid(&id, "job").map_err(tenant_error)?;
    let job: JobOut = backend
        .get(&format!("/v1/jobs/{id}"), &session.token)
        .await
        .into_result()
        .map_err(tenant_error)?;
    let live = !is_terminal(&job.status);
    let body = html! {
        section #job data-live=[live.then_some(LIVE_MS)] {
            dl.facts {
                dt { "Id" } dd { code { (job.id) } }
                dt { "Status" } dd { (badge(&job.status)) }
                dt { "Operation" } dd { (job.operation) }
                dt { "Attempt" } dd { (job.attempt) " of " (job.max_attempts) }
                dt { "Created" } dd { (when(&job.created_at)) }
                dt { "Started" } dd { (when_opt(&job.started_at)) }
                dt { "Finished" } dd { (when_opt(&job.finished_at)) }
                // A running job's reported work (issue 22); the page
                // refreshes itself while the job is live.
                @if let Some(p) = &job.progress {
                    dt { "Progress" }
                    dd #progress {
                        progress value=(p.done.min(p.total)) max=(p.total) {}
                        " " (percent(p.done, p.total)) "% of about " (p.total) " " (p.unit)
                    }
                }
            }
            @if live && session.may_write() {
                form.inline method="post" action=(format!("/dashboard/jobs/{}/cancel", job.id)) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    button.danger type="submit" { "Cancel job" }
                }
            }
            // A finished job may be erased, result and all (issue 22).
            @if !live && session.may_write() {
                form.inline method="post" action=(format!("/dashboard/jobs/{}/delete", job.id)) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    button.danger type="submit" { "Delete job" }
                }
            }
            @if let Some(result) = &job.result { (result_view(&job, result)) }
            @if let Some(error) = &job.error {
                h2 { "Error" }
                pre.raw { (pretty(error)) }
            }
            details {
                summary { "Request" }
                pre.raw { (pretty(&job.request)) }
            }
        }
    };
    Ok(page(
        "Job",
        Nav::Tenant {
            csrf: &session.csrf,
        },
        body,
    )
    .into_response())
}

fn result_view(job: &JobOut, result: &Value) -> Markup {
    let picture = match job.operation.as_str() {
        "shortest_path" => Some(path_svg::draw(&job.request, result)),
        _ => None,
    };
    html! {
        h2 { "Result" }
        @if job.operation == "shortest_path" {
            dl.facts {
                dt { "Reachable" } dd { (result.get("reachable").map(Value::to_string).unwrap_or_default()) }
                dt { "Length" } dd #path-length { (result.get("length").map(Value::to_string).unwrap_or_default()) }
                dt { "Vertices visited" } dd { (result.get("vertices_visited").map(Value::to_string).unwrap_or_default()) }
                dt { "Engine" } dd { (result.get("engine").and_then(Value::as_str).unwrap_or_default()) }
            }
        }
        @match picture {
            Some(Ok(ref svg)) => figure.path-picture {
                (svg)
                figcaption { "Axis 0 to the right, axis 1 down. Dark cells are blocked; the path runs from the green start to the red end." }
            },
            Some(Err(NoPicture::TooLarge { cells })) => p.note { "The grid has " (cells) " cells: too many to draw (at most " (path_svg::MAX_CELLS) ")." },
            _ => {},
        }
        // Full answers stored apart (issue 22): downloaded through the
        // dashboard, which passes the session's token on.
        @if let Some(parts) = result.get("parts").and_then(Value::as_array) {
            h3 { "Downloads" }
            ul #parts {
                @for part in parts {
                    @let name = part.get("name").and_then(Value::as_str).unwrap_or_default();
                    li {
                        a href=(format!("/dashboard/jobs/{}/result/{name}", job.id)) download { (name) ".npy" }
                        " (" (part.get("dtype").and_then(Value::as_str).unwrap_or_default()) ", shape "
                        (part.get("shape").map(Value::to_string).unwrap_or_default()) ", "
                        (part.get("bytes").and_then(Value::as_u64).unwrap_or_default()) " bytes; numpy.load opens it)"
                        @if drawable(part) {
                            figure.heatmap {
                                img src=(format!("/dashboard/jobs/{}/result/{name}/heatmap.svg", job.id))
                                    alt=(format!("heat map of {name}")) {}
                                figcaption { "Axis 0 to the right, axis 1 down: dark blue near the source, yellow far, grey unreachable." }
                            }
                        }
                    }
                }
            }
        }
        details open[picture.is_none()] {
            summary { "Result JSON" }
            pre.raw { (pretty(result)) }
        }
    }
}

fn pretty(value: &Value) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    match text.char_indices().nth(MAX_RAW_CHARS) {
        Some((cut, _)) => format!(
            "{}\n… (cut; the full result is at GET /v1/jobs/{{id}})",
            &text[..cut]
        ),
        None => text,
    }
}

/// The submit form: a 2-D shortest path by fields, or any request as JSON.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SubmitForm {
    csrf: String,
    width: String,
    height: String,
    start_x: String,
    start_y: String,
    end_x: String,
    end_y: String,
    blocked_fraction: String,
    seed: String,
    /// When not blank, sent as the request instead of the fields.
    request: String,
}

async fn new_job(session: TenantSession) -> Response {
    let form = SubmitForm {
        width: "20".into(),
        height: "12".into(),
        start_x: "0".into(),
        start_y: "0".into(),
        end_x: "19".into(),
        end_y: "11".into(),
        blocked_fraction: "0.25".into(),
        seed: "7".into(),
        ..SubmitForm::default()
    };
    submit_page(&session, &form, None).into_response()
}

fn submit_page(
    session: &TenantSession,
    form: &SubmitForm,
    refusal: Option<&Refusal>,
) -> impl IntoResponse {
    let field = |label: &str, name: &str, value: &str| {
        html! { label { (label) input type="text" inputmode="numeric" name=(name) value=(value); } }
    };
    let body = html! {
        @if !session.may_write() {
            p.note { "Your role (" (session.role) ") may read jobs but not submit them." }
        }
        @if let Some(refusal) = refusal { (refusal_box(refusal)) }
        form.card #submit-form method="post" action="/dashboard/jobs" {
            input type="hidden" name="csrf" value=(session.csrf);
            fieldset {
                legend { "2-D shortest path" }
                div.row { (field("Width (axis 0)", "width", &form.width)) (field("Height (axis 1)", "height", &form.height)) }
                div.row { (field("Start x", "start_x", &form.start_x)) (field("Start y", "start_y", &form.start_y)) }
                div.row { (field("End x", "end_x", &form.end_x)) (field("End y", "end_y", &form.end_y)) }
                div.row { (field("Blocked fraction (0–1, blank: none)", "blocked_fraction", &form.blocked_fraction)) (field("Seed", "seed", &form.seed)) }
            }
            fieldset {
                legend { "Or any request as JSON (overrides the fields; see the API docs)" }
                textarea name="request" rows="6" placeholder=r#"{"lattice": {"dimensions": 3, "size": 50}, "operation": "analyze"}"# { (form.request) }
            }
            button type="submit" disabled[!session.may_write()] { "Submit" }
        }
    };
    page(
        "Submit a job",
        Nav::Tenant {
            csrf: &session.csrf,
        },
        body,
    )
}

impl CarriesCsrf for SubmitForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// A number when the text is one; else the text, so the API names the
/// field in its refusal ("lattice.size[0]: invalid type: string").
fn number_or_text(text: &str) -> Value {
    let text = text.trim();
    text.parse::<u64>()
        .map(Value::from)
        .or_else(|_| text.parse::<f64>().map(Value::from))
        .unwrap_or_else(|_| Value::from(text))
}

/// The API request the form describes, or why the JSON is unreadable.
fn request_of(form: &SubmitForm) -> Result<Value, Refusal> {
    if !form.request.trim().is_empty() {
        if let Some(duplicate) = crate::json::duplicate_key(form.request.as_bytes()) {
            return Err(Refusal {
                status: axum::http::StatusCode::BAD_REQUEST,
                detail: format!("the request is not valid JSON: {duplicate}"),
                fields: Vec::new(),
            });
        }
        return serde_json::from_str(&form.request).map_err(|e| Refusal {
            status: axum::http::StatusCode::BAD_REQUEST,
            detail: format!("the request is not valid JSON: {e}"),
            fields: Vec::new(),
        });
    }
    let n = number_or_text;
    let mut lattice = json!({"dimensions": 2, "size": [n(&form.width), n(&form.height)]});
    if !form.blocked_fraction.trim().is_empty() {
        let seed = match form.seed.trim() {
            "" => Value::from(0),
            s => n(s),
        };
        lattice["blocked"] = json!({"fraction": n(&form.blocked_fraction), "seed": seed});
    }
    Ok(json!({
        "lattice": lattice,
        "operation": "shortest_path",
        "params": {"start": [n(&form.start_x), n(&form.start_y)], "end": [n(&form.end_x), n(&form.end_y)]},
    }))
}

async fn submit_job(
    Extension(backend): Extension<Backend>,
    TenantForm { session, form }: TenantForm<SubmitForm>,
) -> Result<Response, Response> {
    let submitted = match request_of(&form) {
        Ok(request) => backend
            .post("/v1/jobs", Some(&session.token), Some(&request))
            .await
            .into_result::<JobAccepted>(),
        Err(refusal) => Err(refusal),
    };
    match submitted {
        Ok(accepted) => {
            Ok(Redirect::to(&format!("/dashboard/jobs/{}", accepted.id)).into_response())
        }
        Err(refusal) if refusal.status == axum::http::StatusCode::UNAUTHORIZED => {
            Err(tenant_error(refusal))
        }
        Err(refusal) => {
            Err((refusal.status, submit_page(&session, &form, Some(&refusal))).into_response())
        }
    }
}

/// The bulk cancel form: the list's status filter (empty: every
/// unfinished job).
#[derive(Deserialize)]
pub struct CancelMatchingForm {
    csrf: String,
    #[serde(default)]
    status: String,
}

impl CarriesCsrf for CancelMatchingForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Cancels every unfinished job the list's filter shows (the API refuses a
/// finished state), then shows the list again.
async fn cancel_matching(
    Extension(backend): Extension<Backend>,
    TenantForm { session, form }: TenantForm<CancelMatchingForm>,
) -> Result<Response, Response> {
    let body = match form.status.as_str() {
        "" => serde_json::json!({}),
        status => serde_json::json!({ "status": [status] }),
    };
    backend
        .post("/v1/jobs/cancel", Some(&session.token), Some(&body))
        .await
        .into_result::<crate::responses::CancelledOut>()
        .map_err(tenant_error)?;
    let back = match form.status.as_str() {
        "" => "/dashboard/jobs".to_owned(),
        status => with_query("/dashboard/jobs", &[("status", status)]),
    };
    Ok(Redirect::to(&back).into_response())
}

async fn cancel_job(
    Extension(backend): Extension<Backend>,
    Path(id): Path<String>,
    TenantForm { session, .. }: TenantForm<CsrfForm>,
) -> Result<Response, Response> {
    let id = path_uuid(&id, "job").map_err(tenant_error)?;
    backend
        .post(&format!("/v1/jobs/{id}/cancel"), Some(&session.token), None)
        .await
        .into_result::<JobOut>()
        .map_err(tenant_error)?;
    Ok(Redirect::to(&format!("/dashboard/jobs/{id}")).into_response())
}

/// Deletes a finished job (`DELETE /v1/jobs/{id}`), then shows the list.
async fn delete_job(
    Extension(backend): Extension<Backend>,
    Path(id): Path<String>,
    TenantForm { session, .. }: TenantForm<CsrfForm>,
) -> Result<Response, Response> {
    let id = path_uuid(&id, "job").map_err(tenant_error)?;
    backend
        .delete(&format!("/v1/jobs/{id}"), &session.token)
        .await
        .into_empty()
        .map_err(tenant_error)?;
    Ok(Redirect::to("/dashboard/jobs").into_response())
}

/// `done` of `total` in whole percent (0 for no total).
fn percent(done: u64, total: u64) -> u64 {
    match total {
        0 => 0,
        _ => done.min(total) * 100 / total,
    }
}

/// A stored result part, streamed from `GET /v1/jobs/{id}/result/{part}`
/// with the session's token: the API's answer as it is (headers, ranges,
/// refusals).
async fn download_part(
    session: TenantSession,
    Extension(backend): Extension<Backend>,
    Path((id, part)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> Result<Response, Response> {
    let id = path_uuid(&id, "job").map_err(tenant_error)?;
    let forwarded = [axum::http::header::RANGE, axum::http::header::IF_NONE_MATCH];
    let pass: Vec<_> = forwarded
        .iter()
        .filter_map(|name| headers.get(name).map(|v| (name.clone(), v.clone())))
        .collect();
    Ok(backend
        .stream(
            &format!("/v1/jobs/{id}/result/{part}"),
            &session.token,
            pass,
        )
        .await)
}

/// The largest field drawn as a heat map (the page reads it whole).
const MAX_HEATMAP_BYTES: u64 = 16 << 20;

/// Whether a listed part is a 2-D distance field small enough to draw.
fn drawable(part: &Value) -> bool {
    part.get("dtype").and_then(Value::as_str) == Some("<i4")
        && part
            .get("shape")
            .and_then(Value::as_array)
            .is_some_and(|s| s.len() == 2)
        && part
            .get("bytes")
            .and_then(Value::as_u64)
            .is_some_and(|b| b <= MAX_HEATMAP_BYTES)
}

/// A 2-D field part drawn as an SVG heat map (`heatmap.rs`), from the
/// API's download of it.
async fn heat_map(
    session: TenantSession,
    Extension(backend): Extension<Backend>,
    Path((id, part)): Path<(String, String)>,
) -> Result<Response, Response> {
    let id = path_uuid(&id, "job").map_err(tenant_error)?;
    let answer = backend
        .stream(
            &format!("/v1/jobs/{id}/result/{part}"),
            &session.token,
            Vec::new(),
        )
        .await;
    if !answer.status().is_success() {
        return Ok(answer);
    }
    let too_large = || {
        (
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "this part is too large to draw here; download it",
        )
            .into_response()
    };
    let bytes = axum::body::to_bytes(answer.into_body(), MAX_HEATMAP_BYTES as usize)
        .await
        .map_err(|_| too_large())?;
    match heatmap::draw(&bytes) {
        Ok(svg) => Ok((
            [
                (axum::http::header::CONTENT_TYPE, "image/svg+xml"),
                (axum::http::header::CACHE_CONTROL, "private, max-age=3600"),
            ],
            svg,
        )
            .into_response()),
        Err(_) => Ok((
            axum::http::StatusCode::NOT_FOUND,
            "not a 2-D distance field",
        )
            .into_response()),
    }
}
