//! Rows of stored result parts (issue 22, migrations/0029_result_parts.sql;
//! the file format is `crate::result_parts`'). The worker stores a job's
//! parts before its outcome; the api reads a part's header, then its
//! chunks one at a time as it streams them.

use super::DbError;
use crate::ids::{JobId, TenantId};
use crate::job::JobState;
use crate::result_parts::Packed;
use crate::tenant::Plan;
use sqlx::{PgConnection, PgPool};

/// What `store` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Kept,
    /// Nothing stored: the tenant's parts would pass its plan's cap.
    OverCap {
        used: u64,
        cap: u64,
    },
    /// Nothing stored: the job is no longer running at that attempt.
    Moved,
}

/// Stores `parts` for `job`'s `attempt` (dropping any earlier attempt's)
/// in one transaction, unless the tenant's stored parts would pass its
/// plan's cap (`result_storage_bytes`) or the job moved on. Tenants' parts
/// are summed under a per-tenant advisory lock, so two jobs finishing at
/// once cannot both fit in the same room.
pub async fn store(
    pool: &PgPool,
    job: JobId,
    attempt: i32,
    parts: &[Packed],
) -> Result<Stored, DbError> {
    let mut tx = pool.begin().await?;
    let owner = sqlx::query!(
        // The job by its key (fenced by OFFSET 0), not a walk of the
        // running ones (scripts/plans-on-empty.py).
        r#"SELECT j.tenant_id AS "tenant: TenantId", t.plan
           FROM (SELECT tenant_id, status, attempt FROM jobs WHERE id = $1 OFFSET 0) j
           JOIN tenants t ON t.id = j.tenant_id
           WHERE j.status = 'running' AND j.attempt = $2"#,
        job as JobId,
        attempt,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(owner) = owner else {
        return Ok(Stored::Moved);
    };
    let cap = owner
        .plan
        .parse::<Plan>()
        .map(|p| p.limits().result_storage_bytes)
        .map_err(|e| DbError::Corrupt(format!("tenant plan: {e}")))?;
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 22))",
        owner.tenant as TenantId
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM job_result_parts WHERE job_id = $1",
        job as JobId
    )
    .execute(&mut *tx)
    .await?;
    let used = stored_bytes_on(&mut tx, owner.tenant).await?;
    let adding: u64 = parts.iter().map(Packed::stored_bytes).sum();
    if used.saturating_add(adding) > cap {
        return Ok(Stored::OverCap { used, cap });
    }
    for part in parts {
        let shape: Vec<i64> = part
            .shape
            .iter()
            .map(|&d| i64::try_from(d).unwrap_or(i64::MAX))
            .collect();
        sqlx::query!(
            "INSERT INTO job_result_parts (job_id, name, tenant_id, attempt, media_type, length,
                                           stored_bytes, chunks, sha256, dtype, shape)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            job as JobId,
            part.name,
            owner.tenant as TenantId,
            attempt,
            crate::result_parts::NPY_MEDIA_TYPE,
            i64::try_from(part.length).unwrap_or(i64::MAX),
            i64::try_from(part.stored_bytes()).unwrap_or(i64::MAX),
            i32::try_from(part.frames.len()).unwrap_or(i32::MAX),
            &part.sha256[..],
            part.dtype,
            &shape,
        )
        .execute(&mut *tx)
        .await?;
        // One frame a statement: each is up to a few MiB.
        for (seq, frame) in part.frames.iter().enumerate() {
            sqlx::query!(
                "INSERT INTO job_result_chunks (job_id, name, seq, frame) VALUES ($1, $2, $3, $4)",
                job as JobId,
                part.name,
                i32::try_from(seq).unwrap_or(i32::MAX),
                frame,
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(Stored::Kept)
}

/// A stored part, as a download needs it, with its job's state now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartHeader {
    pub job_status: JobState,
    /// Whether the part is the job's current attempt's (only those are served).
    pub current: bool,
    pub media_type: String,
    pub length: u64,
    pub chunks: u64,
    pub sha256: Vec<u8>,
}

/// The job of `tenant` (None: no such job, or another tenant's) and, when
/// it has one by that name, its part `name`.
pub async fn header(
    pool: &PgPool,
    tenant: TenantId,
    job: JobId,
    name: &str,
) -> Result<Option<(JobState, Option<PartHeader>)>, DbError> {
    let row = sqlx::query!(
        r#"SELECT j.status AS "status: JobState", p.attempt = j.attempt AS "current?",
                  p.media_type AS "media_type?", p.length AS "length?", p.chunks AS "chunks?",
                  p.sha256 AS "sha256?"
           FROM jobs j LEFT JOIN job_result_parts p ON p.job_id = j.id AND p.name = $3
           WHERE j.id = $1 AND j.tenant_id = $2"#,
        job as JobId,
        tenant as TenantId,
        name,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| {
        let part = match (r.media_type, r.length, r.chunks, r.sha256) {
            (Some(media_type), Some(length), Some(chunks), Some(sha256)) => Some(PartHeader {
                job_status: r.status,
                current: r.current.unwrap_or(false),
                media_type,
                length: u64::try_from(length).unwrap_or(0),
                chunks: u64::try_from(chunks).unwrap_or(0),
                sha256,
            }),
            _ => None,
        };
        (r.status, part)
    }))
}

/// Chunk `seq` of a part: one zstd frame.
pub async fn chunk(
    pool: &PgPool,
    job: JobId,
    name: &str,
    seq: u64,
) -> Result<Option<Vec<u8>>, DbError> {
    Ok(sqlx::query_scalar!(
        "SELECT frame FROM job_result_chunks WHERE job_id = $1 AND name = $2 AND seq = $3",
        job as JobId,
        name,
        i32::try_from(seq).unwrap_or(i32::MAX),
    )
    .fetch_optional(pool)
    .await?)
}

/// Bytes of result parts `tenant` stores now.
pub async fn stored_bytes(pool: &PgPool, tenant: TenantId) -> Result<u64, DbError> {
    stored_bytes_on(&mut *pool.acquire().await?, tenant).await
}

async fn stored_bytes_on(conn: &mut PgConnection, tenant: TenantId) -> Result<u64, DbError> {
    let used = sqlx::query_scalar!(
        r#"SELECT coalesce(sum(stored_bytes), 0)::bigint AS "used!"
           FROM job_result_parts WHERE tenant_id = $1"#,
        tenant as TenantId
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(u64::try_from(used).unwrap_or(0))
}
