//! `Backend`: the dashboard's way into the JSON API. A page builds an API
//! request with the session's bearer credential and dispatches it through
//! the API's own router (no network hop), so the API's handlers decide
//! everything: who the caller is, what it may see and do, what is valid.
//!
//! The router it holds has the API's routes and state but not the outer
//! layers (tracing, per-IP limit, headers): those already ran for the page
//! request. The tenant's own rate limit is spent per call, as for any client.
//! The client's address, which the per-IP limiter resolved for the page
//! request, is passed on to each call (`for_client`), so the audit log
//! records where a dashboard user acted from, as for an API client.

use crate::error::Problem;
use crate::json::BodyLimit;
use crate::limits::client_ip::ClientIp;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower::ServiceExt;

/// The largest API answer a page reads (a job result is capped well below).
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

#[derive(Clone)]
pub struct Backend {
    api: Router,
    /// The page request's client, handed to the API's handlers.
    client: ClientIp,
}

/// An API answer: its status and JSON body (`Null` when it had none).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

/// A refusal the page shows: the API's problem, or why there is none.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: StatusCode,
    /// The problem's detail, e.g. "wrong email or password".
    pub detail: String,
    /// `field: message` for each invalid field.
    pub fields: Vec<String>,
}

impl Refusal {
    /// A form the dashboard refuses before asking the API (two new
    /// passwords that differ): 422 with `detail`.
    pub fn unprocessable(detail: &str) -> Self {
        Refusal {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: detail.to_owned(),
            fields: Vec::new(),
        }
    }

    /// The 404 for an id that cannot name anything.
    pub fn not_found(what: &str) -> Self {
        Refusal {
            status: StatusCode::NOT_FOUND,
            detail: format!("no such {what}"),
            fields: Vec::new(),
        }
    }
}

impl Backend {
    /// `api` is the API router with its state; `body_limit` the configured
    /// cap, which the JSON extractor reports in its 413.
    pub fn new(api: Router, body_limit: usize) -> Self {
        Self {
            api: api.layer(axum::Extension(BodyLimit(body_limit))),
            client: ClientIp::default(),
        }
    }

    /// This backend for the calls of one page request from `client`.
    pub fn for_client(mut self, client: ClientIp) -> Self {
        self.client = client;
        self
    }

    pub async fn get(&self, path: &str, bearer: &str) -> Answer {
        self.call(Method::GET, path, Some(bearer), None).await
    }

    pub async fn post(&self, path: &str, bearer: Option<&str>, body: Option<&Value>) -> Answer {
        self.call(Method::POST, path, bearer, body).await
    }

    pub async fn put(&self, path: &str, bearer: &str, body: &Value) -> Answer {
        self.call(Method::PUT, path, Some(bearer), Some(body)).await
    }

    pub async fn delete(&self, path: &str, bearer: &str) -> Answer {
        self.call(Method::DELETE, path, Some(bearer), None).await
    }

    /// `GET path` answered as the API answers it, body streamed (downloads);
    /// `headers` are passed on (`Range`, `If-None-Match`).
    pub async fn stream(
        &self,
        path: &str,
        bearer: &str,
        headers: Vec<(header::HeaderName, header::HeaderValue)>,
    ) -> Response {
        let mut request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .extension(self.client)
            .header(header::AUTHORIZATION, format!("Bearer {bearer}"));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        match request.body(Body::empty()) {
            Ok(request) => match self.api.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            },
            Err(e) => {
                tracing::error!(error = %e, "building a download request");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .extension(self.client);
        if let Some(bearer) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {bearer}"));
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        };
        let request = match request {
            Ok(request) => request,
            Err(e) => return internal(format!("building a request for {path}: {e}")),
        };
        let response = match self.api.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status();
        let bytes = match axum::body::to_bytes(response.into_body(), MAX_ANSWER_BYTES).await {
            Ok(bytes) => bytes,
            Err(e) => return internal(format!("reading the answer of {path}: {e}")),
        };
        let body = match bytes.is_empty() {
            true => Value::Null,
            false => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        };
        Answer { status, body }
    }
}

/// `path?k=v&...`, form-encoded; just `path` without pairs.
pub fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return path.to_owned();
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{path}?{query}")
}

fn internal(message: String) -> Answer {
    tracing::error!(error = message, "dashboard backend call failed");
    Answer {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        body: Value::Null,
    }
}

impl Answer {
    /// The body as `T` when the API answered 2xx, else the refusal.
    pub fn into_result<T: DeserializeOwned>(self) -> Result<T, Refusal> {
        if !self.status.is_success() {
            return Err(self.refusal());
        }
        serde_json::from_value(self.body).map_err(|e| {
            tracing::error!(error = %e, "the dashboard cannot read an API answer");
            Refusal {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                detail: "internal error".to_owned(),
                fields: Vec::new(),
            }
        })
    }

    /// Nothing when the API answered 2xx (a 204 has no body), else the refusal.
    pub fn into_empty(self) -> Result<(), Refusal> {
        match self.status.is_success() {
            true => Ok(()),
            false => Err(self.refusal()),
        }
    }

    fn refusal(self) -> Refusal {
        match serde_json::from_value::<Problem>(self.body) {
            Ok(problem) => Refusal {
                status: self.status,
                detail: problem.detail,
                fields: problem
                    .errors
                    .into_iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect(),
            },
            Err(_) => Refusal {
                status: self.status,
                detail: self.status.canonical_reason().unwrap_or("error").to_owned(),
                fields: Vec::new(),
            },
        }
    }
}
