//! API keys (scope, expiry, last use, revocation), plan changes, and the
//! operator-only admin endpoints.

use crate::harness::{problem, spawn_app};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn job() -> Value {
    json!({"lattice": {"dimensions": 1, "size": 4}, "operation": "shortest_path", "params": {"start": [0], "end": [3]}})
}

async fn make_key(
    app: &crate::harness::TestApp,
    token: &str,
    scope: &str,
) -> anyhow::Result<reqwest::Response> {
    app.post_as(
        "/v1/api-keys",
        Some(token),
        &json!({"name": scope, "scope": scope, "expires_in_days": 30}),
    )
    .await
}

/// The listing pages like every other list (issue 18: it was a bare array
/// that ignored `limit`).
#[tokio::test]
async fn keys_are_listed_in_cursor_pages() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let owner = app.signup("pages@example.com").await?;
    let mut made = Vec::new();
    for scope in ["read", "write", "read"] {
        let key: Value = make_key(&app, &owner.access, scope).await?.json().await?;
        made.push(key["id"].clone());
    }
    let first: Value = app
        .get_as("/v1/api-keys?limit=2", &owner.access)
        .await?
        .json()
        .await?;
    assert_eq!(first["items"].as_array().map(Vec::len), Some(2), "{first}");
    assert_eq!(first["items"][0]["id"], made[2], "newest first");
    assert_eq!(first["items"][1]["id"], made[1]);
    let cursor = first["next_cursor"].as_str().unwrap_or_default().to_owned();
    let second: Value = app
        .get_as(
            &format!("/v1/api-keys?limit=2&cursor={cursor}"),
            &owner.access,
        )
        .await?
        .json()
        .await?;
    assert_eq!(
        second["items"].as_array().map(Vec::len),
        Some(1),
        "{second}"
    );
    assert_eq!(second["items"][0]["id"], made[0]);
    assert!(second["next_cursor"].is_null());
    let (status, body) = problem(app.get_as("/v1/api-keys?limit=0", &owner.access).await?).await?;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("limit"), "{body}");
    app.teardown().await
}

