//! `/healthz`, `/readyz` and `/metrics` of every process, on a small HTTP
//! server of their own (`*.probe_listen`), apart from the api's public port.

use crate::health::Dependencies;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
struct ProbeState {
    dependencies: Arc<Dependencies>,
    metrics: PrometheusHandle,
}

pub fn router(dependencies: Arc<Dependencies>, metrics: PrometheusHandle) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .with_state(ProbeState {
            dependencies,
            metrics,
        })
}

/// For a process on PostgreSQL and the broker (worker, scheduler): binds
/// `listen` (an error names the setting `key`) and serves the probes in a
/// task until `shutdown`.
#[cfg(feature = "queue")]
pub async fn spawn_for(
    listen: std::net::SocketAddr,
    key: &str,
    pool: &sqlx::PgPool,
    broker: &Arc<crate::queue::Broker>,
    metrics: PrometheusHandle,
    shutdown: &CancellationToken,
) -> std::io::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("binding {listen} ({key}): {e}")))?;
    let dependencies = Arc::new(
        Dependencies::default()
            .with_postgres(pool.clone())
            .with_broker(broker.clone()),
    );
    Ok(tokio::spawn(serve(
        listener,
        router(dependencies, metrics),
        shutdown.clone(),
    )))
}

/// Serves the probe routes until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({"status": "ok"}))
}

async fn readyz(State(state): State<ProbeState>) -> impl IntoResponse {
    readiness_response(&state.dependencies).await
}

/// 200 with the checks when every dependency answers, 503 otherwise.
pub async fn readiness_response(dependencies: &Dependencies) -> impl IntoResponse + use<> {
    let readiness = dependencies.check().await;
    let status = match readiness.ready {
        true => StatusCode::OK,
        false => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, Json(readiness))
}

async fn render_metrics(State(state): State<ProbeState>) -> impl IntoResponse {
    metrics_response(&state.metrics)
}

pub fn metrics_response(handle: &PrometheusHandle) -> impl IntoResponse + use<> {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::metrics::render(handle),
    )
}
