//! Heartbeats. Per attempt: the lease is extended every `heartbeat_secs`
//! while the engine runs, independent of the job's time limit; when the
//! extension finds the job no longer ours (cancelled, re-queued by the
//! reaper) it cancels the compute. Per worker: the fleet row's heartbeat.

use catalytic_shared::db::{self, jobs::Guard};
use catalytic_shared::ids::WorkerId;
use sqlx::PgPool;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Extends `guard`'s lease until `done` fires. Cancels `compute` if the
/// lease is lost.
pub async fn keep_lease(
    pool: PgPool,
    guard: Guard,
    every: Duration,
    lease: Duration,
    compute: CancellationToken,
    done: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await; // the claim just set the lease
    loop {
        tokio::select! {
            () = done.cancelled() => return,
            _ = tick.tick() => {}
        }
        match db::jobs::heartbeat(&pool, guard, lease).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!("lease lost: the job moved on without us; stopping the compute");
                compute.cancel();
                return;
            }
            // A missed heartbeat is not fatal: the lease outlasts several.
            Err(e) => tracing::warn!(error = %e, "lease heartbeat failed"),
        }
    }
}

/// Keeps the worker's fleet row fresh until `shutdown`.
pub async fn fleet(
    pool: PgPool,
    worker: WorkerId,
    in_flight: Arc<AtomicI32>,
    every: Duration,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) =
            db::workers::heartbeat(&pool, worker, in_flight.load(Ordering::Relaxed)).await
        {
            tracing::warn!(error = %e, "fleet heartbeat failed");
        }
    }
}
