//! SQL on `idempotency_keys` (docs/adr/0004-api.md): a tenant's `Idempotency-Key`
//! names one job for 24 hours. The api decides what a match means (replay
//! or 409); this module only reads and writes the rows.
//!
//! A key older than 24 h is forgotten: reads ignore it and a new submit with
//! the same key takes the row over (the unique constraint stays the one
//! arbiter between concurrent submits). Records are written with their jobs
//! by `jobs::insert_batch`, in the same statement.

use catalytic_shared::db::DbError;
use catalytic_shared::ids::{JobId, TenantId};
use sqlx::PgConnection;

/// The job a key names, and the hash of the body that created it. A bulk
/// submit's record also keeps its per-item results, replayed as they were.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub job_id: JobId,
    pub request_hash: Vec<u8>,
    pub results: Option<serde_json::Value>,
}

/// The live (under 24 h old) record of `key`, if any.
pub async fn find(
    conn: &mut PgConnection,
    tenant: TenantId,
    key: &str,
) -> Result<Option<Record>, DbError> {
    Ok(sqlx::query_as!(
        Record,
        r#"SELECT job_id AS "job_id: JobId", request_hash, results
           FROM idempotency_keys
           WHERE tenant_id = $1 AND key = $2 AND created_at > now() - interval '24 hours'"#,
        tenant as TenantId,
        key,
    )
    .fetch_optional(conn)
    .await?)
}
