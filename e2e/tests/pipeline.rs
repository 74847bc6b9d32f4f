//! Issue 2's proof: jobs travel HTTP → PostgreSQL → relay → RabbitMQ →
//! worker → result on the real binaries and servers; a relay killed between
//! publish and mark loses nothing; a message delivered twice has one effect.

use catalytic_e2e::{Binary, Client, Env, metric, wait_ready, wait_until};
use catalytic_shared::queue::JobMessage;
use catalytic_shared::tenant::QueueClass;
use lapin::BasicProperties;
use lapin::options::BasicPublishOptions;
use serde_json::{Value, json};
use std::time::Duration;

const READY: Duration = Duration::from_secs(30);
const FINISH: Duration = Duration::from_secs(60);

/// The canonical path of docs/adr/0002-lattices.md on an open, unblocked lattice, in closed
/// form (independent of the engine): every step toward `end` shortens the
/// distance by one; among them the smallest vertex index is a decrease on
/// the highest axis that must decrease, else an increase on the lowest axis
/// that must increase.
fn canonical_path(start: &[i64], end: &[i64]) -> Vec<Vec<i64>> {
    let mut at = start.to_vec();
    let mut path = vec![at.clone()];
    while at != end {
        let axis_down = (0..at.len()).rev().find(|&a| at[a] > end[a]);
        match axis_down {
            Some(a) => at[a] -= 1,
            None => {
                if let Some(a) = (0..at.len()).find(|&a| at[a] < end[a]) {
                    at[a] += 1;
                }
            }
        }
        path.push(at.clone());
    }
    path
}

fn coords(value: &Value) -> Vec<i64> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_i64)
        .collect()
}

/// Every assertion issue 2 makes about a path.
fn check_path(job: &Value, start: &[i64], end: &[i64]) {
    let result = &job["result"];
    let path: Vec<Vec<i64>> = result["path"]
        .as_array()
        .into_iter()
        .flatten()
        .map(coords)
        .collect();
    let manhattan: i64 = start.iter().zip(end).map(|(a, b)| (a - b).abs()).sum();
    assert_eq!(
        result["length"].as_i64(),
        Some(manhattan),
        "length = Manhattan distance: {job}"
    );
    assert_eq!(path.len() as i64, manhattan + 1);
    assert_eq!(
        path.first().map(Vec::as_slice),
        Some(start),
        "starts where asked"
    );
    assert_eq!(
        path.last().map(Vec::as_slice),
        Some(end),
        "ends where asked"
    );
    for pair in path.windows(2) {
        let diff: Vec<i64> = pair[0]
            .iter()
            .zip(&pair[1])
            .map(|(a, b)| (a - b).abs())
            .collect();
        assert_eq!(
            diff.iter().sum::<i64>(),
            1,
            "{:?} → {:?} are not neighbours",
            pair[0],
            pair[1]
        );
    }
    assert_eq!(path, canonical_path(start, end), "the canonical path");
}

/// Counts, for one job: terminal transitions, claims, webhook messages, usage events.
async fn effects(env: &Env, job: &str) -> anyhow::Result<(i64, i64, i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT
           (SELECT count(*) FROM job_transitions WHERE job_id = $1::uuid
              AND to_status IN ('succeeded', 'failed', 'cancelled')),
           (SELECT count(*) FROM job_transitions WHERE job_id = $1::uuid AND to_status = 'running'),
           (SELECT count(*) FROM webhook_messages WHERE job_id = $1::uuid),
           (SELECT count(*) FROM usage_events WHERE job_id = $1::uuid)",
    )
    .bind(job)
    .fetch_one(&env.db.pool)
    .await?)
}

