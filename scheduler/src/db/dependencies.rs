//! SQL of the dependency duty (issue 21; scheduler/src/dependencies.rs):
//! which waiting jobs to look at, what their parents say, and the release
//! of those that may run. Cancelling the others goes through the one
//! transition function (`jobs::transition_many`).

use catalytic_shared::db::DbError;
use catalytic_shared::ids::JobId;
use catalytic_shared::job::{JobEvent, JobState};
use sqlx::PgConnection;
use uuid::Uuid;

/// What a waiting job's parents say now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub job: JobId,
    pub attempt: i32,
    pub all_succeeded: bool,
    pub all_finished: bool,
    pub run_on_failure: bool,
    /// The first parent (by id) that failed or was cancelled, and how.
    pub failed_parent: Option<(Uuid, String)>,
}

/// The waiting children of `parents` (a parent's terminal notification).
/// Index: `job_dependencies_parent`.
pub async fn children_of(conn: &mut PgConnection, parents: &[Uuid]) -> Result<Vec<Uuid>, DbError> {
    Ok(sqlx::query_scalar!(
        "SELECT DISTINCT d.child_id FROM job_dependencies d
         JOIN jobs c ON c.id = d.child_id AND c.status = 'waiting'
         WHERE d.parent_id = ANY($1)",
        parents,
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// One page of the sweep: waiting jobs after `after`, in id order. Index:
/// `jobs_waiting`.
pub async fn waiting_after(
    conn: &mut PgConnection,
    after: Uuid,
    limit: i64,
) -> Result<Vec<Uuid>, DbError> {
    Ok(sqlx::query_scalar!(
        "SELECT id FROM jobs WHERE status = 'waiting' AND id > $1 ORDER BY id LIMIT $2",
        after,
        limit,
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Locks those of `jobs` still waiting (skipping any another replica
/// holds) and reads their parents. Call in the transaction that acts on
/// the verdicts.
pub async fn verdicts(conn: &mut PgConnection, jobs: &[Uuid]) -> Result<Vec<Verdict>, DbError> {
    let rows = sqlx::query!(
        r#"WITH c AS MATERIALIZED (
               SELECT id, attempt FROM jobs WHERE id = ANY($1) AND status = 'waiting'
               ORDER BY id FOR UPDATE SKIP LOCKED)
           SELECT c.id AS "id!: JobId", c.attempt AS "attempt!",
                  bool_and(p.status = 'succeeded') AS "all_succeeded!",
                  bool_and(p.status IN ('succeeded', 'failed', 'cancelled')) AS "all_finished!",
                  bool_or(d.run_on_failure) AS "run_on_failure!",
                  (array_agg(p.id ORDER BY p.id)
                       FILTER (WHERE p.status IN ('failed', 'cancelled')))[1] AS failed_parent,
                  (array_agg(p.status::text ORDER BY p.id)
                       FILTER (WHERE p.status IN ('failed', 'cancelled')))[1] AS failed_status
           FROM c
           JOIN job_dependencies d ON d.child_id = c.id
           JOIN jobs p ON p.id = d.parent_id
           GROUP BY c.id, c.attempt"#,
        jobs,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Verdict {
            job: r.id,
            attempt: r.attempt,
            all_succeeded: r.all_succeeded,
            all_finished: r.all_finished,
            run_on_failure: r.run_on_failure,
            failed_parent: r.failed_parent.zip(r.failed_status),
        })
        .collect())
}

/// waiting → queued for `jobs` (`JobState::Waiting.on(JobEvent::Release)`),
/// each with its transition row (`reason`) and its first outbox row, in one
/// statement; the outbox insert's NOTIFY wakes the relay. Returns how many.
pub async fn release(conn: &mut PgConnection, jobs: &[Uuid], reason: &str) -> Result<u64, DbError> {
    if jobs.is_empty() {
        return Ok(0);
    }
    let to = JobState::Waiting.on(JobEvent::Release)?;
    Ok(sqlx::query!(
        "WITH released AS (
             UPDATE jobs SET status = $2::job_status, updated_at = now()
             WHERE id = ANY($1) AND status = 'waiting'
             RETURNING id, tenant_id, attempt, queue_class),
         logged AS (
             INSERT INTO job_transitions (job_id, tenant_id, from_status, to_status, attempt, reason)
             SELECT id, tenant_id, 'waiting', $2::job_status, attempt, $3 FROM released)
         INSERT INTO job_outbox (message_id, job_id, tenant_id, attempt, queue_class)
         SELECT gen_random_uuid(), id, tenant_id, attempt, queue_class FROM released",
        jobs,
        to as JobState,
        reason,
    )
    .execute(&mut *conn)
    .await?
    .rows_affected())
}
