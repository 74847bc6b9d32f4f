//! Plan quotas refuse at their boundary and not before (issue 4).

use crate::harness::{TestApp, problem, spawn_app};
use catalytic_shared::tenant::Plan;
use serde_json::{Value, json};

fn small_job() -> Value {
    json!({"lattice": {"dimensions": 1, "size": 4}, "operation": "shortest_path", "params": {"start": [0], "end": [3]}})
}

/// Inserts `n` jobs of the tenant named `tenant` directly: queued, or
/// cancelled (finished, so they count for the month but not the queue).
async fn add_jobs(app: &TestApp, tenant: &str, n: i64, queued: bool) -> anyhow::Result<()> {
    let status = if queued { "queued" } else { "cancelled" };
    sqlx::query(
        "INSERT INTO jobs (id, tenant_id, status, operation, spec, queue_class, max_attempts, finished_at)
         SELECT gen_random_uuid(), t.id, $2::job_status, 'shortest_path', '{}'::jsonb, 'low', 3,
                CASE WHEN $2 = 'queued' THEN NULL ELSE now() END
         FROM tenants t, generate_series(1, $3) WHERE t.name = $1",
    )
    .bind(tenant)
    .bind(status)
    .bind(n)
    .execute(&app.db.pool)
    .await?;
    Ok(())
}

#[tokio::test]
async fn the_free_plan_stops_at_its_monthly_jobs_and_says_when_they_reset() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    add_jobs(&app, "tenant-a", 999, false).await?;
    assert_eq!(
        app.submit(&small_job()).await?.status(),
        202,
        "the 1,000th job is included"
    );
    let (status, body) = problem(app.submit(&small_job()).await?).await?;
    assert_eq!(status, 402, "{body}");
    assert_eq!(body["limit"], "jobs_per_month");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("1000") && detail.contains("resets at"),
        "{detail}"
    );

    // A paid plan is metered past its included jobs instead.
    let starter = app.new_tenant_key(Plan::Starter).await?;
    add_jobs(&app, "tenant-b", 10_000, false).await?;
    assert_eq!(app.submit_as(&starter, &small_job()).await?.status(), 202);
    app.teardown().await
}

#[tokio::test]
async fn the_queued_jobs_cap_answers_429_with_retry_after() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    add_jobs(&app, "tenant-a", 99, true).await?;
    assert_eq!(
        app.submit(&small_job()).await?.status(),
        202,
        "the 100th queued job fits"
    );
    let response = app.submit(&small_job()).await?;
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (status, body) = problem(response).await?;
    assert_eq!(
        (status, body["limit"].clone()),
        (429, json!("queued_jobs")),
        "{body}"
    );
    assert!(retry_after.is_some_and(|s| s.parse::<u64>().is_ok()));

    // Jobs that start leave the queue: the counter the check reads
    // (migrations/0018_queued_counts.sql) follows them without a recount.
    sqlx::query(
        "UPDATE jobs SET status = 'running' WHERE id IN (
             SELECT j.id FROM jobs j JOIN tenants t ON t.id = j.tenant_id
             WHERE t.name = 'tenant-a' AND j.status = 'queued' LIMIT 2)",
    )
    .execute(&app.db.pool)
    .await?;
    for _ in 0..2 {
        assert_eq!(app.submit(&small_job()).await?.status(), 202);
    }
    let (status, body) = problem(app.submit(&small_job()).await?).await?;
    assert_eq!((status, body["limit"].clone()), (429, json!("queued_jobs")));
    app.teardown().await
}

#[tokio::test]
async fn the_lattices_cap_holds_and_frees_on_delete() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let cap = Plan::Free.limits().lattices.unwrap_or_default();
    let mut last = Value::Null;
    for i in 0..cap {
        let response = app
            .http
            .post(format!("{}/v1/lattices", app.base))
            .bearer_auth(&app.key)
            .json(&json!({"name": format!("l{i}"), "dimensions": 1, "size": 3}))
            .send()
            .await?;
        assert_eq!(response.status(), 201, "lattice {i} of {cap}");
        last = response.json().await?;
    }
    let over = app
        .http
        .post(format!("{}/v1/lattices", app.base))
        .bearer_auth(&app.key)
        .json(&json!({"name": "one too many", "dimensions": 1, "size": 3}))
        .send()
        .await?;
    let (status, body) = problem(over).await?;
    assert_eq!(
        (status, body["limit"].clone()),
        (402, json!("lattices")),
        "{body}"
    );
    let id = last["id"].as_str().unwrap_or_default();
    app.http
        .delete(format!("{}/v1/lattices/{id}", app.base))
        .bearer_auth(&app.key)
        .send()
        .await?;
    let again = app
        .http
        .post(format!("{}/v1/lattices", app.base))
        .bearer_auth(&app.key)
        .json(&json!({"name": "fits again", "dimensions": 1, "size": 3}))
        .send()
        .await?;
    assert_eq!(again.status(), 201);
    app.teardown().await
}
