//! Issue 5: cancelling a running job on the real binaries. The api's cancel
//! commits `running → cancelled` and NOTIFYs `job_cancel`; the worker's
//! listener cancels the compute's token and the engine stops at its next
//! poll, long before the lease heartbeat (the fallback) would notice.

use catalytic_e2e::{Binary, Client, Env, wait_ready, wait_until};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const READY: Duration = Duration::from_secs(30);

/// `analyze` of a blocked 3-D lattice of 64,000 vertices: its exact
/// diameter and centralities are all-pairs BFS (~4·10^9 expansions), far
/// over a minute, in little memory. (`components` on the 10^7-vertex
/// lattice first planned took 0.4 s: too short to cancel reliably.)
fn long_job() -> Value {
    json!({
        "lattice": {"size": [40, 40, 40], "blocked": {"fraction": 0.05, "seed": 1}},
        "operation": "analyze",
    })
}

#[tokio::test]
async fn a_running_job_is_cancelled_and_its_compute_stops_promptly() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let key = env.bootstrap("enterprise")?;
    let api = env.spawn(Binary::Api, &[])?;
    // A heartbeat far beyond the test: only the NOTIFY can stop the compute in time.
    let worker = env.spawn(
        Binary::Worker,
        &[
            ("CATALYTIC_WORKER__HEARTBEAT_SECS", "60"),
            ("CATALYTIC_WORKER__LEASE_SECS", "180"),
        ],
    )?;
    let scheduler = env.spawn(Binary::Scheduler, &[])?;
    wait_ready(&format!("{}/readyz", env.api_url()), READY).await?;
    let client = Client::new(env.api_url(), key);

    let id = client.submit(&long_job()).await?;
    wait_until("the job to start", Duration::from_secs(60), || async {
        Ok((client.job(&id).await?["status"] == "running").then_some(()))
    })
    .await?;
    // It must really be a long job: still running a second later.
    let observed = Instant::now();
    while observed.elapsed() < Duration::from_secs(1) {
        let job = client.job(&id).await?;
        assert_eq!(
            job["status"], "running",
            "the job finished too soon to test cancellation: {job}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let cancelled_at = Instant::now();
    let response = client
        .http
        .post(format!("{}/v1/jobs/{id}/cancel", client.base))
        .bearer_auth(&client.key)
        .send()
        .await?;
    assert_eq!(response.status(), 202);
    let job: Value = response.json().await?;
    assert_eq!(job["status"], "cancelled");

    wait_until(
        "the worker to stop computing",
        Duration::from_secs(10),
        || {
            let logged = worker.log_text().contains("compute cancelled");
            async move { Ok(logged.then_some(())) }
        },
    )
    .await?;
    let stopped_after = cancelled_at.elapsed();
    println!("compute stopped {stopped_after:?} after the cancel was answered");
    assert!(
        stopped_after < Duration::from_secs(3),
        "the compute stopped only after {stopped_after:?}"
    );
    assert!(worker.log_text().contains("cancel received"));

    let job = client.wait_terminal(&id, Duration::from_secs(10)).await?;
    assert_eq!(job["status"], "cancelled");
    let (terminal, from_running, webhooks, usage): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT
           (SELECT count(*) FROM job_transitions WHERE job_id = $1::uuid
              AND to_status IN ('succeeded', 'failed', 'cancelled')),
           (SELECT count(*) FROM job_transitions WHERE job_id = $1::uuid
              AND from_status = 'running' AND to_status = 'cancelled'),
           (SELECT count(*) FROM webhook_messages WHERE job_id = $1::uuid AND event_type = 'job.cancelled'),
           (SELECT count(*) FROM usage_events WHERE job_id = $1::uuid)",
    )
    .bind(&id)
    .fetch_one(&env.db.pool)
    .await?;
    assert_eq!((terminal, from_running, webhooks, usage), (1, 1, 1, 1));
    println!(
        "accepted 1 / terminal {terminal} / duplicated {}",
        terminal - 1
    );

    drop((api, worker, scheduler));
    env.teardown().await
}
