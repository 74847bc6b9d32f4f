//! Webhook delivery (issue 6, docs/adr/0005-scheduler.md), a scheduler duty in rounds:
//!
//! 1. Fan out new `webhook_messages` into one delivery per matching enabled
//!    endpoint of the tenant (`db::webhook_deliveries::fan_out`, idempotent),
//!    inserting the first ones already claimed and returning them: an
//!    event's way to its receiver is one round trip, then the send.
//! 2. Claim other due deliveries with `FOR UPDATE SKIP LOCKED` ([`claim`]),
//!    at most as many as there are free permits, leaving out only endpoints
//!    whose queue in this process is full.
//! 3. Per endpoint, one task sends the deliveries queued for it in turn
//!    ([`delivery`]: signed per Standard Webhooks, [`ssrf`] guarded, capped);
//!    a later claim's deliveries for that endpoint join its queue. Each
//!    attempt is logged by one writer in batches ([`outcomes`]) with the
//!    delivery's next state ([`schedule`]); a 410 disables the endpoint
//!    ([`endpoint_health`]).
//!
//! Rounds do not wait for sends: a slow endpoint holds one permit and its
//! own deliveries only. Replicas are safe: a claim moves the delivery one
//! lease ahead, and the outcome write matches the attempt number. A queued
//! delivery whose lease would run out before its send could end is given
//! back unsent. A sender that dies mid-send leaves the delivery due again
//! after the lease, so a receiver may see a `webhook-id` twice in that
//! failure case: receivers dedupe by `webhook-id` (documented).

pub mod claim;
pub mod delivery;
pub mod endpoint_health;
pub mod outcomes;
pub mod rate_limit;
pub mod schedule;
pub mod signing;
pub mod ssrf;

use crate::db::webhook_deliveries::{self as store, AttemptRecord, ClaimedDelivery, DeliveryState};
use anyhow::Context;
use catalytic_shared::config::WebhookSettings;
use catalytic_shared::ids::EndpointId;
use catalytic_shared::metrics as m;
use catalytic_shared::webhook_secret::SecretBox;
use claim::{Queued, Senders};
use delivery::{DeliveryOutcome, KeyCache, PendingDelivery};
use outcomes::Outcomes;
use rate_limit::RateLimiter;
use schedule::Schedule;
use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use ssrf::{AllowList, GuardedResolver, Lookup, SystemLookup};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
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
    /// log is written durably, through `pool`. Bitmap scans and hash and
    /// merge joins are off here ([`QUEUE_PLANS`]).
    rounds: PgPool,
    /// No redirects, no proxy, connect and total timeouts, SSRF resolver.
    client: reqwest::Client,
    keys: KeyCache,
    allow: AllowList,
    schedule: Schedule,
    batch: i64,
    lease: Duration,
    /// A queued delivery is sent only while this much of its lease is left
    /// (the client's total timeout and a margin); else it is given back.
    send_budget: Duration,
    poll: Duration,
    /// Failing this long without a success disables an endpoint.
    disable_after: Duration,
    /// One per sending task, over all endpoints (`webhooks.concurrency`).
    permits: Arc<Semaphore>,
    concurrency: usize,
    senders: Senders,
    /// Per-endpoint rate limits, shared by the replicas through Redis.
    limiter: RateLimiter,
    /// Writes the attempt log in batches.
    outcomes: Outcomes,
    /// Rung when a sender's queue runs low or a sender ends, so the loop
    /// claims again at once.
    finished: Notify,
    /// Set at shutdown: senders give their queues back instead of sending.
    stopping: AtomicBool,
}

/// Why the loop runs its next round.
#[derive(Clone, Copy)]
enum Wake {
    /// Start, the poll, or an error: fan out and claim.
    Poll,
    /// `NOTIFY webhook_messages`, or a full fan-out: fan out.
    Notified,
    /// A sender's queue ran low or ended, or a claim came back full: claim.
    SenderLow,
}

/// Planner settings of the pool that fans out and claims (the log writer
/// sets the same per transaction). `webhook_deliveries` is a queue: its
/// statistics are stale or empty by nature (a fresh table fills faster than
/// autovacuum analyses it), and with them the planner bitmap-scans every
/// due row and sorts them to find a claim's first 64 instead of walking the
/// due index to the LIMIT (measured: 8.5 ms against 0.7 ms for a claim over
/// 10,000 due rows).
const QUEUE_PLANS: [(&str, &str); 3] = [
    ("enable_bitmapscan", "off"),
    ("enable_hashjoin", "off"),
    ("enable_mergejoin", "off"),
];

/// What one round did; `finished()` waits until what it claimed is sent
/// and logged (or given back).
pub struct Round {
    pub fanned_out: u64,
    pub claimed: usize,
    /// As many were claimed as asked for: more may be due.
    pub claim_was_full: bool,
    done: Vec<oneshot::Receiver<()>>,
    sends: Vec<JoinHandle<()>>,
}

