//! Tenant erasure (issue 20): a tenant whose deletion an owner asked for
//! (`POST /v1/tenant/deletion`) is erased once its grace period is over.
//! Each round claims one due tenant (SKIP LOCKED, with a lease so a
//! replica that dies mid-way leaves it to another), revokes every way in
//! (keys, users, sessions), cancels its unfinished jobs and deletes its
//! jobs in batches, then deletes the rest in one transaction and marks the
//! tenant erased (scheduler/src/db/erasure.rs says what is kept). Every
//! step is idempotent, so a round that stops anywhere is finished by the
//! next.

use crate::db::erasure;
use catalytic_shared::db::DbError;
use catalytic_shared::db::job_queries::{self, JobFilter};
use catalytic_shared::ids::TenantId;
use sqlx::PgPool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Jobs cancelled or deleted per statement.
pub const BATCH: i64 = 500;
/// How long a replica holds a tenant it is erasing before another may
/// take it over.
const CLAIM: Duration = Duration::from_secs(600);

pub struct Erasure {
    pub pool: PgPool,
    /// Between looks for due tenants.
    pub interval: Duration,
}

impl Erasure {
    pub async fn run(self, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            match self.run_once().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(tenants = n, "tenants erased"),
                Err(e) => tracing::error!(error = %e, "tenant erasure round failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(self.interval) => {}
            }
        }
        tracing::info!("tenant erasure stopped");
    }

    /// Erases every due tenant; how many.
    pub async fn run_once(&self) -> Result<usize, DbError> {
        let mut erased = 0;
        while let Some(tenant) = erasure::claim_due(&self.pool, CLAIM.as_secs_f64()).await? {
            self.erase(tenant).await?;
            erased += 1;
        }
        Ok(erased)
    }

    async fn erase(&self, tenant: TenantId) -> Result<(), DbError> {
        tracing::warn!(tenant_id = %tenant, "erasing a deleted tenant");
        erasure::revoke_access(&self.pool, tenant).await?;
        let everything = JobFilter::default();
        let mut before = None;
        loop {
            let batch = job_queries::cancel_batch(
                &self.pool,
                tenant,
                &everything,
                before,
                BATCH,
                "the tenant was deleted",
            )
            .await?;
            before = batch.last;
            if batch.matched < BATCH as usize {
                break;
            }
        }
        loop {
            let batch =
                job_queries::delete_batch(&self.pool, tenant, &everything, None, BATCH).await?;
            if batch.matched == 0 {
                break;
            }
        }
        // A job that was claimed while its batch was cancelled finishes
        // (cancelled) soon; the next round deletes it.
        if erasure::jobs_left(&self.pool, tenant).await? > 0 {
            return Ok(());
        }
        erasure::erase_rest(&self.pool, tenant).await?;
        tracing::warn!(tenant_id = %tenant, "tenant erased");
        Ok(())
    }
}
