//! Firing cron schedules (issue 21; the API is api/src/routes/schedules.rs,
//! the rules shared/src/schedule.rs). Every replica runs this loop: each
//! round locks the due schedules `FOR UPDATE SKIP LOCKED` in one
//! transaction and, per schedule, decides the due ticks by its catch-up
//! policy and each tick by its overlap policy, inserts the jobs (with their
//! outbox rows, as a submit does), records every handled tick in
//! `schedule_runs` and moves `next_fire_at` past them, then commits.
//!
//! Exactly one job per tick: a tick is fired only under the schedule's row
//! lock, and what fired it commits together with the move past it; a
//! replica killed mid-fire rolls back and another fires the tick. The
//! `schedule_runs` primary key would refuse a tick recorded twice, so even
//! a bug could not double-submit silently.
//!
//! A tick goes through the plan's quotas like a submit (the same counts and
//! decision, `catalytic_shared::db::quotas`): a suspended tenant, the free
//! plan's monthly jobs used up or the queued-jobs cap reached make the tick
//! `refused`, with the reason. The round takes the quota locks of every
//! tenant it fires for at once, sorted, before firing, as the api's group
//! commit takes them, so the two never wait on each other in a cycle.

use crate::db::schedules::{self, Due};
use anyhow::Context;
use catalytic_shared::db::jobs::{self, Guard, NewJob};
use catalytic_shared::db::quotas::{self, Refusal, SubmitCounts};
use catalytic_shared::db::{DbError, job_queries};
use catalytic_shared::ids::{JobId, LatticeId, TenantId};
use catalytic_shared::job::{JobSpec, JobState};
use catalytic_shared::metrics as m;
use catalytic_shared::schedule::{CATCH_UP_MAX, CatchUp, Overlap, When};
use catalytic_shared::tenant::Plan;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct Schedules {
    pub pool: PgPool,
    /// Time between rounds (`scheduler.schedules_poll_ms`): how late a tick
    /// may fire at most, plus the round's own time.
    pub poll: Duration,
    /// Schedules locked per round; a full round runs again at once.
    pub batch: u32,
    /// Fault hook (`faults.schedules_exit_before_commit`): exit the
    /// process after a round's jobs are inserted, before its commit.
    pub exit_before_commit: bool,
    /// Fault hook (`faults.schedules_hold_before_commit_ms`): wait this
    /// long there instead, saying so in the log (the chaos suite's kill).
    pub hold_before_commit: Duration,
}

/// What one round did, by tick outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fired {
    pub schedules: usize,
    pub submitted: usize,
    pub skipped: usize,
    pub missed: usize,
    pub refused: usize,
}

impl Schedules {
    pub async fn run(self, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            match self.run_once().await {
                Ok(fired) if fired.schedules == self.batch as usize => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = format!("{e:#}"), "schedules round failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(self.poll) => {}
            }
        }
        tracing::info!("schedules stopped");
    }

    /// One round: lock the due schedules and fire each, in one transaction.
    pub async fn run_once(&self) -> anyhow::Result<Fired> {
        let mut tx = self
            .pool
            .begin()
            .await
            .context("beginning a schedules round")?;
        let due = schedules::lock_due(&mut tx, i64::from(self.batch))
            .await
            .context("locking due schedules")?;
        let mut quotas = Quotas::read(&mut tx, &due)
            .await
            .context("reading the quotas of the due schedules' tenants")?;
        let mut fired = Fired::default();
        for schedule in due {
            let id = schedule.id;
            fire(&mut tx, schedule, &mut quotas, &mut fired)
                .await
                .with_context(|| format!("firing schedule {id}"))?;
            fired.schedules += 1;
        }
        if self.exit_before_commit && fired.submitted > 0 {
            tracing::error!(
                submitted = fired.submitted,
                "fault hook: exiting before a schedules round's commit"
            );
            std::process::exit(86);
        }
        if !self.hold_before_commit.is_zero() && fired.submitted > 0 {
            tracing::error!(
                submitted = fired.submitted,
                "fault hook: holding a schedules round before its commit"
            );
            tokio::time::sleep(self.hold_before_commit).await;
        }
        tx.commit().await.context("committing a schedules round")?;
        let counts = [fired.submitted, fired.skipped, fired.missed, fired.refused];
        for (outcome, n) in m::SCHEDULE_OUTCOMES.into_iter().zip(counts) {
            metrics::counter!(m::SCHEDULE_TICKS, "outcome" => outcome).increment(n as u64);
        }
        Ok(fired)
    }
}

