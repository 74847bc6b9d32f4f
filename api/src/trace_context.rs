//! The trace a submitted job carries (issue 23). The request span is made
//! a child of the caller's `traceparent` header (routes/mod.rs, before the
//! span is entered); a job submitted inside it stores the request span's
//! context, so the relay, the worker and the webhook sender continue the
//! same trace. When this process does not export traces the caller's
//! sampled `traceparent` is stored unchanged, so a fleet where only some
//! processes export still links up.

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use catalytic_shared::telemetry::{self, TraceParent};

tokio::task_local! {
    /// The caller's sampled `traceparent`, for the request being handled.
    static INCOMING: Option<TraceParent>;
}

/// The caller's sampled `traceparent`, if the request had a valid one.
pub fn incoming(headers: &HeaderMap) -> Option<TraceParent> {
    headers
        .get(telemetry::trace_context::HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(TraceParent::parse)
}

/// Keeps the caller's context for the handler ([`for_new_job`]).
pub async fn remember(req: Request, next: Next) -> Response {
    let caller = incoming(req.headers());
    INCOMING.scope(caller, next.run(req)).await
}

/// What a job submitted now stores: the current (request) span's context
/// when it is exported, else the caller's.
pub fn for_new_job() -> Option<TraceParent> {
    let caller = INCOMING.try_with(Clone::clone).ok().flatten();
    telemetry::propagate(&tracing::Span::current(), caller.as_ref())
}
