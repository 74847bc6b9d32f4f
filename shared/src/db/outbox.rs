//! The job outbox: rows written with the job in the submit transaction (or
//! by a retry), claimed by the relay with `FOR UPDATE SKIP LOCKED` so any
//! number of relay replicas share the work without publishing a row twice
//! at once, and marked sent only after the broker confirmed them.

use super::DbError;
use crate::ids::{JobId, MessageId, TenantId};
use crate::tenant::QueueClass;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use std::time::Duration;

/// A due, unsent row, claimed (row-locked) by the caller's transaction.
#[derive(Debug, Clone)]
pub struct DueMessage {
    pub id: i64,
    pub message_id: MessageId,
    pub job_id: JobId,
    pub tenant_id: TenantId,
    pub attempt: i32,
    pub queue_class: String,
    pub run_at: DateTime<Utc>,
}

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

/// Claims up to `limit` due rows, oldest first. The locks last as long as
/// the caller's transaction; rows locked by another relay are skipped.
/// Index: `job_outbox_due` (run_at WHERE sent_at IS NULL).
pub async fn claim_due(conn: &mut PgConnection, limit: i64) -> Result<Vec<DueMessage>, DbError> {
    Ok(sqlx::query_as!(
        DueMessage,
        r#"SELECT id, message_id AS "message_id: MessageId", job_id AS "job_id: JobId",
                  tenant_id AS "tenant_id: TenantId", attempt, queue_class, run_at
           FROM job_outbox
           WHERE sent_at IS NULL AND run_at <= now()
           ORDER BY run_at
           LIMIT $1
           FOR UPDATE SKIP LOCKED"#,
        limit,
    )
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn mark_sent(conn: &mut PgConnection, ids: &[i64]) -> Result<(), DbError> {
    sqlx::query!(
        "UPDATE job_outbox SET sent_at = now() WHERE id = ANY($1)",
        ids
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Seconds since the oldest due, unsent row became due (0 when none): the
/// relay-lag signal alerts watch.
pub async fn lag_seconds(pool: &PgPool) -> Result<f64, DbError> {
    let lag = sqlx::query_scalar!(
        r#"SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(run_at))::float8, 0) AS "lag!"
           FROM job_outbox WHERE sent_at IS NULL AND run_at <= now()"#
    )
    .fetch_one(pool)
    .await?;
    Ok(lag.max(0.0))
}
