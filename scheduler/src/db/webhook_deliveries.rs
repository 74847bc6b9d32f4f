//! The scheduler's SQL on webhook deliveries (issue 6, docs/adr/0005-scheduler.md):
//! `fan_out` turns new messages into one delivery per matching endpoint
//! (idempotent: unique per message and endpoint), inserting the first ones
//! already claimed, `claim_due` takes due deliveries with `FOR UPDATE SKIP
//! LOCKED` and pushes them one lease ahead, `release` gives unsent claims back,
//! `record_attempts` logs attempts and moves their deliveries on, and the
//! endpoint health writes disable endpoints. The api's side is `webhooks`.

use catalytic_shared::db::DbError;
use catalytic_shared::ids::{EndpointId, TenantId, WebhookMessageId};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

/// What one fan-out did.
#[derive(Debug, Default)]
pub struct FannedOut {
    /// Messages handled (marked fanned out).
    pub messages: u64,
    /// Deliveries inserted already claimed: send them now.
    pub claimed: Vec<ClaimedDelivery>,
    /// Deliveries inserted pending (over the claim limit, or for a
    /// saturated endpoint): a claim takes them.
    pub left_pending: u64,
}

/// Fans out up to `batch` new messages: one delivery per enabled endpoint
/// of the tenant whose event types match, then marks them seen. The first
/// `claim` deliveries, except those for endpoints in `saturated`, are
/// inserted already claimed (attempt 1, due one `lease` ahead, as
/// [`claim_due`] would leave them) and returned with all a send needs, so
/// an event costs one round trip before its send, not two. Replicas skip
/// each other's messages (SKIP LOCKED); a repeat inserts nothing (unique
/// per message and endpoint).
pub async fn fan_out(
    pool: &PgPool,
    batch: i64,
    claim: i64,
    lease: Duration,
    saturated: &[Uuid],
) -> Result<FannedOut, DbError> {
    // One statement (one round trip, one commit): this is on every event's
    // path to its receiver. The CTEs share the statement's snapshot, and
    // the locked `m` rows are the ones inserted for and marked. The outer
    // row always exists (the counts); the claimed deliveries join it.
    let rows = sqlx::query!(
        r#"WITH m AS (
             SELECT id, tenant_id, event_type, created_at FROM webhook_messages
             WHERE fanned_out_at IS NULL
             ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED
           ), targets AS (
             SELECT m.tenant_id, m.id AS message_id, e.id AS endpoint_id,
                    (row_number() OVER (ORDER BY m.created_at, m.id, e.id) <= $2
                     AND NOT (e.id = ANY ($4))) AS claimed
             FROM m JOIN webhook_endpoints e ON e.tenant_id = m.tenant_id
             WHERE e.enabled AND e.deleted_at IS NULL
               AND (cardinality(e.event_types) = 0 OR m.event_type = ANY (e.event_types))
           ), inserted AS (
             INSERT INTO webhook_deliveries (tenant_id, message_id, endpoint_id, attempts, next_attempt_at)
             SELECT tenant_id, message_id, endpoint_id,
                    CASE WHEN claimed THEN 1 ELSE 0 END,
                    CASE WHEN claimed THEN now() + make_interval(secs => $3) ELSE now() END
             FROM targets
             ON CONFLICT (message_id, endpoint_id) DO NOTHING
             RETURNING id, tenant_id, message_id, endpoint_id, attempts
           ), marked AS (
             UPDATE webhook_messages w SET fanned_out_at = now()
             FROM m WHERE w.id = m.id
             RETURNING 1
           ), counts AS (
             SELECT (SELECT count(*) FROM marked) AS handled,
                    (SELECT count(*) FROM inserted WHERE attempts = 0) AS left_pending
           )
           SELECT c.handled AS "handled!", c.left_pending AS "left_pending!",
                  i.id AS "id?", i.tenant_id AS "tenant_id?: TenantId",
                  i.message_id AS "message_id?: WebhookMessageId",
                  i.endpoint_id AS "endpoint_id?: EndpointId", i.attempts AS "attempts?",
                  wm.payload::text AS "payload?", wm.traceparent, e.url AS "url?",
                  e.secret_key_id AS "secret_key_id?", e.secret_sealed AS "secret_sealed?",
                  e.previous_key_id, e.previous_sealed,
                  (e.previous_expires_at > now()) AS "previous_live?", e.rate_limit_per_second
           FROM counts c
           LEFT JOIN (inserted i
                      JOIN webhook_messages wm ON wm.id = i.message_id
                      JOIN webhook_endpoints e ON e.id = i.endpoint_id)
             ON i.attempts = 1"#,
        batch,
        claim,
        lease.as_secs_f64(),
        saturated,
    )
    .fetch_all(pool)
    .await?;
    let mut out = FannedOut::default();
    for r in rows {
        out.messages = u64::try_from(r.handled).unwrap_or(0);
        out.left_pending = u64::try_from(r.left_pending).unwrap_or(0);
        let (
            Some(id),
            Some(tenant_id),
            Some(message_id),
            Some(endpoint_id),
            Some(attempt),
            Some(payload),
            Some(url),
            Some(key_id),
            Some(sealed),
        ) = (
            r.id,
            r.tenant_id,
            r.message_id,
            r.endpoint_id,
            r.attempts,
            r.payload,
            r.url,
            r.secret_key_id,
            r.secret_sealed,
        )
        else {
            continue;
        };
        out.claimed.push(ClaimedDelivery {
            id,
            tenant_id,
            message_id,
            endpoint_id,
            attempt,
            payload,
            url,
            key_id,
            sealed,
            previous: previous(r.previous_live, r.previous_key_id, r.previous_sealed),
            rate_limit_per_second: r.rate_limit_per_second,
            traceparent: r.traceparent,
        });
    }
    Ok(out)
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
    /// The message's JSON as PostgreSQL prints it (`jsonb::text`): sent
    /// and signed as it is, never parsed and re-serialised.
    pub payload: String,
    pub url: String,
    pub key_id: String,
    pub sealed: Vec<u8>,
    /// The previous secret, while its rotation overlap lasts.
    pub previous: Option<(String, Vec<u8>)>,
    pub rate_limit_per_second: Option<i32>,
    /// The job's trace, for a job event (issue 23): the attempt is a span
    /// of it and the receiver gets its `traceparent`.
    pub traceparent: Option<String>,
}

