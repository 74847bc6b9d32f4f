//! The scheduler's SQL on webhook deliveries (issue 6, design §5):
//! `fan_out` turns new messages into one delivery per matching endpoint
//! (idempotent: unique per message and endpoint), `claim_due` takes due
//! deliveries with `FOR UPDATE SKIP LOCKED` and pushes them one lease ahead,
//! `record_attempt` logs an attempt and moves its delivery on, and the
//! endpoint health writes disable endpoints. The api's side is `webhooks`.

use super::DbError;
use crate::ids::{EndpointId, TenantId, WebhookMessageId};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

/// Fans out up to `batch` new messages: one pending delivery per enabled
/// endpoint of the tenant whose event types match, then marks them seen.
/// Replicas skip each other's messages (SKIP LOCKED); a repeat inserts
/// nothing (unique per message and endpoint). Returns messages handled.
pub async fn fan_out(pool: &PgPool, batch: i64) -> Result<u64, DbError> {
    let mut tx = pool.begin().await?;
    let ids: Vec<Uuid> = sqlx::query_scalar!(
        "SELECT id FROM webhook_messages WHERE fanned_out_at IS NULL
         ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED",
        batch,
    )
    .fetch_all(&mut *tx)
    .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    sqlx::query!(
        "INSERT INTO webhook_deliveries (tenant_id, message_id, endpoint_id)
         SELECT m.tenant_id, m.id, e.id
         FROM webhook_messages m
         JOIN webhook_endpoints e ON e.tenant_id = m.tenant_id
         WHERE m.id = ANY ($1) AND e.enabled AND e.deleted_at IS NULL
           AND (cardinality(e.event_types) = 0 OR m.event_type = ANY (e.event_types))
         ON CONFLICT (message_id, endpoint_id) DO NOTHING",
        &ids,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE webhook_messages SET fanned_out_at = now() WHERE id = ANY ($1)",
        &ids,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ids.len() as u64)
}

/// A claimed delivery with all it needs to be sent.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub message_id: WebhookMessageId,
    pub endpoint_id: EndpointId,
    /// This attempt's number (1 = first).
    pub attempt: i32,
    pub payload: Value,
    pub url: String,
    pub key_id: String,
    pub sealed: Vec<u8>,
    /// The previous secret, while its rotation overlap lasts.
    pub previous: Option<(String, Vec<u8>)>,
    pub rate_limit_per_second: Option<i32>,
}

/// Claims up to `batch` due deliveries of enabled endpoints not in `busy`
/// (endpoints this process is sending to already). Index:
/// `webhook_deliveries_due`. A claim counts the attempt and moves the due
/// time one `lease` ahead, so another replica's claim (SKIP LOCKED, then the
/// re-checked `next_attempt_at`) cannot take it again while it is sent, and a
/// sender that dies leaves it due again after the lease.
pub async fn claim_due(
    pool: &PgPool,
    batch: i64,
    lease: Duration,
    busy: &[Uuid],
) -> Result<Vec<ClaimedDelivery>, DbError> {
    let rows = sqlx::query!(
        r#"WITH due AS (
             SELECT d.id FROM webhook_deliveries d
             JOIN webhook_endpoints e ON e.id = d.endpoint_id
             WHERE d.status = 'pending' AND d.next_attempt_at <= now()
               AND e.enabled AND e.deleted_at IS NULL
               AND NOT (d.endpoint_id = ANY ($3))
             ORDER BY d.next_attempt_at
             LIMIT $1
             FOR UPDATE OF d SKIP LOCKED
           )
           UPDATE webhook_deliveries d
           SET attempts = d.attempts + 1,
               next_attempt_at = now() + make_interval(secs => $2),
               updated_at = now()
           FROM due, webhook_endpoints e, webhook_messages m
           WHERE d.id = due.id AND e.id = d.endpoint_id AND m.id = d.message_id
           RETURNING d.id, d.tenant_id AS "tenant_id: TenantId", d.message_id AS "message_id: WebhookMessageId",
                     d.endpoint_id AS "endpoint_id: EndpointId", d.attempts, m.payload, e.url,
                     e.secret_key_id, e.secret_sealed, e.previous_key_id, e.previous_sealed,
                     (e.previous_expires_at > now()) AS "previous_live?", e.rate_limit_per_second"#,
        batch,
        lease.as_secs_f64(),
        busy,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ClaimedDelivery {
            id: r.id,
            tenant_id: r.tenant_id,
            message_id: r.message_id,
            endpoint_id: r.endpoint_id,
            attempt: r.attempts,
            payload: r.payload,
            url: r.url,
            key_id: r.secret_key_id,
            sealed: r.secret_sealed,
            previous: match (r.previous_live, r.previous_key_id, r.previous_sealed) {
                (Some(true), Some(k), Some(s)) => Some((k, s)),
                _ => None,
            },
            rate_limit_per_second: r.rate_limit_per_second,
        })
        .collect())
}

