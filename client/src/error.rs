//! The one error type of the client. A refusal keeps the HTTP status and the
//! problem+json body (RFC 9457) so callers can count errors by kind and read
//! which field or limit was at fault.

use serde::Deserialize;
use serde_json::Value;

/// An RFC 9457 problem as the API writes it; unknown members are kept.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub title: Option<String>,
    pub detail: Option<String>,
    /// The bad fields, each `{field, message}` (422s).
    pub errors: Vec<Value>,
    /// The limit a 402 / 429 names (`requests_per_tenant`, `queued_jobs`, …).
    pub limit: Option<String>,
    /// Every member, as received.
    #[serde(skip)]
    pub body: Value,
}

impl Problem {
    /// Parses an error body; a body that is not a problem keeps its text.
    pub fn parse(bytes: &[u8]) -> Self {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(body) => {
                let mut problem: Problem = serde_json::from_value(body.clone()).unwrap_or_default();
                problem.body = body;
                problem
            }
            Err(_) => Problem {
                detail: Some(String::from_utf8_lossy(bytes).into_owned()),
                body: Value::String(String::from_utf8_lossy(bytes).into_owned()),
                ..Problem::default()
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API answered, with a status other than the call's success status.
    #[error("HTTP {status}: {}", .problem.detail.as_deref().or(.problem.title.as_deref()).unwrap_or("no detail"))]
    Api {
        status: u16,
        /// Boxed: keeps every `Result<_, Error>` small.
        problem: Box<Problem>,
        /// `Retry-After` in seconds, when the answer carried one.
        retry_after: Option<u64>,
    },
    /// No answer: connect, timeout, reset, or a body cut short.
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// A success answer whose body is not what the API documents.
    #[error("decoding the {what} answer: {source}")]
    Decode {
        what: &'static str,
        source: serde_json::Error,
    },
    /// A base URL that cannot be joined with a path.
    #[error("invalid base URL {0:?}")]
    BaseUrl(String),
}

impl Error {
    /// The HTTP status of a refusal; `None` when there was no answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// A short, stable label to count errors by: `http 429 requests_per_tenant`,
    /// `http 503`, `transport timeout`, `transport connect`, `decode`.
    pub fn kind(&self) -> String {
        match self {
            Error::Api {
                status, problem, ..
            } => match &problem.limit {
                Some(limit) => format!("http {status} {limit}"),
                None => format!("http {status}"),
            },
            Error::Transport(e) if e.is_timeout() => "transport timeout".to_owned(),
            Error::Transport(e) if e.is_connect() => "transport connect".to_owned(),
            Error::Transport(e) if e.is_body() || e.is_decode() => "transport body".to_owned(),
            Error::Transport(_) => "transport".to_owned(),
            Error::Decode { .. } => "decode".to_owned(),
            Error::BaseUrl(_) => "base url".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_problem_keeps_its_fields_and_its_body() {
        let body = json!({
            "type": "about:blank", "title": "Too Many Requests", "status": 429,
            "detail": "rate limit", "limit": "requests_per_tenant", "extra": 1
        });
        let problem = Problem::parse(body.to_string().as_bytes());
        assert_eq!(problem.limit.as_deref(), Some("requests_per_tenant"));
        assert_eq!(problem.title.as_deref(), Some("Too Many Requests"));
        assert_eq!(problem.body["extra"], 1);
        let error = Error::Api {
            status: 429,
            problem: Box::new(problem),
            retry_after: Some(3),
        };
        assert_eq!(error.kind(), "http 429 requests_per_tenant");
        assert_eq!(error.status(), Some(429));
        assert_eq!(error.to_string(), "HTTP 429: rate limit");
    }

    #[test]
    fn a_body_that_is_not_json_is_kept_as_text() {
        let problem = Problem::parse(b"bad gateway");
        assert_eq!(problem.detail.as_deref(), Some("bad gateway"));
        let error = Error::Api {
            status: 502,
            problem: Box::new(problem),
            retry_after: None,
        };
        assert_eq!(error.kind(), "http 502");
    }

    #[test]
    fn field_errors_are_listed() {
        let body =
            json!({"title": "Unprocessable", "errors": [{"field": "wait", "message": "0-60"}]});
        let problem = Problem::parse(body.to_string().as_bytes());
        assert_eq!(problem.errors.len(), 1);
        assert_eq!(problem.errors[0]["field"], "wait");
    }
}
