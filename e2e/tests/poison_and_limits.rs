//! Issue 5: a poison message ends its job `failed` with the reason, and a
//! job over its time limit ends `failed` with kind `time_limit`; both
//! exactly once (the ledger).

use catalytic_e2e::{Binary, Client, Env, Ledger, wait_ready};
use catalytic_shared::tenant::QueueClass;
use lapin::BasicProperties;
use lapin::options::BasicPublishOptions;
use serde_json::json;
use std::time::Duration;

/// Submits with only the api running, so nothing is published yet.
async fn submit_unpublished(
    env: &Env,
    plan: &str,
    body: serde_json::Value,
) -> anyhow::Result<(Client, String, catalytic_e2e::Process)> {
    let key = env.bootstrap(plan)?;
    let api = env.spawn(Binary::Api, &[])?;
    wait_ready(
        &format!("{}/readyz", env.api_url()),
        Duration::from_secs(30),
    )
    .await?;
    let client = Client::new(env.api_url(), key);
    let id = client.submit(&body).await?;
    Ok((client, id, api))
}

#[tokio::test]
async fn a_poison_message_fails_its_job_with_the_reason() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let (client, id, _api) = submit_unpublished(
        &env,
        "free",
        json!({"lattice": {"dimensions": 1, "size": 5}, "operation": "shortest_path", "params": {"start": [0], "end": [4]}}),
    )
    .await?;
    // The real message is never published; a message from a "newer
    // release" is, for the same job.
    sqlx::query("UPDATE job_outbox SET sent_at = now() WHERE job_id = $1::uuid")
        .bind(&id)
        .execute(&env.db.pool)
        .await?;
    let (tenant_id,): (uuid::Uuid,) =
        sqlx::query_as("SELECT tenant_id FROM jobs WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&env.db.pool)
            .await?;
    let (_conn, channel) = env.channel().await?;
    env.topology().declare(&channel).await?;
    channel.confirm_select(Default::default()).await?;
    let poison = json!({"schema_version": 99, "message_id": uuid::Uuid::new_v4(), "job_id": id,
                        "tenant_id": tenant_id, "attempt": 1, "from_the_future": true});
    channel
        .basic_publish(
            env.topology().jobs_exchange().into(),
            QueueClass::Low.as_str().into(),
            BasicPublishOptions::default(),
            poison.to_string().as_bytes(),
            BasicProperties::default(),
        )
        .await?
        .await?;
    let _worker = env.spawn(Binary::Worker, &[])?;
    let _scheduler = env.spawn(Binary::Scheduler, &[])?;
    let job = client.wait_terminal(&id, Duration::from_secs(60)).await?;
    assert_eq!(job["status"], "failed", "{job}");
    assert!(
        job["error"].to_string().contains("schema"),
        "the reason is recorded: {}",
        job["error"]
    );
    Ledger::settle(&env.db.pool, Duration::from_secs(10)).await?;
    env.teardown().await
}

#[tokio::test]
async fn a_job_over_its_time_limit_fails_once() -> anyhow::Result<()> {
    let env = Env::new().await?;
    // An exact diameter over ~60,000 open vertices: minutes in a debug build.
    let (client, id, _api) = submit_unpublished(
        &env,
        "enterprise",
        json!({"lattice": {"size": [40, 40, 40], "blocked": {"fraction": 0.05, "seed": 3}}, "operation": "analyze"}),
    )
    .await?;
    // The plan's limit is an hour; this job's is made 300 ms.
    sqlx::query("UPDATE jobs SET time_limit_ms = 300 WHERE id = $1::uuid")
        .bind(&id)
        .execute(&env.db.pool)
        .await?;
    let _worker = env.spawn(Binary::Worker, &[])?;
    let _scheduler = env.spawn(Binary::Scheduler, &[])?;
    let job = client.wait_terminal(&id, Duration::from_secs(60)).await?;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["kind"], "time_limit", "{job}");
    let (billable,): (bool,) =
        sqlx::query_as("SELECT billable FROM usage_events WHERE job_id = $1::uuid")
            .bind(&id)
            .fetch_one(&env.db.pool)
            .await?;
    assert!(billable, "a job that used its whole allowance is billed");
    Ledger::settle(&env.db.pool, Duration::from_secs(10)).await?;
    env.teardown().await
}
