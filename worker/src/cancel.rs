//! Cancellation of running computes (docs/architecture.md, "Cancellation").
//!
//! The api's cancel transaction runs `pg_notify('job_cancel', <job id>)`;
//! PostgreSQL delivers it only after commit. `listen` holds a `PgListener`
//! on that channel and cancels the token the executor registered for the
//! job, so the engine (which polls its token) stops within ~100 ms.
//!
//! A notification missed while the listener reconnects is not lost work:
//! the lease heartbeat finds the job no longer running and cancels the
//! compute too, just later (the fallback of docs/adr/0001-processes.md).

use catalytic_shared::db::job_queries::CANCEL_CHANNEL;
use catalytic_shared::ids::JobId;
use catalytic_shared::reconnect::Backoff;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The computes of one job here, each with its registration number.
type Tokens = Vec<(u64, CancellationToken)>;

/// Job id → the tokens of its computes on this worker. More than one only
/// when a duplicate delivery races its original (its claim will be stale).
#[derive(Clone, Default)]
pub struct Registry {
    inner: Arc<Mutex<HashMap<JobId, Tokens>>>,
    next: Arc<AtomicU64>,
}

/// A registered compute; dropping it deregisters the token.
pub struct Registration {
    registry: Registry,
    job: JobId,
    id: u64,
    token: CancellationToken,
}

impl Registration {
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut map = self
            .registry
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(tokens) = map.get_mut(&self.job) {
            tokens.retain(|(id, _)| *id != self.id);
            if tokens.is_empty() {
                map.remove(&self.job);
            }
        }
    }
}

impl Registry {
    /// Registers a fresh token for `job`. Register before the claim, so a
    /// cancel that commits right after the claim still finds it.
    pub fn register(&self, job: JobId) -> Registration {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let token = CancellationToken::new();
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(job)
            .or_default()
            .push((id, token.clone()));
        Registration {
            registry: self.clone(),
            job,
            id,
            token,
        }
    }

    /// Cancels every compute of `job` here; false when none runs here.
    pub fn cancel(&self, job: JobId) -> bool {
        let map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get(&job) {
            Some(tokens) => {
                for (_, token) in tokens {
                    token.cancel();
                }
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Listens on `job_cancel` until `shutdown`, reconnecting after errors.
/// `pool` is the listener's own one-connection pool: a LISTEN holds its
/// connection for good, which must not starve the jobs' pool. (`recv`
/// itself re-establishes a dropped connection; an error here means that
/// failed too.)
pub async fn listen(pool: PgPool, registry: Registry, shutdown: CancellationToken) {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        let listened = tokio::select! {
            () = shutdown.cancelled() => return,
            listened = listen_once(&pool, &registry, &mut backoff) => listened,
        };
        let delay = backoff.next_delay();
        if let Err(e) = listened {
            tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64,
                "cancel listener lost its connection; reconnecting");
        }
        if !Backoff::sleep(delay, &shutdown).await {
            return;
        }
    }
}

/// One connection's life: LISTEN, then cancel tokens until an error.
async fn listen_once(
    pool: &PgPool,
    registry: &Registry,
    backoff: &mut Backoff,
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CANCEL_CHANNEL).await?;
    tracing::info!(channel = CANCEL_CHANNEL, "listening for cancels");
    backoff.reset();
    loop {
        let notification = listener.recv().await?;
        match notification.payload().parse::<JobId>() {
            Ok(job) => {
                if registry.cancel(job) {
                    tracing::info!(job_id = %job, "cancel received; stopping the compute");
                }
            }
            Err(_) => tracing::warn!(
                payload = notification.payload(),
                "cancel notification without a job id; ignored"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_reaches_the_registered_token_and_drop_deregisters() {
        let registry = Registry::default();
        let job = JobId::new();
        let first = registry.register(job);
        let duplicate = registry.register(job);
        assert!(registry.cancel(job));
        assert!(first.token().is_cancelled() && duplicate.token().is_cancelled());
        drop(duplicate);
        assert_eq!(registry.len(), 1, "the original stays registered");
        drop(first);
        assert!(registry.is_empty());
        assert!(!registry.cancel(job), "nothing runs here any more");
    }
}
