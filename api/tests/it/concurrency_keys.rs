//! Stored concurrency limits through the API (issue 21): PUT stores (201)
//! or changes (200) a key's limit, GET reads it with the key's waiting and
//! active jobs, the list pages in key order, DELETE removes it; each write
//! is in the audit log and wakes the scheduler's release (a `job_slots`
//! notification naming the key's oldest waiting job). Every bad field is
//! named; another tenant's key is 404; a tenant stores at most 1,000.

use crate::harness::{TestApp, call, fields, problem, spawn_app};
use catalytic_shared::tenant::Plan;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

async fn put(app: &TestApp, key: &str, path: &str, max: Value) -> anyhow::Result<(u16, Value)> {
    let body = json!({ "max_concurrency": max });
    call(app, key, Method::PUT, path, Some(&body)).await
}

/// A keyed job of the default tenant: it stays `waiting` (no scheduler
/// runs here to release it).
async fn keyed_job(app: &TestApp, concurrency_key: &str) -> anyhow::Result<String> {
    let response = app
        .submit(
            &json!({"lattice": {"dimensions": 1, "size": 4}, "operation": "shortest_path",
                        "params": {"start": [0], "end": [3]},
                        "concurrency_key": concurrency_key, "max_concurrency": 5}),
        )
        .await?;
    anyhow::ensure!(response.status() == 202, "submit: {}", response.status());
    let accepted: Value = response.json().await?;
    anyhow::ensure!(accepted["status"] == "waiting", "{accepted}");
    Ok(accepted["id"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_limit_is_stored_read_changed_listed_and_deleted() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let path = "/v1/concurrency-keys/nightly%2Fexport";
    let (status, stored) = put(&app, &app.key, path, json!(2)).await?;
    assert_eq!(status, 201, "{stored}");
    assert_eq!(
        (
            &stored["key"],
            &stored["max_concurrency"],
            &stored["waiting_jobs"],
            &stored["active_jobs"]
        ),
        (&json!("nightly/export"), &json!(2), &json!(0), &json!(0)),
        "the key decoded from the path: {stored}"
    );

    keyed_job(&app, "nightly/export").await?;
    keyed_job(&app, "nightly/export").await?;
    keyed_job(&app, "other").await?;
    let (status, changed) = put(&app, &app.key, path, json!(3)).await?;
    assert_eq!(status, 200, "a change: {changed}");
    assert_eq!(changed["max_concurrency"], 3);
    assert_eq!(changed["created_at"], stored["created_at"]);
    let (status, got) = call(&app, &app.key, Method::GET, path, None).await?;
    assert_eq!(status, 200);
    assert_eq!(
        (
            &got["max_concurrency"],
            &got["waiting_jobs"],
            &got["active_jobs"]
        ),
        (&json!(3), &json!(2), &json!(0)),
        "this key's jobs only: {got}"
    );

    // Pages in key order; the cursor is the last key.
    for key in ["b", "a"] {
        let (status, _) = put(
            &app,
            &app.key,
            &format!("/v1/concurrency-keys/{key}"),
            json!(1),
        )
        .await?;
        assert_eq!(status, 201);
    }
    let (status, first) = call(
        &app,
        &app.key,
        Method::GET,
        "/v1/concurrency-keys?limit=2",
        None,
    )
    .await?;
    assert_eq!(status, 200, "{first}");
    let keys = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["key"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(keys(&first), ["a", "b"]);
    assert_eq!(first["next_cursor"], "b");
    let (_, second) = call(
        &app,
        &app.key,
        Method::GET,
        "/v1/concurrency-keys?limit=2&cursor=b",
        None,
    )
    .await?;
    assert_eq!(keys(&second), ["nightly/export"]);
    assert_eq!(second["items"][0]["waiting_jobs"], 2);
    assert!(second["next_cursor"].is_null(), "{second}");

    let (status, _) = call(&app, &app.key, Method::DELETE, path, None).await?;
    assert_eq!(status, 204);
    let (status, gone) = call(&app, &app.key, Method::GET, path, None).await?;
    assert_eq!(status, 404, "{gone}");
    let (status, _) = call(&app, &app.key, Method::DELETE, path, None).await?;
    assert_eq!(status, 404, "deleted once");

    // Each write is in the audit log, the key as its target.
    let actions: Vec<(String, Option<String>, Value)> = sqlx::query_as(
        "SELECT action, target, details FROM audit_events
         WHERE action LIKE 'concurrency_key.%' AND target = 'nightly/export' ORDER BY id",
    )
    .fetch_all(&app.db.pool)
    .await?;
    let names: Vec<&str> = actions.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(
        names,
        [
            "concurrency_key.limit_set",
            "concurrency_key.limit_set",
            "concurrency_key.limit_deleted"
        ]
    );
    assert_eq!(actions[1].2, json!({"max_concurrency": 3, "previous": 2}));
    app.teardown().await
}

#[tokio::test]
async fn bad_fields_are_named_and_another_tenants_key_is_not_found() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let long = format!("/v1/concurrency-keys/{}", "k".repeat(256));
    for (path, max, field) in [
        ("/v1/concurrency-keys/k", json!(0), "max_concurrency"),
        ("/v1/concurrency-keys/k", json!(1001), "max_concurrency"),
        (
            "/v1/concurrency-keys/k",
            json!(1_000_000_000_000_i64),
            "max_concurrency",
        ),
        ("/v1/concurrency-keys/k", json!(2.5), "max_concurrency"),
        ("/v1/concurrency-keys/k", json!("two"), "max_concurrency"),
        (long.as_str(), json!(1), "key"),
        ("/v1/concurrency-keys/tab%09key", json!(1), "key"),
        ("/v1/concurrency-keys/%FF", json!(1), "key"),
    ] {
        let body = json!({ "max_concurrency": max });
        let response = app
            .http
            .put(format!("{}{path}", app.base))
            .bearer_auth(&app.key)
            .json(&body)
            .send()
            .await?;
        let (status, problem) = problem(response).await?;
        assert_eq!(status, 422, "{path} {max}: {problem}");
        assert_eq!(fields(&problem), [field], "{path} {max}: {problem}");
    }
    let (status, refused) = call(
        &app,
        &app.key,
        Method::PUT,
        "/v1/concurrency-keys/k",
        Some(&json!({"max_concurrency": 1, "max": 2})),
    )
    .await?;
    assert_eq!((status, fields(&refused)), (422, vec!["max".to_owned()]));
    let (status, refused) = call(
        &app,
        &app.key,
        Method::GET,
        "/v1/concurrency-keys?cursor=%00",
        None,
    )
    .await?;
    assert_eq!((status, fields(&refused)), (422, vec!["cursor".to_owned()]));
    // 255 characters is a key; so is anything printable.
    let most = "é".repeat(255);
    let encoded: String = most.bytes().map(|b| format!("%{b:02X}")).collect();
    let (status, body) = put(
        &app,
        &app.key,
        &format!("/v1/concurrency-keys/{encoded}"),
        json!(1),
    )
    .await?;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["key"], json!(most));

    let (status, body) = call(
        &app,
        &app.key,
        Method::GET,
        "/v1/concurrency-keys/nope",
        None,
    )
    .await?;
    assert_eq!(status, 404, "{body}");
    let (status, _) = put(&app, &app.key, "/v1/concurrency-keys/mine", json!(4)).await?;
    assert_eq!(status, 201);
    let other = app.new_tenant_key(Plan::Starter).await?;
    for method in [Method::GET, Method::DELETE] {
        let (status, body) = call(
            &app,
            &other,
            method.clone(),
            "/v1/concurrency-keys/mine",
            None,
        )
        .await?;
        assert_eq!(status, 404, "{method} of another tenant's key: {body}");
    }
    let (_, listed) = call(&app, &other, Method::GET, "/v1/concurrency-keys", None).await?;
    assert_eq!(listed["items"], json!([]), "{listed}");
    // The other tenant's own limit of the same key is its own.
    let (status, theirs) = put(&app, &other, "/v1/concurrency-keys/mine", json!(9)).await?;
    assert_eq!((status, &theirs["max_concurrency"]), (201, &json!(9)));
    let (_, mine) = call(
        &app,
        &app.key,
        Method::GET,
        "/v1/concurrency-keys/mine",
        None,
    )
    .await?;
    assert_eq!(mine["max_concurrency"], 4);

    // Viewers read, and may not write.
    let owner = app.signup("ada@example.com").await?;
    let (_, viewer) = app.join(&owner.access, "vic@example.com", "viewer").await?;
    let (status, _) = put(&app, &viewer.access, "/v1/concurrency-keys/k", json!(1)).await?;
    assert_eq!(status, 403);
    let (status, _) = call(
        &app,
        &viewer.access,
        Method::GET,
        "/v1/concurrency-keys",
        None,
    )
    .await?;
    assert_eq!(status, 200);
    let (status, _) = call(
        &app,
        &viewer.access,
        Method::DELETE,
        "/v1/concurrency-keys/k",
        None,
    )
    .await?;
    assert_eq!(status, 403);
    app.teardown().await
}

#[tokio::test]
async fn a_tenant_stores_at_most_a_thousand_limits() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let (status, _) = put(&app, &app.key, "/v1/concurrency-keys/first", json!(1)).await?;
    assert_eq!(status, 201);
    sqlx::query(
        "INSERT INTO concurrency_key_limits (tenant_id, concurrency_key, max_concurrency)
         SELECT tenant_id, 'k' || g, 1 FROM concurrency_key_limits, generate_series(1, 999) g
         WHERE concurrency_key = 'first'",
    )
    .execute(&app.db.pool)
    .await?;
    let response = app
        .http
        .put(format!("{}/v1/concurrency-keys/one-more", app.base))
        .bearer_auth(&app.key)
        .json(&json!({"max_concurrency": 1}))
        .send()
        .await?;
    let (status, refused) = problem(response).await?;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("1000"),
        "{refused}"
    );
    let (status, _) = put(&app, &app.key, "/v1/concurrency-keys/first", json!(7)).await?;
    assert_eq!(status, 200, "a stored key still changes at the cap");
    let (status, _) = call(
        &app,
        &app.key,
        Method::DELETE,
        "/v1/concurrency-keys/k1",
        None,
    )
    .await?;
    assert_eq!(status, 204);
    let (status, _) = put(&app, &app.key, "/v1/concurrency-keys/one-more", json!(1)).await?;
    assert_eq!(status, 201, "room again");
    app.teardown().await
}

#[tokio::test]
async fn a_change_wakes_the_release_naming_the_oldest_waiting_job() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let oldest = keyed_job(&app, "exports").await?;
    keyed_job(&app, "exports").await?;
    // Listening from here: the submits' own notifications are behind us.
    let mut listener = sqlx::postgres::PgListener::connect(&app.db.url).await?;
    listener.listen("job_slots").await?;
    let path = "/v1/concurrency-keys/exports";
    let (status, _) = put(&app, &app.key, path, json!(2)).await?;
    assert_eq!(status, 201);
    let heard = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await??;
    assert_eq!(heard.payload(), oldest, "the key's oldest waiting job");

    let (status, _) = call(&app, &app.key, Method::DELETE, path, None).await?;
    assert_eq!(status, 204);
    let heard = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await??;
    assert_eq!(heard.payload(), oldest, "a delete wakes it too");
    app.teardown().await
}
