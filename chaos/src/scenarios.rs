//! The scenarios: a stream of small jobs while a fault is injected on a
//! timer, then the load stops, the fault heals, and the invariants are read
//! from the database and the receiver once everything has settled (or a
//! deadline passed, and then what is missing is counted, not hidden).

use crate::harness::Fleet;
use crate::proxy::Mode;
use crate::receiver::Counts;
use catalytic_e2e::{Binary, Client, Ledger};
use nix::sys::signal::Signal;
use serde_json::json;
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    WorkerKilled,
    SchedulerKilled,
    PostgresBlackhole,
    RabbitmqReset,
    PostgresDelay,
    RabbitmqDrop,
    RedisBlackhole,
    ReceiverDown,
    CronFirerKilled,
}

impl Scenario {
    pub const ALL: [Scenario; 9] = [
        Scenario::WorkerKilled,
        Scenario::SchedulerKilled,
        Scenario::PostgresBlackhole,
        Scenario::RabbitmqReset,
        Scenario::PostgresDelay,
        Scenario::RabbitmqDrop,
        Scenario::RedisBlackhole,
        Scenario::ReceiverDown,
        Scenario::CronFirerKilled,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::WorkerKilled => "SIGKILL a worker mid-load",
            Scenario::SchedulerKilled => "SIGKILL a scheduler mid-load",
            Scenario::PostgresBlackhole => "PostgreSQL proxy: 2 s blackhole, then pass",
            Scenario::RabbitmqReset => "RabbitMQ proxy: reset connections 2 s, then pass",
            Scenario::PostgresDelay => "PostgreSQL proxy: +200 ms per round trip for 3 s",
            Scenario::RabbitmqDrop => "RabbitMQ proxy: drop connections 2 s, then pass",
            Scenario::RedisBlackhole => "Redis proxy: 3 s blackhole, then pass",
            Scenario::ReceiverDown => "webhook receiver down 30 s, then up",
            Scenario::CronFirerKilled => "SIGKILL the scheduler firing 20 cron ticks",
        }
    }
}

/// When things happen, from the start of the load.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub fault_at: Duration,
    pub load_for: Duration,
    /// Jobs per second submitted while the load runs.
    pub rate: u32,
    /// How long after the heal the invariants may take to hold.
    pub settle_within: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            fault_at: Duration::from_secs(2),
            load_for: Duration::from_secs(6),
            // Issue 17: the scenarios run under a real load, not a trickle.
            rate: 1000,
            settle_within: Duration::from_secs(90),
        }
    }
}

/// One scenario's figures.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub scenario: Scenario,
    /// Submits answered 202.
    pub accepted: i64,
    /// Submits refused or failed (not accepted: the client knows).
    pub refused: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub cancelled: i64,
    /// Accepted jobs not terminal at the deadline.
    pub lost: i64,
    /// Jobs with more than one terminal transition, webhook message or usage event.
    pub duplicated: i64,
    /// Terminal jobs without their webhook message or usage event (or result).
    pub incomplete: i64,
    /// Terminal jobs' webhook messages the receiver never got, verified.
    pub webhooks_missing: i64,
    /// Webhook messages delivered more than once (allowed: at-least-once).
    pub webhooks_redelivered: i64,
    pub invalid_signatures: i64,
    /// Accepted jobs that took more than one attempt (the fault hit them).
    pub retried: i64,
    /// From the end of the fault until every invariant held.
    pub recovered_in: Option<Duration>,
}

impl Outcome {
    /// Every accepted job terminal, every terminal job's event delivered.
    fn settled(&self) -> bool {
        self.lost == 0 && self.webhooks_missing == 0
    }

    /// Whether every invariant held.
    pub fn holds(&self) -> bool {
        self.accepted > 0
            && self.accepted == self.succeeded + self.failed + self.cancelled
            && self.lost == 0
            && self.duplicated == 0
            && self.incomplete == 0
            && self.webhooks_missing == 0
            && self.invalid_signatures == 0
            && self.recovered_in.is_some()
    }

    pub const TABLE_HEADER: &'static str = "| scenario | accepted | refused | succeeded | failed | cancelled | lost | duplicated | incomplete | webhooks missing | redelivered | invalid signatures | retried | recovered in | invariants |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|";

