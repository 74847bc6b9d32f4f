//! Webhook delivery (issue 6, design §5), a scheduler duty in rounds:
//!
//! 1. Fan out new `webhook_messages` into one delivery per matching enabled
//!    endpoint of the tenant (`db::webhook_deliveries::fan_out`, idempotent).
//! 2. Claim due deliveries with `FOR UPDATE SKIP LOCKED` ([`claim`]), as
//!    many as there are free permits, never for an endpoint this process is
//!    sending to already.
//! 3. Per endpoint, one task sends its claimed deliveries in turn
//!    ([`delivery`]: signed per Standard Webhooks, [`ssrf`] guarded, capped),
//!    logs each attempt and schedules the next ([`schedule`]); a 410
//!    disables the endpoint ([`endpoint_health`]).
//!
//! Rounds do not wait for sends: a slow endpoint holds one permit and its
//! own deliveries only. Replicas are safe: a claim moves the delivery one
//! lease ahead, and the outcome write matches the attempt number. A sender
//! that dies mid-send leaves the delivery due again after the lease, so a
//! receiver may see a `webhook-id` twice in that failure case: receivers
//! dedupe by `webhook-id` (documented).

pub mod claim;
pub mod delivery;
pub mod endpoint_health;
pub mod outcomes;
pub mod rate_limit;
pub mod schedule;
pub mod signing;
pub mod ssrf;

use anyhow::Context;
use catalytic_shared::config::WebhookSettings;
use catalytic_shared::db::webhook_deliveries::{self as store, AttemptRecord, DeliveryState};
use catalytic_shared::ids::EndpointId;
use catalytic_shared::metrics as m;
use catalytic_shared::webhook_secret::SecretBox;
use claim::BusyEndpoints;
use delivery::{DeliveryOutcome, PendingDelivery};
use outcomes::Outcomes;
use rate_limit::RateLimiter;
use schedule::Schedule;
use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use ssrf::{AllowList, GuardedResolver, Lookup, SystemLookup};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The delivery duty; cheap to clone (tests run two as two replicas).
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    /// Fan-out and claims, committed without waiting for the WAL flush
    /// (`synchronous_commit = off`): they are on every event's way to its
    /// receiver, and losing one in a PostgreSQL crash is harmless: fan-out
    /// is idempotent and runs again, and a lost claim makes the delivery due
    /// again (at worst a re-send, the documented crash case). The attempt
    /// log is written durably, through `pool`.
    rounds: PgPool,
    /// No redirects, no proxy, connect and total timeouts, SSRF resolver.
    client: reqwest::Client,
    secrets: SecretBox,
    allow: AllowList,
    schedule: Schedule,
    batch: i64,
    lease: Duration,
    poll: Duration,
    /// Failing this long without a success disables an endpoint.
    disable_after: Duration,
    /// One per sending task, over all endpoints (`webhooks.concurrency`).
    permits: Arc<Semaphore>,
    concurrency: usize,
    busy: BusyEndpoints,
    /// Per-endpoint rate limits, shared by the replicas through Redis.
    limiter: RateLimiter,
    /// Writes the attempt log in batches.
    outcomes: Outcomes,
    /// Rung when a sending task ends, so the loop claims again at once.
    finished: Notify,
}

/// What one round did; `finished()` waits for its sends (tests).
pub struct Round {
    pub fanned_out: u64,
    pub claimed: usize,
    /// As many were claimed as asked for: more may be due.
    pub claim_was_full: bool,
    sends: Vec<JoinHandle<()>>,
}

impl Round {
    pub async fn finished(self) {
        for send in self.sends {
            if let Err(e) = send.await {
                tracing::error!(error = %e, "a webhook sending task panicked");
            }
        }
    }
}

impl Webhooks {
    /// The production duty: system DNS, rate limits shared through Redis.
    pub fn new(
        pool: PgPool,
        settings: &WebhookSettings,
        limiter: RateLimiter,
    ) -> anyhow::Result<Self> {
        Self::with(pool, settings, Arc::new(SystemLookup), limiter)
    }

    /// With an injected name lookup (tests map names to private addresses)
    /// and rate limits per process.
    pub fn with_lookup(
        pool: PgPool,
        settings: &WebhookSettings,
        lookup: Arc<dyn Lookup>,
    ) -> anyhow::Result<Self> {
        Self::with(pool, settings, lookup, RateLimiter::local())
    }

