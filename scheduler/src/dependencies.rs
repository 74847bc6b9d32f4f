//! The dependency duty (issue 21): waiting jobs are queued when what they
//! wait for happens.
//! - `depends_on`: when their parents have finished as they need, or they
//!   are cancelled naming the parent that failed or was cancelled. A job
//!   is acted on only under its row lock (`FOR UPDATE SKIP LOCKED`) and from
//!   `waiting`, so two replicas never both move it.
//! - `concurrency_key`: the oldest waiting jobs of a key are queued while
//!   the key's queued and running jobs are fewer than its limit (the
//!   tenant's stored one, `PUT /v1/concurrency-keys/{key}`, else each
//!   job's own `max_concurrency`), one key at a time across replicas (an
//!   advisory lock per key, then the count: exact, never one over).
//!
//! Every replica runs it.
//!
//! What to look at comes two ways:
//! - the terminal statement notifies `job_parents` with a finished job's
//!   id when some job depends on it (shared/src/db/jobs.rs, `finish_many`),
//!   and its waiting children are settled at once; it notifies `job_slots`
//!   with a finished keyed job's id, as a submit does for a keyed job it
//!   stores (and the api for the oldest waiting job of a key whose stored
//!   limit it set or deleted), and that key's free slots are filled at
//!   once;
//! - a sweep over every waiting job, in id order, every
//!   `scheduler.dependencies_sweep_ms` and at start: the backstop for a
//!   notification missed (this replica's LISTEN connection was down, or a
//!   child committed just after its parent finished).
//!
//! A cancelled child is itself a finished parent: its own children are
//! settled by the notification its cancel sends, level by level.

use crate::db::dependencies::{self, Verdict};
use anyhow::Context;
use catalytic_shared::db::jobs::{self, Change, Guard};
use catalytic_shared::ids::TenantId;
use catalytic_shared::job::JobState;
use catalytic_shared::metrics as m;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub struct Dependencies {
    pub pool: PgPool,
    /// Time between sweeps (`scheduler.dependencies_sweep_ms`).
    pub sweep: Duration,
    /// Jobs settled per statement.
    pub batch: u32,
}

/// What one settle did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settled {
    pub released: u64,
    pub cancelled: u64,
}

impl Dependencies {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut listener: Option<PgListener> = None;
        let mut next_sweep = tokio::time::Instant::now();
        while !shutdown.is_cancelled() {
            if listener.is_none() {
                listener = self.listen().await;
            }
            let woken = async {
                match listener.as_mut() {
                    Some(l) => Some(l.recv().await),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep_until(next_sweep) => {
                    if let Err(e) = self.sweep_once().await {
                        tracing::warn!(error = format!("{e:#}"), "dependency sweep failed");
                    }
                    next_sweep = tokio::time::Instant::now() + self.sweep;
                }
                notified = woken => match notified {
                    Some(Ok(first)) => {
                        let mut told = vec![first];
                        if let Some(l) = listener.as_mut() {
                            while let Some(more) = l.next_buffered() {
                                told.push(more);
                            }
                        }
                        let ids = |channel: &str| -> Vec<Uuid> {
                            told.iter()
                                .filter(|n| n.channel() == channel)
                                .filter_map(|n| n.payload().parse().ok())
                                .collect()
                        };
                        let (parents, slots) = (ids("job_parents"), ids("job_slots"));
                        if let Err(e) = self.settle_children_of(&parents).await {
                            tracing::warn!(error = format!("{e:#}"), "settling waiting jobs failed");
                        }
                        if let Err(e) = self.fill_slots_of(&slots).await {
                            tracing::warn!(error = format!("{e:#}"), "filling concurrency slots failed");
                        }
                    }
                    // Lost: reconnect, and sweep for what was missed meanwhile.
                    _ => {
                        listener = None;
                        next_sweep = tokio::time::Instant::now();
                    }
                },
            }
        }
        tracing::info!("dependencies stopped");
    }

