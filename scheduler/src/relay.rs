//! The outbox relay: publishes due outbox rows to RabbitMQ and marks them
//! sent. One relay leads at a time (a session advisory lock on a connection
//! of its own, `outbox::try_lead`), so the per-tenant gate sees every
//! in-flight message; replicas wait and take over when the leader's session
//! ends. The leader works in rounds:
//!
//! 1. Claim up to `batch` due rows fairly: a tenant only while it has free
//!    running slots of its plan, tenants taking turns (`outbox::claim_fair`).
//! 2. Publish each (persistent, mandatory, message id = the row's stable
//!    `message_id`) and wait for every publisher confirm.
//! 3. Mark the confirmed rows sent.
//!
//! A crash between 2 and 3 leaves the rows unsent: the next round publishes
//! them again with the same message ids. That duplicate is harmless because
//! the worker's claim is guarded (state + attempt), so it has no effect.
//! A nacked or unroutable message leaves its row unsent, to be retried.
//! Rounds are woken by `NOTIFY job_outbox` (an insert trigger; terminal
//! transitions, which free a running slot), and by a poll timer in case a
//! notification is missed; notifications that queued up during a round are
//! served by one round. Every poll interval the leader also queues the
//! scheduled jobs whose `run_at` came (`outbox::promote_due`: their outbox
//! rows' NOTIFY wakes the next round, so a delayed job starts within about
//! a poll interval of its time), marks superseded rows handled and exports
//! the lag gauge.
//!
//! A round is two statements, an idle wake-up one: under load the relay
//! runs about a round per job, so its round trips were a third of a trivial
//! job's database traffic before (issue 8's profile, docs/benchmarks.md).

use crate::db::{self, outbox::DueMessage};
use anyhow::Context;
use catalytic_shared::metrics as m;
use catalytic_shared::queue::{Broker, InlineJob, JobMessage, QueueError, Topology, trace_headers};
use catalytic_shared::telemetry::TraceParent;
use catalytic_shared::tenant::Plan;
use lapin::Confirmation;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel};
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio_util::sync::CancellationToken;

pub struct Relay {
    pub pool: PgPool,
    pub broker: Arc<Broker>,
    pub topology: Topology,
    pub batch: u32,
    pub poll: Duration,
    /// How often the leader's connection makes its plans again
    /// (`database.replan_after_secs`, db::Planning::Once).
    pub replan_after: Duration,
    /// Chaos hook: exit after the broker confirmed a batch, before marking it.
    pub exit_after_publish: bool,
}

/// What one round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Round {
    pub claimed: usize,
    pub published: usize,
}

