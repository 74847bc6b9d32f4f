//! Hourly usage rollups: every (tenant, UTC hour) holding a usage event
//! recorded since the watermark is recomputed from all of that hour's
//! events and upserted into `usage_hourly`. Recomputing (never adding)
//! makes a rerun, a duplicate delivery or a late event land on the same
//! totals. The SQL is `db::billing::reroll_hours`.

use catalytic_shared::db::{self, DbError};
use catalytic_shared::metrics as m;
use catalytic_shared::telemetry::{self, TraceParent};
use sqlx::PgPool;
use std::time::Duration;

/// How far behind the watermark each round rescans: an event whose
/// transaction started (and took its `recorded_at`) before a later-stamped
/// one committed is still found, as long as it commits within this window.
pub const OVERLAP: Duration = Duration::from_secs(300);

/// Traced jobs given a rollup span per round, at most (issue 23).
const TRACED_PER_ROUND: i64 = 1_000;

/// Re-rolls the touched hours; returns how many.
pub async fn run_once(pool: &PgPool) -> Result<u64, DbError> {
    let spans = job_spans(pool).await?;
    let hours = db::billing::reroll_hours(pool, OVERLAP).await?;
    drop(spans);
    metrics::counter!(m::BILLING_HOURS_ROLLED).increment(hours);
    Ok(hours)
}

/// A `billing.rollup` span in the trace of each traced job whose usage this
/// round rolls up, open while it runs; none when traces are off.
async fn job_spans(pool: &PgPool) -> Result<Vec<tracing::Span>, DbError> {
    if !telemetry::traces_enabled() {
        return Ok(Vec::new());
    }
    let traces = db::billing::unrolled_traces(pool, TRACED_PER_ROUND).await?;
    Ok(traces
        .iter()
        .filter_map(|t| TraceParent::parse(t))
        .map(|parent| {
            let span = tracing::info_span!("billing.rollup");
            parent.adopt(&span);
            span
        })
        .collect())
}
