//! HTTP hygiene applied to every response: security headers, and CORS for
//! the configured browser origins only (issue 4).

use axum::http::{HeaderName, HeaderValue, Method, header};
use catalytic_shared::config::ApiSettings;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

/// The static security headers: no MIME sniffing, no framing, no referrer
/// leakage, and a CSP that allows nothing (the api serves no HTML; the docs
/// page sets its own).
pub fn security_headers() -> Vec<SetResponseHeaderLayer<HeaderValue>> {
    [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ),
    ]
    .into_iter()
    .map(|(name, value)| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    })
    .collect()
}

/// HSTS, when the api is served behind TLS.
pub fn hsts(settings: &ApiSettings) -> Option<SetResponseHeaderLayer<HeaderValue>> {
    settings.hsts.then(|| {
        SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        )
    })
}

/// CORS for exactly the configured origins; none configured = none allowed.
pub fn cors(settings: &ApiSettings) -> CorsLayer {
    let origins: Vec<HeaderValue> = settings
        .cors_allowed_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::LOCATION,
            header::RETRY_AFTER,
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("ratelimit-limit"),
            HeaderName::from_static("ratelimit-remaining"),
            HeaderName::from_static("ratelimit-reset"),
        ])
}