#[tokio::test]
async fn jobs_travel_the_whole_way_and_every_path_is_canonical() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let key = env.bootstrap("starter")?;
    let api = env.spawn(Binary::Api, &[])?;
    let worker = env.spawn(Binary::Worker, &[])?;
    let scheduler = env.spawn(Binary::Scheduler, &[])?;
    wait_ready(&format!("{}/readyz", env.api_url()), READY).await?;
    let client = Client::new(env.api_url(), key);

    let cases: Vec<(Value, Vec<i64>, Vec<i64>)> = vec![
        (json!({"dimensions": 1, "size": 50}), vec![49], vec![3]),
        (json!({"dimensions": 2, "size": 10}), vec![0, 0], vec![9, 9]),
        (json!({"dimensions": 2, "size": 10}), vec![9, 0], vec![0, 9]),
        (
            json!({"dimensions": 3, "size": 20}),
            vec![19, 0, 7],
            vec![2, 15, 7],
        ),
        (
            json!({"size": [3, 5, 7, 2]}),
            vec![2, 4, 0, 1],
            vec![0, 0, 6, 0],
        ),
        (
            json!({"dimensions": 10, "size": 2}),
            vec![0; 10],
            vec![1; 10],
        ),
        (
            json!({"dimensions": 2, "size": 1000}),
            vec![999, 0],
            vec![0, 999],
        ),
        (json!({"dimensions": 2, "size": 5}), vec![2, 2], vec![2, 2]),
    ];
    let mut ids = Vec::new();
    for (lattice, start, end) in &cases {
        let body = json!({"lattice": lattice, "operation": "shortest_path", "params": {"start": start, "end": end}});
        ids.push(client.submit(&body).await?);
    }
    for ((_, start, end), id) in cases.iter().zip(&ids) {
        let job = client.wait_terminal(id, FINISH).await?;
        assert_eq!(job["status"], "succeeded", "{job}");
        assert_eq!(job["attempt"], 1);
        assert!(job["started_at"].is_string() && job["finished_at"].is_string());
        check_path(&job, start, end);
        assert_eq!(
            effects(&env, id).await?,
            (1, 1, 1, 1),
            "one claim, one terminal transition, one webhook, one usage event"
        );
    }

    // Every process serves its probes on its probe port; the api's public
    // port has no /metrics.
    let public_metrics = reqwest::get(format!("{}/metrics", env.api_url()))
        .await?
        .status();
    assert_eq!(public_metrics, 404, "/metrics on the api's public port");
    for port in [
        env.api_probe_port,
        env.worker_probe_port,
        env.scheduler_probe_port,
    ] {
        for probe in ["healthz", "readyz", "metrics"] {
            let status = reqwest::get(format!("http://127.0.0.1:{port}/{probe}"))
                .await?
                .status();
            assert_eq!(status, 200, "port {port} /{probe}");
        }
    }
    // Log lines about a job carry its id; the api's carry the request id.
    let worker_log = worker.log_text();
    let api_log = api.log_text();
    for ((lattice, _, _), id) in cases.iter().zip(&ids) {
        let lines: Vec<Value> = worker_log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| {
                l["spans"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|s| s["job_id"] == json!(id))
            })
            .collect();
        let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
        // Jobs of microseconds run through: computed before a claim, claim
        // and outcome recorded at once (worker/src/run_through.rs); the
        // million-vertex one is estimated past `worker.run_through_max_ms`
        // and claimed first.
        let expected: &[&str] = if lattice["size"] == 1000 {
            &["job claimed", "computed", "outcome recorded"]
        } else {
            &["computed", "outcome recorded"]
        };
        assert_eq!(messages, expected, "worker lines of {id}");
        let accepted = api_log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| l["message"] == "job accepted" && l["spans"][0]["job_id"] == json!(id));
        let request_id = accepted
            .as_ref()
            .map(|l| l["spans"][0]["request_id"].clone())
            .unwrap_or_default();
        assert!(
            request_id.as_str().is_some_and(|r| !r.is_empty()),
            "api line for {id}: {accepted:?}"
        );
    }
    drop((api, worker, scheduler));
    env.teardown().await
}

