//! The Stripe Billing Meter export (issue 7), off unless
//! `billing.meter_export`: each closed hour of a tenant mapped to a Stripe
//! customer is posted as meter events (`{prefix}_jobs`,
//! `{prefix}_cpu_vertex_visits`, `{prefix}_gpu_ms`), the difference between
//! the rollup row and what Stripe already has (`db::meter`).
//!
//! Exactly once per rollup row: after Stripe accepts, the row's marker is
//! set. A crash between the two re-posts the same `identifier` (and
//! `Idempotency-Key`), which is a function of the row and its total, so
//! Stripe counts it once. A failed post leaves the row due: the next round
//! retries it. A late event re-rolls the row, which clears the marker, and
//! only the difference goes.

use crate::db;
use crate::db::meter::{MeterDue, MeterTotals};
use catalytic_shared::Secret;
use catalytic_shared::db::DbError;
use catalytic_shared::metrics as m;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use std::time::Duration;

/// An hour is exported once it has ended and the rollup's rescan window
/// has passed, so its row has its final totals (late events aside).
const CLOSED_AFTER: Duration = Duration::from_secs(3600 + super::rollup::OVERLAP.as_secs());
/// Stripe refuses meter event timestamps older than 35 days: a correction
/// of an hour older than this carries no timestamp (Stripe stamps it on
/// receipt). Omitted rather than clamped, so a retry sends the very same
/// body under its `Idempotency-Key`, which Stripe requires.
const OLDEST_TIMESTAMP: chrono::Duration = chrono::Duration::days(34);

pub struct MeterExport {
    pub client: reqwest::Client,
    /// `billing.meter_base_url`, without a trailing slash.
    pub base_url: String,
    /// `billing.meter_api_key`: the Stripe secret key, sent as a bearer token.
    pub api_key: Secret<String>,
    /// `billing.meter_event_prefix`.
    pub event_prefix: String,
    /// `billing.meter_batch`: rows per round.
    pub batch: i64,
}

/// What one export round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Exported {
    pub rows: u64,
    pub events: u64,
    pub failures: u64,
}

#[derive(Debug, thiserror::Error)]
enum PostError {
    #[error("meter event post failed: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("meter event refused: HTTP {status}: {body}")]
    Refused { status: u16, body: String },
}

impl MeterExport {
    /// Exports the rows due as of `as_of`. A failing post is logged and
    /// counted; the row stays due and the others still go.
    pub async fn run_once(&self, pool: &PgPool, as_of: DateTime<Utc>) -> Result<Exported, DbError> {
        let closed = chrono::Duration::from_std(CLOSED_AFTER).unwrap_or(chrono::Duration::hours(2));
        let mut done = Exported::default();
        for row in db::meter::due(pool, as_of - closed, self.batch).await? {
            let (sent, events, failed) = self.export_row(&row, as_of).await;
            done.events += events;
            done.failures += u64::from(failed);
            if sent != row.sent {
                db::meter::mark_sent(pool, row.tenant, row.hour, sent).await?;
            }
            done.rows += u64::from(!failed);
        }
        Ok(done)
    }

    /// Posts each quantity whose total grew; returns what Stripe has now,
    /// the events accepted, and whether any post failed.
    async fn export_row(&self, row: &MeterDue, as_of: DateTime<Utc>) -> (MeterTotals, u64, bool) {
        let mut sent = row.sent;
        let mut events = 0;
        let mut failed = false;
        let quantities: [(&str, i64, &mut i64); 3] = [
            ("jobs", row.totals.jobs, &mut sent.jobs),
            (
                "cpu_vertex_visits",
                row.totals.cpu_vertex_visits,
                &mut sent.cpu_vertex_visits,
            ),
            ("gpu_ms", row.totals.gpu_ms, &mut sent.gpu_ms),
        ];
        for (name, total, already) in quantities {
            let delta = total - *already;
            if delta < 0 {
                // Usage never shrinks unless events were deleted by hand;
                // Stripe would need a meter event adjustment. Not sent.
                tracing::warn!(tenant_id = %row.tenant, hour = %row.hour, quantity = name,
                    total, sent = *already, "metered total fell below what Stripe has; not sent");
                *already = total;
                continue;
            }
            if delta == 0 {
                continue;
            }
            match self.post(row, name, total, delta, as_of).await {
                Ok(()) => {
                    *already = total;
                    events += 1;
                    metrics::counter!(m::METER_EVENTS_SENT).increment(1);
                }
                Err(e) => {
                    failed = true;
                    metrics::counter!(m::METER_EXPORT_FAILURES).increment(1);
                    tracing::warn!(tenant_id = %row.tenant, hour = %row.hour, quantity = name,
                        error = %e, "meter export failed; retried next round");
                }
            }
        }
        (sent, events, failed)
    }

    async fn post(
        &self,
        row: &MeterDue,
        quantity: &str,
        total: i64,
        delta: i64,
        as_of: DateTime<Utc>,
    ) -> Result<(), PostError> {
        let identifier = identifier(row, quantity, total);
        let mut form = vec![
            ("event_name", format!("{}_{quantity}", self.event_prefix)),
            ("payload[stripe_customer_id]", row.customer.clone()),
            ("payload[value]", delta.to_string()),
            ("identifier", identifier.clone()),
        ];
        if row.hour >= as_of - OLDEST_TIMESTAMP {
            form.push(("timestamp", row.hour.timestamp().to_string()));
        }
        let response = self
            .client
            .post(format!("{}/v1/billing/meter_events", self.base_url))
            .bearer_auth(self.api_key.expose())
            .header("Idempotency-Key", &identifier)
            .form(&form)
            .send()
            .await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(PostError::Refused {
            status: status.as_u16(),
            body: body.chars().take(300).collect(),
        })
    }
}

/// Names one increment of one quantity of one row: the same row reaching
/// the same total always yields the same identifier (at most 100 chars:
/// 36 + 10 + 17 + 19 + separators).
pub fn identifier(row: &MeterDue, quantity: &str, total: i64) -> String {
    format!("{}-{}-{quantity}-{total}", row.tenant, row.hour.timestamp())
}
