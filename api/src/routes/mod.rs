//! The router: merges the resource routers and the layers, holds no
//! handlers. Every API route is registered through `OpenApiRouter::routes`,
//! so a route cannot exist without its OpenAPI entry (a test checks nothing
//! bypasses this). The one exception is the HTML dashboard (`dashboard`),
//! whose pages are not API and are listed in docs/dashboard.md.

pub mod admin;
pub mod api_keys;
pub mod audit_log;
pub mod auth;
pub mod billing;
pub mod concurrency_keys;
pub mod docs;
pub mod email_verification;
pub mod health;
pub mod invoices;
pub mod job_batches;
pub mod job_bulk;
pub mod job_deletion;
pub mod job_params;
pub mod job_results;
pub mod jobs;
pub mod lattices;
pub mod passwords;
pub mod schedules;
pub mod stripe;
pub mod tenant;
pub mod tenant_deletion;
pub mod tenant_export;
pub mod usage;
pub mod users;
pub mod webhook_endpoints;
pub mod webhook_messages;

use crate::dashboard;
use crate::hygiene;
use crate::json::BodyLimit;
use crate::limits;
use crate::openapi::ApiDoc;
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::{Extension, Router};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

const REQUEST_ID: &str = "x-request-id";

/// Every documented route, before state and layers: the OpenAPI document is
/// generated from exactly this.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(jobs::router())
        .merge(job_batches::router())
        .merge(lattices::router())
        .merge(schedules::router())
        .merge(concurrency_keys::router())
        .merge(auth::router())
        .merge(passwords::router())
        .merge(email_verification::router())
        .merge(audit_log::router())
        .merge(users::router())
        .merge(api_keys::router())
        .merge(tenant::router())
        .merge(tenant_export::router())
        .merge(tenant_deletion::router())
        .merge(usage::router())
        .merge(invoices::router())
        .merge(stripe::router())
        .merge(billing::router())
        .merge(admin::router())
        .merge(webhook_endpoints::router())
        .merge(webhook_messages::router())
        .merge(health::router())
        .merge(docs::router())
}

pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.api.max_body_bytes;
    let (router, openapi) = api_router().split_for_parts();
    let openapi = std::sync::Arc::new(openapi);
    // The dashboard calls the API's handlers in process (see `dashboard`).
    let backend = dashboard::Backend::new(router.clone().with_state(state.clone()), body_limit);
    let router = router.merge(dashboard::router(backend));
    // Innermost, so refusals still get the headers and CORS answers
    // preflights before any budget is spent.
    let mut router = router.layer(middleware::from_fn_with_state(
        state.clone(),
        limits::enforce::rate_limit,
    ));
    for layer in hygiene::security_headers() {
        router = router.layer(layer);
    }
    router
        .layer(tower::util::option_layer(hygiene::hsts(
            &state.settings.api,
        )))
        .layer(hygiene::cors(&state.settings.api))
        .layer(Extension(openapi))
        .layer(Extension(BodyLimit(body_limit)))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(record_http_metrics))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let request_id = req
                .headers()
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let span = tracing::info_span!(
                "request",
                method = %req.method(),
                path = %req.uri().path(),
                request_id,
                tenant_id = tracing::field::Empty,
                job_id = tracing::field::Empty,
                otel.kind = "server",
            );
            // The caller's trace, if any: set before the span is entered.
            if let Some(crate::trace_context::Incoming(parent)) = req.extensions().get() {
                parent.adopt(&span);
            }
            span
        }))
        .layer(middleware::from_fn(crate::trace_context::remember))
        // Accept the caller's X-Request-Id or make one; echo it back.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

async fn record_http_metrics(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(catalytic_shared::metrics::HTTP_REQUESTS, "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!(catalytic_shared::metrics::HTTP_DURATION, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
