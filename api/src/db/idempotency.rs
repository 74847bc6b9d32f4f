//! SQL on `idempotency_keys` (docs/adr/0004-api.md): a tenant's `Idempotency-Key`
//! names one job for 24 hours. The api decides what a match means (replay
//! or 409); this module only reads and writes the rows.
//!
//! A key older than 24 h is forgotten: reads ignore it and a new submit with
//! the same key takes the row over (the unique constraint stays the one
//! arbiter between concurrent submits).

use catalytic_shared::db::DbError;
use catalytic_shared::ids::{JobId, TenantId};
use sqlx::PgConnection;

/// The job a key names, and the hash of the body that created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub job_id: JobId,
    pub request_hash: Vec<u8>,
}

/// The constraint a concurrent duplicate hits; `insert` reports it as
/// `DbError::Conflict` with this name.
pub const CONSTRAINT: &str = "idempotency_keys_tenant_key";

/// The live (under 24 h old) record of `key`, if any.
pub async fn find(
    conn: &mut PgConnection,
    tenant: TenantId,
    key: &str,
) -> Result<Option<Record>, DbError> {
    Ok(sqlx::query_as!(
        Record,
        r#"SELECT job_id AS "job_id: JobId", request_hash
           FROM idempotency_keys
           WHERE tenant_id = $1 AND key = $2 AND created_at > now() - interval '24 hours'"#,
        tenant as TenantId,
        key,
    )
    .fetch_optional(conn)
    .await?)
}

/// Records `key` → `job`. Call in the submit's transaction, after the job
/// row. A live record of the same key (a concurrent submit that committed
/// first) is a `Conflict`; an expired one is taken over.
///
/// The upsert waits on the unique index for a concurrent insert of the same
/// key to commit or roll back, so exactly one of two racing submits wins.
pub async fn insert(
    conn: &mut PgConnection,
    tenant: TenantId,
    key: &str,
    request_hash: &[u8],
    job: JobId,
) -> Result<(), DbError> {
    let written = sqlx::query!(
        "INSERT INTO idempotency_keys (tenant_id, key, request_hash, job_id)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT ON CONSTRAINT idempotency_keys_tenant_key DO UPDATE
             SET request_hash = EXCLUDED.request_hash, job_id = EXCLUDED.job_id, created_at = now()
             WHERE idempotency_keys.created_at <= now() - interval '24 hours'",
        tenant as TenantId,
        key,
        request_hash,
        job as JobId,
    )
    .execute(conn)
    .await?
    .rows_affected();
    if written == 1 {
        Ok(())
    } else {
        Err(DbError::Conflict {
            constraint: CONSTRAINT.to_owned(),
        })
    }
}
