//! The mail sender (issue 20, docs/adr/0005-scheduler.md "Mail"), a
//! scheduler duty in rounds. The api and the other duties write messages
//! into the mail outbox (`mail_messages`) in the transactions of the
//! changes they report (`catalytic_shared::db::mail`); each round here:
//!
//! 1. claims up to `mail.batch` due messages (`db::mail::claim_due`: SKIP
//!    LOCKED, one lease ahead, the attempt counted);
//! 2. renders each from its templates ([`templates`]) and sends it over
//!    SMTP ([`smtp`]), `mail.concurrency` at a time;
//! 3. records each attempt with the message's next state: sent (params
//!    erased: they may hold a single-use token), retried later, or failed.
//!
//! Retries: `mail.retry_base_secs` × 2^(attempt − 1), at most an hour,
//! ±10 % jitter; after `mail.max_attempts` the message fails. A permanent
//! refusal (5xx) fails it at once, and so does a message that cannot be
//! composed (params that no longer parse, an address that is not one).
//!
//! Rounds are woken by `NOTIFY catalytic_mail` (an insert trigger) and by
//! the `mail.poll_ms` poll, which also finds retries that came due and
//! covers a lost notification. Replicas are safe: a claim is one lease
//! ahead and every write matches the attempt number, so a sender whose
//! lease ran out changes nothing. A message whose lease would run out
//! before its send could end is given back unsent instead of sent late
//! (and so twice). A sender that dies mid-send leaves its message due again
//! after the lease: mail is sent at least once, with a stable Message-ID.
//!
//! With `mail.smtp_url` empty the sender says so once and sends nothing;
//! messages wait in the outbox until a server is configured.
//!
//! Logs carry `mail_id`, `template`, `attempt`, `tenant_id` (when the
//! message has one) and the recipient's domain, never the params or the
//! full address.

pub mod smtp;
pub mod templates;

use crate::db::mail::{self as store, Attempt, Claimed};
use anyhow::Context;
use catalytic_shared::config::MailSettings;
use catalytic_shared::mail::Mail;
use catalytic_shared::metrics as m;
use chrono::Utc;
use futures::StreamExt;
use lettre::message::Mailbox;
use smtp::{Failure, Smtp};
use sqlx::PgPool;
use std::time::{Duration, Instant};
use templates::Templates;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// The channel of migration 0030's insert trigger.
pub const CHANNEL: &str = "catalytic_mail";
/// No retry waits longer than this.
pub const RETRY_CAP: Duration = Duration::from_secs(3600);
/// ± this fraction of the nominal delay, so messages that failed together
/// (a server outage fails a whole round) do not come back together.
pub const JITTER: f64 = 0.1;
/// The longest `last_error` kept (an SMTP server's reply can be long).
const ERROR_MAX_CHARS: usize = 1000;

pub struct Mailer {
    pool: PgPool,
    /// None: mail is off (`mail.smtp_url` empty).
    smtp: Option<Smtp>,
    templates: Templates,
    from: Mailbox,
    batch: i64,
    concurrency: usize,
    poll: Duration,
    max_attempts: i32,
    retry_base_secs: f64,
    lease: Duration,
    /// One attempt's time limit: `mail.timeout_secs`, at most half the
    /// lease, so a send started with this much lease left ends within it.
    attempt_limit: Duration,
}

/// What one round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Round {
    pub claimed: usize,
    pub sent: usize,
    /// Failed this attempt, due again later.
    pub retried: usize,
    /// Failed for good.
    pub failed: usize,
    /// Given back unsent (lease running out, or stopping).
    pub released: usize,
    /// Attempted, but the outcome was not written (a stale claim, or the
    /// database away): due again after the lease if it is still pending.
    pub unrecorded: usize,
}

/// What became of one claimed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Sent,
    Retried,
    Failed,
    Released,
    Unrecorded,
}

impl Mailer {
    /// The duty, from `mail.*`. Compiles the templates and, unless mail is
    /// off, builds the SMTP transport (so needs a tokio runtime).
    pub fn new(pool: PgPool, settings: &MailSettings) -> anyhow::Result<Self> {
        let templates =
            Templates::new(&settings.public_url).context("compiling the mail templates")?;
        let from: Mailbox = settings
            .from
            .parse()
            .context("CATALYTIC_MAIL__FROM is not an address (Name <user@example.com>)")?;
        anyhow::ensure!(
            settings.lease_secs >= 2,
            "CATALYTIC_MAIL__LEASE_SECS must be at least 2"
        );
        anyhow::ensure!(
            settings.timeout_secs >= 1,
            "CATALYTIC_MAIL__TIMEOUT_SECS must be at least 1"
        );
        let lease = Duration::from_secs(settings.lease_secs);
        let attempt_limit = Duration::from_secs(settings.timeout_secs).min(lease / 2);
        let concurrency = settings.concurrency.max(1);
        let url = settings.smtp_url.expose();
        let smtp = if url.is_empty() {
            None
        } else {
            let pool_size = u32::try_from(concurrency).unwrap_or(u32::MAX);
            // lettre's errors name no part of the URL (it may hold a password).
            Some(Smtp::new(url, attempt_limit, pool_size).context("CATALYTIC_MAIL__SMTP_URL")?)
        };
        Ok(Self {
            pool,
            smtp,
            templates,
            from,
            batch: settings.batch.max(1),
            concurrency,
            poll: Duration::from_millis(settings.poll_ms),
            max_attempts: settings.max_attempts.max(1),
            retry_base_secs: settings.retry_base_secs,
            lease,
            attempt_limit,
        })
    }