    pub fn with(
        pool: PgPool,
        settings: &WebhookSettings,
        lookup: Arc<dyn Lookup>,
        limiter: RateLimiter,
    ) -> anyhow::Result<Self> {
        let allow = AllowList::new(&settings.allow_private);
        let mut builder = reqwest::Client::builder().use_rustls_tls();
        for root in extra_roots(&settings.extra_root_ca_file)? {
            builder = builder.add_root_certificate(root);
        }
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(Duration::from_secs(settings.connect_timeout_secs))
            .timeout(Duration::from_secs(settings.timeout_secs))
            .user_agent("Catalytic-Webhooks/1")
            .dns_resolver(Arc::new(GuardedResolver {
                lookup,
                allow: allow.clone(),
            }))
            .build()
            .context("building the webhook HTTP client")?;
        let outcomes = Outcomes::spawn(pool.clone());
        let rounds = PgPoolOptions::new().max_connections(2).connect_lazy_with(
            (*pool.connect_options())
                .clone()
                .options([("synchronous_commit", "off")]),
        );
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                rounds,
                client,
                secrets: SecretBox::new(settings),
                allow,
                schedule: Schedule::new(settings.schedule_scale),
                batch: settings.batch,
                lease: Duration::from_secs(settings.lease_secs),
                poll: Duration::from_millis(settings.poll_ms),
                disable_after: Duration::from_secs(settings.disable_after_failing_secs),
                permits: Arc::new(Semaphore::new(settings.concurrency)),
                concurrency: settings.concurrency,
                busy: BusyEndpoints::default(),
                limiter,
                outcomes,
                finished: Notify::new(),
            }),
        })
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let mut listener = None;
        while !shutdown.is_cancelled() {
            if listener.is_none() {
                listener = self.listen().await;
            }
            let busy_round = match self.run_once().await {
                // Go again at once only when a batch came back full; a
                // delivery left for a busy endpoint is claimed when that
                // endpoint's sender finishes (`finished`).
                Ok(round) => {
                    round.fanned_out == self.inner.batch as u64
                        || (round.claim_was_full && self.inner.permits.available_permits() > 0)
                }
                Err(e) => {
                    tracing::warn!(error = format!("{e:#}"), "webhook round failed");
                    false
                }
            };
            if busy_round {
                continue;
            }
            let notified = async {
                match listener.as_mut() {
                    Some(l) => {
                        if l.recv().await.is_err() {
                            // Reconnect on the next round.
                            listener = None;
                        }
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(self.inner.poll) => {}
                () = self.inner.finished.notified() => {}
                () = notified => {}
            }
        }
        // Let sends in flight finish (each is bounded by the client's
        // timeout); what is left comes due again after its lease.
        let all = u32::try_from(self.inner.concurrency).unwrap_or(u32::MAX);
        let drain = self.inner.permits.acquire_many(all);
        let grace = Duration::from_secs(20);
        if tokio::time::timeout(grace, drain).await.is_err() {
            tracing::warn!("webhook sends still in flight at shutdown; their leases will expire");
        }
        tracing::info!("webhook delivery stopped");
    }

    /// `NOTIFY webhook_messages` (an insert trigger) wakes the loop at once.
    async fn listen(&self) -> Option<PgListener> {
        let result = async {
            let mut listener = PgListener::connect_with(&self.inner.pool).await?;
            listener.listen("webhook_messages").await?;
            Ok::<_, sqlx::Error>(listener)
        }
        .await;
        result
            .map_err(|e| tracing::warn!(error = %e, "LISTEN webhook_messages failed; polling only"))
            .ok()
    }

    /// Fan out, claim, and start the sends of one round.
    pub async fn run_once(&self) -> anyhow::Result<Round> {
        let inner = &self.inner;
        let fanned_out = store::fan_out(&inner.rounds, inner.batch)
            .await
            .context("fanning out webhook messages")?;
        let free = inner.permits.available_permits() as i64;
        let limit = inner.batch.min(free);
        if limit == 0 {
            return Ok(Round {
                fanned_out,
                claimed: 0,
                claim_was_full: false,
                sends: Vec::new(),
            });
        }
        let claimed = store::claim_due(&inner.rounds, limit, inner.lease, &inner.busy.snapshot())
            .await
            .context("claiming due webhook deliveries")?;
        let count = claimed.len();
        let mut sends = Vec::new();
        for (endpoint, deliveries) in inner.busy.take(claimed) {
            // Only this loop takes permits, and it claimed no more rows
            // than were free, so one is always there.
            let Ok(permit) = inner.permits.clone().try_acquire_owned() else {
                inner.busy.release(endpoint);
                continue;
            };
            sends.push(tokio::spawn(send_all(
                self.inner.clone(),
                endpoint,
                deliveries,
                permit,
            )));
        }
        Ok(Round {
            fanned_out,
            claimed: count,
            claim_was_full: count as i64 == limit,
            sends,
        })
    }
}

