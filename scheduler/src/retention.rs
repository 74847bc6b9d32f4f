//! Retention pruning (docs/adr/0005-scheduler.md), every `scheduler.retention_interval_secs`:
//!
//! | what | kept | then |
//! |---|---|---|
//! | job results | `scheduler.retention_results_secs` (7 days) after finishing | a summary `{"pruned": true, "length"?, "count"?}`; the row stays |
//! | results of jobs with their own `result_ttl_secs` | that long after succeeding (checked every `OWN_TTL_EVERY`, a minute) | the same summary |
//! | result parts of attempts that did not succeed | until the next round | deleted (a summarised result's parts go with it) |
//! | progress of jobs no longer running | until the round after they stop | deleted |
//! | sent outbox rows | `scheduler.retention_sent_outbox_secs` (1 day) | deleted |
//! | finished jobs | `scheduler.retention_jobs_secs` (90 days) after finishing, or their own `result_ttl_secs` if longer | deleted as `DELETE /v1/jobs/{id}` deletes one (transitions, outbox rows, webhook messages go with it; the usage event stays) |
//! | refresh tokens, revoked access tokens | until they expire | deleted |
//! | login lockouts (per email) | while locked or in their failure window | deleted |
//! | failed logins per email and address | a day after the last failure, unless locked | deleted |
//! | mailed tokens (verification, reset) | a day after they expire | deleted |
//! | audit records | a year | deleted (the table refuses any other deletion) |
//! | webhook attempts | `webhooks.attempt_retention_secs` (30 days) after they started | deleted |
//! | mail messages, sent or failed, with their attempts | `mail.retention_secs` (30 days) after finishing | deleted (pending ones never) |
//!
//! Usage events are left to billing (they must outlive invoice finalisation). Every kind is
//! pruned in batches of `BATCH` rows, one statement each, until a batch
//! comes back short; a failing kind is logged and the others still run.

use crate::db::retention;
use catalytic_shared::db::DbError;
use catalytic_shared::metrics as m;
use sqlx::PgPool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Rows per statement: short locks, small transactions.
pub const BATCH: i64 = 1000;

/// How often results with their own `result_ttl_secs` are looked at: their
/// index holds only the due ones, so a look costs one probe, and a result
/// goes within a minute of its time (a submit's shortest TTL is 60 s).
pub const OWN_TTL_EVERY: Duration = Duration::from_secs(60);

pub struct Retention {
    pub pool: PgPool,
    pub interval: Duration,
    pub results: Duration,
    pub sent_outbox: Duration,
    /// `scheduler.retention_jobs_secs`: finished jobs, deleted.
    pub jobs: Duration,
    /// `auth.lockout_window_secs`: a lockout row older than its window and
    /// not locked changes no login's answer.
    pub lockout_window: Duration,
    /// `webhooks.attempt_retention_secs`.
    pub webhook_attempts: Duration,
    /// `mail.retention_secs`: finished mail messages and their attempts.
    pub mail_messages: Duration,
}

/// Rows pruned (or summarised) in one round, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pruned {
    pub job_results: u64,
    pub own_ttl_results: u64,
    pub jobs: u64,
    pub job_progress: u64,
    pub orphan_parts: u64,
    pub sent_outbox: u64,
    pub refresh_tokens: u64,
    pub revoked_tokens: u64,
    pub login_lockouts: u64,
    pub login_failures: u64,
    pub account_tokens: u64,
    pub audit_events: u64,
    pub webhook_attempts: u64,
    pub unique_keys: u64,
    pub mail_messages: u64,
}

impl Retention {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut last_full: Option<tokio::time::Instant> = None;
        while !shutdown.is_cancelled() {
            if last_full.is_none_or(|at| at.elapsed() >= self.interval) {
                last_full = Some(tokio::time::Instant::now());
                let pruned = self.run_once().await;
                tracing::info!(?pruned, "retention round");
            } else {
                let pruned = self.expire_own_results().await;
                if pruned > 0 {
                    tracing::info!(pruned, "results past their own TTL summarised");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(self.interval.min(OWN_TTL_EVERY)) => {}
            }
        }
        tracing::info!("retention stopped");
    }

    /// Results whose own `result_ttl_secs` has run out, summarised.
    pub async fn expire_own_results(&self) -> u64 {
        prune("own_ttl_results", |n| {
            retention::expire_own_results(&self.pool, n)
        })
        .await
    }

    /// One round over every kind. Errors are logged per kind.
    pub async fn run_once(&self) -> Pruned {
        let pool = &self.pool;
        Pruned {
            job_results: prune("job_results", |n| {
                retention::summarise_results(pool, self.results, n)
            })
            .await,
            own_ttl_results: self.expire_own_results().await,
            jobs: prune("jobs", |n| retention::delete_old_jobs(pool, self.jobs, n)).await,
            job_progress: prune("job_progress", |n| {
                retention::delete_finished_progress(pool, n)
            })
            .await,
            orphan_parts: prune("orphan_parts", |n| retention::delete_orphan_parts(pool, n)).await,
            sent_outbox: prune("sent_outbox", |n| {
                retention::delete_sent_outbox(pool, self.sent_outbox, n)
            })
            .await,
            refresh_tokens: prune("refresh_tokens", |n| {
                retention::delete_expired_refresh_tokens(pool, n)
            })
            .await,
            revoked_tokens: prune("revoked_tokens", |n| {
                retention::delete_expired_revocations(pool, n)
            })
            .await,
            login_lockouts: prune("login_lockouts", |n| {
                retention::delete_stale_lockouts(pool, self.lockout_window, n)
            })
            .await,
            login_failures: prune("login_failures", |n| {
                retention::delete_stale_login_failures(pool, n)
            })
            .await,
            account_tokens: prune("account_tokens", |n| {
                retention::delete_expired_account_tokens(pool, n)
            })
            .await,
            audit_events: prune("audit_events", |n| {
                retention::delete_old_audit_events(pool, n)
            })
            .await,
            webhook_attempts: prune("webhook_attempts", |n| {
                retention::delete_old_webhook_attempts(pool, self.webhook_attempts, n)
            })
            .await,
            unique_keys: prune("unique_keys", |n| {
                retention::delete_expired_unique_keys(pool, n)
            })
            .await,
            mail_messages: prune("mail_messages", |n| {
                retention::delete_finished_mail(pool, self.mail_messages, n)
            })
            .await,
        }
    }
}

/// Runs `batch` until it touches fewer than `BATCH` rows; returns the total.
async fn prune<F, Fut>(kind: &'static str, batch: F) -> u64
where
    F: Fn(i64) -> Fut,
    Fut: Future<Output = Result<u64, DbError>>,
{
    let mut total = 0;
    loop {
        match batch(BATCH).await {
            Ok(n) => {
                total += n;
                metrics::counter!(m::RETENTION_PRUNED, "kind" => kind).increment(n);
                if n < BATCH as u64 {
                    return total;
                }
            }
            Err(e) => {
                tracing::warn!(kind, error = %e, "retention batch failed");
                return total;
            }
        }
    }
}
