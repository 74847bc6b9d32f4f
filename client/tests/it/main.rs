//! The client against a fake API on 127.0.0.1:0 that records what it is
//! sent: headers, query and the mapping of refusals. The real API is driven
//! end to end by the load generator's smoke test (loadtests/tests/).

mod concurrency_keys;

use axum::Json;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use catalytic_client::{AuditFilter, Client, Error, JobStatus};
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

/// Serves `app` on 127.0.0.1:0 for the rest of the test: its base URL.
pub(crate) async fn serve(app: axum::Router) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}

async fn spawn_fake() -> anyhow::Result<String> {
    let app = axum::Router::new()
        .route("/v1/jobs", post(submit))
        .route("/v1/jobs/{id}", get(job));
    serve(app).await
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

/// The account routes of issue 20: each answers what the API documents and
/// echoes what it was sent, so a test sees both sides.
async fn spawn_accounts_fake() -> anyhow::Result<String> {
    async fn register(Json(body): Json<Value>) -> impl IntoResponse {
        // The body comes back in `message`, to be checked by the test.
        (
            StatusCode::ACCEPTED,
            Json(json!({"email": body["email"], "message": body.to_string()})),
        )
    }
    async fn verify(Json(body): Json<Value>) -> impl IntoResponse {
        match body["token"].as_str() {
            Some("cev_good") => StatusCode::NO_CONTENT.into_response(),
            _ => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({
                    "title": "Unprocessable Entity", "status": 422,
                    "errors": [{"field": "token", "message": "unknown, expired or already used"}]
                })),
            )
                .into_response(),
        }
    }
    async fn change(headers: HeaderMap, Json(body): Json<Value>) -> StatusCode {
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
        match (auth, body["current_password"].as_str()) {
            (Some("Bearer eyJ-user"), Some("old secret words")) => StatusCode::NO_CONTENT,
            _ => StatusCode::FORBIDDEN,
        }
    }
    async fn reset(Json(body): Json<Value>) -> impl IntoResponse {
        (
            StatusCode::ACCEPTED,
            Json(json!({"message": format!("sent to {}", body["email"])})),
        )
    }
    async fn audit(RawQuery(query): RawQuery) -> Json<Value> {
        Json(json!({
            "items": [{
                "id": ID, "at": "2026-12-06T20:00:00Z", "action": "auth.sign_in",
                "actor_user_id": ID, "actor_key_id": null, "actor_email": "ada@example.com",
                "ip": "127.0.0.1", "target": "ada@example.com",
                "details": {"query": query}
            }],
            "next_cursor": ID
        }))
    }
    let app = axum::Router::new()
        .route("/v1/auth/register", post(register))
        .route("/v1/auth/verify-email", post(verify))
        .route("/v1/auth/password", post(change))
        .route("/v1/auth/password-reset", post(reset))
        .route("/v1/audit-log", get(audit));
    serve(app).await
}

#[tokio::test]
async fn register_is_accepted_with_a_message_and_sends_the_invitation() -> anyhow::Result<()> {
    let client = Client::anonymous(spawn_accounts_fake().await?)?;
    let accepted = client
        .register("ada@example.com", "pw words here", None, Some("cli_abc"))
        .await?;
    assert_eq!(accepted.email, "ada@example.com");
    let sent: Value = serde_json::from_str(&accepted.message)?;
    assert_eq!(sent["invitation_token"], "cli_abc", "{sent}");
    assert!(sent.get("tenant_name").is_none(), "{sent}");

    let own = client
        .register("bob@example.com", "pw words here", Some("Bob's"), None)
        .await?;
    let sent: Value = serde_json::from_str(&own.message)?;
    assert_eq!(sent["tenant_name"], "Bob's", "{sent}");
    assert!(sent.get("invitation_token").is_none(), "{sent}");
    Ok(())
}

#[tokio::test]
async fn verify_email_is_a_204_or_a_422_naming_the_token() -> anyhow::Result<()> {
    let client = Client::anonymous(spawn_accounts_fake().await?)?;
    client.verify_email("cev_good").await?;
    match client.verify_email("cev_bad").await {
        Err(Error::Api {
            status: 422,
            problem,
            ..
        }) => assert_eq!(problem.errors[0]["field"], "token"),
        other => anyhow::bail!("expected a 422, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn a_password_change_sends_both_passwords_with_the_access_token() -> anyhow::Result<()> {
    let base = spawn_accounts_fake().await?;
    let user = Client::new(&base, "eyJ-user")?;
    user.change_password("old secret words", "new secret words")
        .await?;
    let refused = user.change_password("wrong", "new secret words").await;
    assert!(
        matches!(refused, Err(Error::Api { status: 403, .. })),
        "{refused:?}"
    );
    let sent = Client::anonymous(&base)?
        .request_password_reset("ada@example.com")
        .await?;
    assert_eq!(sent.message, "sent to \"ada@example.com\"");
    Ok(())
}

#[tokio::test]
async fn the_audit_log_sends_its_filters_and_page_as_a_query() -> anyhow::Result<()> {
    let client = Client::new(spawn_accounts_fake().await?, "eyJ-admin")?;
    let filter = AuditFilter {
        action: Some("auth.".to_owned()),
        actor_user_id: Some(ID.parse()?),
        since: Some("2026-12-06T21:00:00+01:00".to_owned()),
        until: None,
    };
    let page = client.audit_log(&filter, Some(5), None).await?;
    assert_eq!(page.items[0].action, "auth.sign_in");
    assert_eq!(
        page.items[0].actor_email.as_deref(),
        Some("ada@example.com")
    );
    assert_eq!(page.next_cursor.map(|c| c.to_string()).as_deref(), Some(ID));
    let query = page.items[0].details["query"].as_str().unwrap_or_default();
    assert_eq!(
        query,
        format!("limit=5&action=auth.&actor_user_id={ID}&since=2026-12-06T21%3A00%3A00%2B01%3A00"),
        "an offset's + must reach the API encoded"
    );
    Ok(())
}
