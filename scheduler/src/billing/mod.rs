//! Billing (design §3, §5): every `billing.rollup_interval_secs`, one round
//! re-rolls the hourly usage of events recorded since the last round
//! ([`rollup`]), then refreshes each tenant's draft invoices from the
//! rollups and finalises those due ([`invoice`]). Rollup first, so an
//! invoice is never finalised ahead of usage already recorded.
//!
//! Time is the database's `now()`; tests call [`Billing::run_once`] with an
//! explicit `as_of`. Safe with several scheduler replicas: the rollup
//! watermark row and each invoice row are locked while written.
//! Left to later work: the Stripe Billing Meter export.

pub mod invoice;
pub mod rollup;

use catalytic_shared::db::{self, DbError};
use catalytic_shared::metrics as m;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct Billing {
    pub pool: PgPool,
    /// `billing.rollup_interval_secs`.
    pub interval: Duration,
    /// `billing.finalize_after_secs`.
    pub finalize_after: Duration,
}

/// What one round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Round {
    pub hours_rolled: u64,
    pub invoices: invoice::Invoiced,
}

impl Billing {
    pub async fn run(self, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            match db::billing::now(&self.pool).await {
                Ok(now) => match self.run_once(now).await {
                    Ok(round) => tracing::info!(?round, "billing round"),
                    Err(e) => {
                        metrics::counter!(m::BILLING_ROUND_FAILURES).increment(1);
                        tracing::warn!(error = %e, "billing round failed");
                    }
                },
                Err(e) => tracing::warn!(error = %e, "billing: reading the clock failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(self.interval) => {}
            }
        }
        tracing::info!("billing stopped");
    }

    /// One round as of `as_of`. A failed rollup skips invoicing (it would
    /// bill from stale rollups); a failing tenant is logged and counted,
    /// and the others are still billed.
    pub async fn run_once(&self, as_of: DateTime<Utc>) -> Result<Round, DbError> {
        let hours_rolled = rollup::run_once(&self.pool).await?;
        let invoices = invoice::run_once(&self.pool, as_of, self.finalize_after).await?;
        Ok(Round {
            hours_rolled,
            invoices,
        })
    }
}
