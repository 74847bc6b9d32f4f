//! The client against a fake API on 127.0.0.1:0 that records what it is
//! sent: headers, query and the mapping of refusals. The real API is driven
//! end to end by the load generator's smoke test (loadtests/tests/).

use axum::Json;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use catalytic_client::{Client, Error, JobStatus};
use serde_json::{Value, json};

const ID: &str = "0195f0a4-7d2e-7000-8000-000000000001";

async fn submit(headers: HeaderMap, Json(body): Json<Value>) -> impl IntoResponse {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some("Bearer clc_test") {
        return (
            StatusCode::UNAUTHORIZED,
            HeaderMap::new(),
            Json(json!({"title": "Unauthorized"})),
        );
    }
    if body["operation"] == "busy" {
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            "7".parse().unwrap_or_else(|_| unreachable!()),
        );
        return (
            StatusCode::TOO_MANY_REQUESTS,
            h,
            Json(
                json!({"title": "Too Many Requests", "detail": "queue full", "limit": "queued_jobs"}),
            ),
        );
    }
    let mut h = HeaderMap::new();
    if headers.get("idempotency-key").is_some() {
        h.insert(
            "idempotent-replayed",
            "true".parse().unwrap_or_else(|_| unreachable!()),
        );
    }
    (
        StatusCode::ACCEPTED,
        h,
        Json(json!({"id": ID, "status": "queued", "location": format!("/v1/jobs/{ID}")})),
    )
}

async fn job(Path(id): Path<String>, RawQuery(query): RawQuery) -> Json<Value> {
    let status = match query.as_deref() {
        Some("wait=10") => "succeeded",
        _ => "queued",
    };
    Json(json!({"id": id, "status": status, "attempt": 1, "result": null, "error": null}))
}

async fn spawn_fake() -> anyhow::Result<String> {
    let app = axum::Router::new()
        .route("/v1/jobs", post(submit))
        .route("/v1/jobs/{id}", get(job));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}

#[tokio::test]
async fn submit_sends_the_credential_and_the_idempotency_key() -> anyhow::Result<()> {
    let base = spawn_fake().await?;
    let client = Client::new(&base, "clc_test")?;
    let body = json!({"operation": "shortest_path"});
    let first = client.submit_job(&body, None).await?;
    assert_eq!(first.id.to_string(), ID);
    assert_eq!(first.status, JobStatus::Queued);
    assert!(!first.replayed);
    assert!(client.submit_job(&body, Some("k-1")).await?.replayed);

    let anonymous = client.with_credential("clc_wrong");
    let refused = anonymous.submit_job(&body, None).await;
    assert!(
        matches!(refused, Err(Error::Api { status: 401, .. })),
        "{refused:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_refusal_carries_status_problem_and_retry_after() -> anyhow::Result<()> {
    let base = spawn_fake().await?;
    let client = Client::new(&base, "clc_test")?;
    match client.submit_job(&json!({"operation": "busy"}), None).await {
        Err(error @ Error::Api { .. }) => {
            assert_eq!(error.kind(), "http 429 queued_jobs");
            if let Error::Api {
                problem,
                retry_after,
                ..
            } = error
            {
                assert_eq!(retry_after, Some(7));
                assert_eq!(problem.detail.as_deref(), Some("queue full"));
            }
        }
        other => anyhow::bail!("expected a 429, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn get_job_passes_wait_as_a_query() -> anyhow::Result<()> {
    let base = spawn_fake().await?;
    let client = Client::new(&base, "clc_test")?;
    let id = client.submit_job(&json!({}), None).await?.id;
    assert_eq!(client.get_job(id, None).await?.status, JobStatus::Queued);
    assert!(client.get_job(id, Some(10)).await?.status.is_terminal());
    Ok(())
}

#[tokio::test]
async fn no_server_is_a_transport_error() -> anyhow::Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let client = Client::new(format!("http://127.0.0.1:{port}"), "clc_test")?;
    let error = client.submit_job(&json!({}), None).await;
    match error {
        Err(e @ Error::Transport(_)) => assert_eq!(e.kind(), "transport connect"),
        other => anyhow::bail!("expected a transport error, got {other:?}"),
    }
    Ok(())
}
