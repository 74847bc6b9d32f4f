//! A running job's progress (issue 22, migrations/0028_job_progress.sql):
//! written by the worker at most once a second while the engine runs, read
//! with the job by GET and the list (`jobs::get`, `job_queries::list`).

use super::DbError;
use crate::ids::JobId;
use sqlx::PgPool;

/// What a progress report counts in. Vertices expanded, against the
/// operation's estimate (an upper bound: a search that meets its target
/// early finishes below it).
pub const VERTICES: &str = "vertices";

/// What a transform's progress counts in: elements of its data field, which
/// the lattice's transforms report as they handle them (exact: a run ends at
/// its data's size).
pub const ELEMENTS: &str = "elements";

/// Records that `job`, running at `attempt`, has done `done` of `total`.
/// Answers false, writing nothing, when the job is not running at that
/// attempt (not started, finished, cancelled, re-queued).
pub async fn report(
    pool: &PgPool,
    job: JobId,
    attempt: i32,
    done: u64,
    total: u64,
    unit: &str,
) -> Result<bool, DbError> {
    let total = i64::try_from(total).unwrap_or(i64::MAX);
    let done = i64::try_from(done).unwrap_or(i64::MAX).min(total);
    let written = sqlx::query!(
        // The job by its key (fenced by OFFSET 0): planned once on a fresh
        // database, `status = 'running'` chose a walk of every running job
        // (the partial index `jobs_running_lease`; scripts/plans-on-empty.py).
        "INSERT INTO job_progress (job_id, attempt, done, total, unit)
         SELECT id, attempt, $3, $4, $5
         FROM (SELECT id, attempt, status FROM jobs WHERE id = $1 OFFSET 0) j
         WHERE status = 'running' AND attempt = $2
         ON CONFLICT (job_id) DO UPDATE
             SET attempt = EXCLUDED.attempt, done = EXCLUDED.done, total = EXCLUDED.total,
                 unit = EXCLUDED.unit, updated_at = now()",
        job as JobId,
        attempt,
        done,
        total,
        unit,
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(written == 1)
}
