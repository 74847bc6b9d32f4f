//! Delayed jobs (issue 21): `delay_secs` / `run_at` on a submit store the
//! job `scheduled` with no outbox row (nothing reaches the broker before its
//! time); it is listed, shown with its `run_at`, cancellable, and counts
//! against the plan's queue cap; times in the past or beyond the plan's
//! horizon are a 422 naming the field. The relay's side (queueing when due)
//! is tested in the scheduler's outbox tests and end to end.

use crate::harness::{fields, problem, spawn_app};
use serde_json::{Value, json};

fn delayed(extra: Value) -> Value {
    let mut body = json!({"lattice": {"dimensions": 2, "size": 10}, "operation": "shortest_path",
                          "params": {"start": [0, 0], "end": [9, 9]}});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    body
}

#[tokio::test]
async fn a_delayed_submit_is_scheduled_listed_and_cancellable() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let before = chrono::Utc::now();
    let response = app.submit(&delayed(json!({"delay_secs": 3600}))).await?;
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().await?;
    assert_eq!(accepted["status"], "scheduled", "{accepted}");
    let id = accepted["id"].as_str().unwrap_or_default().to_owned();

    // Stored scheduled, with no outbox row: nothing reaches the broker early.
    let (status, outbox): (String, i64) = sqlx::query_as(
        "SELECT status::text, (SELECT count(*) FROM job_outbox WHERE job_id = $1::uuid)
         FROM jobs WHERE id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.db.pool)
    .await?;
    assert_eq!((status.as_str(), outbox), ("scheduled", 0));

    let job: Value = app.get_job_as(&app.key, &id).await?.json().await?;
    assert_eq!(job["status"], "scheduled");
    let run_at = job["run_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.to_utc());
    let expected = before + chrono::TimeDelta::seconds(3600);
    assert!(
        run_at.is_some_and(|t| (t - expected).num_seconds().abs() <= 5),
        "{job}"
    );

    let list = |status: &'static str| {
        app.http
            .get(format!("{}/v1/jobs?status={status}", app.base))
            .bearer_auth(&app.key)
            .send()
    };
    let listed: Value = list("scheduled").await?.json().await?;
    assert_eq!(listed["items"][0]["id"], json!(id), "{listed}");
    let queued: Value = list("queued").await?.json().await?;
    assert_eq!(queued["items"], json!([]), "{queued}");

    let cancelled = app
        .http
        .post(format!("{}/v1/jobs/{id}/cancel", app.base))
        .bearer_auth(&app.key)
        .send()
        .await?;
    assert_eq!(cancelled.status(), 202);
    let job: Value = app.get_job_as(&app.key, &id).await?.json().await?;
    assert_eq!(job["status"], "cancelled");

    // A job submitted without a time is queued as before, and has no run_at.
    let now: Value = app.submit(&delayed(json!({}))).await?.json().await?;
    assert_eq!(now["status"], "queued");
    let now_id = now["id"].as_str().unwrap_or_default();
    let job: Value = app.get_job_as(&app.key, now_id).await?.json().await?;
    assert!(job.get("run_at").is_none(), "{job}");
    app.teardown().await
}

#[tokio::test]
async fn times_in_the_past_or_beyond_the_horizon_are_refused_by_field() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let an_hour_ago = (chrono::Utc::now() - chrono::TimeDelta::hours(1)).to_rfc3339();
    let cases = [
        (json!({"run_at": an_hour_ago}), "run_at"),
        (json!({"run_at": "next tuesday"}), "run_at"),
        (json!({"delay_secs": -5}), "delay_secs"),
        // The free plan schedules at most a day ahead.
        (json!({"delay_secs": 2 * 86_400}), "delay_secs"),
        (
            json!({"delay_secs": 5, "run_at": chrono::Utc::now().to_rfc3339()}),
            "delay_secs",
        ),
    ];
    for (extra, field) in cases {
        let (status, body) = problem(app.submit(&delayed(extra.clone())).await?).await?;
        assert_eq!(status, 422, "{extra}: {body}");
        assert_eq!(fields(&body), vec![field.to_owned()], "{extra}: {body}");
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&app.db.pool)
        .await?;
    assert_eq!(stored, 0);
    app.teardown().await
}

#[tokio::test]
async fn scheduled_jobs_hold_places_in_the_queue_cap_and_bulk_items_are_scheduled_too()
-> anyhow::Result<()> {
    let app = spawn_app().await?;
    // A bulk submit's delayed items are scheduled, each in its slot.
    let jobs: Vec<Value> = (0..3)
        .map(|i| delayed(json!({"delay_secs": 600 + i})))
        .collect();
    let response = app
        .http
        .post(format!("{}/v1/jobs/batch", app.base))
        .bearer_auth(&app.key)
        .json(&json!({"jobs": jobs}))
        .send()
        .await?;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await?;
    let statuses: Vec<&str> = answer["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["status"].as_str())
        .collect();
    assert_eq!(statuses, vec!["scheduled"; 3], "{answer}");
    // The free plan queues at most 100 jobs: with 97 more scheduled (the
    // ledger counts rows entering `scheduled` as it counts `queued`), the
    // queue is full for an immediate submit too.
    sqlx::query(
        "INSERT INTO jobs (id, tenant_id, status, operation, spec, queue_class, max_attempts, run_at)
         SELECT gen_random_uuid(), t.id, 'scheduled', 'shortest_path', '{}'::jsonb, 'low', 3,
                now() + interval '1 hour'
         FROM tenants t, generate_series(1, 97) WHERE t.name = 'tenant-a'",
    )
    .execute(&app.db.pool)
    .await?;
    let (status, body) = problem(app.submit(&delayed(json!({}))).await?).await?;
    assert_eq!(
        (status, body["limit"].clone()),
        (429, json!("queued_jobs")),
        "{body}"
    );
    app.teardown().await
}
