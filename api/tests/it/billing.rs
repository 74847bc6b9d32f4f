//! `GET /v1/usage` and `/v1/invoices[/{id}]`: buckets, pages, lines,
//! parameter errors, and another tenant's rows answering 404 / nothing.
//! Rollups and invoices are written by the scheduler; here they are
//! inserted directly.

use crate::harness::{TestApp, fields, problem, spawn_app};
use catalytic_shared::tenant::Plan;
use serde_json::Value;
use uuid::Uuid;

async fn tenant_of(app: &TestApp, name: &str) -> anyhow::Result<Uuid> {
    Ok(sqlx::query_scalar("SELECT id FROM tenants WHERE name = $1")
        .bind(name)
        .fetch_one(&app.db.pool)
        .await?)
}

async fn get_as(app: &TestApp, key: &str, path: &str) -> anyhow::Result<reqwest::Response> {
    Ok(app
        .http
        .get(format!("{}{path}", app.base))
        .bearer_auth(key)
        .send()
        .await?)
}

async fn hour(app: &TestApp, tenant: Uuid, at: &str, jobs: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO usage_hourly (tenant_id, hour, jobs, billable_jobs, vertex_visits,
                                   cpu_vertex_visits, cpu_compute_ms, gpu_compute_ms)
         VALUES ($1, $2::timestamptz, $3, $3 - 1, $3 * 100, $3 * 100, $3 * 10, 0)",
    )
    .bind(tenant)
    .bind(at)
    .bind(jobs)
    .execute(&app.db.pool)
    .await?;
    Ok(())
}

const APRIL: &str = "from=2026-04-01T00:00:00Z&to=2026-05-01T00:00:00Z";

#[tokio::test]
async fn usage_is_bucketed_per_utc_hour_day_or_month_for_the_caller_only() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let tenant = tenant_of(&app, "tenant-a").await?;
    hour(&app, tenant, "2026-04-10T10:00:00Z", 5).await?;
    hour(&app, tenant, "2026-04-10T11:00:00Z", 7).await?;
    hour(&app, tenant, "2026-04-11T09:00:00Z", 2).await?;
    hour(&app, tenant, "2026-05-01T00:00:00Z", 100).await?;

    let buckets = |body: &Value| -> Vec<(String, i64, i64)> {
        body["buckets"]
            .as_array()
            .map(|b| {
                b.iter()
                    .map(|x| {
                        (
                            x["start"].as_str().unwrap_or_default().to_owned(),
                            x["jobs"].as_i64().unwrap_or(-1),
                            x["billable_jobs"].as_i64().unwrap_or(-1),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let day: Value = get_as(&app, &app.key, &format!("/v1/usage?{APRIL}"))
        .await?
        .json()
        .await?;
    assert_eq!(day["granularity"], "day");
    assert_eq!(
        buckets(&day),
        [
            ("2026-04-10T00:00:00Z".to_owned(), 12, 10),
            ("2026-04-11T00:00:00Z".to_owned(), 2, 1)
        ]
    );
    let hourly: Value = get_as(
        &app,
        &app.key,
        &format!("/v1/usage?{APRIL}&granularity=hour"),
    )
    .await?
    .json()
    .await?;
    assert_eq!(buckets(&hourly).len(), 3);
    let month: Value = get_as(
        &app,
        &app.key,
        &format!("/v1/usage?{APRIL}&granularity=month"),
    )
    .await?
    .json()
    .await?;
    assert_eq!(
        buckets(&month),
        [("2026-04-01T00:00:00Z".to_owned(), 14, 11)]
    );
    assert_eq!(month["buckets"][0]["vertex_visits"], 1_400);

    // Another tenant sees none of it.
    let other = app.new_tenant_key(Plan::Starter).await?;
    let theirs: Value = get_as(&app, &other, &format!("/v1/usage?{APRIL}"))
        .await?
        .json()
        .await?;
    assert_eq!(theirs["buckets"], serde_json::json!([]));

    // Bad parameters are named, all at once.
    let (status, body) =
        problem(get_as(&app, &app.key, "/v1/usage?to=yesterday&granularity=week").await?).await?;
    assert_eq!(status, 422);
    assert_eq!(fields(&body), ["from", "to", "granularity"]);
    let too_long = "/v1/usage?from=2025-01-01T00:00:00Z&to=2026-05-01T00:00:00Z";
    let (status, body) = problem(get_as(&app, &app.key, too_long).await?).await?;
    assert_eq!((status, fields(&body)), (422, vec!["to".to_owned()]));
    app.teardown().await
}

async fn invoice(app: &TestApp, tenant: Uuid, start: &str, end: &str) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO invoices (id, tenant_id, period_start, period_end, total_cents)
         VALUES ($1, $2, $3::timestamptz, $4::timestamptz, 2901)",
    )
    .bind(id)
    .bind(tenant)
    .bind(start)
    .bind(end)
    .execute(&app.db.pool)
    .await?;
    sqlx::query(
        "INSERT INTO invoice_lines (invoice_id, position, kind, description, quantity,
                                    amount_micro_cents, amount_cents)
         VALUES ($1, 1, 'base', 'base price', 2592000, 2900000000, 2900),
                ($1, 2, 'overage', '3 jobs', 3, 600000, 1)",
    )
    .bind(id)
    .execute(&app.db.pool)
    .await?;
    Ok(id)
}

#[tokio::test]
async fn invoices_are_paged_with_lines_and_another_tenants_are_not_found() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let tenant = tenant_of(&app, "tenant-a").await?;
    let march = invoice(&app, tenant, "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z").await?;
    let april = invoice(&app, tenant, "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z").await?;

    let first: Value = get_as(&app, &app.key, "/v1/invoices?limit=1")
        .await?
        .json()
        .await?;
    assert_eq!(first["items"][0]["id"], april.to_string());
    assert!(first["items"][0].get("lines").is_none());
    let cursor = first["next_cursor"].as_str().unwrap_or_default().to_owned();
    let second: Value = get_as(
        &app,
        &app.key,
        &format!("/v1/invoices?limit=1&cursor={cursor}"),
    )
    .await?
    .json()
    .await?;
    assert_eq!(second["items"][0]["id"], march.to_string());
    assert!(second["next_cursor"].is_null());

    let one: Value = get_as(&app, &app.key, &format!("/v1/invoices/{april}"))
        .await?
        .json()
        .await?;
    assert_eq!(one["status"], "draft");
    assert_eq!(one["total_cents"], 2901);
    assert_eq!(one["lines"][1]["kind"], "overage");
    assert_eq!(one["lines"][1]["amount_cents"], 1);

    // Another tenant: an empty list, and 404 for our invoice.
    let other = app.new_tenant_key(Plan::Starter).await?;
    let theirs: Value = get_as(&app, &other, "/v1/invoices").await?.json().await?;
    assert_eq!(theirs["items"], serde_json::json!([]));
    let (status, _) =
        problem(get_as(&app, &other, &format!("/v1/invoices/{april}")).await?).await?;
    assert_eq!(status, 404);
    let (status, _) = problem(get_as(&app, &app.key, "/v1/invoices/not-a-uuid").await?).await?;
    assert_eq!(status, 404);
    let (status, body) = problem(get_as(&app, &app.key, "/v1/invoices?limit=0").await?).await?;
    assert_eq!((status, fields(&body)), (422, vec!["limit".to_owned()]));
    app.teardown().await
}
