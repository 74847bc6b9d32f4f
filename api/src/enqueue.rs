//! The submit transaction: the job row and its outbox row commit together.
//! The api never talks to RabbitMQ: the relay publishes after commit, so a
//! 202 means the job is durable whatever the broker is doing (design §1).

use catalytic_shared::db::{self, DbError};
use catalytic_shared::ids::{JobId, LatticeId, TenantId};
use catalytic_shared::job::JobSpec;
use catalytic_shared::tenant::Plan;
use sqlx::PgPool;

pub async fn submit(
    pool: &PgPool,
    tenant: TenantId,
    plan: Plan,
    spec: &JobSpec,
    lattice_id: Option<LatticeId>,
) -> Result<JobId, DbError> {
    let limits = plan.limits();
    let job = db::jobs::NewJob {
        id: JobId::new(),
        tenant_id: tenant,
        operation: spec.operation.name(),
        spec: serde_json::to_value(spec).map_err(|e| DbError::Corrupt(e.to_string()))?,
        queue_class: limits.queue_class,
        max_attempts: i32::try_from(limits.attempts).unwrap_or(i32::MAX),
        time_limit: limits.time_limit,
        lattice_id,
    };
    let mut tx = pool.begin().await?;
    db::jobs::insert_with_outbox(&mut tx, &job).await?;
    tx.commit().await?;
    metrics::counter!(catalytic_shared::metrics::JOBS_SUBMITTED).increment(1);
    Ok(job.id)
}
