//! Webhook pages: the tenant's endpoints (add one, send it a test event),
//! recent messages, and one message's attempt log (status, latency, error),
//! refreshed live. Through `/v1/webhooks/*`, which needs the admin role.

use super::backend::{Backend, Refusal};
use super::layout::{Nav, page, path_uuid, refusal_box, tenant_error, when};
use super::session::{CarriesCsrf, CsrfForm, TenantForm, TenantSession};
use crate::state::AppState;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use catalytic_shared::db::webhooks::EVENT_TYPES;
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/dashboard/webhooks",
            get(list_webhooks).post(create_endpoint),
        )
        .route(
            "/dashboard/webhooks/endpoints/{id}/test",
            post(test_endpoint),
        )
        .route("/dashboard/webhooks/messages/{id}", get(show_message))
}

/// Attempts are re-read this often on a message's page (milliseconds).
const LIVE_MS: u32 = 1000;

// The shapes of `/v1/webhooks/*` answers this dashboard shows (the API's
// own types live with the webhook routes, which only serialise them).

#[derive(Deserialize)]
struct Endpoint {
    id: uuid::Uuid,
    url: String,
    description: String,
    event_types: Vec<String>,
    enabled: bool,
    disabled_reason: Option<String>,
}

#[derive(Deserialize)]
struct Created {
    secret: String,
    id: uuid::Uuid,
    url: String,
}

#[derive(Deserialize)]
struct Page<T> {
    items: Vec<T>,
}

