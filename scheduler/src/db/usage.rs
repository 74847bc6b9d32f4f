//! Retention of usage events (issue 7, docs/adr/0005-scheduler.md: "90 days after
//! finalisation"): an event goes once its period's invoice has been final
//! for the retention window and the rollups have seen it; the hourly
//! rollups stay. `billing_state.usage_pruned_before` advances in the same
//! transaction, so the rollup never re-rolls an hour whose events are gone
//! (it would shrink it). Every pruned event occurred before its invoice's
//! finalisation, hence before `before`: the watermark is conservative.

use catalytic_shared::db::DbError;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use std::time::Duration;

/// Deletes up to `batch` events that lie in a period of their tenant whose
/// invoice was finalised before `before`, and were recorded at least
/// `overlap` before the rollup watermark. Returns how many went. Locks the billing_state row, like the
/// rollup, so the two never interleave.
pub async fn prune_events(
    pool: &PgPool,
    before: DateTime<Utc>,
    overlap: Duration,
    batch: i64,
) -> Result<u64, DbError> {
    let mut tx = pool.begin().await?;
    let cutoff = sqlx::query_scalar!(
        r#"UPDATE billing_state
           SET usage_pruned_before = greatest(usage_pruned_before, date_trunc('hour', $1::timestamptz, 'UTC'))
           WHERE singleton RETURNING date_trunc('hour', $1::timestamptz, 'UTC') AS "cutoff!""#,
        before,
    )
    .fetch_one(&mut *tx)
    .await?;
    let pruned = sqlx::query!(
        "WITH doomed AS (
             SELECT e.id FROM usage_events e, billing_state b
             WHERE b.singleton AND e.occurred_at < $1
               AND e.recorded_at < b.rollup_watermark - make_interval(secs => $2)
               AND EXISTS (SELECT 1 FROM invoices i
                           WHERE i.tenant_id = e.tenant_id AND i.status = 'finalized'
                             AND i.finalized_at < $4
                             AND i.period_start <= e.occurred_at AND e.occurred_at < i.period_end)
             LIMIT $3)
         DELETE FROM usage_events WHERE id IN (SELECT id FROM doomed)",
        cutoff,
        overlap.as_secs_f64(),
        batch,
        before,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(pruned)
}
