//! Billing (docs/adr/0003-plans.md, docs/adr/0005-scheduler.md): every
//! `billing.rollup_interval_secs`, one round re-rolls the hourly usage of events recorded since the
//! last round ([`rollup`]), then refreshes each tenant's draft invoices from the
//! rollups and finalises those due ([`invoice`]). Rollup first, so an
//! invoice is never finalised ahead of usage already recorded.
//!
//! Time is the database's `now()`; tests call [`Billing::run_once`] with an
//! explicit `as_of`. Safe with several scheduler replicas: the rollup
//! watermark row and each invoice row are locked while written.
//! Then usage events past `billing.usage_retention_secs` whose invoice is
//! final are pruned, and, when configured, closed hours are exported to the
//! Stripe Billing Meter ([`meter`]).

pub mod invoice;
pub mod meter;
pub mod rollup;

use catalytic_shared::config::BillingSettings;
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
    /// `billing.usage_retention_secs`.
    pub usage_retention: Duration,
    /// The Stripe Billing Meter export, when `billing.meter_export` is on.
    pub meter: Option<meter::MeterExport>,
}

/// Usage events pruned per round at most: a backlog drains over rounds.
pub const PRUNE_BATCH: i64 = 50_000;

/// What one round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Round {
    pub hours_rolled: u64,
    pub invoices: invoice::Invoiced,
    pub usage_events_pruned: u64,
    pub meter: meter::Exported,
}

impl Billing {
    pub fn new(pool: PgPool, settings: &BillingSettings) -> Result<Billing, reqwest::Error> {
        let meter = match (&settings.meter_export, &settings.meter_api_key) {
            (true, Some(key)) => Some(meter::MeterExport {
                client: reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()?,
                base_url: settings.meter_base_url.trim_end_matches('/').to_owned(),
                api_key: key.clone(),
                event_prefix: settings.meter_event_prefix.clone(),
                batch: settings.meter_batch,
            }),
            _ => None,
        };
        Ok(Billing {
            pool,
            interval: Duration::from_secs(settings.rollup_interval_secs),
            finalize_after: Duration::from_secs(settings.finalize_after_secs),
            usage_retention: Duration::from_secs(settings.usage_retention_secs),
            meter,
        })
    }

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
        let retention = chrono::Duration::from_std(self.usage_retention)
            .map_err(|_| DbError::Corrupt("billing.usage_retention_secs is out of range".into()))?;
        let usage_events_pruned = crate::db::usage::prune_events(
            &self.pool,
            as_of - retention,
            rollup::OVERLAP,
            PRUNE_BATCH,
        )
        .await?;
        metrics::counter!(m::RETENTION_PRUNED, "kind" => "usage_events")
            .increment(usage_events_pruned);
        let meter = match &self.meter {
            Some(export) => export.run_once(&self.pool, as_of).await?,
            None => meter::Exported::default(),
        };
        Ok(Round {
            hours_rolled,
            invoices,
            usage_events_pruned,
            meter,
        })
    }
}
