//! `ApiError`: every error a client can see, rendered as RFC 9457
//! `application/problem+json`. Validation errors name the offending field.
//! Anything unexpected is logged with its cause chain and answered with an
//! opaque 500, so internals never leak.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use catalytic_shared::db::DbError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One invalid field: `field` is a dotted path into the request body
/// (`lattice.size`, `params.start[1]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// RFC 9457 problem details. (Deserialize: the dashboard reads the API's answers.)
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For plan limits and rate limits: which limit refused the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// For validation problems: every invalid field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("the request body exceeds {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{}", describe_fields(.0))]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// A plan limit that resets later (monthly jobs on a plan without overage).
    #[error("{message}")]
    PaymentRequired {
        message: String,
        limit: &'static str,
    },
    /// A rate or a cap; `retry_after` in seconds when known.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        limit: &'static str,
        retry_after: Option<u64>,
    },
    /// Every database connection of this process stayed busy for
    /// `database.acquire_timeout_secs`: overload, not a fault. 503 with
    /// `Retry-After`, so clients back off instead of reporting a 500.
    #[error("the service is saturated; retry in a moment")]
    Saturated,
    /// A server we depend on for this request (Stripe) failed or refused;
    /// the message says which and why, never a secret.
    #[error("{0}")]
    BadGateway(String),
    /// A `Range` outside a download of `length` bytes (416, with
    /// `Content-Range: bytes */length`).
    #[error("the range asked for is outside the {length} bytes of this download")]
    RangeNotSatisfiable { length: u64 },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

fn describe_fields(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// An id from the URL path. A malformed one names no resource: the same 404
/// as an unknown one, so ids are never a way to probe.
pub fn path_id<T: std::str::FromStr>(raw: &str, what: &'static str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound(what))
}

impl ApiError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    /// The fields a validation error names, comma-separated (for unit
    /// tests of the parsers); anything else says what it was.
    #[cfg(test)]
    pub(crate) fn invalid_fields(&self) -> String {
        match self {
            ApiError::Validation(errors) => errors
                .iter()
                .map(|e| e.field.clone())
                .collect::<Vec<_>>()
                .join(","),
            other => format!("not a validation error: {other:?}"),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PaymentRequired { .. } => StatusCode::PAYMENT_REQUIRED,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Saturated => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "malformed-json",
            ApiError::UnsupportedMediaType => "unsupported-media-type",
            ApiError::PayloadTooLarge { .. } => "payload-too-large",
            ApiError::Validation(_) => "validation",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict(_) => "conflict",
            ApiError::PaymentRequired { .. } => "plan-limit",
            ApiError::TooManyRequests { .. } => "too-many-requests",
            ApiError::BadGateway(_) => "bad-gateway",
            ApiError::Saturated => "saturated",
            ApiError::RangeNotSatisfiable { .. } => "range-not-satisfiable",
            ApiError::Internal(_) => "internal",
        }
    }
}

/// Seconds a client is asked to wait when the database pool is saturated.
pub const SATURATED_RETRY_SECS: u64 = 1;

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            // The soak at 300 jobs/s saw one long-poll answered 500 this way
            // (docs/chaos.md): it is load, and says so.
            DbError::Sqlx(sqlx::Error::PoolTimedOut) => {
                tracing::warn!("database pool saturated: answered 503");
                ApiError::Saturated
            }
            e => ApiError::Internal(e.into()),
        }
    }
}

/// A transaction's `begin`/`commit` or a pooled connection's `acquire`:
/// the same classification as any query's error (a saturated pool is 503).
impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        DbError::from(e).into()
    }
}

impl ApiError {
    /// Counts a 429 by the limit named and logs a 500 with its cause: once
    /// per refusal answered (a response, or an item of a bulk submit's).
    pub fn record(&self) {
        if let ApiError::TooManyRequests { limit, .. } = self {
            metrics::counter!(catalytic_shared::metrics::RATE_LIMIT_HITS, "limit" => *limit)
                .increment(1);
        }
        if let ApiError::Internal(cause) = self {
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
    }

    /// The problem body this error answers (a bulk submit puts one in each
    /// refused item's slot, and keeps it for replays). Records nothing.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let limit = match self {
            ApiError::PaymentRequired { limit, .. } | ApiError::TooManyRequests { limit, .. } => {
                Some((*limit).to_owned())
            }
            _ => None,
        };
        Problem {
            kind: format!("https://catalytic.dev/problems/{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            limit,
            errors: match self {
                ApiError::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
        }
    }

    /// The same error with every field it names prefixed (`params.start`
    /// → `jobs[3].params.start`): an item of a bulk submit.
    pub fn within(self, prefix: &str) -> Self {
        match self {
            ApiError::Validation(errors) => ApiError::Validation(
                errors
                    .into_iter()
                    .map(|e| match e.field.as_str() {
                        // The item itself is not a job object.
                        "body" => FieldError::new(prefix, e.message),
                        field => FieldError::new(format!("{prefix}.{field}"), e.message),
                    })
                    .collect(),
            ),
            other => other,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after, .. } => *retry_after,
            ApiError::Saturated => Some(SATURATED_RETRY_SECS),
            _ => None,
        };
        // Every 429 and 500 passes here (or through a bulk item's slot).
        self.record();
        let problem = self.problem();
        let mut response = (status, axum::Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if let ApiError::RangeNotSatisfiable { length } = &self
            && let Ok(value) = HeaderValue::from_str(&format!("bytes */{length}"))
        {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
