//! Issue 22: finished jobs are deleted (one by id, or by filter, issue
//! 21's bulk operations) with what only describes them, never while
//! unfinished; billing keeps their usage; every api replica stops
//! answering them at once. And `result_ttl_secs` on submit, within the
//! plan's bound.

use crate::harness::{fields, problem, spawn_app};
use crate::job_cache::{cache_hits, pair};
use catalytic_shared::tenant::Plan;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn trivial() -> Value {
    json!({"lattice": {"dimensions": 2, "size": 4}, "operation": "shortest_path",
           "params": {"start": [0, 0], "end": [3, 3]}})
}

async fn count(pool: &sqlx::PgPool, sql: &'static str, job: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql)
        .bind(uuid::Uuid::parse_str(job)?)
        .fetch_one(pool)
        .await?)
}

#[tokio::test]
async fn a_finished_job_is_deleted_with_what_describes_it_and_its_usage_stays() -> anyhow::Result<()>
{
    let pair = pair().await?;
    let app = &pair.app;
    let id = pair.submit().await?;
    let delete = |key: String, id: String| {
        app.http
            .delete(format!("{}/v1/jobs/{id}", app.base))
            .bearer_auth(key)
            .send()
    };
    // Unfinished: refused, naming its state; nothing changes.
    let (status, body) = problem(delete(pair.key.clone(), id.clone()).await?).await?;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("queued"),
        "{body}"
    );
    pair.finish(&id, "cancelled").await?;

    // Another tenant's: not theirs to delete (the same 404 as none).
    let stranger = app.new_tenant_key(Plan::Enterprise).await?;
    assert_eq!(delete(stranger, id.clone()).await?.status(), 404);
    assert_eq!(
        delete(pair.key.clone(), "not-a-job".into()).await?.status(),
        404
    );
    let before = (
        count(
            &app.db.pool,
            "SELECT count(*) FROM job_transitions WHERE job_id = $1",
            &id,
        )
        .await?,
        count(
            &app.db.pool,
            "SELECT count(*) FROM webhook_messages WHERE job_id = $1",
            &id,
        )
        .await?,
        count(
            &app.db.pool,
            "SELECT count(*) FROM usage_events WHERE job_id = $1",
            &id,
        )
        .await?,
    );
    assert_eq!(before, (1, 1, 1), "what a cancel writes");

    let response = delete(pair.key.clone(), id.clone()).await?;
    assert_eq!(response.status(), 204);
    for base in [&app.base, &pair.reader] {
        let (status, _) = pair.get(base, &pair.key, &format!("/v1/jobs/{id}")).await?;
        assert_eq!(status, 404, "gone on {base}");
    }
    let (_, listed) = pair.get(&app.base, &pair.key, "/v1/jobs").await?;
    assert!(!listed.contains(&id), "{listed}");
    assert_eq!(
        delete(pair.key.clone(), id.clone()).await?.status(),
        404,
        "once"
    );
    for sql in [
        "SELECT count(*) FROM jobs WHERE id = $1",
        "SELECT count(*) FROM job_transitions WHERE job_id = $1",
        "SELECT count(*) FROM webhook_messages WHERE job_id = $1",
        "SELECT count(*) FROM job_outbox WHERE job_id = $1",
    ] {
        assert_eq!(count(&app.db.pool, sql, &id).await?, 0, "{sql}");
    }
    // Billing keeps what the job cost, without the job.
    let usage: i64 = sqlx::query_scalar("SELECT count(*) FROM usage_events WHERE job_id IS NULL")
        .fetch_one(&app.db.pool)
        .await?;
    assert_eq!(usage, 1);
    pair.teardown().await
}