impl Relay {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut leader: Option<PgConnection> = None;
        let mut wakeup = crate::wakeup::Wakeup::new(self.pool.clone(), "job_outbox", self.poll);
        let mut channel: Option<Channel> = None;
        let mut housekeeping_due = Instant::now();
        let mut replan_due = Instant::now() + self.replan_after;
        while !shutdown.is_cancelled() {
            let Some(conn) = leader.as_mut() else {
                leader = self.lead().await;
                if leader.is_none() {
                    // A standby still exports the lag: the gauge must not go
                    // stale on whichever replica a dashboard reads.
                    self.export_lag().await;
                    self.pause(self.poll, &shutdown).await;
                }
                continue;
            };
            if Instant::now() >= replan_due {
                // Plans made while the tables were small would stay
                // (db::Planning::Once): the leader's are made again.
                replan_due = Instant::now() + self.replan_after;
                if let Err(e) = sqlx::query(catalytic_shared::db::Planning::REPLAN_SQL)
                    .execute(&mut *conn)
                    .await
                {
                    tracing::warn!(error = %e, "relay could not discard its plans");
                    leader = None;
                    continue;
                }
            }
            wakeup.listen().await;
            let ch = match channel.take().filter(|c| c.status().connected()) {
                Some(c) => c,
                None => match self.publishing_channel(&shutdown).await {
                    Some(c) => c,
                    None => break,
                },
            };
            let full = match self.run_once(conn, &ch).await {
                Ok(round) => {
                    channel = Some(ch);
                    round.claimed == self.batch as usize
                }
                Err(e) => {
                    metrics::counter!(m::OUTBOX_PUBLISH_FAILURES).increment(1);
                    tracing::warn!(error = format!("{e:#}"), "relay round failed");
                    // Drop the channel: confirms on it are now unknown, and the
                    // rows stay unsent, to be republished on a fresh one. Drop
                    // the session too (it may be broken): leadership is
                    // contested again.
                    leader = None;
                    continue;
                }
            };
            // Housekeeping (the lag gauge, superseded rows) runs under a
            // backlog too: it is when the lag matters.
            if Instant::now() >= housekeeping_due {
                housekeeping_due = Instant::now() + self.poll;
                if let Err(e) = self.housekeeping(conn).await {
                    tracing::warn!(error = %e, "relay housekeeping failed");
                    leader = None;
                    continue;
                }
            }
            // A full batch means more may be due: go again at once.
            if !full {
                wakeup.wait(&shutdown).await;
            }
        }
        tracing::info!("relay stopped");
    }

    /// A connection of its own holding the leader lock, or None when another
    /// relay leads (or the database is away).
    async fn lead(&self) -> Option<PgConnection> {
        let attempt = async {
            let mut conn = self.pool.acquire().await?.detach();
            let led = db::outbox::try_lead(&mut conn).await?;
            if led {
                // The leader's statements are fixed batches: planned once
                // (catalytic_shared::db::Planning::Once), not per round.
                sqlx::query(catalytic_shared::db::Planning::ONCE_SQL)
                    .execute(&mut conn)
                    .await?;
            }
            Ok::<_, db::DbError>(led.then_some(conn))
        };
        match attempt.await {
            Ok(Some(conn)) => {
                tracing::info!("relay leads: publishing");
                Some(conn)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "could not contest the relay lead");
                None
            }
        }
    }

    async fn pause(&self, period: Duration, shutdown: &CancellationToken) {
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = tokio::time::sleep(period) => {}
        }
    }

    /// The lag gauge from a standby (the leader sets it in `housekeeping`).
    async fn export_lag(&self) {
        let exported = async {
            let mut conn = self.pool.acquire().await?;
            set_lag_gauge(&mut conn).await
        };
        if let Err(e) = exported.await {
            tracing::debug!(error = %e, "could not read outbox lag");
        }
    }

    /// Scheduled jobs that are due queued, superseded rows deleted,
    /// and the lag gauge.
    async fn housekeeping(&self, conn: &mut PgConnection) -> Result<(), db::DbError> {
        let promoted = db::outbox::promote_due(conn, i64::from(self.batch)).await?;
        if promoted > 0 {
            metrics::counter!(m::SCHEDULED_JOBS_QUEUED).increment(promoted);
            tracing::debug!(promoted, "scheduled jobs queued at their run_at");
        }
        let superseded = db::outbox::supersede_stale(conn, i64::from(self.batch)).await?;
        if superseded > 0 {
            tracing::debug!(superseded, "outbox rows of jobs that moved on deleted");
        }
        set_lag_gauge(conn).await
    }

    async fn publishing_channel(&self, shutdown: &CancellationToken) -> Option<Channel> {
        loop {
            let channel = self.broker.channel_with_retry(shutdown).await?;
            let ready = async {
                self.topology.declare(&channel).await?;
                channel
                    .confirm_select(ConfirmSelectOptions::default())
                    .await?;
                Ok::<_, QueueError>(())
            };
            match ready.await {
                Ok(()) => return Some(channel),
                Err(e) => {
                    tracing::warn!(error = %e, "could not prepare the publishing channel");
                    tokio::select! {
                        () = shutdown.cancelled() => return None,
                        () = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
            }
        }
    }

    /// One claim → publish → confirm → delete round, as the leader.
    pub async fn run_once(
        &self,
        conn: &mut PgConnection,
        channel: &Channel,
    ) -> anyhow::Result<Round> {
        let started = Instant::now();
        let due = db::outbox::claim_fair(conn, i64::from(self.batch), &running_caps())
            .await
            .context("claiming due rows")?;
        // The claim's time per round is what issue 17 was about (it grew
        // with the backlog): exported, and logged per round for burn-downs.
        let claim = started.elapsed();
        metrics::histogram!(m::OUTBOX_CLAIM_SECONDS).record(claim.as_secs_f64());
        if due.is_empty() {
            return Ok(Round::default());
        }
        let claimed = due.len();
        let confirmed = self.publish(channel, due).await?;
        if self.exit_after_publish && !confirmed.is_empty() {
            tracing::error!(
                confirmed = confirmed.len(),
                "fault hook: exiting between publish and delete"
            );
            std::process::exit(86);
        }
        db::outbox::retire_sent(conn, &confirmed)
            .await
            .context("deleting the published rows")?;
        metrics::counter!(m::OUTBOX_PUBLISHED).increment(confirmed.len() as u64);
        tracing::debug!(
            claimed,
            published = confirmed.len(),
            claim_ms = claim.as_secs_f64() * 1e3,
            round_ms = started.elapsed().as_secs_f64() * 1e3,
            "relay round"
        );
        Ok(Round {
            claimed,
            published: confirmed.len(),
        })
    }

    /// Publishes all, then awaits every confirm; returns the ids of the rows
    /// the broker acked and routed.
    async fn publish(
        &self,
        channel: &Channel,
        due: Vec<DueMessage>,
    ) -> Result<Vec<i64>, QueueError> {
        let mut pending = Vec::with_capacity(due.len());
        // A traced job's publish span (issue 23): dropped, so ended, when
        // this function returns, after every confirm.
        let mut spans = Vec::new();
        for mut row in due {
            let mut message =
                JobMessage::new(row.message_id, row.job_id, row.tenant_id, row.attempt);
            message.inline = row.inline_spec.take().map(|spec| InlineJob {
                spec,
                time_limit_ms: row.time_limit_ms,
            });
            let properties = BasicProperties::default()
                .with_message_id(row.message_id.to_string().into())
                .with_content_type("application/json".into())
                .with_delivery_mode(2)
                .with_type("job".into());
            let properties = match row.traceparent.as_deref().and_then(TraceParent::parse) {
                Some(parent) => {
                    let span = tracing::info_span!(
                        "relay.publish",
                        job_id = %row.job_id,
                        tenant_id = %row.tenant_id,
                        attempt = row.attempt,
                        queue_class = row.queue_class,
                        otel.kind = "producer",
                    );
                    let sent = parent.continue_in(&span);
                    spans.push(span);
                    properties.with_headers(trace_headers::encode(&sent, SystemTime::now()))
                }
                None => properties,
            };
            let confirm = channel
                .basic_publish(
                    self.topology.jobs_exchange().into(),
                    row.queue_class.as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    &message.to_bytes(),
                    properties,
                )
                .await?;
            pending.push((row, confirm));
        }
        let mut confirmed = Vec::with_capacity(pending.len());
        for (row, confirm) in pending {
            match confirm.await? {
                Confirmation::Ack(None) => confirmed.push(row.id),
                Confirmation::Ack(Some(_returned)) => {
                    tracing::error!(job_id = %row.job_id, queue_class = row.queue_class, "message unroutable; row left unsent");
                }
                Confirmation::Nack(_) | Confirmation::NotRequested => {
                    tracing::warn!(job_id = %row.job_id, "broker did not confirm; row left unsent");
                }
            }
        }
        Ok(confirmed)
    }
}

async fn set_lag_gauge(conn: &mut PgConnection) -> Result<(), db::DbError> {
    let lag = db::outbox::lag_seconds(conn).await?;
    metrics::gauge!(m::OUTBOX_LAG).set(lag);
    Ok(())
}

/// Each plan's running cap, for the fairness gate.
pub fn running_caps() -> Vec<(String, i32)> {
    Plan::ALL
        .iter()
        .map(|p| {
            (
                p.as_str().to_owned(),
                i32::try_from(p.limits().running_at_once).unwrap_or(i32::MAX),
            )
        })
        .collect()
}
