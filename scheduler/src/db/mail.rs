//! The mail sender's SQL (migration 0030; `scheduler::mail`): claim due
//! messages with a lease, record each attempt with the message's next
//! state, give unsent claims back. Messages are written by
//! `catalytic_shared::db::mail` in the transactions of the changes they
//! report; retention deletes finished ones (`db::retention`).
//!
//! Safe with several scheduler replicas: a claim locks its rows `SKIP
//! LOCKED` and moves them one lease ahead while counting the attempt, and
//! every later write matches that attempt number on a pending row, so a
//! sender whose lease ran out (and whose message another replica claimed
//! since) changes nothing.

use catalytic_shared::db::DbError;
use catalytic_shared::ids::TenantId;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

/// A message claimed for one attempt.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub tenant_id: Option<TenantId>,
    pub to_address: String,
    pub template: String,
    /// NULL only once finished; a pending row always has them.
    pub params: Option<serde_json::Value>,
    /// This attempt's number (1 for the first).
    pub attempt: i32,
}

/// One attempt, as `mail_attempts` keeps it.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub id: Uuid,
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub latency: Duration,
    /// The SMTP reply code, when the server answered one.
    pub smtp_code: Option<u16>,
}

/// Claims up to `batch` due pending messages, oldest due first: each
/// comes due again after `lease` (a sender that vanished mid-send) and
/// counts one more attempt.
pub async fn claim_due(
    pool: &PgPool,
    batch: i64,
    lease: Duration,
) -> Result<Vec<Claimed>, DbError> {
    let rows = sqlx::query!(
        r#"WITH due AS (
             SELECT id FROM mail_messages
             WHERE status = 'pending' AND next_attempt_at <= now()
             ORDER BY next_attempt_at
             LIMIT $1
             FOR UPDATE SKIP LOCKED
           )
           UPDATE mail_messages m
           SET attempts = m.attempts + 1,
               next_attempt_at = now() + make_interval(secs => $2)
           FROM due
           WHERE m.id = due.id
           RETURNING m.id, m.tenant_id AS "tenant_id: TenantId", m.to_address, m.template,
                     m.params, m.attempts"#,
        batch,
        lease.as_secs_f64(),
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Claimed {
            id: r.id,
            tenant_id: r.tenant_id,
            to_address: r.to_address,
            template: r.template,
            params: r.params,
            attempt: r.attempts,
        })
        .collect())
}

fn millis(latency: Duration) -> i32 {
    i32::try_from(latency.as_millis()).unwrap_or(i32::MAX)
}

/// The attempt succeeded: the message is sent, its params (which may hold
/// a single-use token) erased, and the attempt logged, in one statement.
/// False when the claim was stale (nothing written).
pub async fn record_sent(pool: &PgPool, attempt: &Attempt) -> Result<bool, DbError> {
    let done = sqlx::query!(
        "WITH done AS (
             UPDATE mail_messages
             SET status = 'sent', finished_at = now(), params = NULL, last_error = NULL
             WHERE id = $1 AND status = 'pending' AND attempts = $2
             RETURNING id)
         INSERT INTO mail_attempts (message_id, attempt, started_at, latency_ms, smtp_code)
         SELECT id, $2, $3::timestamptz, $4::int4, $5::int4 FROM done",
        attempt.id,
        attempt.attempt,
        attempt.started_at,
        millis(attempt.latency),
        attempt.smtp_code.map(i32::from),
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The attempt failed with `error`. `retry_at` Some: the message stays
/// pending until then; None: it is failed for good, params erased. The
/// attempt is logged in the same statement. False when the claim was stale.
pub async fn record_failure(
    pool: &PgPool,
    attempt: &Attempt,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<bool, DbError> {
    let done = sqlx::query!(
        "WITH done AS (
             UPDATE mail_messages
             SET status = CASE WHEN $6::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
                 finished_at = CASE WHEN $6::timestamptz IS NULL THEN now() END,
                 next_attempt_at = COALESCE($6::timestamptz, next_attempt_at),
                 params = CASE WHEN $6::timestamptz IS NULL THEN NULL ELSE params END,
                 last_error = $7::text
             WHERE id = $1 AND status = 'pending' AND attempts = $2
             RETURNING id)
         INSERT INTO mail_attempts (message_id, attempt, started_at, latency_ms, smtp_code, error)
         SELECT id, $2, $3::timestamptz, $4::int4, $5::int4, $7::text FROM done",
        attempt.id,
        attempt.attempt,
        attempt.started_at,
        millis(attempt.latency),
        attempt.smtp_code.map(i32::from),
        retry_at,
        error,
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives a claimed message back unsent (its lease would run out before
/// the send could end, or the scheduler is stopping): the attempt is
/// uncounted and the message due now, for any replica. False when the
/// claim was stale.
pub async fn release(pool: &PgPool, id: Uuid, attempt: i32) -> Result<bool, DbError> {
    let done = sqlx::query!(
        "UPDATE mail_messages SET attempts = attempts - 1, next_attempt_at = now()
         WHERE id = $1 AND status = 'pending' AND attempts = $2",
        id,
        attempt,
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