    pub async fn run(self, shutdown: CancellationToken) {
        if self.smtp.is_none() {
            tracing::warn!(
                "mail is off (mail.smtp_url is empty): messages wait in the outbox until a server is configured"
            );
            shutdown.cancelled().await;
            return;
        }
        let mut wakeup = crate::wakeup::Wakeup::new(self.pool.clone(), CHANNEL, self.poll);
        while !shutdown.is_cancelled() {
            wakeup.listen().await;
            let full = match self.round(&shutdown).await {
                Ok(round) => {
                    if round.claimed > 0 {
                        tracing::debug!(?round, "mail round");
                    }
                    round.claimed as i64 == self.batch
                }
                Err(e) => {
                    tracing::warn!(error = format!("{e:#}"), "mail round failed");
                    false
                }
            };
            // A full batch means more may be due: go again at once.
            if !full {
                wakeup.wait(&shutdown).await;
            }
        }
        tracing::info!("mail sender stopped");
    }

    /// One round: claim, send, record. Nothing when mail is off.
    pub async fn run_once(&self) -> anyhow::Result<Round> {
        self.round(&CancellationToken::new()).await
    }

    async fn round(&self, stop: &CancellationToken) -> anyhow::Result<Round> {
        let Some(smtp) = &self.smtp else {
            return Ok(Round::default());
        };
        // Taken before the claim: the database's lease ends no earlier.
        let leased_until = Instant::now() + self.lease;
        let claimed = store::claim_due(&self.pool, self.batch, self.lease)
            .await
            .context("claiming due mail")?;
        let outcomes: Vec<Outcome> = futures::stream::iter(claimed)
            .map(|message| self.deliver(smtp, message, leased_until, stop))
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut round = Round {
            claimed: outcomes.len(),
            ..Round::default()
        };
        for outcome in outcomes {
            match outcome {
                Outcome::Sent => round.sent += 1,
                Outcome::Retried => round.retried += 1,
                Outcome::Failed => round.failed += 1,
                Outcome::Released => round.released += 1,
                Outcome::Unrecorded => round.unrecorded += 1,
            }
        }
        Ok(round)
    }

    /// One claimed message: sent (or found unusable) and recorded, or
    /// given back when too little of its lease is left.
    async fn deliver(
        &self,
        smtp: &Smtp,
        message: Claimed,
        leased_until: Instant,
        stop: &CancellationToken,
    ) -> Outcome {
        let span = tracing::info_span!(
            "mail",
            mail_id = %message.id,
            template = %message.template,
            attempt = message.attempt,
            domain = smtp::domain_of(&message.to_address),
            tenant_id = tracing::field::Empty,
        );
        if let Some(tenant) = message.tenant_id {
            span.record("tenant_id", tracing::field::display(tenant));
        }
        async move {
            // The send and the write of its outcome must end within the
            // lease, or another replica may send the message as well.
            let needed = self.attempt_limit + self.attempt_limit / 4;
            if stop.is_cancelled() || Instant::now() + needed > leased_until {
                return self.give_back(&message).await;
            }
            let template = template_label(&message.template);
            let started_at = Utc::now();
            let started = Instant::now();
            let result = match self.compose(&message) {
                Ok(composed) => {
                    let result = smtp.send(composed).await;
                    metrics::histogram!(m::MAIL_SEND_SECONDS)
                        .record(started.elapsed().as_secs_f64());
                    result
                }
                Err(unusable) => Err(unusable),
            };
            let mut attempt = Attempt {
                id: message.id,
                attempt: message.attempt,
                started_at,
                latency: started.elapsed(),
                smtp_code: None,
            };
            match result {
                Ok(code) => {
                    attempt.smtp_code = Some(code);
                    self.record_sent(&attempt, template).await
                }
                Err(failure) => {
                    attempt.smtp_code = failure.code;
                    self.record_failure(&attempt, template, failure).await
                }
            }
        }
        .instrument(span)
        .await
    }

    /// The message to send, or why it can never be sent.
    fn compose(&self, message: &Claimed) -> Result<lettre::Message, Failure> {
        let params = message
            .params
            .clone()
            .ok_or_else(|| Failure::unusable("the message has no params"))?;
        let mail = Mail::from_stored(&message.template, params)
            .map_err(|e| Failure::unusable(format!("template {}: {e}", message.template)))?;
        let rendered = self.templates.render(&mail).map_err(Failure::unusable)?;
        let to: Mailbox = message
            .to_address
            .parse()
            .map_err(|e| Failure::unusable(format!("the recipient is not an address: {e}")))?;
        smtp::compose(&self.from, to, message.id, rendered)
            .map_err(|e| Failure::unusable(format!("composing the message: {e}")))
    }

