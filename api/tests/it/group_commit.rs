//! Group commit of submits (issue 17): concurrent submits share one
//! transaction, and quotas and idempotency stay exact per tenant and key.
//!
//! To make a batch form on demand, the tests run one flusher and hold it:
//! a transaction of the test takes a tenant's quota lock, the first submit's
//! batch waits on it, the submits sent meanwhile queue, and releasing the
//! lock lets them commit together. Rows inserted by one transaction share
//! its `xmin`, which is how the tests count transactions.

use crate::harness::{TestApp, spawn_app_with};
use catalytic_api::bootstrap;
use catalytic_shared::ids::TenantId;
use catalytic_shared::tenant::Plan;
use serde_json::{Value, json};
use std::time::Duration;

fn job(end: u32) -> Value {
    json!({"lattice": {"dimensions": 1, "size": 64}, "operation": "shortest_path",
           "params": {"start": [0], "end": [end]}})
}

async fn one_flusher() -> anyhow::Result<TestApp> {
    spawn_app_with(&[("CATALYTIC_API__SUBMIT_FLUSHERS", "1")]).await
}

async fn tenant(app: &TestApp, name: &str, plan: Plan) -> anyhow::Result<(String, TenantId)> {
    let made = bootstrap::run(&app.settings, name, plan).await?;
    Ok((made.api_key.expose().clone(), made.tenant_id))
}

async fn tenant_id(app: &TestApp, name: &str) -> anyhow::Result<TenantId> {
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM tenants WHERE name = $1")
        .bind(name)
        .fetch_one(&app.db.pool)
        .await?;
    Ok(TenantId::from_uuid(id))
}

/// Holds `tenant`'s quota lock (the one submits take) until dropped or
/// committed: the next submit batch touching the tenant waits on it.
async fn hold_tenant(
    app: &TestApp,
    tenant: TenantId,
) -> anyhow::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    let mut tx = app.db.pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 7))")
        .bind(tenant.as_uuid())
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// Waits until a backend of this database waits on an advisory lock: the
/// held batch is running.
async fn until_a_batch_waits(app: &TestApp) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
             WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()",
        )
        .fetch_one(&app.db.pool)
        .await?;
        if waiting > 0 {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no batch ever waited on the lock"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn submit(
    app: &TestApp,
    key: &str,
    body: Value,
    idempotency: Option<&str>,
) -> impl std::future::Future<Output = anyhow::Result<(u16, Value)>> + Send + 'static {
    let mut request = app
        .http
        .post(format!("{}/v1/jobs", app.base))
        .bearer_auth(key)
        .json(&body);
    if let Some(k) = idempotency {
        request = request.header("Idempotency-Key", k);
    }
    async move {
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json::<Value>().await?))
    }
}

/// A request in flight: its status and body.
type Answer =
    std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<(u16, Value)>> + Send>>;

/// Sends `requests` while the flusher is held on `hold`'s lock, then
/// releases it; answers in order.
async fn while_held(
    app: &TestApp,
    hold: TenantId,
    first: impl std::future::Future<Output = anyhow::Result<(u16, Value)>> + Send + 'static,
    requests: Vec<Answer>,
) -> anyhow::Result<Vec<(u16, Value)>> {
    let held = hold_tenant(app, hold).await?;
    let first = tokio::spawn(first);
    until_a_batch_waits(app).await?;
    let rest: Vec<_> = requests.into_iter().map(tokio::spawn).collect();
    // They are answered only after the held batch: give them time to queue.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    held.rollback().await?;
    let mut answers = vec![first.await??];
    for r in rest {
        answers.push(r.await??);
    }
    Ok(answers)
}

async fn transactions_and_jobs(app: &TestApp) -> anyhow::Result<(i64, i64)> {
    Ok(
        sqlx::query_as("SELECT count(DISTINCT xmin::text), count(*) FROM jobs")
            .fetch_one(&app.db.pool)
            .await?,
    )
}

#[tokio::test]
async fn concurrent_submits_of_several_tenants_share_a_transaction_and_all_commit()
-> anyhow::Result<()> {
    let app = one_flusher().await?;
    let mut keys = vec![app.key.clone()];
    for name in ["gc-b", "gc-c"] {
        keys.push(tenant(&app, name, Plan::Enterprise).await?.0);
    }
    let a = tenant_id(&app, "tenant-a").await?;
    let requests = (0..30u32)
        .map(|i| Box::pin(submit(&app, &keys[i as usize % 3], job(i + 1), None)) as _)
        .collect();
    let answers = while_held(&app, a, submit(&app, &app.key, job(63), None), requests).await?;
    for (status, body) in &answers {
        assert_eq!(*status, 202, "{body}");
    }
    let (transactions, jobs) = transactions_and_jobs(&app).await?;
    assert_eq!(jobs, 31);
    assert!(
        transactions < 10,
        "31 submits took {transactions} transactions: no batching"
    );
    // Every answered id is a job with its outbox row, of the right tenant.
    let with_outbox: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs j JOIN job_outbox o ON o.job_id = j.id AND o.tenant_id = j.tenant_id
         WHERE j.id = ANY($1)",
    )
    .bind(
        answers
            .iter()
            .filter_map(|(_, b)| b["id"].as_str()?.parse::<uuid::Uuid>().ok())
            .collect::<Vec<_>>(),
    )
    .fetch_one(&app.db.pool)
    .await?;
    assert_eq!(with_outbox, 31);
    let metrics = app.metrics().await?;
    assert!(
        metrics.contains("catalytic_submit_batch_size_bucket"),
        "no batch-size histogram on /metrics"
    );
    app.teardown().await
}