/// A replica that answered the finished job from its cache of `job_done`
/// rows stops once another replica deletes it (`job_erased`), well before
/// the cache's own minutes are up.
#[tokio::test]
async fn every_replica_stops_answering_a_deleted_job_from_its_cache() -> anyhow::Result<()> {
    let pair = pair().await?;
    let id = pair.submit().await?;
    pair.finish(&id, "succeeded").await?;
    let path = format!("/v1/jobs/{id}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let before = cache_hits("get")?;
        let (status, body) = pair.get(&pair.app.base, &pair.key, &path).await?;
        assert_eq!(status, 200, "{body}");
        if cache_hits("get")? > before {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "never cached");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Deleted through the other replica.
    let response = pair
        .app
        .http
        .delete(format!("{}{path}", pair.reader))
        .bearer_auth(&pair.key)
        .send()
        .await?;
    assert_eq!(response.status(), 204);
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let (status, body) = pair.get(&pair.app.base, &pair.key, &path).await?;
        if status == 404 {
            break;
        }
        assert_eq!(status, 200, "{body}");
        anyhow::ensure!(
            Instant::now() < deadline,
            "the cache still answers a deleted job"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    pair.teardown().await
}

#[tokio::test]
async fn a_bulk_delete_erases_every_matching_finished_job_in_batches() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let queued = app.submit(&trivial()).await?;
    assert_eq!(queued.status(), 202);
    // Many more finished jobs than one statement's batch of 500, straight
    // into the table, of two operations.
    sqlx::query(
        "INSERT INTO jobs (id, tenant_id, status, operation, spec, queue_class, max_attempts, finished_at)
         SELECT gen_random_uuid(), t.id, 'cancelled', CASE WHEN g <= 3 THEN 'analyze' ELSE 'shortest_path' END,
                '{}'::jsonb, 'low', 3, now()
         FROM tenants t, generate_series(1, 1203) g WHERE t.name = 'tenant-a'",
    )
    .execute(&app.db.pool)
    .await?;
    let delete = |body: Value| {
        app.http
            .post(format!("{}/v1/jobs/delete", app.base))
            .bearer_auth(&app.key)
            .json(&body)
            .send()
    };
    let counts = || async {
        sqlx::query_as::<_, (String, i64)>(
            "SELECT status::text, count(*) FROM jobs GROUP BY 1 ORDER BY 1",
        )
        .fetch_all(&app.db.pool)
        .await
    };
    let answer: Value = delete(json!({"operation": "analyze"}))
        .await?
        .json()
        .await?;
    assert_eq!(answer, json!({"deleted": 3, "more": false}));
    let answer: Value = delete(json!({"status": ["succeeded", "failed"]}))
        .await?
        .json()
        .await?;
    assert_eq!(answer, json!({"deleted": 0, "more": false}));
    // Everything finished, across three batches; the queued job stays.
    let answer: Value = delete(json!({})).await?.json().await?;
    assert_eq!(answer, json!({"deleted": 1200, "more": false}));
    assert_eq!(counts().await?, vec![("queued".to_owned(), 1)]);

    for (body, field) in [
        (json!({"status": ["queued"]}), "status[0]"),
        (json!({"status": ["failed", "lost"]}), "status[1]"),
        (json!({"operation": "teleport"}), "operation"),
        (json!({"created_before": "tomorrow"}), "created_before"),
        (json!({"everything": true}), "everything"),
    ] {
        let (status, problem_body) = problem(delete(body.clone()).await?).await?;
        assert_eq!(status, 422, "{body}: {problem_body}");
        assert_eq!(
            fields(&problem_body),
            vec![field.to_owned()],
            "{body}: {problem_body}"
        );
    }
    app.teardown().await
}

#[tokio::test]
async fn result_ttl_secs_is_kept_within_the_plans_bound() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let with_ttl = |ttl: Value| {
        let mut body = trivial();
        body["result_ttl_secs"] = ttl;
        body
    };
    // The free plan keeps a result at most 7 days.
    for ttl in [
        json!(59),
        json!(7 * 86_400 + 1),
        json!(-1),
        json!("an hour"),
    ] {
        let (status, body) = problem(app.submit(&with_ttl(ttl.clone())).await?).await?;
        assert_eq!(status, 422, "{ttl}: {body}");
        assert_eq!(
            fields(&body),
            vec!["result_ttl_secs".to_owned()],
            "{ttl}: {body}"
        );
    }
    let response = app.submit(&with_ttl(json!(3600))).await?;
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().await?;
    let id = accepted["id"].as_str().unwrap_or_default();
    let job: Value = app.get_job_as(&app.key, id).await?.json().await?;
    assert_eq!(job["result_ttl_secs"], 3600, "{job}");
    assert!(
        job.get("result_expires_at").is_none(),
        "not before it succeeds: {job}"
    );
    let stored: Option<i32> = sqlx::query_scalar("SELECT result_ttl_secs FROM jobs WHERE id = $1")
        .bind(uuid::Uuid::parse_str(id)?)
        .fetch_one(&app.db.pool)
        .await?;
    assert_eq!(stored, Some(3600));
    // Without one, the job says nothing (the fleet's default applies).
    let response = app.submit(&trivial()).await?;
    let accepted: Value = response.json().await?;
    let job: Value = app
        .get_job_as(&app.key, accepted["id"].as_str().unwrap_or_default())
        .await?
        .json()
        .await?;
    assert!(job.get("result_ttl_secs").is_none(), "{job}");
    // An enterprise tenant may keep it a year.
    let enterprise = app.new_tenant_key(Plan::Enterprise).await?;
    let response = app
        .submit_as(&enterprise, &with_ttl(json!(365 * 86_400)))
        .await?;
    assert_eq!(response.status(), 202);
    app.teardown().await
}
