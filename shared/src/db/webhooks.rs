//! The api's SQL on webhook endpoints, messages and attempts (issue 6,
//! docs/adr/0005-scheduler.md). Every query takes the tenant first, so another tenant's rows
//! are simply not found. The scheduler's side is `webhook_deliveries`.

use super::DbError;
use crate::ids::{EndpointId, JobId, TenantId, WebhookMessageId};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use std::time::Duration;

/// The event types a tenant can subscribe to.
///
/// `webhook.test` (a ping from `POST .../test`) goes to its one endpoint only.
pub const EVENT_TYPES: [&str; 4] = [
    "job.succeeded",
    "job.failed",
    "job.cancelled",
    "endpoint.disabled",
];

#[derive(Debug, Clone)]
pub struct EndpointRow {
    pub id: EndpointId,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub rate_limit_per_second: Option<i32>,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct NewEndpoint<'a> {
    pub id: EndpointId,
    pub tenant: TenantId,
    pub url: &'a str,
    pub description: &'a str,
    pub event_types: &'a [String],
    pub enabled: bool,
    pub rate_limit_per_second: Option<i32>,
    pub key_id: &'a str,
    pub sealed: &'a [u8],
}

/// Fields to change; `None` leaves a field as it is. `rate_limit_per_second`
/// is `Some(None)` to remove the limit.
#[derive(Debug, Default)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub rate_limit_per_second: Option<Option<i32>>,
}