    pub fn table_row(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            self.scenario.name(),
            self.accepted,
            self.refused,
            self.succeeded,
            self.failed,
            self.cancelled,
            self.lost,
            self.duplicated,
            self.incomplete,
            self.webhooks_missing,
            self.webhooks_redelivered,
            self.invalid_signatures,
            self.retried,
            self.recovered(),
            if self.holds() { "hold" } else { "BROKEN" },
        )
    }

    fn recovered(&self) -> String {
        self.recovered_in.map_or_else(
            || "never".to_owned(),
            |d| format!("{:.1} s", d.as_secs_f64()),
        )
    }
}

impl fmt::Display for Outcome {
    /// The one-line ledger.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ledger [{}]: accepted {} = succeeded {} + failed {} + cancelled {}; lost {}, duplicated {}, incomplete {}, webhooks missing {}, invalid signatures {}, retried {}, recovered in {}",
            self.scenario.name(),
            self.accepted,
            self.succeeded,
            self.failed,
            self.cancelled,
            self.lost,
            self.duplicated,
            self.incomplete,
            self.webhooks_missing,
            self.invalid_signatures,
            self.retried,
            self.recovered(),
        )
    }
}

/// Starts a fleet, runs `scenario` on it, tears it down.
pub async fn run(scenario: Scenario, timing: Timing) -> anyhow::Result<Outcome> {
    let mut fleet = Fleet::start(timing.rate).await?;
    let outcome = run_on(&mut fleet, scenario, timing).await;
    let teardown = fleet.teardown().await;
    let outcome = outcome?;
    teardown?;
    println!("{outcome}");
    Ok(outcome)
}

async fn run_on(fleet: &mut Fleet, scenario: Scenario, timing: Timing) -> anyhow::Result<Outcome> {
    let accepted = AcceptedList::default();
    let (stop, stopped) = watch::channel(false);
    let load = tokio::spawn(submit_stream(
        fleet.clients.clone(),
        timing.rate,
        accepted.clone(),
        stopped,
    ));
    let started = Instant::now();
    tokio::time::sleep(timing.fault_at).await;
    if let Some(hit) = inject(fleet, scenario).await? {
        lock(&accepted).push(hit);
    }
    // Faults with a set length heal while the load runs; the others once it stops.
    let fault_for = match scenario {
        Scenario::PostgresBlackhole | Scenario::RabbitmqReset | Scenario::RabbitmqDrop => {
            Some(Duration::from_secs(2))
        }
        Scenario::PostgresDelay | Scenario::RedisBlackhole => Some(Duration::from_secs(3)),
        Scenario::ReceiverDown => Some(Duration::from_secs(30)),
        Scenario::WorkerKilled | Scenario::SchedulerKilled | Scenario::CronFirerKilled => None,
    };
    let load_ends = started + timing.load_for;
    // Recovery is timed from the moment the fault ended, by a watcher that
    // starts then and runs beside the rest of the load. A kill is
    // instantaneous (the fleet must cope without the process; a
    // replacement starts once the load stops).
    let recovery = match fault_for {
        None => {
            let recovery = watch_recovery(fleet, scenario, &accepted, timing.settle_within);
            tokio::time::sleep_until(load_ends.into()).await;
            stop.send_replace(true);
            heal(fleet, scenario).await?;
            recovery
        }
        Some(length) => {
            let heal_at = started + timing.fault_at + length;
            tokio::time::sleep_until(heal_at.min(load_ends).into()).await;
            if heal_at <= load_ends {
                heal(fleet, scenario).await?;
                let recovery = watch_recovery(fleet, scenario, &accepted, timing.settle_within);
                tokio::time::sleep_until(load_ends.into()).await;
                stop.send_replace(true);
                recovery
            } else {
                stop.send_replace(true);
                tokio::time::sleep_until(heal_at.into()).await;
                heal(fleet, scenario).await?;
                watch_recovery(fleet, scenario, &accepted, timing.settle_within)
            }
        }
    };
    let refused = load.await?;
    let recovered = recovery.await??;
    let mut all: Vec<uuid::Uuid> = lock(&accepted).iter().map(|(id, _)| *id).collect();
    let ticks = match scenario {
        Scenario::CronFirerKilled => Some(cron_ticks(fleet, timing.settle_within).await?),
        _ => None,
    };
    if let Some(ticks) = &ticks {
        all.extend(ticks.jobs.iter().copied());
    }
    let mut outcome = settle(
        fleet,
        scenario,
        &all,
        refused,
        recovered,
        timing.settle_within,
    )
    .await?;
    if let Some(ticks) = ticks {
        // A tick without its job is lost; a job of the schedule that no
        // tick recorded (a fire that half-committed) is a duplicate.
        outcome.lost += ticks.missing;
        outcome.duplicated += ticks.orphans;
    }
    Ok(outcome)
}

