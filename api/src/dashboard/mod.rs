//! The web dashboard: server-rendered HTML pages under `/dashboard` for
//! tenants (jobs, a job's result with its path drawn, submit, webhooks,
//! usage and invoices) and for operators (queues and workers).
//!
//! The dashboard is a browser-facing client of the JSON API, in process:
//! every page calls the API's own handlers through [`Backend`] with the
//! session's credential, so authentication, roles, tenant scoping,
//! validation and rate limits are exactly the API's, and no query is
//! written twice. What the dashboard adds is sessions in cookies, CSRF
//! tokens on forms, and HTML (maud).
//!
//! - [`session`]: the cookies, the extractors that read them, CSRF.
//! - [`backend`]: calls into the API router, answers as typed JSON.
//! - [`layout`]: the page frame and error pages.
//! - [`login`], [`jobs`], [`webhooks`], [`schedules`],
//!   [`concurrency_keys`], [`billing`], [`account`], [`audit_log`]: tenant
//!   pages; [`signup`] and [`recovery`]:
//!   pages for people without a session (register, join by invitation,
//!   verify an email, reset a password); [`fleet`]: operator pages;
//!   [`path_svg`]: the grid picture; [`assets`]: the stylesheet and the
//!   live-refresh script.
//!
//! These are pages, not API: they are routed here, outside the OpenAPI
//! router, and listed in docs/dashboard.md.

mod account;
mod assets;
mod audit_log;
mod backend;
mod billing;
mod concurrency_keys;
mod fleet;
pub mod heatmap;
mod jobs;
mod layout;
mod login;
pub mod path_svg;
mod recovery;
mod schedules;
mod session;
mod signup;
mod webhooks;

pub use backend::Backend;

use crate::state::AppState;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use axum::response::{Redirect, Response};
use axum::routing::get;

/// Pages may load only this origin's script and styles; forms post only
/// here; nothing may frame them.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

pub fn router(backend: Backend) -> Router<AppState> {
    Router::new()
        .route(
            "/dashboard",
            get(|| async { Redirect::to("/dashboard/jobs") }),
        )
        .merge(login::router())
        .merge(jobs::router())
        .merge(webhooks::router())
        .merge(schedules::router())
        .merge(concurrency_keys::router())
        .merge(billing::router())
        .merge(account::router())
        .merge(audit_log::router())
        .merge(signup::router())
        .merge(recovery::router())
        .merge(fleet::router())
        .merge(assets::router())
        .layer(middleware::from_fn(refuse_control_characters))
        // Inside the backend's layer: it finds the backend to bind.
        .layer(middleware::from_fn(bind_client))
        .layer(axum::Extension(backend))
        .layer(middleware::from_fn(page_headers))
}

/// The page's API calls carry the page request's client address, as the
/// per-IP limiter resolved it, so the audit log says where a dashboard
/// user acted from (`backend`).
async fn bind_client(mut req: Request, next: Next) -> Response {
    let client = req
        .extensions()
        .get::<crate::limits::client_ip::ClientIp>()
        .copied()
        .unwrap_or_default();
    if let Some(backend) = req.extensions_mut().remove::<Backend>() {
        req.extensions_mut().insert(backend.for_client(client));
    }
    next.run(req).await
}

/// Form fields end up stored (names, emails, descriptions) just as JSON
/// strings do, so the same control characters are refused
/// (`crate::json::forbidden`, issue 18): a 422 page naming the field,
/// before any handler sees the form.
async fn refuse_control_characters(req: Request, next: Next) -> Response {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return next.run(req).await;
    }
    let limit = req
        .extensions()
        .get::<crate::json::BodyLimit>()
        .map_or(usize::MAX, |l| l.0);
    let operator = req.uri().path().starts_with("/dashboard/ops");
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return crate::error::ApiError::PayloadTooLarge { limit }.into_response();
        }
    };
    let bad = url::form_urlencoded::parse(&bytes)
        .find(|(k, v)| k.chars().chain(v.chars()).any(crate::json::forbidden))
        .map(|(k, _)| k.escape_debug().to_string());
    match bad {
        None => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Some(field) => {
            let refusal = backend::Refusal {
                status: axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                detail: "a field holds a control character".to_owned(),
                fields: vec![format!(
                    "{field}: must not contain control characters (U+0000 to U+001F other than tab and line breaks)"
                )],
            };
            match operator {
                true => layout::operator_error(refusal),
                false => layout::tenant_error(refusal),
            }
        }
    }
}

/// The pages' CSP, and no caching of pages that show tenant data.
async fn page_headers(req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/dashboard/assets/");
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    if !is_asset {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