#[tokio::test]
async fn a_relay_killed_between_publish_and_mark_loses_no_job_and_the_republish_has_no_second_effect()
-> anyhow::Result<()> {
    let env = Env::new().await?;
    let key = env.bootstrap("free")?;
    let api = env.spawn(Binary::Api, &[])?;
    wait_ready(&format!("{}/readyz", env.api_url()), READY).await?;
    let client = Client::new(env.api_url(), key);
    let id = client
        .submit(
            &json!({"lattice": {"dimensions": 2, "size": 30}, "operation": "shortest_path",
                        "params": {"start": [0, 29], "end": [29, 0]}}),
        )
        .await?;

    // 1. The relay publishes, the broker confirms, and the relay dies before marking.
    let mut crashing = env.spawn(
        Binary::Scheduler,
        &[("CATALYTIC_FAULTS__RELAY_EXIT_AFTER_PUBLISH", "true")],
    )?;
    let status = crashing.wait_exit(READY).await?;
    assert_eq!(
        status.code(),
        Some(86),
        "the fault hook fired:\n{}",
        crashing.log_text()
    );
    let (unsent,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM job_outbox WHERE job_id = $1::uuid AND sent_at IS NULL",
    )
    .bind(&id)
    .fetch_one(&env.db.pool)
    .await?;
    assert_eq!(unsent, 1, "the row was not marked sent");

    // 2. A healthy relay republishes the same row: two copies now wait.
    let (_conn, channel) = env.channel().await?;
    let queue = env.topology().job_queue(QueueClass::Low);
    let scheduler = env.spawn(Binary::Scheduler, &[])?;
    wait_until("the republish", READY, || async {
        let ready = env.topology().ready_messages(&channel, &queue).await?;
        Ok((ready == 2).then_some(()))
    })
    .await?;

    // 3. A worker takes both: one computes, the other is dropped as stale.
    let worker = env.spawn(Binary::Worker, &[])?;
    let job = client.wait_terminal(&id, FINISH).await?;
    assert_eq!(job["status"], "succeeded");
    check_path(&job, &[0, 29], &[29, 0]);
    wait_until("the duplicate to be dropped", FINISH, || async {
        let stale = metric(
            env.worker_probe_port,
            r#"catalytic_stale_writes_total{transition="claim"}"#,
        )
        .await?;
        Ok((stale == Some(1.0)).then_some(()))
    })
    .await?;
    assert_eq!(env.topology().ready_messages(&channel, &queue).await?, 0);
    assert_eq!(
        effects(&env, &id).await?,
        (1, 1, 1, 1),
        "exactly one effect"
    );
    let (unsent,): (i64,) = sqlx::query_as("SELECT count(*) FROM job_outbox WHERE sent_at IS NULL")
        .fetch_one(&env.db.pool)
        .await?;
    assert_eq!(unsent, 0);
    drop((api, scheduler, worker));
    env.teardown().await
}

#[tokio::test]
async fn a_message_delivered_twice_yields_one_result_and_one_terminal_transition()
-> anyhow::Result<()> {
    let env = Env::new().await?;
    let key = env.bootstrap("free")?;
    let api = env.spawn(Binary::Api, &[])?;
    wait_ready(&format!("{}/readyz", env.api_url()), READY).await?;
    let client = Client::new(env.api_url(), key);
    let id = client
        .submit(
            &json!({"lattice": {"dimensions": 3, "size": 12}, "operation": "shortest_path",
                        "params": {"start": [0, 0, 0], "end": [11, 5, 3]}}),
        )
        .await?;
    // The message the relay will publish, read before there is a relay:
    // a published row leaves the outbox.
    let (message_id, tenant_id): (uuid::Uuid, uuid::Uuid) =
        sqlx::query_as("SELECT message_id, tenant_id FROM job_outbox WHERE job_id = $1::uuid")
            .bind(&id)
            .fetch_one(&env.db.pool)
            .await?;
    let scheduler = env.spawn(Binary::Scheduler, &[])?;
    let worker = env.spawn(Binary::Worker, &[])?;
    wait_ready(
        &format!("http://127.0.0.1:{}/readyz", env.worker_probe_port),
        READY,
    )
    .await?;
    let first = client.wait_terminal(&id, FINISH).await?;
    assert_eq!(first["status"], "succeeded");

    // Deliver the very message again, as a broker redelivery or a relay
    // republish would: same message id, job and attempt.
    let message = JobMessage::new(
        catalytic_shared::ids::MessageId::from_uuid(message_id),
        id.parse()?,
        catalytic_shared::ids::TenantId::from_uuid(tenant_id),
        1,
    );
    let (_conn, channel) = env.channel().await?;
    channel.confirm_select(Default::default()).await?;
    channel
        .basic_publish(
            env.topology().jobs_exchange().into(),
            QueueClass::Low.as_str().into(),
            BasicPublishOptions::default(),
            &message.to_bytes(),
            BasicProperties::default().with_message_id(message_id.to_string().into()),
        )
        .await?
        .await?;
    wait_until("the duplicate to be dropped", FINISH, || async {
        let stale = metric(
            env.worker_probe_port,
            r#"catalytic_stale_writes_total{transition="claim"}"#,
        )
        .await?;
        Ok((stale == Some(1.0)).then_some(()))
    })
    .await?;

    let second = client.job(&id).await?;
    assert_eq!(
        second["result"], first["result"],
        "the result is written once"
    );
    assert_eq!(
        second["updated_at"], first["updated_at"],
        "the row was not touched again"
    );
    assert_eq!(effects(&env, &id).await?, (1, 1, 1, 1));
    drop((api, scheduler, worker));
    env.teardown().await
}