fn previous(
    live: Option<bool>,
    key_id: Option<String>,
    sealed: Option<Vec<u8>>,
) -> Option<(String, Vec<u8>)> {
    match (live, key_id, sealed) {
        (Some(true), Some(k), Some(s)) => Some((k, s)),
        _ => None,
    }
}

/// Claims up to `batch` due deliveries of enabled endpoints not in
/// `saturated` (endpoints whose queue in this process is full). Index:
/// `webhook_deliveries_due`, walked in due order and stopped at the LIMIT
/// (the caller's pool turns bitmap scans off: with a queue table's stale
/// statistics the planner otherwise bitmap-scans and sorts every due row).
/// A claim counts the attempt and moves the due time one `lease` ahead, so
/// another replica's claim (SKIP LOCKED, then the re-checked
/// `next_attempt_at`) cannot take it again while it is sent, and a sender
/// that dies leaves it due again after the lease.
pub async fn claim_due(
    pool: &PgPool,
    batch: i64,
    lease: Duration,
    saturated: &[Uuid],
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
                     d.endpoint_id AS "endpoint_id: EndpointId", d.attempts, m.payload::text AS "payload!",
                     m.traceparent, e.url,
                     e.secret_key_id, e.secret_sealed, e.previous_key_id, e.previous_sealed,
                     (e.previous_expires_at > now()) AS "previous_live?", e.rate_limit_per_second"#,
        batch,
        lease.as_secs_f64(),
        saturated,
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
            previous: previous(r.previous_live, r.previous_key_id, r.previous_sealed),
            rate_limit_per_second: r.rate_limit_per_second,
            traceparent: r.traceparent,
        })
        .collect())
}

