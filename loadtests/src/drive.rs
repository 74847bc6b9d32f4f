//! The loops. Open: job `i` is sent at `start + i / rate` whatever the
//! answers do (a slow server shows as latency, not as fewer jobs). Closed:
//! N clients, each submitting and following one job at a time. Bulk: N
//! clients, each submitting a batch of jobs in one request and following
//! them all before the next. Every
//! accepted job is followed with `GET /v1/jobs/{id}?wait=10` until terminal
//! or the drain deadline. Every loop is bounded in count and in time.

use crate::mix::Mix;
use crate::report::{Quantiles, Report};
use anyhow::{Context, bail, ensure};
use catalytic_client::{Client, JobId, JobStatus};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Seconds each follow-up long-poll may wait on the server.
const LONG_POLL_SECS: u32 = 10;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// A fixed arrival rate, jobs per second.
    Open { rate: f64 },
    /// N clients, one job at a time each.
    Closed { clients: usize },
    /// N clients, each submitting `batch` jobs in one bulk submit
    /// (`POST /v1/jobs/batch`) and following all of them to their end
    /// before the next.
    Bulk { clients: usize, batch: usize },
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `http://127.0.0.1:PORT`: only loopback targets are accepted.
    pub base: String,
    /// One API key per tenant; jobs go round robin over them.
    pub keys: Vec<String>,
    pub mode: Mode,
    /// How long new jobs are generated.
    pub duration: Duration,
    pub mix: Mix,
    /// Most long-polls in flight at once (open loop).
    pub follow_concurrency: usize,
    /// Most submits in flight at once (open loop); beyond it the loop waits.
    pub max_in_flight: usize,
    /// After the window, how long unfinished jobs are still followed.
    pub drain: Duration,
}

impl Config {
    fn check(&self) -> anyhow::Result<()> {
        let url = reqwest::Url::parse(&self.base).context("parsing the API URL")?;
        let host = url.host_str().unwrap_or_default();
        ensure!(
            matches!(host, "127.0.0.1" | "localhost" | "[::1]"),
            "only loopback targets are driven, not {host:?}"
        );
        ensure!(!self.keys.is_empty(), "no tenant keys");
        ensure!(
            self.duration <= Duration::from_secs(3600),
            "duration above 1 h"
        );
        match self.mode {
            Mode::Open { rate } if !(rate > 0.0 && rate <= 100_000.0) => {
                bail!("rate must be in (0, 100000] jobs/s")
            }
            Mode::Closed { clients } | Mode::Bulk { clients, .. }
                if !(1..=4096).contains(&clients) =>
            {
                bail!("clients must be 1-4096")
            }
            Mode::Bulk { batch, .. } if !(1..=1000).contains(&batch) => {
                bail!("bulk batches must hold 1-1000 jobs")
            }
            _ => Ok(()),
        }
    }
}

#[derive(Default)]
struct Tally {
    submitted: u64,
    accepted: u64,
    succeeded: u64,
    failed: u64,
    cancelled: u64,
    unfinished: u64,
    errors: BTreeMap<String, u64>,
    submit: Vec<Duration>,
    end_to_end: Vec<Duration>,
    last_terminal: Option<Instant>,
}

type Shared = Arc<Mutex<Tally>>;

fn tally(shared: &Shared, f: impl FnOnce(&mut Tally)) {
    // A poisoned lock means a task panicked mid-update; keep counting.
    let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut guard);
}

