//! The receiver's HTTP API.
//!
//! - `POST /v1/traces`: an OTLP/HTTP trace export, as the OpenTelemetry
//!   OTLP/HTTP exporters send it: an `ExportTraceServiceRequest` as protobuf
//!   (`application/x-protobuf`) or as OTLP/JSON (`application/json`),
//!   uncompressed (a `Content-Encoding` other than `identity` is refused with
//!   415: leave the exporter's compression off). Answers 200 with an
//!   `ExportTraceServiceResponse` in the request's encoding, its
//!   `partial_success` naming the spans refused for invalid ids; 400 for a
//!   body that does not decode; 413 past [`BODY_LIMIT`].
//! - `GET /v1/spans?trace_id=HEX`: that trace's spans, by start time, as a
//!   JSON array of [`SpanRecord`](crate::SpanRecord); without `trace_id`,
//!   the newest [`NEWEST_LIMIT`] spans received.
//! - `GET /v1/traces/{trace_id}/tree`: the trace as an indented text tree
//!   ([`crate::tree`]); 404 when none of its spans was received.
//! - `GET /healthz`: 200.

use crate::span::decode_request;
use crate::store::Store;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use serde::Deserialize;
use std::sync::Arc;

/// The largest export body accepted (the exporters' batches are far smaller).
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// How many spans `GET /v1/spans` without a filter answers at most.
pub const NEWEST_LIMIT: usize = 1000;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// The receiver's routes over `store`.
pub fn router(store: Arc<Store>) -> Router {
    Router::new()
        .route("/v1/traces", post(export))
        .route("/v1/spans", get(spans))
        .route("/v1/traces/{trace_id}/tree", get(tree))
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(store)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, message + "\n").into_response()
}

async fn export(State(store): State<Arc<Store>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(coding) = headers.get(header::CONTENT_ENCODING) {
        let coding = coding.to_str().unwrap_or("?").trim();
        if !coding.eq_ignore_ascii_case("identity") {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "Content-Encoding {coding:?} is not supported: send uncompressed OTLP \
                     (turn the exporter's compression off)"
                ),
            );
        }
    }
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase());
    let encoding = match media_type.as_deref() {
        Some(PROTOBUF | "application/protobuf") => Encoding::Protobuf,
        Some(JSON) => Encoding::Json,
        other => {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "Content-Type {} is not supported: send OTLP/HTTP as {PROTOBUF} or {JSON}",
                    other.unwrap_or("(none)")
                ),
            );
        }
    };
    let request = match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(body).map_err(|e| e.to_string()),
        Encoding::Json => {
            serde_json::from_slice::<ExportTraceServiceRequest>(&body).map_err(|e| e.to_string())
        }
    };
    let request = match request {
        Ok(request) => request,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("the body is not an OTLP ExportTraceServiceRequest: {e}"),
            );
        }
    };

    let decoded = decode_request(&request);
    let (rejected, error_message) = (decoded.rejected, decoded.error_message);
    let received = decoded.spans.len();
    let inserted = tokio::task::spawn_blocking(move || store.insert(decoded.spans)).await;
    match inserted {
        Ok(Ok(inserted)) => tracing::debug!(
            received,
            stored = inserted.stored,
            duplicates = inserted.duplicates,
            rejected,
            "export received"
        ),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "appending spans to the --out file failed");
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("appending spans to the --out file failed: {e}"),
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "storing spans failed");
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("storing spans failed: {e}"),
            );
        }
    }
    if rejected > 0 {
        tracing::warn!(rejected, %error_message, "spans refused");
    }

    let partial_success = (rejected > 0).then_some(ExportTracePartialSuccess {
        rejected_spans: rejected,
        error_message,
    });
    match encoding {
        Encoding::Protobuf => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(PROTOBUF))],
            ExportTraceServiceResponse { partial_success }.encode_to_vec(),
        )
            .into_response(),
        Encoding::Json => {
            let body = match partial_success {
                Some(partial) => serde_json::json!({
                    "partialSuccess": {
                        "rejectedSpans": partial.rejected_spans,
                        "errorMessage": partial.error_message,
                    }
                }),
                None => serde_json::json!({}),
            };
            axum::Json(body).into_response()
        }
    }
}

#[derive(Debug, Deserialize)]
struct SpansQuery {
    trace_id: Option<String>,
}

/// A trace id as 32 lowercase hex digits, or why it is not one.
fn trace_id(raw: &str) -> Result<String, String> {
    let id = raw.trim().to_ascii_lowercase();
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(id)
    } else {
        Err(format!("trace_id {raw:?} is not 32 hex digits"))
    }
}

async fn spans(State(store): State<Arc<Store>>, Query(query): Query<SpansQuery>) -> Response {
    let spans = match query.trace_id.as_deref() {
        Some(raw) => match trace_id(raw) {
            Ok(id) => store.trace(&id),
            Err(message) => return refuse(StatusCode::BAD_REQUEST, message),
        },
        None => store.newest(NEWEST_LIMIT),
    };
    axum::Json(spans).into_response()
}

async fn tree(State(store): State<Arc<Store>>, Path(raw): Path<String>) -> Response {
    let id = match trace_id(&raw) {
        Ok(id) => id,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, message),
    };
    let spans = store.trace(&id);
    if spans.is_empty() {
        return refuse(
            StatusCode::NOT_FOUND,
            format!("no span of trace {id} was received"),
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        crate::tree::render(&spans),
    )
        .into_response()
}