/// The cron scenario's schedule: its name, its ticks due at the kill.
const CRON_NAME: &str = "chaos-every-minute";
const CRON_TICKS: i64 = 20;

/// A job only the schedule submits (the load's grids are 20×20).
fn cron_job() -> serde_json::Value {
    json!({"lattice": {"dimensions": 2, "size": 7}, "operation": "shortest_path",
           "params": {"start": [0, 0], "end": [6, 6]}})
}

/// What the schedule did, once every due tick was recorded.
struct CronTicks {
    /// The jobs the runs name.
    jobs: Vec<uuid::Uuid>,
    /// Ticks between the first and the last recorded one without a run.
    missing: i64,
    /// The schedule's jobs that no run names.
    orphans: i64,
}

/// Waits until the replacement scheduler has recorded the due ticks, then
/// reads them: one run per minute, each naming a job of the schedule.
async fn cron_ticks(fleet: &Fleet, within: Duration) -> anyhow::Result<CronTicks> {
    let pool = &fleet.env.db.pool;
    let recorded = catalytic_e2e::wait_until("the cron ticks to be recorded", within, || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM schedule_runs r JOIN schedules s ON s.id = r.schedule_id
              WHERE s.name = $1 AND r.outcome = 'submitted'",
        )
        .bind(CRON_NAME)
        .fetch_one(pool)
        .await?;
        Ok((n >= CRON_TICKS).then_some(n))
    })
    .await;
    let (jobs, span): (Vec<uuid::Uuid>, i64) = sqlx::query_as(
        "SELECT coalesce(array_agg(r.job_id), '{}'),
                coalesce(extract(epoch FROM max(r.tick_at) - min(r.tick_at))::bigint / 60 + 1, 0)
           FROM schedule_runs r JOIN schedules s ON s.id = r.schedule_id
          WHERE s.name = $1 AND r.outcome = 'submitted'",
    )
    .bind(CRON_NAME)
    .fetch_one(pool)
    .await?;
    let orphans: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE spec->'lattice'->'sizes' = '[7, 7]' AND NOT (id = ANY($1))",
    )
    .bind(&jobs)
    .fetch_one(pool)
    .await?;
    let runs = i64::try_from(jobs.len())?;
    let missing = match recorded {
        Ok(_) => span - runs,
        Err(_) => CRON_TICKS.max(span) - runs,
    };
    Ok(CronTicks {
        jobs,
        missing,
        orphans,
    })
}

/// Accepted jobs, shared by the load and the recovery watcher.
type AcceptedList = Arc<Mutex<Vec<Accepted>>>;

fn lock(list: &AcceptedList) -> std::sync::MutexGuard<'_, Vec<Accepted>> {
    list.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// From now, the time until every job accepted so far is terminal with its