/// Runs the load and returns the report; stops by itself after
/// `duration + drain` at the latest.
pub async fn run(config: Config) -> anyhow::Result<Report> {
    config.check()?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(4096)
        .timeout(Duration::from_secs(u64::from(LONG_POLL_SECS) + 20))
        .build()?;
    let clients = config
        .keys
        .iter()
        .map(|key| Client::with_http(http.clone(), config.base.clone(), key.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let shared: Shared = Arc::default();
    let start = Instant::now();
    let window_end = start + config.duration;
    let deadline = window_end + config.drain;
    let mut tasks = JoinSet::new();
    match config.mode {
        Mode::Open { rate } => {
            let total = (rate * config.duration.as_secs_f64()).round() as u64;
            let submits = Arc::new(Semaphore::new(config.max_in_flight.max(1)));
            let follows = Arc::new(Semaphore::new(config.follow_concurrency.max(1)));
            for i in 0..total {
                let at = start + Duration::from_secs_f64(i as f64 / rate);
                tokio::time::sleep_until(at.into()).await;
                let permit = submits.clone().acquire_owned().await?;
                let client = clients[(i % clients.len() as u64) as usize].clone();
                let body = config.mix.pick(i).body();
                let (shared, follows) = (shared.clone(), follows.clone());
                tasks.spawn(async move {
                    one_job(
                        &client,
                        &body,
                        &shared,
                        Some(permit),
                        Some(follows),
                        deadline,
                    )
                    .await;
                });
            }
        }
        Mode::Closed { clients: n } => {
            for c in 0..n {
                let client = clients[c % clients.len()].clone();
                let (shared, mix) = (shared.clone(), config.mix.clone());
                tasks.spawn(async move {
                    let mut i = c as u64;
                    while Instant::now() < window_end {
                        one_job(&client, &mix.pick(i).body(), &shared, None, None, deadline).await;
                        i += n as u64;
                    }
                });
            }
        }
        Mode::Bulk { clients: n, batch } => {
            for c in 0..n {
                let client = clients[c % clients.len()].clone();
                let (shared, mix) = (shared.clone(), config.mix.clone());
                tasks.spawn(async move {
                    let mut i = (c * batch) as u64;
                    while Instant::now() < window_end {
                        let bodies: Vec<_> =
                            (0..batch as u64).map(|k| mix.pick(i + k).body()).collect();
                        one_batch(&client, &bodies, &shared, deadline).await;
                        i += (n * batch) as u64;
                    }
                });
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.context("a load task panicked")?;
    }
    let mut t = std::mem::take(&mut *shared.lock().unwrap_or_else(|e| e.into_inner()));
    let elapsed = t
        .last_terminal
        .map_or(start.elapsed(), |last| last.duration_since(start));
    let terminal = t.succeeded + t.failed + t.cancelled;
    Ok(Report {
        mode: match config.mode {
            Mode::Open { rate } => format!("open rate={rate}/s"),
            Mode::Closed { clients } => format!("closed clients={clients}"),
            Mode::Bulk { clients, batch } => format!("bulk clients={clients} batch={batch}"),
        },
        mix: config.mix.to_string(),
        tenants: config.keys.len(),
        duration_s: config.duration.as_secs_f64(),
        submitted: t.submitted,
        accepted: t.accepted,
        succeeded: t.succeeded,
        failed: t.failed,
        cancelled: t.cancelled,
        unfinished: t.unfinished,
        submit_ms: Quantiles::of(&mut t.submit),
        end_to_end_ms: Quantiles::of(&mut t.end_to_end),
        // Quantiles::of sorted them.
        submit_cdf_ms: crate::report::cdf_points(&t.submit, 200),
        end_to_end_cdf_ms: crate::report::cdf_points(&t.end_to_end, 200),
        ceilings: None,
        accepted_per_s: t.accepted as f64 / config.duration.as_secs_f64().max(1e-9),
        completed_per_s: terminal as f64 / elapsed.as_secs_f64().max(1e-9),
        elapsed_s: elapsed.as_secs_f64(),
        errors: t.errors,
    })
}

/// Submits `bodies` in one bulk submit and follows every accepted job to
/// its terminal state (or the deadline), one long-poll at a time: by the
/// time the last is answered most of the others have ended, so each of
/// those reads answers at once. Each job's latencies count from the
/// bulk submit's start.
async fn one_batch(
    client: &Client,
    bodies: &[serde_json::Value],
    shared: &Shared,
    deadline: Instant,
) {
    let sent = Instant::now();
    tally(shared, |t| t.submitted += bodies.len() as u64);
    let submitted = match client.submit_batch(bodies, None).await {
        Ok(s) => s,
        Err(e) => {
            tally(shared, |t| {
                *t.errors.entry(format!("submit {}", e.kind())).or_default() += bodies.len() as u64
            });
            // Back off so a refusing server is not hammered.
            tokio::time::sleep(Duration::from_millis(100)).await;
            return;
        }
    };
    let took = sent.elapsed();
    let mut ids = Vec::with_capacity(submitted.results.len());
    tally(shared, |t| {
        for r in &submitted.results {
            match (&r.id, &r.error) {
                (Some(id), _) => {
                    t.accepted += 1;
                    t.submit.push(took);
                    ids.push(*id);
                }
                (None, error) => {
                    let status = error
                        .as_ref()
                        .map_or(serde_json::Value::Null, |e| e["status"].clone());
                    *t.errors
                        .entry(format!("submit item http {status}"))
                        .or_default() += 1;
                }
            }
        }
    });
    for id in ids {
        follow(client, id, sent, shared, deadline).await;
    }
}

/// Submits one job and follows it to its terminal state (or the deadline).
async fn one_job(
    client: &Client,
    body: &serde_json::Value,
    shared: &Shared,
    submit_permit: Option<tokio::sync::OwnedSemaphorePermit>,
    follows: Option<Arc<Semaphore>>,
    deadline: Instant,
) {
    let sent = Instant::now();
    tally(shared, |t| t.submitted += 1);
    let submitted = client.submit_job(body, None).await;
    drop(submit_permit);
    let id = match submitted {
        Ok(s) => {
            tally(shared, |t| {
                t.accepted += 1;
                t.submit.push(sent.elapsed());
            });
            s.id
        }
        Err(e) => {
            tally(shared, |t| {
                *t.errors.entry(format!("submit {}", e.kind())).or_default() += 1
            });
            return;
        }
    };
    let _follow_permit = match follows {
        Some(sem) => sem.acquire_owned().await.ok(),
        None => None,
    };
    follow(client, id, sent, shared, deadline).await;
}

/// Long-polls job `id` until it is terminal (or the deadline), counting its
/// end-to-end latency from `sent`.
async fn follow(client: &Client, id: JobId, sent: Instant, shared: &Shared, deadline: Instant) {
    loop {
        if Instant::now() >= deadline {
            tally(shared, |t| t.unfinished += 1);
            return;
        }
        match client.get_job(id, Some(LONG_POLL_SECS)).await {
            Ok(job) if job.status.is_terminal() => {
                let now = Instant::now();
                tally(shared, |t| {
                    t.end_to_end.push(now.duration_since(sent));
                    t.last_terminal = Some(t.last_terminal.map_or(now, |l| l.max(now)));
                    match job.status {
                        JobStatus::Succeeded => t.succeeded += 1,
                        JobStatus::Failed => t.failed += 1,
                        _ => t.cancelled += 1,
                    }
                });
                return;
            }
            Ok(_) => {}
            Err(e) => {
                tally(shared, |t| {
                    *t.errors.entry(format!("follow {}", e.kind())).or_default() += 1
                });
                // Back off so a refusing server is not hammered; the deadline bounds the loop.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