/// One attempt, as the log keeps it.
pub struct AttemptLog<'a> {
    pub delivery: &'a ClaimedDelivery,
    pub started_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub response_body: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// What becomes of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeliveryState {
    Succeeded,
    /// Try again after this delay.
    RetryIn(Duration),
    Failed,
}

/// Logs the attempt and moves the delivery on, in one transaction. The
/// write matches the attempt number, so a sender whose lease ran out (and
/// whose delivery another replica re-claimed) changes nothing but the log.
pub async fn record_attempt(
    pool: &PgPool,
    log: &AttemptLog<'_>,
    next: DeliveryState,
) -> Result<(), DbError> {
    let d = log.delivery;
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "INSERT INTO webhook_attempts
           (tenant_id, delivery_id, message_id, endpoint_id, attempt, started_at, status_code,
            latency_ms, response_body, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        d.tenant_id as TenantId,
        d.id,
        d.message_id as WebhookMessageId,
        d.endpoint_id as EndpointId,
        d.attempt,
        log.started_at,
        log.status_code,
        log.latency_ms,
        log.response_body,
        log.error,
    )
    .execute(&mut *tx)
    .await?;
    let (status, delay) = match next {
        DeliveryState::Succeeded => ("succeeded", 0.0),
        DeliveryState::RetryIn(delay) => ("pending", delay.as_secs_f64()),
        DeliveryState::Failed => ("failed", 0.0),
    };
    sqlx::query!(
        "UPDATE webhook_deliveries SET
           status = $3, next_attempt_at = now() + make_interval(secs => $4),
           last_status = $5, last_error = $6, updated_at = now()
         WHERE id = $1 AND attempts = $2 AND status = 'pending'",
        d.id,
        d.attempt,
        status,
        delay,
        log.status_code,
        log.error,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Disables the endpoint and tells the tenant's other endpoints with an
/// `endpoint.disabled` message, in one transaction. False if it was
/// disabled already (then no second message).
pub async fn disable_endpoint(
    pool: &PgPool,
    tenant: TenantId,
    endpoint: EndpointId,
    reason: &str,
) -> Result<bool, DbError> {
    let mut tx = pool.begin().await?;
    let n = sqlx::query!(
        "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $3, updated_at = now()
         WHERE tenant_id = $1 AND id = $2 AND enabled",
        tenant as TenantId,
        endpoint as EndpointId,
        reason,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    let payload = serde_json::json!({
        "type": "endpoint.disabled",
        "timestamp": Utc::now(),
        "data": { "endpoint_id": endpoint, "reason": reason },
    });
    sqlx::query!(
        "INSERT INTO webhook_messages (id, tenant_id, event_type, payload)
         VALUES ($1, $2, 'endpoint.disabled', $3)",
        WebhookMessageId::new() as WebhookMessageId,
        tenant as TenantId,
        payload,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Tracks how long the endpoint has failed: a success clears it, a failure
/// starts the clock if it is not running. True when the endpoint has now
/// failed for longer than `disable_after` (design §5: five days).
pub async fn note_health(
    pool: &PgPool,
    endpoint: EndpointId,
    succeeded: bool,
    disable_after: Duration,
) -> Result<bool, DbError> {
    if succeeded {
        sqlx::query!(
            "UPDATE webhook_endpoints SET failing_since = NULL
             WHERE id = $1 AND failing_since IS NOT NULL",
            endpoint as EndpointId,
        )
        .execute(pool)
        .await?;
        return Ok(false);
    }
    let expired = sqlx::query_scalar!(
        r#"UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, now())
           WHERE id = $1
           RETURNING failing_since < now() - make_interval(secs => $2) AS "expired!""#,
        endpoint as EndpointId,
        disable_after.as_secs_f64(),
    )
    .fetch_optional(pool)
    .await?;
    Ok(expired.unwrap_or(false))
}

/// Deletes up to `limit` attempts that started more than `age` ago (design
/// §5: 30 days). Index: `webhook_attempts_started`.
pub async fn delete_old_attempts(pool: &PgPool, age: Duration, limit: i64) -> Result<u64, DbError> {
    Ok(sqlx::query!(
        "DELETE FROM webhook_attempts
         WHERE id IN (SELECT id FROM webhook_attempts
                      WHERE started_at < now() - make_interval(secs => $1)
                      LIMIT $2
                      FOR UPDATE SKIP LOCKED)",
        age.as_secs_f64(),
        limit,
    )
    .execute(pool)
    .await?
    .rows_affected())
}