    async fn listen(&self) -> Option<PgListener> {
        let result = async {
            let mut listener = PgListener::connect_with(&self.pool).await?;
            listener.listen_all(["job_parents", "job_slots"]).await?;
            Ok::<_, sqlx::Error>(listener)
        }
        .await;
        result
            .map_err(|e| tracing::warn!(error = %e, "LISTEN job_parents failed; sweeping only"))
            .ok()
    }

    /// The free slots of these jobs' concurrency keys, filled.
    pub async fn fill_slots_of(&self, jobs: &[Uuid]) -> anyhow::Result<u64> {
        if jobs.is_empty() {
            return Ok(0);
        }
        let mut conn = self.pool.acquire().await?;
        let keys = dependencies::keys_of(&mut conn, jobs).await?;
        drop(conn);
        self.fill_slots(&keys).await
    }

    /// One transaction per key: lock it, queue the oldest waiting jobs that
    /// fit its free slots.
    async fn fill_slots(&self, keys: &[(TenantId, String)]) -> anyhow::Result<u64> {
        let mut released = 0;
        for (tenant, key) in keys {
            let mut tx = self.pool.begin().await.context("beginning a slot fill")?;
            dependencies::lock_key(&mut tx, *tenant, key).await?;
            let fit = dependencies::fitting(&mut tx, *tenant, key, i64::from(self.batch)).await?;
            let n = dependencies::release(&mut tx, &fit, "a slot of its concurrency key is free")
                .await?;
            tx.commit().await.context("committing a slot fill")?;
            released += n;
        }
        metrics::counter!(m::DEPENDENCY_SETTLED, "outcome" => "released").increment(released);
        if released > 0 {
            tracing::info!(released, keys = keys.len(), "concurrency slots filled");
        }
        Ok(released)
    }

    /// The waiting children of these finished parents, settled.
    pub async fn settle_children_of(&self, parents: &[Uuid]) -> anyhow::Result<Settled> {
        if parents.is_empty() {
            return Ok(Settled::default());
        }
        let mut conn = self.pool.acquire().await?;
        let children = dependencies::children_of(&mut conn, parents).await?;
        drop(conn);
        let mut total = Settled::default();
        for chunk in children.chunks(self.batch.max(1) as usize) {
            let settled = self.settle(chunk).await?;
            total.released += settled.released;
            total.cancelled += settled.cancelled;
        }
        Ok(total)
    }

    /// Every waiting job, page by page in id order, settled; then every
    /// key with a waiting job, filled.
    pub async fn sweep_once(&self) -> anyhow::Result<Settled> {
        let mut conn = self.pool.acquire().await?;
        let keys = dependencies::waiting_keys(&mut conn).await?;
        drop(conn);
        let mut total = Settled {
            released: self.fill_slots(&keys).await?,
            ..Settled::default()
        };
        let mut after = Uuid::nil();
        loop {
            let mut conn = self.pool.acquire().await?;
            let page = dependencies::waiting_after(&mut conn, after, i64::from(self.batch)).await?;
            drop(conn);
            let Some(last) = page.last().copied() else {
                return Ok(total);
            };
            let settled = self.settle(&page).await?;
            total.released += settled.released;
            total.cancelled += settled.cancelled;
            if page.len() < self.batch as usize {
                return Ok(total);
            }
            after = last;
        }
    }

