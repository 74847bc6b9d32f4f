//! SQL of the lease reaper (docs/adr/0001-processes.md): running jobs whose lease expired,
//! claimed with `FOR UPDATE SKIP LOCKED` so several scheduler replicas split
//! the work and never hold the same job, and the errors of a job's earlier
//! attempts, for the final error of a job that ran out of them. The state
//! changes themselves go through `db::jobs::transition`.

use catalytic_shared::db::DbError;
use catalytic_shared::ids::JobId;
use catalytic_shared::job::Failure;
use sqlx::PgConnection;

/// A running job whose worker stopped extending its lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expired {
    pub job: JobId,
    pub attempt: i32,
    pub max_attempts: i32,
}

/// Locks up to `limit` running jobs whose lease is over, oldest expiry first.
/// The locks last until the caller's transaction ends; rows another reaper
/// holds are skipped. Index: `jobs_running_lease` (lease_expires_at WHERE
/// status = 'running'). `now()` is the database's clock (docs/adr/0001-processes.md: time).
pub async fn lock_expired(conn: &mut PgConnection, limit: i64) -> Result<Vec<Expired>, DbError> {
    Ok(sqlx::query_as!(
        Expired,
        r#"SELECT id AS "job: JobId", attempt, max_attempts
           FROM jobs
           WHERE status = 'running' AND lease_expires_at < now()
           ORDER BY lease_expires_at
           LIMIT $1
           FOR UPDATE SKIP LOCKED"#,
        limit,
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// The error of each earlier attempt that ended in a retry (running →
/// queued), oldest first. `transition` stores them as a [`Failure`]'s JSON
/// text; one that does not parse as a `Failure` (written by hand, or by a
/// release that never shipped one) is logged and left out.
pub async fn attempt_errors(conn: &mut PgConnection, job: JobId) -> Result<Vec<Failure>, DbError> {
    let reasons = sqlx::query_scalar!(
        r#"SELECT reason AS "reason!"
           FROM job_transitions
           WHERE job_id = $1 AND from_status = 'running' AND to_status = 'queued'
                 AND reason IS NOT NULL
           ORDER BY id"#,
        job as JobId,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(reasons
        .into_iter()
        .filter_map(|r| match serde_json::from_str(&r) {
            Ok(failure) => Some(failure),
            Err(e) => {
                tracing::warn!(job_id = %job, reason = r, error = %e,
                    "an earlier attempt's error is not a job failure; left out");
                None
            }
        })
        .collect())
}