#[test]
fn the_reference_path_is_right_on_a_hand_checked_case() {
    // From (2,0) to (0,1) in 2-D: decrease axis 0 first (index 2 → 1 → 0),
    // then increase axis 1.
    assert_eq!(
        canonical_path(&[2, 0], &[0, 1]),
        vec![vec![2, 0], vec![1, 0], vec![0, 0], vec![0, 1]]
    );
    // Only increases: lowest axis first.
    assert_eq!(
        canonical_path(&[0, 0], &[1, 1]),
        vec![vec![0, 0], vec![1, 0], vec![1, 1]]
    );
}

/// A small shortest path that may not start before `delay_secs`.
fn delayed(delay_secs: u64) -> Value {
    json!({"lattice": {"dimensions": 2, "size": 8}, "operation": "shortest_path",
           "params": {"start": [0, 0], "end": [7, 7]}, "delay_secs": delay_secs})
}

/// A time field of a job (`run_at`, `started_at`).
fn time_of(job: &Value, field: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    job[field]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
}

/// Delayed jobs (issue 21) on the real binaries: a job submitted with
/// `delay_secs` is `scheduled` until its `run_at`, then the relay leader
/// queues it and it runs; it does not start early, and starts within a
/// couple of poll intervals of its time.
#[tokio::test]
async fn a_delayed_job_waits_for_its_time_then_runs() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let key = env.bootstrap("starter")?;
    let _api = env.spawn(Binary::Api, &[])?;
    let _worker = env.spawn(Binary::Worker, &[])?;
    let _scheduler = env.spawn(Binary::Scheduler, &[])?;
    wait_ready(&format!("{}/readyz", env.api_url()), READY).await?;
    let client = Client::new(env.api_url(), key);
    let id = client.submit(&delayed(2)).await?;
    assert_eq!(client.job(&id).await?["status"], "scheduled");
    let job = client.wait_terminal(&id, FINISH).await?;
    assert_eq!(job["status"], "succeeded", "{job}");
    let (Some(run_at), Some(started)) = (time_of(&job, "run_at"), time_of(&job, "started_at"))
    else {
        anyhow::bail!("no run_at or started_at: {job}");
    };
    let late = started - run_at;
    assert!(
        late >= chrono::TimeDelta::zero(),
        "started {late} before its run_at: {job}"
    );
    assert!(
        late < chrono::TimeDelta::seconds(2),
        "started {late} after its run_at: {job}"
    );
    env.teardown().await
}

/// A delayed job's time is the database's, not a process's: with no
/// scheduler running when it comes due, the job waits `scheduled`, and the
/// scheduler started afterwards queues it at once and it runs.
#[tokio::test]
async fn a_delayed_job_due_while_no_scheduler_runs_is_queued_by_the_next_one() -> anyhow::Result<()>
{
    let env = Env::new().await?;
    let key = env.bootstrap("starter")?;
    let _api = env.spawn(Binary::Api, &[])?;
    let _worker = env.spawn(Binary::Worker, &[])?;
    wait_ready(&format!("{}/readyz", env.api_url()), READY).await?;
    let client = Client::new(env.api_url(), key);
    let id = client.submit(&delayed(1)).await?;
    let run_at =
        time_of(&client.job(&id).await?, "run_at").ok_or_else(|| anyhow::anyhow!("no run_at"))?;
    wait_until("the job's run_at to pass", READY, || async {
        Ok((chrono::Utc::now() > run_at + chrono::TimeDelta::milliseconds(500)).then_some(()))
    })
    .await?;
    assert_eq!(
        client.job(&id).await?["status"],
        "scheduled",
        "nothing queues it without a scheduler"
    );
    let _scheduler = env.spawn(Binary::Scheduler, &[])?;
    let job = client.wait_terminal(&id, FINISH).await?;
    assert_eq!(job["status"], "succeeded", "{job}");
    env.teardown().await
}
