//! End-to-end harness: spawns the real `catalytic-api`, `catalytic-worker`
//! and `catalytic-scheduler` binaries against the real servers, each test
//! with its own database and queue prefix, and gives typed helpers to drive
//! them and to poll (with a deadline, never a sleep) for what they do.
//!
//! The binaries are found beside the test executable (`target/debug`): run
//! `cargo build --workspace --bins` first (the test script does).

pub mod otlp;

use anyhow::{Context, bail};
use catalytic_shared::queue::Topology;
use catalytic_shared::testkit::{self, TestDatabase};
use serde_json::Value;
use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const DELIVERY_LIMIT: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    Api,
    Worker,
    Scheduler,
}

impl Binary {
    fn file_name(self) -> &'static str {
        match self {
            Binary::Api => "catalytic-api",
            Binary::Worker => "catalytic-worker",
            Binary::Scheduler => "catalytic-scheduler",
        }
    }
}

/// One test's private slice of the real servers, plus its ports and logs.
pub struct Env {
    pub db: TestDatabase,
    pub prefix: String,
    pub api_port: u16,
    pub api_probe_port: u16,
    pub worker_probe_port: u16,
    pub scheduler_probe_port: u16,
    logs: tempfile::TempDir,
}

impl Env {
    pub async fn new() -> anyhow::Result<Self> {
        Ok(Self {
            db: TestDatabase::create()
                .await
                .context("creating the test database")?,
            prefix: testkit::unique_name(),
            api_port: free_port()?,
            api_probe_port: free_port()?,
            worker_probe_port: free_port()?,
            scheduler_probe_port: free_port()?,
            logs: tempfile::tempdir()?,
        })
    }

    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    /// The `CATALYTIC_*` settings every process of this test gets.
    pub fn vars(&self) -> Vec<(String, String)> {
        [
            ("CATALYTIC_DATABASE__URL", self.db.url.clone()),
            // The scheduler holds 5 (scheduler::startup::HELD_CONNECTIONS).
            ("CATALYTIC_DATABASE__MAX_CONNECTIONS", "8".to_owned()),
            ("CATALYTIC_AMQP__URL", testkit::amqp_url()),
            ("CATALYTIC_AMQP__PREFIX", self.prefix.clone()),
            ("CATALYTIC_AMQP__DELIVERY_LIMIT", DELIVERY_LIMIT.to_string()),
            ("CATALYTIC_REDIS__URL", testkit::redis_url()),
            (
                "CATALYTIC_API__LISTEN",
                format!("127.0.0.1:{}", self.api_port),
            ),
            (
                "CATALYTIC_API__PROBE_LISTEN",
                format!("127.0.0.1:{}", self.api_probe_port),
            ),
            (
                "CATALYTIC_WORKER__PROBE_LISTEN",
                format!("127.0.0.1:{}", self.worker_probe_port),
            ),
            ("CATALYTIC_WORKER__CONCURRENCY", "2".to_owned()),
            ("CATALYTIC_WORKER__SHUTDOWN_GRACE_SECS", "10".to_owned()),
            (
                "CATALYTIC_SCHEDULER__PROBE_LISTEN",
                format!("127.0.0.1:{}", self.scheduler_probe_port),
            ),
            ("CATALYTIC_SCHEDULER__RELAY_POLL_MS", "200".to_owned()),
            // Test receivers listen on loopback, which webhooks (the api when
            // an endpoint is saved, the scheduler when it delivers) refuse
            // unless listed.
            (
                "CATALYTIC_WEBHOOKS__ALLOW_PRIVATE",
                r#"["127.0.0.1/32"]"#.to_owned(),
            ),
        ]
        .into_iter()
        .chain(testkit::tls_ca_file().into_iter().flat_map(|ca| {
            [
                ("CATALYTIC_DATABASE__TLS_CA_FILE", ca.clone()),
                ("CATALYTIC_AMQP__TLS_CA_FILE", ca.clone()),
                ("CATALYTIC_REDIS__TLS_CA_FILE", ca),
            ]
        }))
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Starts a binary with this test's settings plus `extra`.
    pub fn spawn(&self, binary: Binary, extra: &[(&str, &str)]) -> anyhow::Result<Process> {
        let path = binary_path(binary)?;
        // A process-wide sequence number: two processes of one binary in one
        // Env (two workers) must not share a log file.
        static SPAWNED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = SPAWNED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log_path = self
            .logs
            .path()
            .join(format!("{}-{seq}.log", binary.file_name()));
        let log = std::fs::File::create(&log_path)?;
        let mut command = Command::new(&path);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        for (k, v) in self.vars() {
            command.env(k, v);
        }
        for (k, v) in extra {
            command.env(k, v);
        }
        let child = command
            .spawn()
            .with_context(|| format!("spawning {}", path.display()))?;
        Ok(Process {
            child,
            name: binary.file_name(),
            log: log_path,
        })
    }

    /// Creates a tenant with the real `catalytic-api bootstrap` and returns its key.
    pub fn bootstrap(&self, plan: &str) -> anyhow::Result<String> {
        self.bootstrap_named("e2e", plan)
    }

    /// `bootstrap` for a tenant named `tenant` (several tenants in one test).
    pub fn bootstrap_named(&self, tenant: &str, plan: &str) -> anyhow::Result<String> {
        self.api_command(
            &["bootstrap", "--tenant", tenant, "--plan", plan],
            "api_key",
        )
    }

    /// Creates an operator key (for /v1/admin/*) with the real
    /// `catalytic-api admin create-operator-key`.
    pub fn operator_key(&self) -> anyhow::Result<String> {
        self.api_command(
            &["admin", "create-operator-key", "--name", "e2e"],
            "operator_key",
        )
    }

    /// Runs `catalytic-api ARGS` with this test's settings and returns the
    /// string `field` of the JSON object it prints.
    fn api_command(&self, args: &[&str], field: &str) -> anyhow::Result<String> {
        let output = Command::new(binary_path(Binary::Api)?)
            .args(args)
            .env_clear()
            .envs(self.vars())
            .output()?;
        if !output.status.success() {
            bail!(
                "catalytic-api {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let printed: Value = serde_json::from_slice(&output.stdout)?;
        printed[field]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("catalytic-api {} printed no {field}", args.join(" ")))
    }

    pub fn topology(&self) -> Topology {
        Topology::new(&self.prefix, DELIVERY_LIMIT)
    }

    /// A channel on the test's broker, for inspecting or injecting messages.
    pub async fn channel(&self) -> anyhow::Result<(lapin::Connection, lapin::Channel)> {
        let tls = lapin::tcp::OwnedTLSConfig {
            identity: None,
            cert_chain: testkit::tls_ca_file()
                .map(std::fs::read_to_string)
                .transpose()?,
        };
        let conn = lapin::Connection::connect_with_config(
            &testkit::amqp_url(),
            lapin::ConnectionProperties::default(),
            tls,
            lapin::runtime::default_runtime()?,
        )
        .await?;
        let channel = conn.create_channel().await?;
        Ok((conn, channel))
    }

    /// Drops the database and the queues. Processes should be stopped first.
    pub async fn teardown(self) -> anyhow::Result<()> {
        if let Ok((conn, channel)) = self.channel().await {
            let _ = self.topology().delete(&channel).await;
            let _ = conn.close(200, "done".into()).await;
        }
        self.db.drop_database().await
    }
}

/// A spawned binary. Dropping it kills it (so a failed test leaks nothing)
/// and prints the tail of its log (shown when the test fails).
pub struct Process {
    child: Child,
    pub name: &'static str,
    log: PathBuf,
}

impl Process {
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap_or(i32::MAX)
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) -> anyhow::Result<()> {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), signal)?;
        Ok(())
    }

    /// Waits for the process to exit by itself.
    pub async fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let name = self.name;
        wait_until(&format!("{name} to exit"), timeout, || {
            let status = self.child.try_wait();
            async move { Ok(status?) }
        })
        .await
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Always: nextest shows a test's output only when it fails, and a
        // test that fails by returning an error (a deadline passed) does not
        // panic, so its processes' last lines are what explains it.
        let text = self.log_text();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        eprintln!("----- last lines of {} -----", self.name);
        for line in tail.into_iter().rev() {
            eprintln!("{line}");
        }
    }
}