/// The certificates of `webhooks.extra_root_ca_file` (PEM, any number),
/// trusted for https endpoints besides the bundled Mozilla roots.
fn extra_roots(path: &str) -> anyhow::Result<Vec<reqwest::Certificate>> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let pem = std::fs::read(path)
        .with_context(|| format!("reading webhooks.extra_root_ca_file {path}"))?;
    let roots = reqwest::Certificate::from_pem_bundle(&pem)
        .with_context(|| format!("parsing webhooks.extra_root_ca_file {path}"))?;
    anyhow::ensure!(
        !roots.is_empty(),
        "webhooks.extra_root_ca_file {path} holds no PEM certificate"
    );
    Ok(roots)
}

/// One endpoint's claimed deliveries, in turn. The endpoint is free for
/// the next round's claim as soon as the last receiver has answered; the
/// permit is held until the attempts are written (so `Round::finished`
/// means logged, and the writer's backlog is bounded by the permits).
async fn send_all(
    inner: Arc<Inner>,
    endpoint: EndpointId,
    deliveries: Vec<PendingDelivery>,
    permit: OwnedSemaphorePermit,
) {
    let mut written = Vec::with_capacity(deliveries.len());
    for delivery in &deliveries {
        inner
            .limiter
            .pace(endpoint, delivery.rate_limit_per_second)
            .await;
        let (outcome, record) = attempt(&inner, delivery).await;
        written.push(record);
        if outcome == DeliveryOutcome::Disable {
            // The rest were claimed for an endpoint that is gone: they come
            // due after their lease and are not claimed while it is disabled.
            break;
        }
    }
    inner.busy.release(endpoint);
    inner.finished.notify_one();
    for record in written {
        let _ = record.await;
    }
    // A round that found no free permit claimed nothing: wake it again.
    let starved = inner.permits.available_permits() == 0;
    drop(permit);
    if starved {
        inner.finished.notify_one();
    }
}

/// Sends one attempt and queues its record (the delivery's next state with
/// it). Failures also move the endpoint's health here (rare, so written
/// directly); errors are logged: the delivery stays claimed until its lease
/// ends, then is tried again.
#[tracing::instrument(skip_all, fields(tenant_id = %delivery.tenant_id, webhook_id = %delivery.message_id, attempt = delivery.attempt))]
async fn attempt(
    inner: &Inner,
    delivery: &PendingDelivery,
) -> (DeliveryOutcome, oneshot::Receiver<()>) {
    let response = delivery::send(&inner.client, &inner.secrets, &inner.allow, delivery).await;
    let outcome = delivery::decide(&response, delivery.attempt, &inner.schedule);
    metrics::counter!(m::WEBHOOK_ATTEMPTS, "outcome" => outcome.label()).increment(1);
    metrics::histogram!(m::WEBHOOK_ATTEMPT_SECONDS).record(response.latency.as_secs_f64());
    let next = match outcome {
        DeliveryOutcome::Delivered => DeliveryState::Succeeded,
        DeliveryOutcome::Retry(delay) => DeliveryState::RetryIn(delay),
        DeliveryOutcome::GiveUp | DeliveryOutcome::Disable => DeliveryState::Failed,
    };
    let record = inner.outcomes.record(AttemptRecord {
        delivery_id: delivery.id,
        tenant_id: delivery.tenant_id,
        message_id: delivery.message_id,
        endpoint_id: delivery.endpoint_id,
        attempt: delivery.attempt,
        started_at: response.started_at,
        status_code: response.status.map(i32::from),
        latency_ms: i32::try_from(response.latency.as_millis()).unwrap_or(i32::MAX),
        response_body: response.body,
        error: response.error,
        next,
    });
    let health = match outcome {
        DeliveryOutcome::Delivered => Ok(()),
        DeliveryOutcome::Disable => {
            endpoint_health::disable(&inner.pool, delivery, endpoint_health::GONE).await
        }
        DeliveryOutcome::Retry(_) | DeliveryOutcome::GiveUp => {
            endpoint_health::after_failure(&inner.pool, delivery, inner.disable_after).await
        }
    };
    if let Err(e) = health {
        tracing::error!(error = %e, "could not update the webhook endpoint's health");
    }
    (outcome, record)
}
