//! Job dependencies on the real binaries (issue 21): a graph submitted in
//! one bulk request (0 → {1, 2} → 3) runs in its order: each job starts
//! only after every parent finished, and all succeed.

use catalytic_e2e::{Binary, Client, Env, Process, wait_ready};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::time::Duration;

const READY: Duration = Duration::from_secs(30);

fn job(extra: Value) -> Value {
    let mut body = json!({"lattice": {"dimensions": 2, "size": 6}, "operation": "shortest_path",
                          "params": {"start": [0, 0], "end": [5, 5]}});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

fn at(job: &Value, field: &str) -> anyhow::Result<DateTime<Utc>> {
    Ok(serde_json::from_value(job[field].clone())?)
}

/// An enterprise tenant's client of a fresh api, worker and scheduler
/// (the processes stop when the returned handles drop).
async fn fleet() -> anyhow::Result<(Env, [Process; 3], Client)> {
    let env = Env::new().await?;
    let key = env.bootstrap("enterprise")?;
    let processes = [
        env.spawn(Binary::Api, &[])?,
        env.spawn(Binary::Worker, &[])?,
        env.spawn(Binary::Scheduler, &[])?,
    ];
    wait_ready(&format!("{}/readyz", env.api_url()), READY).await?;
    let client = Client::new(env.api_url(), key);
    Ok((env, processes, client))
}

/// `jobs` in one bulk submit; the ids, each item accepted.
async fn submit_all(client: &Client, jobs: &[Value]) -> anyhow::Result<Vec<String>> {
    let answer: Value = client
        .http
        .post(format!("{}/v1/jobs/batch", client.base))
        .bearer_auth(&client.key)
        .json(&json!({ "jobs": jobs }))
        .send()
        .await?
        .json()
        .await?;
    let ids: Vec<String> = answer["results"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|i| i["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    anyhow::ensure!(ids.len() == jobs.len(), "not all accepted: {answer}");
    Ok(ids)
}

#[tokio::test]
async fn a_graph_in_one_request_runs_in_its_order() -> anyhow::Result<()> {
    let (env, _fleet, client) = fleet().await?;
    let graph = [
        job(json!({})),
        job(json!({"depends_on": [0]})),
        job(json!({"depends_on": [0]})),
        job(json!({"depends_on": [1, 2]})),
    ];
    let ids = submit_all(&client, &graph).await?;
    let mut done = Vec::new();
    for id in &ids {
        let job = client.wait_terminal(id, Duration::from_secs(60)).await?;
        assert_eq!(job["status"], "succeeded", "{job}");
        done.push(job);
    }
    for (child, parents) in [(1, vec![0]), (2, vec![0]), (3, vec![1, 2])] {
        for parent in parents {
            assert!(
                at(&done[child], "started_at")? >= at(&done[parent], "finished_at")?,
                "job {child} started before its parent {parent} finished: {} / {}",
                done[child],
                done[parent]
            );
        }
    }
    env.teardown().await
}

#[tokio::test]
async fn jobs_of_one_concurrency_key_never_run_at_once() -> anyhow::Result<()> {
    let (env, _fleet, client) = fleet().await?;
    let other = Client::new(env.api_url(), env.bootstrap_named("other", "enterprise")?);
    // Twelve jobs of one key, one request; then another tenant's job.
    let keyed: Vec<Value> = (0..12)
        .map(|_| job(json!({"concurrency_key": "one-at-a-time"})))
        .collect();
    let ids = submit_all(&client, &keyed).await?;
    // Another tenant's job is not held up by the key's queue (held jobs
    // have no message in the broker): it finishes long before the key's
    // last, which waits for eleven others one after another.
    let theirs = other.submit(&job(json!({}))).await?;
    let theirs = other
        .wait_terminal(&theirs, Duration::from_secs(60))
        .await?;
    let mut spans = Vec::new();
    for id in &ids {
        let job = client.wait_terminal(id, Duration::from_secs(60)).await?;
        assert_eq!(job["status"], "succeeded", "{job}");
        spans.push((at(&job, "started_at")?, at(&job, "finished_at")?));
    }
    // In submit order, each after the previous one finished.
    for pair in spans.windows(2) {
        assert!(pair[1].0 >= pair[0].1, "overlap: {spans:?}");
    }
    let last = spans.last().map(|s| s.1);
    assert!(
        Some(at(&theirs, "finished_at")?) < last,
        "the other tenant waited for the key: {theirs} / {spans:?}"
    );
    env.teardown().await
}