/// The job of the schedule's last fire, as the overlap policy sees it.
type Last = Option<(JobId, JobState, i32)>;

/// The round's tenants' quota counts, read once under their locks, and the
/// jobs the round admitted for each since.
struct Quotas {
    counts: HashMap<TenantId, SubmitCounts>,
    admitted: HashMap<TenantId, i64>,
}

impl Quotas {
    async fn read(conn: &mut PgConnection, due: &[Due]) -> Result<Self, DbError> {
        let mut tenants: Vec<(TenantId, bool)> = due
            .iter()
            .map(|s| {
                let month = Plan::from_str(&s.plan).is_ok_and(quotas::counts_month);
                (s.tenant_id, month)
            })
            .collect();
        tenants.sort_by_key(|(t, _)| *t);
        tenants.dedup_by_key(|(t, _)| *t);
        let ids: Vec<TenantId> = tenants.iter().map(|(t, _)| *t).collect();
        let mut counts = HashMap::new();
        if !ids.is_empty() {
            quotas::lock_tenants(conn, &ids).await?;
            counts = quotas::submit_counts(conn, &tenants).await?;
        }
        Ok(Self {
            counts,
            admitted: HashMap::new(),
        })
    }

    /// Why the tenant may not have one more job now, if it may not.
    fn refusal(&self, tenant: TenantId, plan: Plan) -> Option<String> {
        let counts = self.counts.get(&tenant)?;
        let admitted = self.admitted.get(&tenant).copied().unwrap_or(0);
        Some(match quotas::refusal(plan, counts, admitted)? {
            Refusal::Suspended { since } => {
                format!(
                    "the tenant is suspended (billing) since {}",
                    since.to_rfc3339()
                )
            }
            Refusal::JobsPerMonth {
                included,
                resets_at,
            } => format!(
                "the {plan} plan's {included} jobs of the month are used (jobs_per_month; resets at {})",
                resets_at.to_rfc3339()
            ),
            Refusal::QueuedJobs { at_most } => {
                format!("{at_most} jobs are queued, the {plan} plan's limit (queued_jobs)")
            }
        })
    }

    fn admit(&mut self, tenant: TenantId) {
        *self.admitted.entry(tenant).or_insert(0) += 1;
    }
}

/// Fires one locked schedule: its due ticks by the catch-up policy, each
/// by the overlap policy, then the move to the next tick.
async fn fire(
    conn: &mut PgConnection,
    s: Due,
    quotas: &mut Quotas,
    fired: &mut Fired,
) -> anyhow::Result<()> {
    let when = match When::parse(&s.cron, &s.timezone) {
        Ok(when) => when,
        Err(e) => {
            // Stored by the api after the same check: only a changed rule
            // (a zone removed from the database) gets here. Paused, and said.
            let detail = format!("the schedule no longer parses ({e}); paused");
            tracing::warn!(schedule_id = %s.id, %detail, "schedule paused");
            schedules::record_run(conn, s.id, s.next_fire_at, "refused", None, Some(&detail))
                .await?;
            fired.refused += 1;
            schedules::advance(conn, s.id, None, None).await?;
            return Ok(());
        }
    };
    let catch_up = CatchUp::from_str(&s.catch_up).unwrap_or(CatchUp::One);
    let overlap = Overlap::from_str(&s.overlap).unwrap_or(Overlap::Skip);
    let due = when.due(s.next_fire_at, s.now, CATCH_UP_MAX);
    let firing = catch_up.firing(&due, s.now);
    if let Some(latest_missed) = due.iter().rev().find(|t| !firing.contains(t)) {
        let missed = due.len() - firing.len();
        let more = match due.len() > CATCH_UP_MAX {
            true => " or more",
            false => "",
        };
        let detail = format!(
            "{missed}{more} tick(s) from {} missed (catch_up: {})",
            due[0].to_rfc3339(),
            catch_up.as_str()
        );
        schedules::record_run(conn, s.id, *latest_missed, "missed", None, Some(&detail)).await?;
        fired.missed += 1;
    }
    let mut last: Last = s.last_job;
    for tick in &firing {
        last = tick_once(conn, &s, *tick, overlap, last, quotas, fired).await?;
    }
    let after = due.last().copied().unwrap_or(s.now).max(s.now);
    let next = when.next_after(after);
    if next.is_none() {
        tracing::info!(schedule_id = %s.id, "schedule has no further tick; paused");
    }
    schedules::advance(conn, s.id, next, last.map(|(job, _, _)| job)).await?;
    Ok(())
}

