//! Stored concurrency limits: the key reaches the API whole in the path
//! (percent-encoded: a slash, a space, dots), PUT's 201 and 200 are both
//! success, the list's cursor is a key, and a 404 is a refusal.

use axum::Json;
use axum::extract::{OriginalUri, Path, RawQuery};
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use catalytic_client::Client;
use serde_json::{Value, json};

/// Answers every call with what it received: the method, the raw path and
/// the key axum decoded from it. `new…` keys are stored (201), `missing`
/// is not found.
async fn one(
    method: Method,
    OriginalUri(uri): OriginalUri,
    Path(key): Path<String>,
    body: Option<Json<Value>>,
) -> impl IntoResponse {
    if key == "missing" {
        let problem =
            json!({"title": "Not Found", "status": 404, "detail": "no such concurrency key limit"});
        return (StatusCode::NOT_FOUND, Json(problem));
    }
    let status = match method {
        Method::DELETE => return (StatusCode::NO_CONTENT, Json(Value::Null)),
        Method::PUT if key.starts_with("new") => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    let max = body.map_or(json!(2), |Json(b)| b["max_concurrency"].clone());
    (
        status,
        Json(
            json!({"key": key, "max_concurrency": max, "waiting_jobs": 3, "active_jobs": 1,
                    "raw_path": uri.path(), "method": method.as_str()}),
        ),
    )
}

async fn list(RawQuery(query): RawQuery) -> Json<Value> {
    Json(json!({
        "items": [{"key": "a", "max_concurrency": 1, "waiting_jobs": 0, "active_jobs": 0,
                   "query": query}],
        "next_cursor": "a"
    }))
}

async fn spawn_fake() -> anyhow::Result<String> {
    let app = axum::Router::new()
        .route("/v1/concurrency-keys", get(list))
        .route("/v1/concurrency-keys/{key}", get(one).put(one).delete(one));
    crate::serve(app).await
}

#[tokio::test]
async fn a_key_reaches_the_api_whole_and_each_call_maps_its_answer() -> anyhow::Result<()> {
    let client = Client::new(spawn_fake().await?, "clc_test")?;
    let key = "nightly/export v2..";
    let set = client.set_concurrency_key(key, 3).await?;
    assert_eq!((set.key.as_str(), set.max_concurrency), (key, 3));
    assert_eq!(
        set.extra["raw_path"], "/v1/concurrency-keys/nightly%2Fexport%20v2%2E%2E",
        "one path segment, never a dot segment"
    );
    assert_eq!(set.extra["method"], "PUT");
    let created = client.set_concurrency_key("new-key", 5).await?;
    assert_eq!(created.max_concurrency, 5, "201 is a success too");

    let got = client.get_concurrency_key("ünïcode").await?;
    assert_eq!(
        (got.key.as_str(), got.waiting_jobs, got.active_jobs),
        ("ünïcode", 3, 1)
    );
    let missing = client.get_concurrency_key("missing").await;
    assert_eq!(missing.err().and_then(|e| e.status()), Some(404));

    let page = client.list_concurrency_keys(Some(10), Some("a b")).await?;
    assert_eq!(page.next_cursor.as_deref(), Some("a"));
    assert_eq!(page.items[0].extra["query"], "limit=10&cursor=a+b");

    client.delete_concurrency_key(key).await?;
    Ok(())
}