fn binary_path(binary: Binary) -> anyhow::Result<PathBuf> {
    built_binary(binary.file_name())
}

/// A binary of the workspace, built beside the test executable.
pub(crate) fn built_binary(file_name: &str) -> anyhow::Result<PathBuf> {
    // target/debug/deps/<test> → target/debug/<binary>
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .context("locating target/debug")?;
    let path = dir.join(file_name);
    if !path.exists() {
        bail!(
            "{} not found: run `cargo build --workspace --bins` first",
            path.display()
        );
    }
    Ok(path)
}

/// Where [`free_port`] looks: below Linux's ephemeral range (32768–60999 by
/// default), so the outgoing connections of parallel tests (to PostgreSQL,
/// RabbitMQ, Redis, each taking an ephemeral local port) cannot take a port
/// between its choice and the child's bind, as they could with port 0.
const TEST_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A free TCP port on the loopback for a child process to bind (a second
/// process of one binary needs its own probe port). Starts at a point that
/// differs per process and call, and returns the first port it can bind.
pub fn free_port() -> anyhow::Result<u16> {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    let span = u64::from(TEST_PORTS.end - TEST_PORTS.start);
    let seed = u64::from(std::process::id()) * 7919 + call * 104_729 + nanos;
    for step in 0..span {
        let port = TEST_PORTS.start + ((seed + step) % span) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    anyhow::bail!("no free port in {TEST_PORTS:?}")
}

/// Polls `check` every 25 ms until it returns `Some`, or fails after `timeout`.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = None;
    loop {
        match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
        if Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what} (last error: {last_error:?})");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A typed client of the api, as a tenant.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub key: String,
}

impl Client {
    pub fn new(base: String, key: String) -> Self {
        Self {
            http: reqwest::Client::new(),
            base,
            key,
        }
    }

    /// Submits a job; returns its id (fails unless 202).
    pub async fn submit(&self, body: &Value) -> anyhow::Result<String> {
        let response = self
            .http
            .post(format!("{}/v1/jobs", self.base))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if status != 202 {
            bail!("submit answered {status}: {body}");
        }
        body["id"]
            .as_str()
            .map(str::to_owned)
            .context("no id in the 202")
    }

    pub async fn job(&self, id: &str) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("{}/v1/jobs/{id}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Polls until the job is terminal; returns it.
    pub async fn wait_terminal(&self, id: &str, timeout: Duration) -> anyhow::Result<Value> {
        wait_until(&format!("job {id} to finish"), timeout, || async {
            let job = self.job(id).await?;
            let terminal = matches!(
                job["status"].as_str(),
                Some("succeeded" | "failed" | "cancelled")
            );
            Ok(terminal.then_some(job))
        })
        .await
    }
}

/// Waits until `url` answers 200 (a process's `/readyz`).
pub async fn wait_ready(url: &str, timeout: Duration) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    wait_until(&format!("{url} to be ready"), timeout, || async {
        Ok(http
            .get(url)
            .send()
            .await
            .ok()
            .filter(|r| r.status().is_success())
            .map(|_| ()))
    })
    .await
}

/// The value of one Prometheus sample (`name{labels}` exactly as rendered).
pub async fn metric(probe_port: u16, sample: &str) -> anyhow::Result<Option<f64>> {
    let text = reqwest::get(format!("http://127.0.0.1:{probe_port}/metrics"))
        .await?
        .text()
        .await?;
    Ok(text.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == sample).then(|| value.parse().ok()).flatten()
    }))
}