/// One tick: refused (suspended tenant, a template the plan no longer
/// takes), skipped (overlap), or a job submitted (after cancelling the
/// previous one with `cancel_previous`). Answers the last job after it.
async fn tick_once(
    conn: &mut PgConnection,
    s: &Due,
    tick: DateTime<Utc>,
    overlap: Overlap,
    last: Last,
    quotas: &mut Quotas,
    fired: &mut Fired,
) -> anyhow::Result<Last> {
    if s.suspended {
        let detail = "the tenant is suspended (billing)";
        schedules::record_run(conn, s.id, tick, "refused", None, Some(detail)).await?;
        fired.refused += 1;
        return Ok(last);
    }
    let unfinished = last.filter(|(_, state, _)| !state.is_terminal());
    match (overlap, unfinished) {
        (Overlap::Skip, Some((job, state, _))) => {
            let detail = format!("job {job} is still {state}");
            schedules::record_run(conn, s.id, tick, "skipped_overlap", None, Some(&detail)).await?;
            fired.skipped += 1;
            return Ok(last);
        }
        (Overlap::CancelPrevious, Some((job, state, attempt))) => {
            let guard = Guard {
                job,
                from: state,
                attempt,
            };
            let reason = format!(
                "replaced by schedule {}'s tick at {}",
                s.id,
                tick.to_rfc3339()
            );
            // Stale (it finished meanwhile) is fine: nothing to cancel.
            job_queries::cancel_in(conn, guard, &reason).await?;
        }
        _ => {}
    }
    let job = match new_job(s) {
        Ok(job) => job,
        Err(detail) => {
            schedules::record_run(conn, s.id, tick, "refused", None, Some(&detail)).await?;
            fired.refused += 1;
            return Ok(last);
        }
    };
    if let Some(detail) = Plan::from_str(&s.plan)
        .ok()
        .and_then(|plan| quotas.refusal(s.tenant_id, plan))
    {
        schedules::record_run(conn, s.id, tick, "refused", None, Some(&detail)).await?;
        fired.refused += 1;
        return Ok(last);
    }
    let stored = jobs::insert_batch(conn, &[(&job, None)], &[]).await?;
    quotas.admit(s.tenant_id);
    anyhow::ensure!(stored == [job.id], "a schedule's job was not stored");
    schedules::record_run(conn, s.id, tick, "submitted", Some(job.id), None).await?;
    fired.submitted += 1;
    tracing::info!(schedule_id = %s.id, job_id = %job.id, tick = %tick.to_rfc3339(), "schedule fired");
    Ok(Some((job.id, JobState::Queued, 1)))
}

/// The template as a job on the tenant's plan now; why not, otherwise.
fn new_job(s: &Due) -> Result<NewJob, String> {
    let plan: Plan = s
        .plan
        .parse()
        .map_err(|_| format!("the tenant's plan {:?} is unknown", s.plan))?;
    let spec: JobSpec = serde_json::from_value(s.spec.clone())
        .map_err(|e| format!("the stored template no longer reads: {e}"))?;
    NewJob::from_spec(
        s.tenant_id,
        plan,
        &spec,
        s.lattice_id.map(LatticeId::from_uuid),
    )
    .map_err(|e| e.to_string())
}
