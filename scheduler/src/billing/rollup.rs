//! Hourly usage rollups: every (tenant, UTC hour) holding a usage event
//! recorded since the watermark is recomputed from all of that hour's
//! events and upserted into `usage_hourly`. Recomputing (never adding)
//! makes a rerun, a duplicate delivery or a late event land on the same
//! totals. The SQL is `db::billing::reroll_hours`.

use catalytic_shared::db::{self, DbError};
use catalytic_shared::metrics as m;
use sqlx::PgPool;
use std::time::Duration;

/// How far behind the watermark each round rescans: an event whose
/// transaction started (and took its `recorded_at`) before a later-stamped
/// one committed is still found, as long as it commits within this window.
pub const OVERLAP: Duration = Duration::from_secs(300);

/// Re-rolls the touched hours; returns how many.
pub async fn run_once(pool: &PgPool) -> Result<u64, DbError> {
    let hours = db::billing::reroll_hours(pool, OVERLAP).await?;
    metrics::counter!(m::BILLING_HOURS_ROLLED).increment(hours);
    Ok(hours)
}