    async fn record_sent(&self, attempt: &Attempt, template: &'static str) -> Outcome {
        match store::record_sent(&self.pool, attempt).await {
            Ok(true) => {
                metrics::counter!(m::MAIL_MESSAGES, "template" => template, "outcome" => "sent")
                    .increment(1);
                tracing::info!(
                    smtp_code = attempt.smtp_code,
                    latency_ms = attempt.latency.as_millis() as u64,
                    "mail sent"
                );
                Outcome::Sent
            }
            Ok(false) => {
                tracing::warn!("mail sent, but its claim had expired: outcome not recorded");
                Outcome::Unrecorded
            }
            Err(e) => {
                tracing::warn!(error = %e, "mail sent, but the outcome could not be recorded; it may be sent again after its lease");
                Outcome::Unrecorded
            }
        }
    }

    async fn record_failure(
        &self,
        attempt: &Attempt,
        template: &'static str,
        failure: Failure,
    ) -> Outcome {
        let last = failure.permanent || attempt.attempt >= self.max_attempts;
        let delay = retry_delay(self.retry_base_secs, attempt.attempt, rand::random::<f64>());
        let retry_at = (!last).then(|| {
            Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1))
        });
        let error = truncate(&failure.error, ERROR_MAX_CHARS);
        match store::record_failure(&self.pool, attempt, &error, retry_at).await {
            Ok(true) => {
                let outcome = if last { "failed" } else { "retry" };
                metrics::counter!(m::MAIL_MESSAGES, "template" => template, "outcome" => outcome)
                    .increment(1);
                if last {
                    tracing::warn!(
                        error = %error,
                        smtp_code = failure.code,
                        permanent = failure.permanent,
                        "mail failed for good"
                    );
                    Outcome::Failed
                } else {
                    tracing::warn!(
                        error = %error,
                        smtp_code = failure.code,
                        retry_in_secs = delay.as_secs_f64(),
                        "mail attempt failed; it will be retried"
                    );
                    Outcome::Retried
                }
            }
            Ok(false) => {
                tracing::warn!(error = %error, "mail attempt failed, and its claim had expired");
                Outcome::Unrecorded
            }
            Err(e) => {
                tracing::warn!(error = %e, "mail attempt failed, and its outcome could not be recorded; due again after its lease");
                Outcome::Unrecorded
            }
        }
    }

    async fn give_back(&self, message: &Claimed) -> Outcome {
        if let Err(e) = store::release(&self.pool, message.id, message.attempt).await {
            tracing::warn!(error = %e, "could not give a mail message back; it comes due after its lease");
        } else {
            tracing::debug!("mail message given back unsent");
        }
        Outcome::Released
    }
}

/// The wait after attempt `failed_attempt` (1-based) failed:
/// `base_secs` × 2^(attempt − 1), at most `RETRY_CAP`, ±`JITTER`; `unit` in
/// [0, 1) is the jitter draw.
pub fn retry_delay(base_secs: f64, failed_attempt: i32, unit: f64) -> Duration {
    let cap = RETRY_CAP.as_secs_f64();
    let doublings = failed_attempt.saturating_sub(1).clamp(0, 30);
    let nominal = (base_secs.max(0.0) * 2f64.powi(doublings)).min(cap);
    let factor = 1.0 + JITTER * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
    Duration::from_secs_f64((nominal * factor).clamp(0.0, cap))
}

/// The `template` label: a known template's name, or `unknown` (a row's
/// name is not trusted to bound the label's values).
fn template_label(template: &str) -> &'static str {
    Mail::TEMPLATES
        .into_iter()
        .find(|t| *t == template)
        .unwrap_or("unknown")
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_from_the_base_up_to_an_hour() {
        let secs = |attempt, unit| retry_delay(30.0, attempt, unit).as_secs_f64();
        assert_eq!(secs(1, 0.5), 30.0);
        assert_eq!(secs(2, 0.5), 60.0);
        assert_eq!(secs(3, 0.5), 120.0);
        assert_eq!(secs(8, 0.5), 3600.0, "30 × 2^7 = 3840 s is capped");
        assert_eq!(secs(10_000, 0.5), 3600.0);
        // ±10 %, never past the cap.
        assert!((secs(1, 0.0) - 27.0).abs() < 1e-9);
        assert!((secs(1, 1.0) - 33.0).abs() < 1e-9);
        assert!(secs(9, 1.0) <= 3600.0);
        assert_eq!(secs(0, 0.5), 30.0, "attempt numbers start at 1");
    }

    #[test]
    fn labels_are_bounded_to_the_known_templates() {
        assert_eq!(template_label("welcome"), "welcome");
        assert_eq!(template_label("drop_tables"), "unknown");
    }

    #[test]
    fn long_errors_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("ééé", 2), "éé…");
    }
}
