//! Liveness, readiness and the OpenAPI document itself. `/metrics` is not
//! here: it is served on `api.probe_listen` only (`startup.rs`), with the
//! probes again, never on the public port (issue 18).

use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(openapi_json))
}

/// Alive: the process serves requests. Checks nothing else.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "alive")))]
async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({"status": "ok"}))
}

/// Ready: PostgreSQL and Redis answer. 503 with the failing checks otherwise.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "every dependency answers"),
    (status = 503, description = "a dependency does not answer; the body names it"),
))]
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    catalytic_shared::probe::readiness_response(&state.dependencies).await
}

/// This document (OpenAPI 3.1), generated from the code.
#[utoipa::path(get, path = "/openapi.json", tag = "health", responses((status = 200, description = "the OpenAPI document")))]
async fn openapi_json(
    Extension(doc): Extension<Arc<utoipa::openapi::OpenApi>>,
) -> impl IntoResponse {
    Json(doc.as_ref().clone())
}