#[tokio::test]
async fn keys_have_scopes_expiry_last_use_and_revocation() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let owner = app.signup("owner@example.com").await?;
    let read: Value = make_key(&app, &owner.access, "read").await?.json().await?;
    let write_response = make_key(&app, &owner.access, "write").await?;
    assert_eq!(write_response.status(), 201);
    let write: Value = write_response.json().await?;
    let read_key = read["key"].as_str().unwrap_or_default().to_owned();
    let write_key = write["key"].as_str().unwrap_or_default().to_owned();
    assert!(write_key.starts_with(write["prefix"].as_str().unwrap_or("?")));

    // A read key reads but cannot write; a write key submits.
    let (status, _) = problem(app.submit_as(&read_key, &job()).await?).await?;
    assert_eq!(status, 403);
    assert_eq!(app.get_as("/v1/lattices", &read_key).await?.status(), 200);
    assert_eq!(app.submit_as(&write_key, &job()).await?.status(), 202);

    // A key cannot mint keys, whatever its scope.
    let (status, _) = problem(
        app.post_as("/v1/api-keys", Some(&write_key), &json!({"name": "x"}))
            .await?,
    )
    .await?;
    assert_eq!(status, 403);

    // The listing never shows a secret, and records the last use.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let listed: Value = app
            .get_as("/v1/api-keys", &owner.access)
            .await?
            .json()
            .await?;
        assert!(
            !listed.to_string().contains(&write_key),
            "a secret leaked into the listing"
        );
        let used = listed["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|k| k["id"] == write["id"])
            .map(|k| !k["last_used_at"].is_null());
        if used == Some(true) {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "last_used_at never set: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Revoked: refused at once.
    let id = write["id"].as_str().unwrap_or_default();
    let revoked = app
        .http
        .delete(format!("{}/v1/api-keys/{id}", app.base))
        .bearer_auth(&owner.access)
        .send()
        .await?;
    assert_eq!(revoked.status(), 204);
    let (status, _) = problem(app.submit_as(&write_key, &job()).await?).await?;
    assert_eq!(status, 401);

    // Expired: refused too. The change is made behind the api's back, so
    // its cache of credentials hears of it by notification, a moment after
    // the commit (within 1 s is the promise, docs/architecture.md): poll.
    sqlx::query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(read["id"].as_str().unwrap_or_default())
        .execute(&app.db.pool)
        .await?;
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let response = app.get_as("/v1/lattices", &read_key).await?;
        if response.status() == 401 {
            let (status, _) = problem(response).await?;
            assert_eq!(status, 401);
            break;
        }
        assert_eq!(response.status(), 200, "still the key's answer until then");
        anyhow::ensure!(
            Instant::now() < deadline,
            "an expired key was still taken after 2 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (status, body) = problem(
        app.post_as(
            "/v1/api-keys",
            Some(&owner.access),
            &json!({"name": "x", "scope": "admin"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(
        (status, body["errors"][0]["field"].clone()),
        (422, json!("scope"))
    );
    app.teardown().await
}

#[tokio::test]
async fn another_tenants_key_cannot_be_revoked() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let a = app.signup("a@example.com").await?;
    let b = app.signup("b@example.com").await?;
    let key: Value = app
        .post_as("/v1/api-keys", Some(&a.access), &json!({"name": "a's"}))
        .await?
        .json()
        .await?;
    let id = key["id"].as_str().unwrap_or_default();
    let response = app
        .http
        .delete(format!("{}/v1/api-keys/{id}", app.base))
        .bearer_auth(&b.access)
        .send()
        .await?;
    let (status, _) = problem(response).await?;
    assert_eq!(status, 404);
    let listed: Value = app.get_as("/v1/api-keys", &b.access).await?.json().await?;
    assert_eq!(listed, json!({"items": [], "next_cursor": null}));
    app.teardown().await
}

#[tokio::test]
async fn only_an_owner_changes_the_plan_and_the_new_limits_apply() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let owner = app.signup("boss@example.com").await?;
    let put = |token: &str, plan: &str| {
        app.http
            .put(format!("{}/v1/tenant/plan", app.base))
            .bearer_auth(token)
            .json(&json!({"plan": plan}))
            .send()
    };
    // A key acts as a member: not allowed.
    let key = app.api_key_named(&owner.access, "k").await?;
    let (status, _) = problem(put(&key, "starter").await?).await?;
    assert_eq!(status, 403);
    let (status, body) = problem(put(&owner.access, "gold").await?).await?;
    assert_eq!(
        (status, body["errors"][0]["field"].clone()),
        (422, json!("plan"))
    );

    // Up is not the owner's call (tests/it/checkout.rs): an operator's.
    let (status, _) = problem(put(&owner.access, "starter").await?).await?;
    assert_eq!(status, 402);
    let me: Value = app.get_as("/v1/me", &owner.access).await?.json().await?;
    let operator = catalytic_api::bootstrap::create_operator_key(&app.settings, "ops").await?;
    app.http
        .put(format!(
            "{}/v1/admin/tenants/{}/plan",
            app.base,
            me["tenant"]["id"].as_str().unwrap_or_default()
        ))
        .bearer_auth(operator.expose())
        .json(&json!({"plan": "starter"}))
        .send()
        .await?
        .error_for_status()?;

    // 101^3 vertices: over free's cap, within starter's.
    let big = json!({"lattice": {"dimensions": 3, "size": 101}, "operation": "components"});
    assert_eq!(app.submit_as(&key, &big).await?.status(), 202);
    let changed: Value = put(&owner.access, "free").await?.json().await?;
    assert_eq!(changed, json!({"previous": "starter", "plan": "free"}));
    assert_eq!(app.submit_as(&key, &big).await?.status(), 422);
    app.teardown().await
}

#[tokio::test]
async fn admin_endpoints_take_operator_keys_only() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let operator = catalytic_api::bootstrap::create_operator_key(&app.settings, "ops").await?;
    let operator = operator.expose().clone();
    catalytic_shared::db::workers::register(
        &app.db.pool,
        catalytic_shared::ids::WorkerId::new(),
        "host-1",
        &catalytic_shared::db::workers::DeviceRecord {
            kind: "cuda",
            name: Some("NVIDIA H100 80GB HBM3".to_owned()),
            memory_bytes: Some(85_017_493_504),
        },
        2,
    )
    .await?;
    let workers: Value = app
        .get_as("/v1/admin/workers", &operator)
        .await?
        .json()
        .await?;
    assert_eq!(workers.as_array().map(Vec::len), Some(1), "{workers}");
    assert_eq!(workers[0]["host"], "host-1");
    // Device status (issue 9): the card's name and memory.
    assert_eq!(workers[0]["device"], "cuda");
    assert_eq!(workers[0]["device_name"], "NVIDIA H100 80GB HBM3");
    assert_eq!(workers[0]["device_memory_bytes"], 85_017_493_504u64);
    for credential in [app.key.as_str(), "clo_nope"] {
        let (status, _) = problem(app.get_as("/v1/admin/workers", credential).await?).await?;
        assert_eq!(status, 401, "{credential}");
    }
    let (status, _) = problem(app.get_as("/v1/lattices", &operator).await?).await?;
    assert_eq!(status, 401, "an operator key is no tenant key");
    app.teardown().await
}
