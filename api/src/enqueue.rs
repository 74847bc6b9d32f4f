//! The submit transaction: the plan's quotas are checked, and the job row,
//! its outbox row and its idempotency record (when the request had an
//! `Idempotency-Key`) commit together. The api never talks to RabbitMQ: the
//! relay publishes after commit, so a 202 means the job is durable whatever
//! the broker is doing (docs/adr/0001-processes.md).

use crate::error::ApiError;
use crate::idempotency::IdempotencyKey;
use crate::limits::quota;
use catalytic_shared::db;
use catalytic_shared::ids::{JobId, LatticeId, TenantId};
use catalytic_shared::job::JobSpec;
use catalytic_shared::tenant::Plan;
use sqlx::PgPool;

/// Stores the job. With `idempotency`, a live record of the same key
/// committed by a concurrent submit fails this one with
/// `db::DbError::Conflict` on `db::idempotency::CONSTRAINT` (nothing stored);
/// the caller re-reads the record.
pub async fn submit(
    pool: &PgPool,
    tenant: TenantId,
    plan: Plan,
    spec: &JobSpec,
    lattice_id: Option<LatticeId>,
    idempotency: Option<&IdempotencyKey>,
) -> Result<JobId, Submit> {
    let limits = plan.limits();
    let job = db::jobs::NewJob {
        id: JobId::new(),
        tenant_id: tenant,
        operation: spec.operation.name(),
        spec: serde_json::to_value(spec).map_err(|e| ApiError::Internal(e.into()))?,
        queue_class: plan.queue(),
        max_attempts: i32::try_from(limits.attempts).unwrap_or(i32::MAX),
        time_limit: limits.time_limit,
        lattice_id,
    };
    let mut tx = pool.begin().await.map_err(db::DbError::from)?;
    quota::check_submit(&mut tx, tenant, plan).await?;
    db::jobs::insert_with_outbox(&mut tx, &job).await?;
    if let Some(key) = idempotency {
        match crate::db::idempotency::insert(&mut tx, tenant, &key.key, &key.request_hash, job.id)
            .await
        {
            Ok(()) => {}
            Err(db::DbError::Conflict { .. }) => return Err(Submit::KeyTaken),
            Err(e) => return Err(e.into()),
        }
    }
    tx.commit().await.map_err(db::DbError::from)?;
    metrics::counter!(catalytic_shared::metrics::JOBS_SUBMITTED).increment(1);
    Ok(job.id)
}

/// Why a submit stored nothing.
#[derive(Debug)]
pub enum Submit {
    /// A concurrent submit with the same `Idempotency-Key` committed first.
    KeyTaken,
    Refused(ApiError),
}

impl From<ApiError> for Submit {
    fn from(e: ApiError) -> Self {
        Submit::Refused(e)
    }
}

impl From<db::DbError> for Submit {
    fn from(e: db::DbError) -> Self {
        Submit::Refused(e.into())
    }
}
