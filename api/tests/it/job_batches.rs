//! Bulk submit (`POST /v1/jobs/batch`, issue 17): per-item validation named
//! `jobs[i].…`, partial acceptance, the 1,000-job cap, the whole-body
//! `Idempotency-Key`, quotas and rate in order, tenant isolation.

use crate::harness::{TestApp, fields, problem, spawn_app};
use catalytic_api::bootstrap;
use catalytic_shared::tenant::Plan;
use serde_json::{Value, json};

fn job(end: i64) -> Value {
    json!({"lattice": {"dimensions": 1, "size": 8}, "operation": "shortest_path",
           "params": {"start": [0], "end": [end]}})
}

pub async fn bulk(
    app: &TestApp,
    key: &str,
    body: &Value,
    idempotency: Option<&str>,
) -> anyhow::Result<reqwest::Response> {
    let mut request = app
        .http
        .post(format!("{}/v1/jobs/batch", app.base))
        .bearer_auth(key)
        .json(body);
    if let Some(k) = idempotency {
        request = request.header("Idempotency-Key", k);
    }
    Ok(request.send().await?)
}

pub async fn jobs_of(app: &TestApp) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&app.db.pool)
        .await?)
}

#[tokio::test]
async fn valid_items_are_accepted_and_invalid_ones_named_in_their_slot() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let body = json!({"jobs": [
        job(7),
        {"lattice": {"dimensions": 2, "size": 4}, "operation": "shortest_path",
         "params": {"start": [0, 0], "end": [3, 9]}},
        job(1),
        {"lattice": {"dimensions": 1, "size": 8}, "operation": "fly"},
        "not a job",
    ]});
    let response = bulk(&app, &app.key, &body, None).await?;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await?;
    assert_eq!(
        (answer["accepted"].clone(), answer["refused"].clone()),
        (json!(2), json!(3))
    );
    let results = answer["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), 5);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["index"], i);
    }
    for i in [0, 2] {
        assert_eq!(results[i]["status"], "queued");
        let id = results[i]["id"].as_str().unwrap_or_default();
        assert_eq!(results[i]["location"], format!("/v1/jobs/{id}"));
        let fetched = app.get_job_as(&app.key, id).await?;
        assert_eq!(fetched.status(), 200);
    }
    assert_eq!(results[1]["error"]["status"], 422);
    assert_eq!(fields(&results[1]["error"]), vec!["jobs[1].params.end[1]"]);
    assert_eq!(fields(&results[3]["error"]), vec!["jobs[3].operation"]);
    assert_eq!(fields(&results[4]["error"]), vec!["jobs[4]"]);
    assert_eq!(jobs_of(&app).await?, 2);

    // Another tenant sees none of them.
    let other = app.new_tenant_key(Plan::Free).await?;
    let id = results[0]["id"].as_str().unwrap_or_default();
    assert_eq!(app.get_job_as(&other, id).await?.status(), 404);
    app.teardown().await
}

#[tokio::test]
async fn the_body_must_hold_one_to_1000_jobs() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let enterprise = bootstrap::run(&app.settings, "big", Plan::Enterprise)
        .await?
        .api_key
        .expose()
        .clone();
    let jobs: Vec<Value> = (0..1001).map(|i| job(i % 8)).collect();
    for body in [
        json!({"jobs": jobs}),
        json!({"jobs": []}),
        json!({}),
        json!({"jobs": [job(1)], "x": 1}),
    ] {
        let (status, p) = problem(bulk(&app, &enterprise, &body, None).await?).await?;
        assert_eq!(status, 422, "{p}");
        let named = fields(&p);
        assert!(named == ["jobs"] || named == ["x"], "{named:?}");
    }
    // 1,000 pass, in one request (each counts against the tenant's rate).
    let jobs: Vec<Value> = (0..1000).map(|i| job(i % 8)).collect();
    let response = bulk(&app, &enterprise, &json!({"jobs": jobs}), None).await?;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await?;
    assert_eq!(answer["accepted"], 1000);
    assert_eq!(jobs_of(&app).await?, 1000);
    // The free plan's 60 requests a minute: 61 jobs can never fit.
    let jobs: Vec<Value> = (0..61).map(|i| job(i % 8)).collect();
    let (status, p) = problem(bulk(&app, &app.key, &json!({"jobs": jobs}), None).await?).await?;
    assert_eq!(status, 422, "{p}");
    assert_eq!(fields(&p), vec!["jobs"]);
    app.teardown().await
}

#[tokio::test]
async fn an_idempotent_replay_answers_the_same_results_and_another_body_is_409()
-> anyhow::Result<()> {
    let app = spawn_app().await?;
    let body = json!({"jobs": [job(1), job(99), job(3)]});
    let first = bulk(&app, &app.key, &body, Some("batch-1")).await?;
    assert_eq!(first.status(), 202);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await?;
    let again = bulk(&app, &app.key, &body, Some("batch-1")).await?;
    assert_eq!(again.status(), 202);
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let again: Value = again.json().await?;
    assert_eq!(again, first, "the same results, refusals included");
    assert_eq!(jobs_of(&app).await?, 2);
    let (status, _) =
        problem(bulk(&app, &app.key, &json!({"jobs": [job(1)]}), Some("batch-1")).await?).await?;
    assert_eq!(status, 409);
    // Concurrent replays of one key make the jobs once.
    let body = json!({"jobs": [job(4), job(5)]});
    let (a, b) = tokio::join!(
        bulk(&app, &app.key, &body, Some("batch-2")),
        bulk(&app, &app.key, &body, Some("batch-2"))
    );
    let (a, b): (Value, Value) = (a?.json().await?, b?.json().await?);
    assert_eq!(a["results"], b["results"]);
    assert_eq!(jobs_of(&app).await?, 4);
    app.teardown().await
}

#[tokio::test]
async fn items_are_admitted_in_order_until_the_queued_cap() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    // The free plan queues at most 100: 98 queued leave 2 slots.
    sqlx::query(
        "INSERT INTO jobs (id, tenant_id, operation, spec, queue_class, max_attempts)
         SELECT gen_random_uuid(), t.id, 'shortest_path', '{}'::jsonb, 'low', 3
         FROM tenants t, generate_series(1, 98) WHERE t.name = 'tenant-a'",
    )
    .execute(&app.db.pool)
    .await?;
    let body = json!({"jobs": [job(1), job(99), job(2), job(3), job(4)]});
    let response = bulk(&app, &app.key, &body, None).await?;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await?;
    let results = answer["results"].as_array().cloned().unwrap_or_default();
    assert!(results[0]["id"].is_string());
    assert_eq!(fields(&results[1]["error"]), vec!["jobs[1].params.end[0]"]);
    assert!(results[2]["id"].is_string());
    for r in &results[3..] {
        assert_eq!(r["error"]["status"], 429, "{r}");
        assert_eq!(r["error"]["limit"], "queued_jobs");
    }
    // Now full: nothing accepted, the common refusal, results beside.
    let (status, p) =
        problem(bulk(&app, &app.key, &json!({"jobs": [job(1), job(2)]}), None).await?).await?;
    assert_eq!(status, 429, "{p}");
    assert_eq!(p["results"].as_array().map(Vec::len), Some(2));
    // Invalid and refused items together: 422 naming the invalid ones.
    let (status, p) =
        problem(bulk(&app, &app.key, &json!({"jobs": [job(1), job(99)]}), None).await?).await?;
    assert_eq!(status, 422, "{p}");
    assert_eq!(fields(&p), vec!["jobs[1].params.end[0]"]);
    app.teardown().await
}
