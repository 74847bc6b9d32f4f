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

/// The caller's sampled `traceparent`, read once per request by
/// [`remember`]; the trace layer's span takes it as its parent.
#[derive(Debug, Clone)]
pub struct Incoming(pub TraceParent);

fn incoming(headers: &HeaderMap) -> Option<TraceParent> {
    headers
        .get(telemetry::trace_context::HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(TraceParent::parse)
}

/// Reads the caller's context once, for the request span (an extension)
/// and for the handler ([`for_new_job`]). Runs outside the trace layer.
pub async fn remember(mut req: Request, next: Next) -> Response {
    let caller = incoming(req.headers());
    if let Some(parent) = &caller {
        req.extensions_mut().insert(Incoming(parent.clone()));
    }
    INCOMING.scope(caller, next.run(req)).await
}

/// What a job submitted now stores: the current (request) span's context
/// when it is exported, else the caller's.
pub fn for_new_job() -> Option<TraceParent> {
    let caller = INCOMING.try_with(Clone::clone).ok().flatten();
    telemetry::propagate(&tracing::Span::current(), caller.as_ref())
}