/// webhook delivered; `None` if that takes longer than `within`.
fn watch_recovery(
    fleet: &Fleet,
    scenario: Scenario,
    accepted: &AcceptedList,
    within: Duration,
) -> tokio::task::JoinHandle<anyhow::Result<Option<Duration>>> {
    let from = Instant::now();
    let before: Vec<uuid::Uuid> = lock(accepted).iter().map(|(id, _)| *id).collect();
    let pool = fleet.env.db.pool.clone();
    let receiver = fleet.receiver.counts();
    tokio::spawn(async move {
        loop {
            let state = measure(&pool, &receiver, scenario, &before, 0).await?;
            if state.settled() {
                return Ok(Some(from.elapsed()));
            }
            if from.elapsed() >= within {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

/// Injects the fault. A worker kill lands mid-job: a long job is submitted
/// and the worker running it is killed; the job is returned, as accepted.
async fn inject(fleet: &mut Fleet, scenario: Scenario) -> anyhow::Result<Option<Accepted>> {
    let mut hit = None;
    match scenario {
        Scenario::WorkerKilled => {
            let long: uuid::Uuid = fleet.client().submit(&long_job()).await?.parse()?;
            hit = Some((long, Instant::now()));
            let index = fleet.worker_running(long).await?;
            fleet.workers[index].process.signal(Signal::SIGKILL)?;
            // The replacement takes the dead one's place.
            fleet.workers.swap(0, index);
        }
        Scenario::SchedulerKilled => fleet.schedulers[0].process.signal(Signal::SIGKILL)?,
        Scenario::CronFirerKilled => {
            let index = cron_firer(fleet).await?;
            fleet.schedulers[index].process.signal(Signal::SIGKILL)?;
            // The replacement takes the dead one's place.
            fleet.schedulers.swap(0, index);
        }
        Scenario::PostgresBlackhole => fleet.postgres.set(Mode::Blackhole),
        Scenario::RabbitmqReset => fleet.rabbitmq.set(Mode::Reset),
        Scenario::PostgresDelay => fleet.postgres.set(Mode::Delay(Duration::from_millis(200))),
        Scenario::RabbitmqDrop => fleet.rabbitmq.set(Mode::Drop),
        Scenario::RedisBlackhole => fleet.redis.set(Mode::Blackhole),
        Scenario::ReceiverDown => fleet.receiver.down().await,
    }
    tracing::info!(scenario = scenario.name(), "fault injected");
    Ok(hit)
}

async fn heal(fleet: &mut Fleet, scenario: Scenario) -> anyhow::Result<()> {
    match scenario {
        // The dead process is replaced, as its supervisor would.
        Scenario::WorkerKilled => {
            let worker = fleet.spawn(Binary::Worker).await?;
            fleet.workers[0] = worker;
        }
        Scenario::SchedulerKilled | Scenario::CronFirerKilled => {
            let scheduler = fleet.spawn(Binary::Scheduler).await?;
            fleet.schedulers[0] = scheduler;
        }
        Scenario::PostgresBlackhole | Scenario::PostgresDelay => fleet.postgres.set(Mode::Pass),
        Scenario::RabbitmqReset | Scenario::RabbitmqDrop => fleet.rabbitmq.set(Mode::Pass),
        Scenario::RedisBlackhole => fleet.redis.set(Mode::Pass),
        Scenario::ReceiverDown => fleet.receiver.up().await?,
    }
    tracing::info!(scenario = scenario.name(), "healed");
    Ok(())
}

/// Makes `CRON_TICKS` ticks of an every-minute schedule due, and answers
/// the scheduler that is firing them: the fleet's schedulers hold a round
/// that fired jobs before its commit, saying so in their log
/// (`faults.schedules_hold_before_commit_ms`), so the kill lands between
/// the jobs' insert and the commit that records their ticks.
async fn cron_firer(fleet: &Fleet) -> anyhow::Result<usize> {
    let client = fleet.client();
    let body = json!({"name": CRON_NAME, "cron": "* * * * *", "catch_up": "all",
                      "overlap": "queue", "job": cron_job()});
    let response = client
        .http
        .post(format!("{}/v1/schedules", client.base))
        .bearer_auth(&client.key)
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == 201,
        "schedule: {}",
        response.text().await?
    );
    // Its ticks from `CRON_TICKS` minutes ago are due now.
    sqlx::query("UPDATE schedules SET next_fire_at = next_fire_at - make_interval(mins => $2) WHERE name = $1")
        .bind(CRON_NAME)
        .bind(i32::try_from(CRON_TICKS)?)
        .execute(&fleet.env.db.pool)
        .await?;
    catalytic_e2e::wait_until(
        "a scheduler to be firing the ticks",
        Duration::from_secs(30),
        || async {
            Ok(fleet
                .schedulers
                .iter()
                .position(|s| s.process.log_text().contains("holding a schedules round")))
        },
    )
    .await
}

/// A small job: a shortest path on a 20×20 grid (milliseconds of work).
fn job(i: u32) -> serde_json::Value {
    json!({"lattice": {"dimensions": 2, "size": 20}, "operation": "shortest_path",
           "params": {"start": [0, i % 20], "end": [19, 19 - i % 20]}})
}

/// A job that computes for seconds: components of a blocked 300³ lattice
/// (blocking defeats the closed form), so a kill lands mid-job.
fn long_job() -> serde_json::Value {
    json!({"lattice": {"size": [300, 300, 300], "blocked": {"fraction": 0.05, "seed": 7}},
           "operation": "components"})
}

/// An accepted job and when its submit was answered.
type Accepted = (uuid::Uuid, Instant);

/// Submits in flight at most: past this the stream falls behind its rate
/// (and says so by being late) rather than piling up connections.
const SUBMITS_IN_FLIGHT: usize = 512;

/// The stream's tick: every tick sends the submits due by then, so rates
/// above the timer's resolution (1 ms) are kept.
const TICK: Duration = Duration::from_millis(10);

/// Submits `rate` jobs a second, open loop (a submit does not wait for the
/// previous one's answer), spread over the tenants' clients, until told to
/// stop; returns the number of submits not accepted. Accepted ids go to
/// `accepted` as their 202s arrive.
async fn submit_stream(
    clients: Vec<Client>,
    rate: u32,
    accepted: AcceptedList,
    mut stop: watch::Receiver<bool>,
) -> i64 {
    if clients.is_empty() {
        return 0;
    }
    let refused = Arc::new(AtomicI64::new(0));
    let slots = Arc::new(Semaphore::new(SUBMITS_IN_FLIGHT));
    let mut in_flight = JoinSet::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = Instant::now();
    let mut sent: u64 = 0;
    'stream: loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|stop| *stop) => break,
        }
        let due = (started.elapsed().as_secs_f64() * f64::from(rate)) as u64;
        while sent < due {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                break 'stream;
            };
            let i = u32::try_from(sent % u64::from(u32::MAX)).unwrap_or(0);
            let client = clients[sent as usize % clients.len()].clone();
            let (accepted, refused) = (accepted.clone(), refused.clone());
            in_flight.spawn(async move {
                match client.submit(&job(i)).await.map(|id| id.parse()) {
                    Ok(Ok(id)) => lock(&accepted).push((id, Instant::now())),
                    Ok(Err(e)) => note_refusal(&refused, &e),
                    Err(e) => note_refusal(&refused, &e),
                }
                drop(slot);
            });
            sent += 1;
        }
        while in_flight.try_join_next().is_some() {}
    }
    // Submits already sent get their answers: a 202 after the stop is
    // still an accepted job.
    while in_flight.join_next().await.is_some() {}
    refused.load(Ordering::Relaxed)
}

/// Counts a submit that was not accepted; the first few say why (a 429
/// means the load outran a limit, a timeout that the api fell behind).
fn note_refusal(refused: &AtomicI64, why: &dyn fmt::Display) {
    if refused.fetch_add(1, Ordering::Relaxed) < 5 {
        tracing::warn!(error = %why, "submit not accepted");
        eprintln!("submit not accepted: {why}");
    }
}

/// Polls the invariants over every accepted job until they hold or
/// `within` has passed.
async fn settle(
    fleet: &Fleet,
    scenario: Scenario,
    accepted: &[uuid::Uuid],
    refused: i64,
    recovered: Option<Duration>,
    within: Duration,
) -> anyhow::Result<Outcome> {
    // When the jobs from before the fault never settled, the ones after
    // get no second full wait: read once, report what is missing.
    let deadline = Instant::now() + recovered.map_or(Duration::ZERO, |_| within);
    let receiver = fleet.receiver.counts();
    loop {
        let mut outcome =
            measure(&fleet.env.db.pool, &receiver, scenario, accepted, refused).await?;
        if outcome.settled() || Instant::now() >= deadline {
            outcome.recovered_in = recovered.filter(|_| outcome.settled());
            return Ok(outcome);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn measure(
    pool: &sqlx::PgPool,
    receiver: &Counts,
    scenario: Scenario,
    accepted: &[uuid::Uuid],
    refused: i64,
) -> anyhow::Result<Outcome> {
    let (succeeded, failed, cancelled, retried): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'succeeded'),
                count(*) FILTER (WHERE status = 'failed'),
                count(*) FILTER (WHERE status = 'cancelled'),
                count(*) FILTER (WHERE attempt > 1)
           FROM jobs WHERE id = ANY($1)",
    )
    .bind(accepted)
    .fetch_one(pool)
    .await?;
    let ledger = Ledger::read(pool).await?;
    // Every terminal job's event, by the id the receiver sees as webhook-id.
    let messages: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT m.id FROM webhook_messages m JOIN jobs j ON j.id = m.job_id
          WHERE j.id = ANY($1) AND j.status IN ('succeeded', 'failed', 'cancelled')",
    )
    .bind(accepted)
    .fetch_all(pool)
    .await?;
    let verified = receiver.verified();
    let missing = messages
        .iter()
        .filter(|id| !verified.contains_key(&id.to_string()))
        .count();
    let accepted = i64::try_from(accepted.len())?;
    Ok(Outcome {
        scenario,
        accepted,
        refused,
        succeeded,
        failed,
        cancelled,
        lost: accepted - succeeded - failed - cancelled,
        duplicated: ledger.duplicated,
        incomplete: ledger.incomplete,
        webhooks_missing: i64::try_from(missing)?,
        webhooks_redelivered: i64::try_from(verified.values().filter(|n| **n > 1).count())?,
        invalid_signatures: i64::try_from(receiver.invalid())?,
        retried,
        recovered_in: None,
    })
}
