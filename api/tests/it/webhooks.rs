//! Webhook endpoints, messages and attempts over HTTP: the secret shown
//! once and stored sealed, validation naming the field, rotation, roles,
//! and another tenant's endpoints, messages and attempts answering 404.

use crate::harness::{fields, problem, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use uuid::Uuid;

#[tokio::test]
async fn endpoints_are_created_listed_changed_rotated_and_deleted() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let owner = app.signup("owner@example.com").await?;
    let created = app
        .post_as(
            "/v1/webhooks/endpoints",
            Some(&owner.access),
            &json!({"url": "https://hooks.example.com/in", "event_types": ["job.failed", "job.failed"],
                    "description": "ops", "rate_limit_per_second": 5}),
        )
        .await?;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await?;
    let secret = created["secret"].as_str().unwrap_or_default().to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{secret}"
    );
    assert_eq!(created["event_types"], json!(["job.failed"]));
    let id = created["id"].as_str().unwrap_or_default().to_owned();

    // Stored sealed: the secret is nowhere in the row, nor in a listing.
    let sealed: Vec<u8> =
        sqlx::query_scalar("SELECT secret_sealed FROM webhook_endpoints WHERE id = $1")
            .bind(Uuid::parse_str(&id)?)
            .fetch_one(&app.db.pool)
            .await?;
    assert!(!sealed.windows(6).any(|w| w == b"whsec_"));
    let listed: Value = app
        .get_as("/v1/webhooks/endpoints", &owner.access)
        .await?
        .json()
        .await?;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
    assert!(!listed.to_string().contains(&secret));

    let patched: Value = app
        .http
        .patch(format!("{}/v1/webhooks/endpoints/{id}", app.base))
        .bearer_auth(&owner.access)
        .json(&json!({"enabled": false, "rate_limit_per_second": null, "event_types": []}))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(patched["enabled"], false);
    assert!(patched["rate_limit_per_second"].is_null());
    assert_eq!(patched["description"], "ops");

    let rotated = app
        .post_as(
            &format!("/v1/webhooks/endpoints/{id}/rotate"),
            Some(&owner.access),
            &json!({}),
        )
        .await?;
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await?;
    assert_ne!(rotated["secret"].as_str(), Some(secret.as_str()));
    let previous: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT previous_sealed FROM webhook_endpoints WHERE id = $1")
            .bind(Uuid::parse_str(&id)?)
            .fetch_one(&app.db.pool)
            .await?;
    assert_eq!(previous, Some(sealed), "the old secret keeps signing");

    let url = format!("{}/v1/webhooks/endpoints/{id}", app.base);
    let deleted = app
        .http
        .delete(&url)
        .bearer_auth(&owner.access)
        .send()
        .await?;
    assert_eq!(deleted.status(), 204);
    let (status, _) = problem(
        app.get_as(&format!("/v1/webhooks/endpoints/{id}"), &owner.access)
            .await?,
    )
    .await?;
    assert_eq!(status, 404);
    app.teardown().await
}

