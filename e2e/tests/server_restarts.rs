//! Nothing lost through server restarts (issue 5): RabbitMQ stopped and
//! started, PostgreSQL restarted, Redis stopped, each under load, with the
//! api, worker and scheduler never restarted. These stop the machine's
//! shared servers, so scripts/test.sh runs them alone, one at a time, in
//! their own step; each leaves its server running, even when it fails.

use catalytic_e2e::{Binary, Client, Env, Ledger, wait_ready, wait_until};
use serde_json::json;
use std::process::Command;
use std::time::Duration;

/// Starts the server again when dropped, so a failing test leaves it up.
struct Restore(&'static str);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = sh(self.0);
    }
}

fn sh(script: &str) -> anyhow::Result<()> {
    let status = Command::new("bash").arg("-c").arg(script).status()?;
    anyhow::ensure!(status.success(), "`{script}` failed: {status}");
    Ok(())
}

const START_RABBITMQ: &str = "rabbitmqctl -q start_app && rabbitmqctl -q await_startup";
const START_POSTGRES: &str = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | sort -V | tail -1) main start 2>/dev/null; pg_isready -q -t 60 -h 127.0.0.1";
const START_REDIS: &str = "redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no";

async fn stack(env: &Env) -> anyhow::Result<(Vec<catalytic_e2e::Process>, Client)> {
    let key = env.bootstrap("enterprise")?;
    let procs = vec![
        env.spawn(Binary::Api, &[])?,
        env.spawn(Binary::Scheduler, &[])?,
        env.spawn(Binary::Worker, &[])?,
    ];
    wait_ready(
        &format!("{}/readyz", env.api_url()),
        Duration::from_secs(30),
    )
    .await?;
    wait_ready(
        &format!("http://127.0.0.1:{}/readyz", env.worker_probe_port),
        Duration::from_secs(30),
    )
    .await?;
    Ok((procs, Client::new(env.api_url(), key)))
}

fn job(i: u32) -> serde_json::Value {
    json!({"lattice": {"dimensions": 3, "size": 30}, "operation": "shortest_path",
           "params": {"start": [0, 0, i % 30], "end": [29, 29, 29 - i % 30]}})
}

/// Submits `n` jobs; a refused submit (the server is down) is not accepted
/// and not counted: the ledger counts what the database holds.
async fn load(client: &Client, from: u32, n: u32) -> u32 {
    let mut accepted = 0;
    for i in from..from + n {
        if client.submit(&job(i)).await.is_ok() {
            accepted += 1;
        }
    }
    accepted
}

async fn ready(url: &str) -> bool {
    reqwest::get(url)
        .await
        .is_ok_and(|r| r.status().is_success())
}

#[tokio::test]
async fn rabbitmq_stopped_and_started_under_load_loses_nothing() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let (_procs, client) = stack(&env).await?;
    let worker_ready = format!("http://127.0.0.1:{}/readyz", env.worker_probe_port);
    load(&client, 0, 20).await;
    let restore = Restore(START_RABBITMQ);
    sh("rabbitmqctl -q stop_app")?;
    wait_until("the worker to notice", Duration::from_secs(30), || async {
        Ok((!ready(&worker_ready).await).then_some(()))
    })
    .await?;
    // Submits still succeed: the api never talks to the broker.
    assert_eq!(load(&client, 20, 20).await, 20);
    sh(START_RABBITMQ)?;
    drop(restore);
    wait_until(
        "the worker to reconnect",
        Duration::from_secs(60),
        || async { Ok(ready(&worker_ready).await.then_some(())) },
    )
    .await?;
    load(&client, 40, 20).await;
    let ledger = Ledger::settle(&env.db.pool, Duration::from_secs(120)).await?;
    assert_eq!(ledger.accepted, 60);
    env.teardown().await
}

#[tokio::test]
async fn postgres_restarted_under_load_loses_nothing() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let (_procs, client) = stack(&env).await?;
    load(&client, 0, 20).await;
    let restore = Restore(START_POSTGRES);
    sh(
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | sort -V | tail -1) main restart && pg_isready -q -t 60 -h 127.0.0.1",
    )?;
    drop(restore);
    // The processes were not restarted; their pools reconnect.
    wait_until(
        "the api to serve again",
        Duration::from_secs(60),
        || async { Ok(client.submit(&job(99)).await.is_ok().then_some(())) },
    )
    .await?;
    load(&client, 20, 20).await;
    let ledger = Ledger::settle(&env.db.pool, Duration::from_secs(120)).await?;
    assert!(ledger.accepted >= 41, "{ledger:?}");
    env.teardown().await
}

#[tokio::test]
async fn redis_stopped_under_load_refuses_and_loses_nothing() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let (_procs, client) = stack(&env).await?;
    load(&client, 0, 10).await;
    let restore = Restore(START_REDIS);
    sh(
        "redis-cli -h 127.0.0.1 shutdown nosave >/dev/null 2>&1; ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1",
    )?;
    // Redis is a cache: with it gone every submit still succeeds.
    assert_eq!(load(&client, 10, 20).await, 20);
    sh(START_REDIS)?;
    drop(restore);
    let ledger = Ledger::settle(&env.db.pool, Duration::from_secs(120)).await?;
    assert_eq!(ledger.accepted, 30);
    env.teardown().await
}
