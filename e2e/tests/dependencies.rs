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

/// A parent's output fed to its child (`"data": {"from": "parent"}`): a
/// chain of transforms in one request, inline (16 values) and beyond the
/// inline cap (160,000 values, the parent's stored `data` part), each
/// child computing on exactly what its parent produced.
#[tokio::test]
async fn a_childs_data_is_its_parents_output() -> anyhow::Result<()> {
    let (env, _fleet, client) = fleet().await?;
    let scale = |size: u64, factor: f64, data: Value, extra: Value| {
        let mut body = json!({"lattice": {"dimensions": 2, "size": size}, "operation": "transform",
                              "params": {"transform": "scale", "factor": factor, "data": data}});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        body
    };
    let from_parent = json!({"type": "f32", "from": "parent"});
    let chain = [
        scale(
            4,
            0.5,
            json!({"type": "f32", "values": (0..16).map(f64::from).collect::<Vec<_>>()}),
            json!({}),
        ),
        scale(4, 3.0, from_parent.clone(), json!({"depends_on": [0]})),
        scale(400, 2.0, json!({"type": "f32", "seed": 9}), json!({})),
        scale(400, 2.0, from_parent.clone(), json!({"depends_on": [2]})),
    ];
    let ids = submit_all(&client, &chain).await?;
    let mut done = Vec::new();
    for id in &ids {
        let job = client.wait_terminal(id, Duration::from_secs(60)).await?;
        assert_eq!(job["status"], "succeeded", "{job}");
        done.push(job);
    }
    // 0..16 halved, then tripled.
    let values: Vec<f64> = done[1]["result"]["data"]["values"]
        .as_array()
        .map(|v| v.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let expected: Vec<f64> = (0..16).map(|i| f64::from(i) * 0.5 * 3.0).collect();
    assert_eq!(values, expected, "{}", done[1]);
    // Beyond the inline cap: the child read its parent's stored part; its
    // own output is twice its parent's, element by element.
    let part = |job: &Value| job["result"]["parts"][0]["url"].as_str().map(str::to_owned);
    let client = &client;
    let download = |url: String| async move {
        let bytes = client
            .http
            .get(format!("{}{url}", client.base))
            .bearer_auth(&client.key)
            .send()
            .await?
            .bytes()
            .await?;
        let (_, data) = catalytic_shared::result_parts::npy_parts(&bytes)
            .ok_or_else(|| anyhow::anyhow!("not a .npy file"))?;
        anyhow::Ok(
            data.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect::<Vec<f32>>(),
        )
    };
    let parent = download(part(&done[2]).ok_or_else(|| anyhow::anyhow!("{}", done[2]))?).await?;
    let child = download(part(&done[3]).ok_or_else(|| anyhow::anyhow!("{}", done[3]))?).await?;
    assert_eq!(parent.len(), 160_000);
    assert!(
        child.iter().zip(&parent).all(|(c, p)| *c == p * 2.0),
        "the child scaled its parent's output"
    );
    env.teardown().await
}

/// A keyed job with a time: scheduled until then, then it waits for its
/// key's slot and runs (issue 21: concurrency keys with `delay_secs`).
#[tokio::test]
async fn a_keyed_job_with_a_delay_runs_after_its_time() -> anyhow::Result<()> {
    let (env, _fleet, client) = fleet().await?;
    let ids = submit_all(
        &client,
        &[job(json!({"concurrency_key": "nightly", "delay_secs": 1}))],
    )
    .await?;
    let done = client
        .wait_terminal(&ids[0], Duration::from_secs(60))
        .await?;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(at(&done, "started_at")? >= at(&done, "run_at")?, "{done}");
    eprintln!(
        "TIMES {} {} {} {}",
        done["created_at"], done["run_at"], done["started_at"], done["finished_at"]
    );
    env.teardown().await
}