    /// One transaction: lock those of `jobs` still waiting, read their
    /// parents, release the ready ones and cancel the doomed ones.
    async fn settle(&self, jobs: &[Uuid]) -> anyhow::Result<Settled> {
        let mut tx = self.pool.begin().await.context("beginning a settle")?;
        let verdicts = dependencies::verdicts(&mut tx, jobs).await?;
        let (release, run_anyway, cancel) = decide(&verdicts);
        // A keyed job whose parents allow it waits for its key's slot.
        let keyed: Vec<Uuid> = verdicts
            .iter()
            .filter(|v| v.keyed)
            .map(|v| v.job.as_uuid())
            .collect();
        let (release, run_anyway): (Vec<Uuid>, Vec<Uuid>) = (
            release
                .into_iter()
                .filter(|id| !keyed.contains(id))
                .collect(),
            run_anyway
                .into_iter()
                .filter(|id| !keyed.contains(id))
                .collect(),
        );
        let mut settled = Settled {
            released: dependencies::release(&mut tx, &release, "every parent succeeded").await?,
            ..Settled::default()
        };
        settled.released += dependencies::release(
            &mut tx,
            &run_anyway,
            "every parent finished (on_parent_failure: run)",
        )
        .await?;
        let items: Vec<(Guard, Change)> = cancel
            .into_iter()
            .map(|(v, reason)| {
                let guard = Guard {
                    job: v.job,
                    from: JobState::Waiting,
                    attempt: v.attempt,
                };
                (guard, Change::Cancel { reason })
            })
            .collect();
        if !items.is_empty() {
            for answer in jobs::transition_many(&mut tx, items).await? {
                if matches!(answer?, jobs::Transitioned::Applied(_)) {
                    settled.cancelled += 1;
                }
            }
        }
        tx.commit().await.context("committing a settle")?;
        metrics::counter!(m::DEPENDENCY_SETTLED, "outcome" => "released")
            .increment(settled.released);
        metrics::counter!(m::DEPENDENCY_SETTLED, "outcome" => "cancelled")
            .increment(settled.cancelled);
        if settled != Settled::default() {
            tracing::info!(
                released = settled.released,
                cancelled = settled.cancelled,
                "waiting jobs settled"
            );
        }
        // Counted (metric and log) by the fill itself.
        if !keyed.is_empty() {
            settled.released += self.fill_slots_of(&keyed).await?;
        }
        Ok(settled)
    }
}

/// Which waiting jobs run (all parents succeeded), run anyway (all
/// finished, `on_parent_failure: run`), or are cancelled (a parent failed
/// or was cancelled; the reason names it); the rest keep waiting.
fn decide(verdicts: &[Verdict]) -> (Vec<Uuid>, Vec<Uuid>, Vec<(&Verdict, String)>) {
    let mut release = Vec::new();
    let mut run_anyway = Vec::new();
    let mut cancel = Vec::new();
    for v in verdicts {
        match (
            &v.failed_parent,
            v.all_succeeded,
            v.all_finished,
            v.run_on_failure,
        ) {
            (None, true, _, _) => release.push(v.job.as_uuid()),
            (Some(_), _, true, true) => run_anyway.push(v.job.as_uuid()),
            (Some((parent, status)), _, _, false) => {
                cancel.push((v, format!("parent job {parent} {status}")));
            }
            _ => {}
        }
    }
    (release, run_anyway, cancel)
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalytic_shared::ids::JobId;

    fn verdict(ok: bool, done: bool, run: bool, failed: bool) -> Verdict {
        Verdict {
            job: JobId::new(),
            attempt: 1,
            all_succeeded: ok,
            all_finished: done,
            run_on_failure: run,
            failed_parent: failed.then(|| (Uuid::nil(), "failed".to_owned())),
            keyed: false,
        }
    }

    #[test]
    fn a_waiting_job_runs_waits_or_is_cancelled_by_its_parents() {
        let all_ok = verdict(true, true, false, false);
        let pending = verdict(false, false, false, false);
        let failed_cancel = verdict(false, false, false, true);
        let failed_run_pending = verdict(false, false, true, true);
        let failed_run_done = verdict(false, true, true, true);
        let verdicts = [
            all_ok,
            pending,
            failed_cancel,
            failed_run_pending,
            failed_run_done,
        ];
        let (release, run_anyway, cancel) = decide(&verdicts);
        assert_eq!(release, [verdicts[0].job.as_uuid()]);
        assert_eq!(run_anyway, [verdicts[4].job.as_uuid()]);
        assert_eq!(cancel.len(), 1);
        assert_eq!(cancel[0].0.job, verdicts[2].job);
        assert!(cancel[0].1.contains("failed"), "{}", cancel[0].1);
    }
}