pub async fn insert_endpoint(
    pool: impl sqlx::PgExecutor<'_>,
    new: &NewEndpoint<'_>,
) -> Result<(), DbError> {
    sqlx::query!(
        "INSERT INTO webhook_endpoints
           (id, tenant_id, url, description, event_types, enabled, rate_limit_per_second,
            secret_key_id, secret_sealed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        new.id as EndpointId,
        new.tenant as TenantId,
        new.url,
        new.description,
        new.event_types,
        new.enabled,
        new.rate_limit_per_second,
        new.key_id,
        new.sealed,
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn get_endpoint(
    pool: &PgPool,
    tenant: TenantId,
    id: EndpointId,
) -> Result<Option<EndpointRow>, DbError> {
    Ok(sqlx::query_as!(
        EndpointRow,
        r#"SELECT id AS "id: EndpointId", url, description, event_types, enabled,
                  rate_limit_per_second, disabled_reason, created_at, updated_at
           FROM webhook_endpoints
           WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL"#,
        tenant as TenantId,
        id as EndpointId,
    )
    .fetch_optional(pool)
    .await?)
}

/// Newest first; `after` is the last id of the previous page.
pub async fn list_endpoints(
    pool: &PgPool,
    tenant: TenantId,
    after: Option<EndpointId>,
    limit: i64,
) -> Result<Vec<EndpointRow>, DbError> {
    Ok(sqlx::query_as!(
        EndpointRow,
        r#"SELECT id AS "id: EndpointId", url, description, event_types, enabled,
                  rate_limit_per_second, disabled_reason, created_at, updated_at
           FROM webhook_endpoints
           WHERE tenant_id = $1 AND deleted_at IS NULL AND ($2::uuid IS NULL OR id < $2)
           ORDER BY id DESC
           LIMIT $3"#,
        tenant as TenantId,
        after.map(|a| a.as_uuid()),
        limit,
    )
    .fetch_all(pool)
    .await?)
}

/// Applies the patch; re-enabling an endpoint clears its disabled reason.
pub async fn update_endpoint(
    pool: impl sqlx::PgExecutor<'_>,
    tenant: TenantId,
    id: EndpointId,
    patch: &EndpointPatch,
) -> Result<Option<EndpointRow>, DbError> {
    Ok(sqlx::query_as!(
        EndpointRow,
        r#"UPDATE webhook_endpoints SET
             url = COALESCE($3, url),
             description = COALESCE($4, description),
             event_types = COALESCE($5, event_types),
             enabled = COALESCE($6, enabled),
             disabled_reason = CASE WHEN $6 THEN NULL ELSE disabled_reason END,
             rate_limit_per_second = CASE WHEN $7 THEN $8 ELSE rate_limit_per_second END,
             updated_at = now()
           WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL
           RETURNING id AS "id: EndpointId", url, description, event_types, enabled,
                     rate_limit_per_second, disabled_reason, created_at, updated_at"#,
        tenant as TenantId,
        id as EndpointId,
        patch.url.as_deref(),
        patch.description.as_deref(),
        patch.event_types.as_deref(),
        patch.enabled,
        patch.rate_limit_per_second.is_some(),
        patch.rate_limit_per_second.flatten(),
    )
    .fetch_optional(pool)
    .await?)
}

/// Soft delete: attempts keep naming the endpoint; nothing is sent to it again.
pub async fn delete_endpoint(
    pool: impl sqlx::PgExecutor<'_>,
    tenant: TenantId,
    id: EndpointId,
) -> Result<bool, DbError> {
    let n = sqlx::query!(
        "UPDATE webhook_endpoints SET deleted_at = now(), enabled = false, updated_at = now()
         WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        tenant as TenantId,
        id as EndpointId,
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The new secret signs from now; the current one becomes the previous
/// secret and keeps signing for `overlap`.
pub async fn rotate_secret(
    pool: impl sqlx::PgExecutor<'_>,
    tenant: TenantId,
    id: EndpointId,
    key_id: &str,
    sealed: &[u8],
    overlap: Duration,
) -> Result<bool, DbError> {
    let n = sqlx::query!(
        "UPDATE webhook_endpoints SET
           previous_key_id = secret_key_id,
           previous_sealed = secret_sealed,
           previous_expires_at = now() + make_interval(secs => $5),
           secret_key_id = $3,
           secret_sealed = $4,
           updated_at = now()
         WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        tenant as TenantId,
        id as EndpointId,
        key_id,
        sealed,
        overlap.as_secs_f64(),
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

#[derive(Debug, Clone)]
pub struct MessageRow {
    pub id: WebhookMessageId,
    pub event_type: String,
    pub job_id: Option<JobId>,
    pub payload: Value,
    pub created_at: DateTime<Utc>,
}

/// Newest first; `after` is the last id of the previous page.
pub async fn list_messages(
    pool: &PgPool,
    tenant: TenantId,
    after: Option<WebhookMessageId>,
    limit: i64,
) -> Result<Vec<MessageRow>, DbError> {
    Ok(sqlx::query_as!(
        MessageRow,
        r#"SELECT id AS "id: WebhookMessageId", event_type, job_id AS "job_id: JobId", payload, created_at
           FROM webhook_messages
           WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id < $2)
           ORDER BY id DESC
           LIMIT $3"#,
        tenant as TenantId,
        after.map(|a| a.as_uuid()),
        limit,
    )
    .fetch_all(pool)
    .await?)
}

pub async fn message_exists(
    pool: &PgPool,
    tenant: TenantId,
    id: WebhookMessageId,
) -> Result<bool, DbError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM webhook_messages WHERE tenant_id = $1 AND id = $2) AS "e!""#,
        tenant as TenantId,
        id as WebhookMessageId,
    )
    .fetch_one(pool)
    .await?)
}

#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub endpoint_id: EndpointId,
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub response_body: Option<String>,
    pub error: Option<String>,
}

/// A message's attempts, oldest first.
pub async fn list_attempts(
    pool: &PgPool,
    tenant: TenantId,
    message: WebhookMessageId,
) -> Result<Vec<AttemptRow>, DbError> {
    Ok(sqlx::query_as!(
        AttemptRow,
        r#"SELECT endpoint_id AS "endpoint_id: EndpointId", attempt, started_at, status_code,
                  latency_ms, response_body, error
           FROM webhook_attempts
           WHERE tenant_id = $1 AND message_id = $2
           ORDER BY started_at, id
           LIMIT 1000"#,
        tenant as TenantId,
        message as WebhookMessageId,
    )
    .fetch_all(pool)
    .await?)
}

/// Delivers the message again to every enabled endpoint it matches, with a
/// fresh schedule. Returns the deliveries queued.
pub async fn replay_message(
    pool: &PgPool,
    tenant: TenantId,
    message: WebhookMessageId,
) -> Result<u64, DbError> {
    Ok(sqlx::query!(
        "INSERT INTO webhook_deliveries (tenant_id, message_id, endpoint_id)
         SELECT m.tenant_id, m.id, e.id
         FROM webhook_messages m
         JOIN webhook_endpoints e ON e.tenant_id = m.tenant_id
         WHERE m.tenant_id = $1 AND m.id = $2
           AND e.enabled AND e.deleted_at IS NULL
           AND (cardinality(e.event_types) = 0 OR m.event_type = ANY (e.event_types))
         ON CONFLICT (message_id, endpoint_id) DO UPDATE
           SET status = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now()",
        tenant as TenantId,
        message as WebhookMessageId,
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// A `webhook.test` message for one endpoint only (not fanned out), with its
/// delivery. None when the tenant has no such endpoint.
pub async fn insert_ping(
    pool: &PgPool,
    tenant: TenantId,
    endpoint: EndpointId,
) -> Result<Option<WebhookMessageId>, DbError> {
    let mut tx = pool.begin().await?;
    let exists = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM webhook_endpoints
                          WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL) AS "e!""#,
        tenant as TenantId,
        endpoint as EndpointId,
    )
    .fetch_one(&mut *tx)
    .await?;
    if !exists {
        return Ok(None);
    }
    let id = WebhookMessageId::new();
    let payload = serde_json::json!({
        "type": "webhook.test",
        "timestamp": Utc::now(),
        "data": { "endpoint_id": endpoint },
    });
    sqlx::query!(
        "INSERT INTO webhook_messages (id, tenant_id, event_type, payload, fanned_out_at)
         VALUES ($1, $2, 'webhook.test', $3, now())",
        id as WebhookMessageId,
        tenant as TenantId,
        payload,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO webhook_deliveries (tenant_id, message_id, endpoint_id) VALUES ($1, $2, $3)",
        tenant as TenantId,
        id as WebhookMessageId,
        endpoint as EndpointId,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Queues again, with a fresh schedule, every failed delivery created since
/// `since`: to the one endpoint, or to every live endpoint of the tenant
/// when `endpoint` is None. None when the tenant has no such endpoint.
pub async fn recover_failed(
    pool: &PgPool,
    tenant: TenantId,
    endpoint: Option<EndpointId>,
    since: DateTime<Utc>,
) -> Result<Option<u64>, DbError> {
    let endpoint = endpoint.map(|e| e.as_uuid());
    let mut tx = pool.begin().await?;
    if let Some(endpoint) = endpoint {
        let exists = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM webhook_endpoints
                              WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL) AS "e!""#,
            tenant as TenantId,
            endpoint,
        )
        .fetch_one(&mut *tx)
        .await?;
        if !exists {
            return Ok(None);
        }
    }
    let n = sqlx::query!(
        "UPDATE webhook_deliveries d
         SET status = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now()
         FROM webhook_endpoints e
         WHERE d.tenant_id = $1 AND d.status = 'failed' AND d.created_at >= $3
           AND e.id = d.endpoint_id AND e.tenant_id = $1 AND e.deleted_at IS NULL
           AND ($2::uuid IS NULL OR d.endpoint_id = $2)",
        tenant as TenantId,
        endpoint,
        since,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(Some(n))
}
