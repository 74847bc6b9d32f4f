//! The concurrency keys page (issue 21): the tenant's stored limits with
//! each key's waiting and active jobs, a form to store or change a limit
//! and a button to delete one (members; the API checks the role). Through
//! `/v1/concurrency-keys`; a refused form shows the API's field errors
//! above it.

use super::backend::{Backend, Refusal, with_query};
use super::layout::{Nav, page, refusal_box, tenant_error, when};
use super::session::{CarriesCsrf, TenantForm, TenantSession};
use crate::routes::concurrency_keys::ConcurrencyKeyPage;
use crate::state::AppState;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::html;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use serde_json::json;

const PAGE: &str = "/dashboard/concurrency-keys";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(list_keys).post(set_key))
        .route("/dashboard/concurrency-keys/delete", post(delete_key))
}

#[derive(Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
}

/// The set form (`max` as typed: the API names it when it is no number
/// in range) and the delete form (`key` alone).
#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    max: Option<String>,
}

impl CarriesCsrf for KeyForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The API path of one key: percent-encoded, so a slash, a `?` or a dot
/// segment stays within the key.
fn api_path(key: &str) -> String {
    format!(
        "/v1/concurrency-keys/{}",
        utf8_percent_encode(key, NON_ALPHANUMERIC)
    )
}

async fn list_keys(
    session: TenantSession,
    Extension(backend): Extension<Backend>,
    Query(query): Query<ListQuery>,
) -> Result<Response, Response> {
    keys_page(
        &session,
        &backend,
        query.cursor.as_deref(),
        None,
        StatusCode::OK,
    )
    .await
}

async fn keys_page(
    session: &TenantSession,
    backend: &Backend,
    cursor: Option<&str>,
    refusal: Option<&Refusal>,
    status: StatusCode,
) -> Result<Response, Response> {
    let mut pairs = vec![("limit", "100")];
    if let Some(cursor) = cursor {
        pairs.push(("cursor", cursor));
    }
    let keys: ConcurrencyKeyPage = backend
        .get(&with_query("/v1/concurrency-keys", &pairs), &session.token)
        .await
        .into_result()
        .map_err(tenant_error)?;
    let body = html! {
        p.note { "A stored limit is the most jobs of its key queued or running at once, whatever max_concurrency each submit named; a change applies at once to the key's waiting jobs. A lowered limit cancels nothing: new releases wait until fewer are busy." }
        @if keys.items.is_empty() {
            p.empty { "No stored limits: each keyed job's own max_concurrency (default 1) applies." }
        } @else {
            table #concurrency-keys {
                thead { tr { th { "Key" } th { "Limit" } th { "Waiting" } th { "Queued or running" } th { "Changed" } th {} } }
                tbody {
                    @for k in &keys.items {
                        tr data-key=(k.key) {
                            td { code { (k.key) } }
                            td { (k.max_concurrency) }
                            td { (k.waiting_jobs) }
                            td { (k.active_jobs) }
                            td { (when(&k.updated_at)) }
                            td {
                                @if session.may_write() {
                                    form.inline method="post" action="/dashboard/concurrency-keys/delete" {
                                        input type="hidden" name="csrf" value=(session.csrf);
                                        input type="hidden" name="key" value=(k.key);
                                        button type="submit" { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(next) = &keys.next_cursor {
            p { a href=(with_query(PAGE, &[("cursor", next)])) { "More keys →" } }
        }
        @if session.may_write() {
            h2 { "Set a limit" }
            @if let Some(refusal) = refusal { (refusal_box(refusal)) }
            form.card #concurrency-key-form method="post" action=(PAGE) {
                input type="hidden" name="csrf" value=(session.csrf);
                label { "Key (as jobs name it in concurrency_key)" input type="text" name="key" required maxlength="255"; }
                label { "Limit (1–1000)" input type="number" name="max" required min="1" max="1000" value="1"; }
                button type="submit" { "Store" }
            }
        }
    };
    Ok((
        status,
        page(
            "Concurrency keys",
            Nav::Tenant {
                csrf: &session.csrf,
            },
            body,
        ),
    )
        .into_response())
}

/// Store or change a limit; a refusal is shown above the form.
async fn set_key(
    Extension(backend): Extension<Backend>,
    TenantForm { session, form }: TenantForm<KeyForm>,
) -> Result<Response, Response> {
    let raw = form.max.unwrap_or_default();
    // A number goes as one; anything else as typed, for the API to name.
    let max = raw
        .trim()
        .parse::<i64>()
        .map_or_else(|_| json!(raw), |n| json!(n));
    let answer = backend
        .put(
            &api_path(&form.key),
            &session.token,
            &json!({"max_concurrency": max}),
        )
        .await;
    match answer.into_empty() {
        Ok(()) => Ok(Redirect::to(PAGE).into_response()),
        Err(refusal) if refusal.status == StatusCode::UNAUTHORIZED => Err(tenant_error(refusal)),
        Err(refusal) => keys_page(&session, &backend, None, Some(&refusal), refusal.status).await,
    }
}

async fn delete_key(
    Extension(backend): Extension<Backend>,
    TenantForm { session, form }: TenantForm<KeyForm>,
) -> Result<Response, Response> {
    backend
        .delete(&api_path(&form.key), &session.token)
        .await
        .into_empty()
        .map_err(tenant_error)?;
    Ok(Redirect::to(PAGE).into_response())
}