/// Gives claimed deliveries back unsent (a sender whose lease would run
/// out before it reached them, an endpoint disabled meanwhile, shutdown):
/// the attempt is uncounted and the delivery due now, for any replica.
/// Matches the attempt number, so a delivery re-claimed since is left alone.
pub async fn release(pool: &PgPool, claims: &[(Uuid, i32)]) -> Result<u64, DbError> {
    if claims.is_empty() {
        return Ok(0);
    }
    let (ids, attempts): (Vec<Uuid>, Vec<i32>) = claims.iter().copied().unzip();
    Ok(sqlx::query!(
        "UPDATE webhook_deliveries d
         SET attempts = d.attempts - 1, next_attempt_at = now(), updated_at = now()
         FROM UNNEST($1::uuid[], $2::int4[]) AS u(id, attempt)
         WHERE d.id = u.id AND d.attempts = u.attempt AND d.status = 'pending'",
        &ids,
        &attempts,
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// One attempt, as the log keeps it, and what becomes of its delivery.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub delivery_id: Uuid,
    pub tenant_id: TenantId,
    pub message_id: WebhookMessageId,
    pub endpoint_id: EndpointId,
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub next: DeliveryState,
}

/// What becomes of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeliveryState {
    Succeeded,
    /// Try again after this delay.
    RetryIn(Duration),
    Failed,
}

/// Logs a batch of attempts and moves their deliveries on, in one
/// transaction of three statements whatever the batch's size (the delivery
/// loop's throughput rests on this). Each delivery's write matches its
/// attempt number, so a sender whose lease ran out (and whose delivery
/// another replica re-claimed) changes nothing but the log. A delivered
/// attempt also resets its endpoint's failure clock.
pub async fn record_attempts(pool: &PgPool, records: &[AttemptRecord]) -> Result<(), DbError> {
    if records.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = records.iter().map(|r| r.delivery_id).collect();
    let tenants: Vec<Uuid> = records.iter().map(|r| r.tenant_id.as_uuid()).collect();
    let messages: Vec<Uuid> = records.iter().map(|r| r.message_id.as_uuid()).collect();
    let endpoints: Vec<Uuid> = records.iter().map(|r| r.endpoint_id.as_uuid()).collect();
    let attempts: Vec<i32> = records.iter().map(|r| r.attempt).collect();
    let started: Vec<DateTime<Utc>> = records.iter().map(|r| r.started_at).collect();
    let codes: Vec<Option<i32>> = records.iter().map(|r| r.status_code).collect();
    let latencies: Vec<i32> = records.iter().map(|r| r.latency_ms).collect();
    let bodies: Vec<Option<String>> = records.iter().map(|r| r.response_body.clone()).collect();
    let errors: Vec<Option<String>> = records.iter().map(|r| r.error.clone()).collect();
    let (states, delays): (Vec<String>, Vec<f64>) = records
        .iter()
        .map(|r| match r.next {
            DeliveryState::Succeeded => ("succeeded".to_owned(), 0.0),
            DeliveryState::RetryIn(delay) => ("pending".to_owned(), delay.as_secs_f64()),
            DeliveryState::Failed => ("failed".to_owned(), 0.0),
        })
        .unzip();
    let mut healthy: Vec<Uuid> = records
        .iter()
        .filter(|r| r.next == DeliveryState::Succeeded)
        .map(|r| r.endpoint_id.as_uuid())
        .collect();
    // One lock order for every writer.
    healthy.sort_unstable();
    healthy.dedup();

    let mut tx = pool.begin().await?;
    // Bitmap scans, hash and merge joins off for this transaction: the
    // queue's statistics are stale by nature, and with them the planner
    // hash-joins the batch against every pending delivery (a bitmap scan of
    // the due index) instead of probing the primary key per record.
    sqlx::query!(
        r#"SELECT set_config('enable_bitmapscan', 'off', true) AS "a?",
                  set_config('enable_hashjoin', 'off', true) AS "b?",
                  set_config('enable_mergejoin', 'off', true) AS "c?""#
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO webhook_attempts
           (tenant_id, delivery_id, message_id, endpoint_id, attempt, started_at, status_code,
            latency_ms, response_body, error)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::int4[],
                              $6::timestamptz[], $7::int4[], $8::int4[], $9::text[], $10::text[])",
        &tenants,
        &ids,
        &messages,
        &endpoints,
        &attempts,
        &started,
        &codes as &[Option<i32>],
        &latencies,
        &bodies as &[Option<String>],
        &errors as &[Option<String>],
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE webhook_deliveries d SET
           status = u.status, next_attempt_at = now() + make_interval(secs => u.delay),
           last_status = u.code, last_error = u.error, updated_at = now()
         FROM UNNEST($1::uuid[], $2::int4[], $3::text[], $4::float8[], $5::int4[], $6::text[])
              AS u(id, attempt, status, delay, code, error)
         WHERE d.id = u.id AND d.attempts = u.attempt AND d.status = 'pending'",
        &ids,
        &attempts,
        &states,
        &delays,
        &codes as &[Option<i32>],
        &errors as &[Option<String>],
    )
    .execute(&mut *tx)
    .await?;
    if !healthy.is_empty() {
        sqlx::query!(
            "UPDATE webhook_endpoints SET failing_since = NULL
             WHERE id = ANY ($1) AND failing_since IS NOT NULL",
            &healthy,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Disables the endpoint and tells the tenant's other endpoints with an
/// `endpoint.disabled` message, and its owners and admins by mail, in one
/// transaction. False if it was
/// disabled already (then no second message).
pub async fn disable_endpoint(
    pool: &PgPool,
    tenant: TenantId,
    endpoint: EndpointId,
    reason: &str,
) -> Result<bool, DbError> {
    let mut tx = pool.begin().await?;
    let Some(url) = sqlx::query_scalar!(
        "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $3, updated_at = now()
         WHERE tenant_id = $1 AND id = $2 AND enabled
         RETURNING url",
        tenant as TenantId,
        endpoint as EndpointId,
        reason,
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(false);
    };
    // The people who can fix the receiver hear of it too (issue 20).
    catalytic_shared::db::mail::enqueue_to_members(
        &mut tx,
        tenant,
        catalytic_shared::tenant::Role::Admin,
        &catalytic_shared::mail::Mail::EndpointDisabled {
            url,
            reason: reason.to_owned(),
        },
    )
    .await?;
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

/// Starts the endpoint's failure clock if it is not running (a delivered
/// attempt stops it, in `record_attempts`). True when the endpoint has now
/// failed for longer than `disable_after` (docs/adr/0005-scheduler.md: five days).
pub async fn note_failure(
    pool: &PgPool,
    endpoint: EndpointId,
    disable_after: Duration,
) -> Result<bool, DbError> {
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