#[derive(Deserialize)]
struct Message {
    id: uuid::Uuid,
    event_type: String,
    job_id: Option<uuid::Uuid>,
    created_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Attempt {
    endpoint_id: uuid::Uuid,
    attempt: i32,
    started_at: DateTime<Utc>,
    status_code: Option<i32>,
    latency_ms: i32,
    response_body: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Ping {
    message_id: uuid::Uuid,
}

/// The add-endpoint form: one checkbox per event type, each named after
/// its type, so the fields arrive as pairs.
#[derive(Deserialize)]
#[serde(from = "Vec<(String, String)>")]
pub struct EndpointForm {
    csrf: String,
    url: String,
    description: String,
    event_types: Vec<&'static str>,
}

impl CarriesCsrf for EndpointForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl From<Vec<(String, String)>> for EndpointForm {
    fn from(pairs: Vec<(String, String)>) -> Self {
        let value = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        EndpointForm {
            csrf: value("csrf"),
            url: value("url"),
            description: value("description"),
            event_types: EVENT_TYPES
                .iter()
                .copied()
                .filter(|t| pairs.iter().any(|(k, _)| k == t))
                .collect(),
        }
    }
}

async fn list_webhooks(
    session: TenantSession,
    Extension(backend): Extension<Backend>,
) -> Result<Response, Response> {
    webhooks_page(&session, &backend, None, None, StatusCode::OK).await
}

async fn webhooks_page(
    session: &TenantSession,
    backend: &Backend,
    created: Option<&Created>,
    refusal: Option<&Refusal>,
    status: StatusCode,
) -> Result<Response, Response> {
    if !session.may_manage_webhooks() {
        let body =
            html! { p.note { "Webhooks are managed by admins; your role is " (session.role) "." } };
        return Ok((
            StatusCode::FORBIDDEN,
            page(
                "Webhooks",
                Nav::Tenant {
                    csrf: &session.csrf,
                },
                body,
            ),
        )
            .into_response());
    }
    let endpoints: Page<Endpoint> = backend
        .get("/v1/webhooks/endpoints?limit=100", &session.token)
        .await
        .into_result()
        .map_err(tenant_error)?;
    let messages: Page<Message> = backend
        .get("/v1/webhooks/messages?limit=20", &session.token)
        .await
        .into_result()
        .map_err(tenant_error)?;
    let body = html! {
        @if let Some(created) = created {
            div.notice #created-endpoint data-endpoint=(created.id) {
                p { "Endpoint " code { (created.url) } " added. Its signing secret is shown this once:" }
                pre { (created.secret) }
            }
        }
        h2 { "Endpoints" }
        @if endpoints.items.is_empty() {
            p.empty { "No endpoints yet." }
        } @else {
            table #endpoints {
                thead { tr { th { "URL" } th { "Events" } th { "State" } th { "Description" } th {} } }
                tbody {
                    @for e in &endpoints.items {
                        tr data-endpoint=(e.id) {
                            td { code { (e.url) } }
                            td { @if e.event_types.is_empty() { "all" } @else { (e.event_types.join(", ")) } }
                            td {
                                @if e.enabled { "enabled" } @else { "disabled" }
                                @if let Some(reason) = &e.disabled_reason { " (" (reason) ")" }
                            }
                            td { (e.description) }
                            td {
                                form.inline method="post" action=(format!("/dashboard/webhooks/endpoints/{}/test", e.id)) {
                                    input type="hidden" name="csrf" value=(session.csrf);
                                    button type="submit" { "Send test event" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Add an endpoint" }
        @if let Some(refusal) = refusal { (refusal_box(refusal)) }
        form.card #endpoint-form method="post" action="/dashboard/webhooks" {
            input type="hidden" name="csrf" value=(session.csrf);
            label { "URL" input type="url" name="url" required placeholder="https://example.com/hooks/catalytic"; }
            label { "Description" input type="text" name="description"; }
            fieldset {
                legend { "Events (none ticked: all)" }
                @for t in EVENT_TYPES {
                    label.check { input type="checkbox" name=(t) value="on"; (t) }
                }
            }
            button type="submit" { "Add endpoint" }
        }
        h2 { "Recent messages" }
        (messages_table(&messages.items))
    };
    Ok((
        status,
        page(
            "Webhooks",
            Nav::Tenant {
                csrf: &session.csrf,
            },
            body,
        ),
    )
        .into_response())
}

fn messages_table(messages: &[Message]) -> Markup {
    html! {
        @if messages.is_empty() {
            p.empty { "No messages yet: they are written when jobs finish." }
        } @else {
            table #messages {
                thead { tr { th { "Message" } th { "Event" } th { "Job" } th { "Created" } } }
                tbody {
                    @for m in messages {
                        tr {
                            td { a href=(format!("/dashboard/webhooks/messages/{}", m.id)) { code { (m.id) } } }
                            td { (m.event_type) }
                            td {
                                @if let Some(job) = m.job_id {
                                    a href=(format!("/dashboard/jobs/{job}")) { code { (job) } }
                                }
                            }
                            td { (when(&m.created_at)) }
                        }
                    }
                }
            }
        }
    }
}

async fn create_endpoint(
    Extension(backend): Extension<Backend>,
    TenantForm { session, form }: TenantForm<EndpointForm>,
) -> Result<Response, Response> {
    let body = serde_json::json!({
        "url": form.url.trim(),
        "description": form.description,
        "event_types": form.event_types,
    });
    let answer = backend
        .post("/v1/webhooks/endpoints", Some(&session.token), Some(&body))
        .await;
    // The secret is shown on this answer only: no redirect.
    match answer.into_result::<Created>() {
        Ok(created) => {
            webhooks_page(
                &session,
                &backend,
                Some(&created),
                None,
                StatusCode::CREATED,
            )
            .await
        }
        Err(refusal) if refusal.status == StatusCode::UNAUTHORIZED => Err(tenant_error(refusal)),
        Err(refusal) => {
            webhooks_page(&session, &backend, None, Some(&refusal), refusal.status).await
        }
    }
}

async fn test_endpoint(
    Extension(backend): Extension<Backend>,
    Path(id): Path<String>,
    TenantForm { session, .. }: TenantForm<CsrfForm>,
) -> Result<Response, Response> {
    let id = path_uuid(&id, "webhook endpoint").map_err(tenant_error)?;
    let ping: Ping = backend
        .post(
            &format!("/v1/webhooks/endpoints/{id}/test"),
            Some(&session.token),
            None,
        )
        .await
        .into_result()
        .map_err(tenant_error)?;
    Ok(Redirect::to(&format!("/dashboard/webhooks/messages/{}", ping.message_id)).into_response())
}

async fn show_message(
    session: TenantSession,
    Extension(backend): Extension<Backend>,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    let id = path_uuid(&id, "webhook message").map_err(tenant_error)?;
    let attempts: Vec<Attempt> = backend
        .get(
            &format!("/v1/webhooks/messages/{id}/attempts"),
            &session.token,
        )
        .await
        .into_result()
        .map_err(tenant_error)?;
    let body = html! {
        p { "Message " code { (id) } ". Every delivery attempt, oldest first; failed ones are retried on the schedule in the API guide." }
        section #attempts data-live=(LIVE_MS) {
            @if attempts.is_empty() {
                p.empty { "No attempt yet." }
            } @else {
                table {
                    thead { tr { th { "Endpoint" } th { "Attempt" } th { "Started" } th { "Outcome" } th { "Latency" } th { "Error / response" } } }
                    tbody {
                        @for a in &attempts {
                            @let ok = a.status_code.is_some_and(|s| (200..300).contains(&s));
                            tr.attempt data-outcome=(if ok { "delivered" } else { "failed" }) {
                                td { code { (a.endpoint_id) } }
                                td { (a.attempt) }
                                td { (when(&a.started_at)) }
                                td {
                                    @match a.status_code {
                                        Some(code) => span class=(if ok { "badge succeeded" } else { "badge failed" }) { "HTTP " (code) },
                                        None => span.badge.failed { "no response" },
                                    }
                                }
                                td { (a.latency_ms) " ms" }
                                td.wrap { (a.error.as_deref().or(a.response_body.as_deref()).unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
        }
        p { a href="/dashboard/webhooks" { "← Webhooks" } }
    };
    Ok(page(
        "Webhook message",
        Nav::Tenant {
            csrf: &session.csrf,
        },
        body,
    )
    .into_response())
}