#[tokio::test]
async fn a_batch_admits_a_tenant_at_its_queued_limit_exactly() -> anyhow::Result<()> {
    let app = one_flusher().await?;
    let a = tenant_id(&app, "tenant-a").await?;
    // The free plan queues at most 100: 97 queued leaves 3 slots.
    sqlx::query(
        "INSERT INTO jobs (id, tenant_id, operation, spec, queue_class, max_attempts)
         SELECT gen_random_uuid(), $1, 'shortest_path', '{}'::jsonb, 'low', 3 FROM generate_series(1, 97)",
    )
    .bind(a.as_uuid())
    .execute(&app.db.pool)
    .await?;
    let (other, _) = tenant(&app, "gc-other", Plan::Free).await?;
    // The held batch is another tenant's, so all of tenant-a's submits
    // queue behind it and are admitted in one transaction.
    let b = tenant_id(&app, "gc-other").await?;
    let requests = (0..8u32)
        .map(|i| Box::pin(submit(&app, &app.key, job(i + 1), None)) as _)
        .collect();
    let answers = while_held(&app, b, submit(&app, &other, job(5), None), requests).await?;
    let statuses: Vec<u16> = answers[1..].iter().map(|(s, _)| *s).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        5,
        "{statuses:?}"
    );
    for (status, body) in &answers[1..] {
        if *status == 429 {
            assert_eq!(body["limit"], "queued_jobs");
        }
    }
    let queued: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE tenant_id = $1 AND status = 'queued'")
            .bind(a.as_uuid())
            .fetch_one(&app.db.pool)
            .await?;
    assert_eq!(queued, 100);
    app.teardown().await
}

#[tokio::test]
async fn one_key_in_one_batch_makes_one_job_and_another_body_is_409() -> anyhow::Result<()> {
    let app = one_flusher().await?;
    let (other, b) = tenant(&app, "gc-other", Plan::Free).await?;
    let requests = vec![
        Box::pin(submit(&app, &app.key, job(7), Some("same"))) as _,
        Box::pin(submit(&app, &app.key, job(7), Some("same"))) as _,
        Box::pin(submit(&app, &app.key, job(9), Some("same"))) as _,
    ];
    let answers = while_held(&app, b, submit(&app, &other, job(5), None), requests).await?;
    // Whichever body arrived first won the key (the three race to the
    // server): requests with its body answer its job, the others are 409.
    let (same, other_body) = (&answers[1..3], &answers[3]);
    let expected = match other_body.0 {
        202 => [409, 409],
        _ => [202, 202],
    };
    assert_eq!([same[0].0, same[1].0], expected, "{answers:?}");
    if expected == [202, 202] {
        assert_eq!(other_body.0, 409, "{other_body:?}");
        assert_eq!(same[0].1["id"], same[1].1["id"], "both answer the one job");
    }
    let a = tenant_id(&app, "tenant-a").await?;
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE tenant_id = $1")
        .bind(a.as_uuid())
        .fetch_one(&app.db.pool)
        .await?;
    assert_eq!(jobs, 1);
    app.teardown().await
}

#[tokio::test]
async fn a_lone_submit_is_answered_at_once() -> anyhow::Result<()> {
    let app = one_flusher().await?;
    let started = std::time::Instant::now();
    let (status, body) = submit(&app, &app.key, job(3), None).await?;
    assert_eq!(status, 202, "{body}");
    // No timer: a lone submit does not wait for company.
    assert!(started.elapsed() < Duration::from_secs(5));
    app.teardown().await
}

#[tokio::test]
async fn a_poison_submit_fails_alone_and_its_batch_still_commits() -> anyhow::Result<()> {
    let app = one_flusher().await?;
    let (other, b) = tenant(&app, "gc-other", Plan::Free).await?;
    let stored: Value = app
        .http
        .post(format!("{}/v1/lattices", app.base))
        .bearer_auth(&app.key)
        .json(&json!({"name": "line", "dimensions": 1, "size": 64}))
        .send()
        .await?
        .json()
        .await?;
    let lattice = stored["id"].as_str().unwrap_or_default().to_owned();
    let held = hold_tenant(&app, b).await?;
    let first = tokio::spawn(submit(&app, &other, job(5), None));
    until_a_batch_waits(&app).await?;
    let poison = tokio::spawn(submit(
        &app,
        &app.key,
        json!({"lattice_id": lattice, "operation": "shortest_path", "params": {"start": [0], "end": [1]}}),
        None,
    ));
    let fine: Vec<_> = (0..4u32)
        .map(|i| tokio::spawn(submit(&app, &app.key, job(i + 1), None)))
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // The lattice was looked up; it goes before the batch commits, so the
    // batch's insert fails on the foreign key.
    sqlx::query("DELETE FROM lattices WHERE id = $1::uuid")
        .bind(&lattice)
        .execute(&app.db.pool)
        .await?;
    held.rollback().await?;
    assert_eq!(first.await??.0, 202);
    let (status, body) = poison.await??;
    assert_eq!(status, 500, "{body}");
    for f in fine {
        let (status, body) = f.await??;
        assert_eq!(status, 202, "{body}");
    }
    app.teardown().await
}
