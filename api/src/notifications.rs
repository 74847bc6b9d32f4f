//! The api process's one LISTEN connection, on three channels:
//! - `job_done` (a job finished; `crate::job_events`): long-polls and the
//!   cache of finished rows;
//! - `job_erased` (jobs deleted or their results summarised; migration
//!   0027): their rows leave that cache;
//! - `catalytic_auth` (a key, session, role or plan changed; migration
//!   0016): the cache of principals (`crate::auth::principals`).
//!
//! A notification sent while the connection is down is lost for good. For
//! jobs that costs latency only (waiters re-read on a timer); for the auth
//! cache it could let a revoked credential in, so the cache is emptied and
//! switched off whenever the connection is lost, and emptied again once the
//! channels are subscribed anew; so is the cache of finished rows, which a
//! lost `job_erased` would otherwise leave answering for a deleted job. `try_recv` (not `recv`, which reconnects
//! silently) is what tells a lost connection apart.

use crate::auth::principals::Principals;
use crate::job_events::JobEvents;
use catalytic_shared::metrics as m;
use catalytic_shared::reconnect::Backoff;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const JOB_DONE: &str = "job_done";
pub const JOB_ERASED: &str = "job_erased";
pub const AUTH: &str = "catalytic_auth";

/// Starts the listener task; it reconnects (with backoff) until `shutdown`.
pub fn spawn(
    pool: PgPool,
    shutdown: CancellationToken,
    jobs: JobEvents,
    principals: Arc<Principals>,
) {
    tokio::spawn(async move {
        // Reset once subscribed (in `listen`): each outage starts again
        // from the first delay (issue 19: this loop never reset it).
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        while !shutdown.is_cancelled() {
            match listen(&pool, &jobs, &principals, &shutdown, &mut backoff).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN failed; auth reads PostgreSQL and long-polls re-read until it is back")
                }
            }
            principals.lost();
            jobs.forget_finished();
            metrics::counter!(m::AUTH_CACHE_RESETS).increment(1);
            if !Backoff::sleep(backoff.next_delay(), &shutdown).await {
                return;
            }
        }
    });
}

async fn listen(
    pool: &PgPool,
    jobs: &JobEvents,
    principals: &Principals,
    shutdown: &CancellationToken,
    backoff: &mut Backoff,
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen_all([JOB_DONE, JOB_ERASED, AUTH]).await?;
    // Subscribed: every change committed from now on reaches us.
    backoff.reset();
    principals.listening();
    jobs.forget_finished();
    tracing::info!(channels = ?[JOB_DONE, JOB_ERASED, AUTH], "listening");
    loop {
        let notification = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            n = listener.try_recv() => n?,
        };
        let Some(notification) = notification else {
            // The connection was lost and (eager reconnect) made again with
            // the same channels: what was sent in between is gone.
            tracing::warn!(
                "LISTEN connection lost and re-made; auth and finished-job caches cleared"
            );
            principals.listening();
            jobs.forget_finished();
            metrics::counter!(m::AUTH_CACHE_RESETS).increment(1);
            continue;
        };
        match notification.channel() {
            JOB_DONE => jobs.notified(notification.payload()),
            JOB_ERASED => jobs.erased(notification.payload()),
            AUTH => {
                let dropped = principals.invalidate(notification.payload());
                tracing::debug!(payload = notification.payload(), dropped, "auth change");
            }
            other => tracing::debug!(channel = other, "notification on an unexpected channel"),
        }
    }
}
