//! The job outbox, the writing side: a row written with the job in the
//! submit transaction (or by a retry), so every process that queues a job
//! runs it. The relay's side (claim, mark sent, lag) is the scheduler's
//! (`catalytic_scheduler::db::outbox`).

use super::DbError;
use crate::ids::{JobId, MessageId, TenantId};
use crate::tenant::QueueClass;
use sqlx::PgConnection;
use std::time::Duration;

/// Queues one publish of `job`'s `attempt`, due after `delay`.
pub async fn insert(
    conn: &mut PgConnection,
    job: JobId,
    tenant: TenantId,
    attempt: i32,
    class: QueueClass,
    delay: Duration,
) -> Result<MessageId, DbError> {
    let message_id = MessageId::new();
    sqlx::query!(
        "INSERT INTO job_outbox (message_id, job_id, tenant_id, attempt, queue_class, run_at)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))",
        message_id as MessageId,
        job as JobId,
        tenant as TenantId,
        attempt,
        class.as_str(),
        delay.as_secs_f64(),
    )
    .execute(&mut *conn)
    .await?;
    Ok(message_id)
}
