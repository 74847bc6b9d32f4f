//! Disabling endpoints (docs/adr/0005-scheduler.md): a 410 disables the endpoint at once;
//! failing without a success for `webhooks.disable_after_failing_secs`
//! (five days) disables it too. Either way the tenant's other endpoints get
//! an `endpoint.disabled` message, written in the same transaction.

use crate::db;
use catalytic_shared::db::DbError;
use catalytic_shared::metrics as m;
use sqlx::PgPool;
use std::time::Duration;

use super::delivery::PendingDelivery;

pub const GONE: &str = "the endpoint answered 410 Gone";
pub const FAILING: &str =
    "every delivery failed for longer than webhooks.disable_after_failing_secs";

/// After a failed attempt: starts the failure clock, and disables the
/// endpoint once it has run too long. (A delivered attempt stops the clock
/// with its record, in `db::webhook_deliveries::record_attempts`.)
pub async fn after_failure(
    pool: &PgPool,
    delivery: &PendingDelivery,
    disable_after: Duration,
) -> Result<(), DbError> {
    if db::webhook_deliveries::note_failure(pool, delivery.endpoint_id, disable_after).await? {
        disable(pool, delivery, FAILING).await?;
    }
    Ok(())
}

pub async fn disable(
    pool: &PgPool,
    delivery: &PendingDelivery,
    reason: &str,
) -> Result<(), DbError> {
    let disabled = db::webhook_deliveries::disable_endpoint(
        pool,
        delivery.tenant_id,
        delivery.endpoint_id,
        reason,
    )
    .await?;
    if disabled {
        metrics::counter!(m::WEBHOOK_ENDPOINTS_DISABLED).increment(1);
        tracing::warn!(
            tenant_id = %delivery.tenant_id,
            endpoint_id = %delivery.endpoint_id,
            reason,
            "webhook endpoint disabled"
        );
    }
    Ok(())
}
