//! Cron schedules on the real binaries (issue 21): a scheduler that dies in
//! the middle of firing (the `faults.schedules_exit_before_commit` hook:
//! its jobs inserted, its commit never sent) leaves nothing behind, and two
//! schedulers then racing for the same due ticks submit exactly one job per
//! tick, which the worker computes.

use catalytic_e2e::{Binary, Client, Env, free_port, wait_ready, wait_until};
use serde_json::{Value, json};
use std::time::Duration;

const READY: Duration = Duration::from_secs(30);

async fn count(env: &Env, sql: &'static str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(&env.db.pool).await?)
}

#[tokio::test]
async fn a_killed_fire_is_fired_again_once_and_two_schedulers_fire_each_tick_once()
-> anyhow::Result<()> {
    let env = Env::new().await?;
    let key = env.bootstrap("enterprise")?;
    let _api = env.spawn(Binary::Api, &[])?;
    let _worker = env.spawn(Binary::Worker, &[])?;
    wait_ready(&format!("{}/readyz", env.api_url()), READY).await?;
    let client = Client::new(env.api_url(), key);

    // Hourly, at a minute half an hour from now (so no tick comes due
    // while the test runs); three ticks overdue once `next_fire_at` is
    // moved back, all caught up, each submitting whatever runs.
    let minute = (chrono::Timelike::minute(&chrono::Utc::now()) + 30) % 60;
    let created: Value = client
        .http
        .post(format!("{}/v1/schedules", client.base))
        .bearer_auth(&client.key)
        .json(
            &json!({"name": "hourly", "cron": format!("{minute} * * * *"), "catch_up": "all", "overlap": "queue",
                      "job": {"lattice": {"dimensions": 2, "size": 6}, "operation": "shortest_path",
                              "params": {"start": [0, 0], "end": [5, 5]}}}),
        )
        .send()
        .await?
        .json()
        .await?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    anyhow::ensure!(!id.is_empty(), "not created: {created}");
    sqlx::query(
        "UPDATE schedules SET next_fire_at = next_fire_at - interval '3 hours' WHERE id = $1::uuid",
    )
    .bind(&id)
    .execute(&env.db.pool)
    .await?;

    // A scheduler that exits between inserting the tick's jobs and committing.
    let mut dying = env.spawn(
        Binary::Scheduler,
        &[("CATALYTIC_FAULTS__SCHEDULES_EXIT_BEFORE_COMMIT", "true")],
    )?;
    let status = dying.wait_exit(Duration::from_secs(60)).await?;
    assert_eq!(status.code(), Some(86), "{}", dying.log_text());
    assert_eq!(count(&env, "SELECT count(*) FROM schedule_runs").await?, 0);
    assert_eq!(
        count(&env, "SELECT count(*) FROM jobs").await?,
        0,
        "its inserts rolled back"
    );

    // Two schedulers at once.
    let second_probe = format!("127.0.0.1:{}", free_port()?);
    let _a = env.spawn(Binary::Scheduler, &[])?;
    let _b = env.spawn(
        Binary::Scheduler,
        &[("CATALYTIC_SCHEDULER__PROBE_LISTEN", second_probe.as_str())],
    )?;
    wait_until("three ticks submitted", Duration::from_secs(60), || async {
        let n = count(
            &env,
            "SELECT count(*) FROM schedule_runs WHERE outcome = 'submitted'",
        )
        .await?;
        Ok((n >= 3).then_some(()))
    })
    .await?;
    let jobs: Vec<(String,)> =
        sqlx::query_as("SELECT job_id::text FROM schedule_runs ORDER BY tick_at")
            .fetch_all(&env.db.pool)
            .await?;
    assert_eq!(jobs.len(), 3, "one run per tick: {jobs:?}");
    assert_eq!(
        count(&env, "SELECT count(*) FROM jobs").await?,
        3,
        "one job per tick"
    );
    for (job,) in &jobs {
        let done = client.wait_terminal(job, Duration::from_secs(60)).await?;
        assert_eq!(done["status"], "succeeded", "{done}");
        assert_eq!(done["result"]["length"], 10, "{done}");
    }
    let runs: Value = client
        .http
        .get(format!("{}/v1/schedules/{id}/runs", client.base))
        .bearer_auth(&client.key)
        .send()
        .await?
        .json()
        .await?;
    let ticks: Vec<&str> = runs["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|r| r["tick_at"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ticks.len(), 3, "{runs}");
    assert!(
        ticks
            .iter()
            .all(|t| t.contains(&format!(":{minute:02}:00"))),
        "each a real tick: {ticks:?}"
    );
    env.teardown().await
}