/// The promise of issue 5, counted: every accepted job reaches exactly one
/// terminal state, and its result, webhook message and usage event exist
/// exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ledger {
    pub accepted: i64,
    pub terminal: i64,
    /// Jobs with more than one terminal transition, webhook message or usage event.
    pub duplicated: i64,
    /// Terminal jobs missing their webhook message or usage event, or
    /// succeeded without a result.
    pub incomplete: i64,
}

impl Ledger {
    pub async fn read(pool: &sqlx::PgPool) -> anyhow::Result<Self> {
        let (accepted, terminal, duplicated, incomplete): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT
               count(*),
               count(*) FILTER (WHERE status IN ('succeeded', 'failed', 'cancelled')),
               count(*) FILTER (WHERE t > 1 OR w > 1 OR u > 1),
               count(*) FILTER (WHERE status IN ('succeeded', 'failed', 'cancelled')
                                  AND (t <> 1 OR w <> 1 OR u <> 1 OR (status = 'succeeded' AND result IS NULL)))
             FROM (SELECT j.status, j.result,
                     (SELECT count(*) FROM job_transitions x WHERE x.job_id = j.id
                        AND x.to_status IN ('succeeded', 'failed', 'cancelled')) AS t,
                     (SELECT count(*) FROM webhook_messages x WHERE x.job_id = j.id) AS w,
                     (SELECT count(*) FROM usage_events x WHERE x.job_id = j.id) AS u
                   FROM jobs j) counts",
        )
        .fetch_one(pool)
        .await?;
        Ok(Self {
            accepted,
            terminal,
            duplicated,
            incomplete,
        })
    }

    /// Polls until every accepted job is terminal, then checks the rest.
    pub async fn settle(pool: &sqlx::PgPool, timeout: Duration) -> anyhow::Result<Self> {
        let ledger = wait_until("every accepted job to be terminal", timeout, || async {
            let ledger = Self::read(pool).await?;
            Ok((ledger.terminal == ledger.accepted).then_some(ledger))
        })
        .await?;
        println!(
            "ledger: accepted {} / terminal {} / duplicated {} / incomplete {}",
            ledger.accepted, ledger.terminal, ledger.duplicated, ledger.incomplete
        );
        anyhow::ensure!(
            ledger.duplicated == 0 && ledger.incomplete == 0,
            "{ledger:?}"
        );
        Ok(ledger)
    }
}
