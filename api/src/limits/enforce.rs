//! The rate-limit middleware: a budget per client IP on every request (a
//! stricter one on the unauthenticated auth endpoints), plus the tenant's
//! budget that `TenantScope` spends after authenticating (it reports its
//! decision through the `RateSlot` extension). Answers `RateLimit-Limit`,
//! `RateLimit-Remaining`, `RateLimit-Reset` from the tighter of the two, and
//! 429 with `Retry-After` when one is spent.

use super::rate::{Decision, Rate};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Where `TenantScope` leaves the tenant's decision for this middleware.
#[derive(Clone, Default)]
pub struct RateSlot(pub Arc<Mutex<Option<Decision>>>);

impl RateSlot {
    pub fn set(&self, decision: Decision) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(decision);
        }
    }

    fn get(&self) -> Option<Decision> {
        self.0.lock().ok().and_then(|slot| *slot)
    }
}

/// Requests that anyone can make without credentials: guessing grounds.
/// The dashboard's login forms count too: they call the login handler in
/// process, past this middleware.
fn is_auth_path(method: &axum::http::Method, path: &str) -> bool {
    path.starts_with("/v1/auth/")
        || (method == axum::http::Method::POST
            && matches!(
                path,
                "/dashboard/login"
                    | "/dashboard/ops/login"
                    | "/dashboard/register"
                    | "/dashboard/join"
                    | "/dashboard/forgot-password"
                    | "/dashboard/reset-password"
                    | "/dashboard/verify-email"
            ))
}

pub async fn rate_limit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    let settings = &state.settings.api;
    let client = state.trusted_proxies.client(peer.ip(), req.headers());
    let (key, rate) = match is_auth_path(req.method(), req.uri().path()) {
        true => (
            format!("ip-auth:{client}"),
            Rate::per_minute(settings.auth_rate_per_ip_per_minute),
        ),
        false => (
            format!("ip:{client}"),
            Rate::per_minute(settings.rate_per_ip_per_minute),
        ),
    };
    let ip = state.rate_limiter.check(&key, rate).await;
    if !ip.allowed {
        return with_headers(refusal(ip, "requests_per_ip"), ip);
    }
    let slot = RateSlot::default();
    req.extensions_mut().insert(slot.clone());
    // The audit log records where a change came from (crate::audit).
    req.extensions_mut()
        .insert(super::client_ip::ClientIp(Some(client)));
    let response = next.run(req).await;
    let shown = match slot.get() {
        Some(tenant) if tenant.remaining <= ip.remaining => tenant,
        _ => ip,
    };
    with_headers(response, shown)
}

pub fn refusal(decision: Decision, limit: &'static str) -> Response {
    ApiError::TooManyRequests {
        message: format!(
            "rate limit of {} requests per minute reached; retry in {} s",
            decision.limit, decision.retry_after_secs
        ),
        limit,
        retry_after: Some(decision.retry_after_secs.max(1)),
    }
    .into_response()
}

fn with_headers(mut response: Response, d: Decision) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        ("ratelimit-limit", d.limit as u64),
        ("ratelimit-remaining", d.remaining as u64),
        ("ratelimit-reset", d.reset_secs),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
            headers.insert(name, v);
        }
    }
    response
}