impl Round {
    pub async fn finished(self) {
        for send in self.sends {
            if let Err(e) = send.await {
                // Its queue is stranded (due again after the lease).
                tracing::error!(error = %e, "a webhook sending task panicked");
                return;
            }
        }
        for done in self.done {
            let _ = done.await;
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
                .options(QUEUE_PLANS)
                .options([("synchronous_commit", "off")]),
        );
        let timeout = Duration::from_secs(settings.timeout_secs);
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                rounds,
                client,
                keys: KeyCache::new(SecretBox::new(settings)),
                allow,
                schedule: Schedule::new(settings.schedule_scale),
                batch: settings.batch,
                lease: Duration::from_secs(settings.lease_secs),
                // Never more than half the lease, or nothing would be sent.
                send_budget: (timeout + SEND_MARGIN)
                    .min(Duration::from_secs(settings.lease_secs) / 2),
                poll: Duration::from_millis(settings.poll_ms),
                disable_after: Duration::from_secs(settings.disable_after_failing_secs),
                permits: Arc::new(Semaphore::new(settings.concurrency)),
                concurrency: settings.concurrency,
                senders: Senders::default(),
                limiter,
                outcomes,
                finished: Notify::new(),
                stopping: AtomicBool::new(false),
            }),
        })
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let mut listener = None;
        // What the next round does: the first, and one after the poll, do
        // both; a NOTIFY fans out (and claims only if that fan-out did not
        // claim everything it inserted: one round trip per event); a
        // sender running low, or a full claim, only claims (new messages
        // come with a NOTIFY, and the poll covers a missed one).
        let mut next = Wake::Poll;
        while !shutdown.is_cancelled() {
            if listener.is_none() {
                listener = self.listen().await;
            }
            let (fan_out, claim) = match next {
                Wake::Poll => (true, true),
                Wake::Notified => (true, false),
                Wake::SenderLow => (false, true),
            };
            let again = match self.round(fan_out, claim).await {
                // Go again at once only when a batch came back full (and,
                // for a claim, an endpoint can take more); otherwise a
                // sender running low rings `finished`.
                Ok(round) if round.fanned_out == self.inner.batch as u64 => Some(Wake::Notified),
                Ok(round)
                    if round.claim_was_full
                        && self.inner.permits.available_permits() > 0
                        && self.inner.senders.any_room() =>
                {
                    Some(Wake::SenderLow)
                }
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(error = format!("{e:#}"), "webhook round failed");
                    None
                }
            };
            if let Some(wake) = again {
                next = wake;
                continue;
            }
            next = Wake::Poll;
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
                () = tokio::time::sleep(self.inner.poll) => next = Wake::Poll,
                () = self.inner.finished.notified() => next = Wake::SenderLow,
                () = notified => next = Wake::Notified,
            }
        }
        // Sends in flight finish (each is bounded by the client's timeout);
        // what is still queued is given back, due again at once.
        self.inner.stopping.store(true, Ordering::Relaxed);
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

    /// Fan out (claiming what it inserts), claim, and start the sends of
    /// one round.
    pub async fn run_once(&self) -> anyhow::Result<Round> {
        self.round(true, true).await
    }

    /// One round. Every claim takes at most as many deliveries as there
    /// are free permits, so an endpoint new to this process always finds
    /// one. `claim`: claim due deliveries even when the fan-out claimed all
    /// it inserted.
    async fn round(&self, fan_out: bool, claim: bool) -> anyhow::Result<Round> {
        let inner = &self.inner;
        let mut round = Round {
            fanned_out: 0,
            claimed: 0,
            claim_was_full: false,
            done: Vec::new(),
            sends: Vec::new(),
        };
        // The fan-out's claims are sent after this round's claim, if it
        // runs: a round sends a delivery once at most (its retry is due
        // only after the attempt, and is the next round's).
        let mut fanned_claims = None;
        if fan_out {
            let limit = inner.batch.min(inner.permits.available_permits() as i64);
            let leased_until = Instant::now() + inner.lease;
            let fanned = store::fan_out(
                &inner.rounds,
                inner.batch,
                limit,
                inner.lease,
                &inner.senders.saturated(),
            )
            .await
            .context("fanning out webhook messages")?;
            round.fanned_out = fanned.messages;
            round.claimed = fanned.claimed.len();
            // Anything else due (retries, expired leases, replays, pings,
            // or what the fan-out left pending) is claimed below; a round
            // woken by a message that the fan-out claimed whole skips it.
            if !claim && fanned.messages > 0 && fanned.left_pending == 0 {
                self.dispatch(fanned.claimed, leased_until, &mut round);
                return Ok(round);
            }
            fanned_claims = Some((fanned.claimed, leased_until));
        }
        let free = inner.permits.available_permits() as i64 - round.claimed as i64;
        let limit = inner.batch.min(free);
        let mut claimed = Vec::new();
        let leased_until = Instant::now() + inner.lease;
        if limit > 0 {
            claimed = store::claim_due(
                &inner.rounds,
                limit,
                inner.lease,
                &inner.senders.saturated(),
            )
            .await
            .context("claiming due webhook deliveries")?;
            round.claim_was_full = claimed.len() as i64 == limit;
        }
        round.claimed += claimed.len();
        if let Some((fanned, leased_until)) = fanned_claims {
            self.dispatch(fanned, leased_until, &mut round);
        }
        self.dispatch(claimed, leased_until, &mut round);
        Ok(round)
    }

    /// Queues claimed deliveries behind their endpoints' senders, starting
    /// a sender for each endpoint that had none.
    fn dispatch(&self, claimed: Vec<ClaimedDelivery>, leased_until: Instant, round: &mut Round) {
        if claimed.is_empty() {
            return;
        }
        let inner = &self.inner;
        let queued: Vec<Queued> = claimed
            .into_iter()
            .map(|delivery| {
                let (done, finished) = oneshot::channel();
                round.done.push(finished);
                Queued {
                    delivery,
                    leased_until,
                    done,
                }
            })
            .collect();
        for endpoint in inner.senders.dispatch(queued) {
            // The claims took no more rows than there were free permits, so
            // one is there; if not, the sender waits for one.
            let permit = inner.permits.clone().try_acquire_owned().ok();
            round
                .sends
                .push(tokio::spawn(send_all(self.inner.clone(), endpoint, permit)));
        }
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

/// Lease left, beyond the client's total timeout, for a queued delivery to
/// be sent rather than given back.
const SEND_MARGIN: Duration = Duration::from_secs(5);

/// One endpoint's sender: sends its queue in turn, one attempt in flight,
/// until the queue is empty (the loop may add to it meanwhile). It asks the
/// loop for more when the queue runs low, and holds its permit until its
/// attempts are written (so `Round::finished` means logged, and the
/// writer's backlog is bounded by the permits).
async fn send_all(inner: Arc<Inner>, endpoint: EndpointId, permit: Option<OwnedSemaphorePermit>) {
    let permit = match permit {
        Some(permit) => Some(permit),
        None => inner.permits.clone().acquire_owned().await.ok(),
    };
    // Attempts sent whose records are not written yet, in order.
    let mut logging: VecDeque<(oneshot::Receiver<()>, oneshot::Sender<()>)> = VecDeque::new();
    while let Some((queued, left)) = inner.senders.next(endpoint) {
        if left == claim::LOW_WATER {
            inner.finished.notify_one();
        }
        let Queued {
            delivery,
            leased_until,
            done,
        } = queued;
        if inner.stopping.load(Ordering::Relaxed) {
            // The duty is stopping: the queue goes back, due now for any
            // replica (then `next` finds it empty and this sender ends).
            let mut rest = vec![(delivery, done)];
            rest.extend(unsent(&inner, endpoint));
            give_back(&inner, &rest).await;
            continue;
        }
        inner
            .limiter
            .pace(endpoint, delivery.rate_limit_per_second)
            .await;
        if Instant::now() + inner.send_budget > leased_until {
            // Its lease could run out mid-send (a slow endpoint's long
            // queue): another claim takes it, here or elsewhere.
            give_back(&inner, &[(delivery, done)]).await;
            continue;
        }
        let (outcome, record) = attempt(&inner, &delivery).await;
        logging.push_back((record, done));
        // Report what is written already, without waiting for the rest.
        while let Some((record, _)) = logging.front_mut() {
            if matches!(record.try_recv(), Err(oneshot::error::TryRecvError::Empty)) {
                break;
            }
            if let Some((_, done)) = logging.pop_front() {
                let _ = done.send(());
            }
        }
        if outcome == DeliveryOutcome::Disable {
            // The endpoint is gone: what was claimed for it goes back (it is
            // not claimed while the endpoint is disabled).
            give_back(&inner, &unsent(&inner, endpoint)).await;
        }
    }
    inner.finished.notify_one();
    for (record, done) in logging {
        let _ = record.await;
        let _ = done.send(());
    }
    // A round that found no free permit claimed nothing: wake it again.
    let starved = inner.permits.available_permits() == 0;
    drop(permit);
    if starved {
        inner.finished.notify_one();
    }
}

/// Everything still queued for the endpoint, taken out of its queue.
fn unsent(inner: &Inner, endpoint: EndpointId) -> Vec<(PendingDelivery, oneshot::Sender<()>)> {
    inner
        .senders
        .drain(endpoint)
        .into_iter()
        .map(|q| (q.delivery, q.done))
        .collect()
}

/// Gives claimed deliveries back unsent (`db::webhook_deliveries::release`);
/// if that fails they come due when their lease ends.
async fn give_back(inner: &Inner, deliveries: &[(PendingDelivery, oneshot::Sender<()>)]) {
    if deliveries.is_empty() {
        return;
    }
    let claims: Vec<_> = deliveries.iter().map(|(d, _)| (d.id, d.attempt)).collect();
    // Through the claims' pool: its plans probe the primary key, and a
    // release lost in a crash only leaves the delivery due after its lease.
    if let Err(e) = store::release(&inner.rounds, &claims).await {
        tracing::warn!(error = %e, deliveries = claims.len(), "could not give webhook deliveries back; they come due after their lease");
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
    let response = delivery::send(&inner.client, &inner.keys, &inner.allow, delivery).await;
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