#[tokio::test]
async fn bad_endpoints_are_refused_naming_the_field() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let owner = app.signup("owner@example.com").await?;
    let long = format!("https://example.com/{}", "a".repeat(2048));
    // Issue 18: 2,019 bytes, 6,019 characters once percent-encoded (was a 500).
    let long_once_encoded = format!("https://example.com/{}", "é".repeat(1000));
    for (body, field) in [
        (json!({"url": "ftp://example.com/x"}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"url": long}), "url"),
        (json!({"url": long_once_encoded}), "url"),
        (
            json!({"url": "https://example.com/", "description": "a\u{0}b"}),
            "description",
        ),
        (json!({"url": "https://u:p@example.com/"}), "url"),
        // Issue 18: literal private or reserved addresses, refused when saved.
        (json!({"url": "http://127.0.0.1:8080/hook"}), "url"),
        (
            json!({"url": "http://169.254.169.254/latest/meta-data"}),
            "url",
        ),
        (json!({"url": "http://[::1]/"}), "url"),
        (json!({"url": "http://[64:ff9b::a9fe:a9fe]/"}), "url"),
        (json!({"url": "http://198.18.0.1:8080/"}), "url"),
        (
            json!({"url": "https://example.com/", "event_types": ["job.exploded"]}),
            "event_types",
        ),
        (
            json!({"url": "https://example.com/", "rate_limit_per_second": 0}),
            "rate_limit_per_second",
        ),
    ] {
        let (status, problem) = problem(
            app.post_as("/v1/webhooks/endpoints", Some(&owner.access), &body)
                .await?,
        )
        .await?;
        assert_eq!(status, 422, "{body}");
        assert_eq!(fields(&problem), vec![field.to_owned()], "{body}");
    }
    // A member may not manage endpoints.
    let (status, _) = problem(
        app.post_as(
            "/v1/webhooks/endpoints",
            Some(&app.key),
            &json!({"url": "https://example.com/"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, 403);
    app.teardown().await
}

#[tokio::test]
async fn another_tenants_endpoints_messages_and_attempts_are_not_found() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let a = app.signup("a@example.com").await?;
    let b = app.signup("b@example.com").await?;
    let created: Value = app
        .post_as(
            "/v1/webhooks/endpoints",
            Some(&a.access),
            &json!({"url": "https://example.com/a"}),
        )
        .await?
        .json()
        .await?;
    let endpoint = created["id"].as_str().unwrap_or_default().to_owned();
    let tenant_a: Uuid =
        sqlx::query_scalar("SELECT tenant_id FROM webhook_endpoints WHERE id = $1")
            .bind(Uuid::parse_str(&endpoint)?)
            .fetch_one(&app.db.pool)
            .await?;
    let message = Uuid::now_v7();
    sqlx::query("INSERT INTO webhook_messages (id, tenant_id, event_type, payload) VALUES ($1, $2, 'job.succeeded', '{}')")
        .bind(message)
        .bind(tenant_a)
        .execute(&app.db.pool)
        .await?;

    // Tenant A sees its own.
    let messages: Value = app
        .get_as("/v1/webhooks/messages", &a.access)
        .await?
        .json()
        .await?;
    assert_eq!(messages["items"][0]["id"], message.to_string());
    let attempts = app
        .get_as(
            &format!("/v1/webhooks/messages/{message}/attempts"),
            &a.access,
        )
        .await?;
    assert_eq!(attempts.status(), 200);
    let replay = app
        .post_as(
            &format!("/v1/webhooks/messages/{message}/replay"),
            Some(&a.access),
            &json!({}),
        )
        .await?;
    assert_eq!(replay.status(), 202);
    let replayed: Value = replay.json().await?;
    assert_eq!(replayed["deliveries"], 1);

    let ping = app
        .post_as(
            &format!("/v1/webhooks/endpoints/{endpoint}/test"),
            Some(&a.access),
            &json!({}),
        )
        .await?;
    assert_eq!(ping.status(), 202);
    let failed: u64 = sqlx::query("UPDATE webhook_deliveries SET status = 'failed'")
        .execute(&app.db.pool)
        .await?
        .rows_affected();
    assert_eq!(failed, 2, "the replay's delivery and the ping's");
    let recovered: Value = app
        .post_as(
            &format!("/v1/webhooks/endpoints/{endpoint}/recover"),
            Some(&a.access),
            &json!({"since": "2020-01-01T00:00:00Z"}),
        )
        .await?
        .json()
        .await?;
    assert_eq!(recovered["deliveries"], 2);

    // Tenant B sees none of it.
    for path in [
        format!("/v1/webhooks/endpoints/{endpoint}"),
        format!("/v1/webhooks/messages/{message}/attempts"),
    ] {
        let (status, _) = problem(app.get_as(&path, &b.access).await?).await?;
        assert_eq!(status, 404, "{path}");
    }
    for path in [
        format!("/v1/webhooks/endpoints/{endpoint}/rotate"),
        format!("/v1/webhooks/messages/{message}/replay"),
        format!("/v1/webhooks/endpoints/{endpoint}/test"),
    ] {
        let (status, _) = problem(app.post_as(&path, Some(&b.access), &json!({})).await?).await?;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = problem(
        app.post_as(
            &format!("/v1/webhooks/endpoints/{endpoint}/recover"),
            Some(&b.access),
            &json!({"since": "2020-01-01T00:00:00Z"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, 404);
    let url = format!("{}/v1/webhooks/endpoints/{endpoint}", app.base);
    let (status, _) = problem(
        app.http
            .patch(&url)
            .bearer_auth(&b.access)
            .json(&json!({"enabled": false}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, 404);
    let (status, _) = problem(app.http.delete(&url).bearer_auth(&b.access).send().await?).await?;
    assert_eq!(status, 404);
    let listed: Value = app
        .get_as("/v1/webhooks/messages", &b.access)
        .await?
        .json()
        .await?;
    assert_eq!(listed["items"], json!([]));
    let listed: Value = app
        .get_as("/v1/webhooks/endpoints", &b.access)
        .await?
        .json()
        .await?;
    assert_eq!(listed["items"], json!([]));
    app.teardown().await
}

#[tokio::test]
async fn failed_deliveries_since_a_time_are_replayed_across_endpoints() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let a = app.signup("a@example.com").await?;
    let b = app.signup("b@example.com").await?;
    let mut endpoints = Vec::new();
    for url in ["https://example.com/1", "https://example.com/2"] {
        let created: Value = app
            .post_as(
                "/v1/webhooks/endpoints",
                Some(&a.access),
                &json!({"url": url}),
            )
            .await?
            .json()
            .await?;
        endpoints.push(Uuid::parse_str(created["id"].as_str().unwrap_or_default())?);
    }
    let tenant_a: Uuid =
        sqlx::query_scalar("SELECT tenant_id FROM webhook_endpoints WHERE id = $1")
            .bind(endpoints[0])
            .fetch_one(&app.db.pool)
            .await?;
    // Three messages to both endpoints: one delivered, the rest failed; the
    // failed deliveries of the first message are from two days ago.
    for n in 0..3 {
        let message = Uuid::now_v7();
        sqlx::query("INSERT INTO webhook_messages (id, tenant_id, event_type, payload, fanned_out_at) VALUES ($1, $2, 'job.succeeded', '{}', now())")
            .bind(message)
            .bind(tenant_a)
            .execute(&app.db.pool)
            .await?;
        for endpoint in &endpoints {
            sqlx::query("INSERT INTO webhook_deliveries (tenant_id, message_id, endpoint_id, status, attempts, created_at) VALUES ($1, $2, $3, $4, 8, now() - make_interval(days => $5))")
                .bind(tenant_a)
                .bind(message)
                .bind(endpoint)
                .bind(if n == 2 && *endpoint == endpoints[1] { "succeeded" } else { "failed" })
                .bind(if n == 0 { 2 } else { 0 })
                .execute(&app.db.pool)
                .await?;
        }
    }
    let since = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let replay = |token: String, body: Value| {
        let app = &app;
        async move {
            app.post_as("/v1/webhooks/messages/replay-failed", Some(&token), &body)
                .await
        }
    };

    // Tenant B replays nothing of A's, and A's endpoint is not found for B.
    let none: Value = replay(b.access.clone(), json!({"since": since}))
        .await?
        .json()
        .await?;
    assert_eq!(none["deliveries"], 0);
    let (status, _) = problem(
        replay(
            b.access.clone(),
            json!({"since": since, "endpoint_id": endpoints[0]}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, 404);
    let (status, body) =
        problem(replay(a.access.clone(), json!({"since": "yesterday"})).await?).await?;
    assert_eq!(status, 422);
    assert!(fields(&body).contains(&"since".to_owned()), "{body}");

    // One endpoint, then all: failed and recent only.
    let one: Value = replay(
        a.access.clone(),
        json!({"since": since, "endpoint_id": endpoints[0]}),
    )
    .await?
    .json()
    .await?;
    assert_eq!(one["deliveries"], 2);
    let all = replay(a.access.clone(), json!({"since": since})).await?;
    assert_eq!(all.status(), 202);
    let all: Value = all.json().await?;
    assert_eq!(
        all["deliveries"], 1,
        "the second endpoint's one failed recent delivery"
    );
    let states: Vec<(String, i32)> = sqlx::query_as(
        "SELECT status, attempts FROM webhook_deliveries ORDER BY created_at, status",
    )
    .fetch_all(&app.db.pool)
    .await?;
    let pending = states
        .iter()
        .filter(|(s, n)| s == "pending" && *n == 0)
        .count();
    assert_eq!(pending, 3, "{states:?}");
    assert_eq!(
        states.iter().filter(|(s, _)| s == "failed").count(),
        2,
        "the old ones stay failed"
    );
    app.teardown().await
}

/// Issue 18: a PATCH to a literal private address is refused like a POST,
/// and the operator's `webhooks.allow_private` admits what it lists.
#[tokio::test]
async fn private_literal_addresses_are_refused_unless_allow_listed() -> anyhow::Result<()> {
    let app =
        spawn_app_with(&[("CATALYTIC_WEBHOOKS__ALLOW_PRIVATE", r#"["127.0.0.1/32"]"#)]).await?;
    let owner = app.signup("private@example.com").await?;
    let listed = app
        .post_as(
            "/v1/webhooks/endpoints",
            Some(&owner.access),
            &json!({"url": "http://127.0.0.1:9/hook"}),
        )
        .await?;
    assert_eq!(listed.status(), 201, "allow-listed loopback");
    let created: Value = listed.json().await?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let response = app
        .http
        .patch(format!("{}/v1/webhooks/endpoints/{id}", app.base))
        .bearer_auth(&owner.access)
        .json(&json!({"url": "http://10.0.0.7/hook"}))
        .send()
        .await?;
    let (status, problem) = problem(response).await?;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(fields(&problem), vec!["url".to_owned()]);
    assert!(problem.to_string().contains("10.0.0.7"), "{problem}");
    app.teardown().await
}
