//! SQL of the dependency duty (issue 21; scheduler/src/dependencies.rs):
//! which waiting jobs to look at, what their parents say, and the release
//! of those that may run. Cancelling the others goes through the one
//! transition function (`jobs::transition_many`).

use catalytic_shared::db::DbError;
use catalytic_shared::ids::{JobId, TenantId};
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
    /// It also has a concurrency key: once its parents allow it, the key's
    /// free slots decide (`fitting`), not the parents alone.
    pub keyed: bool,
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
               SELECT id, attempt, concurrency_key IS NOT NULL AS keyed
               FROM jobs WHERE id = ANY($1) AND status = 'waiting'
               ORDER BY id FOR UPDATE SKIP LOCKED)
           SELECT c.id AS "id!: JobId", c.attempt AS "attempt!", c.keyed AS "keyed!",
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
           GROUP BY c.id, c.attempt, c.keyed"#,
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
            keyed: r.keyed,
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

/// The concurrency keys (tenant, key) of `jobs` (submitted or finished
/// keyed jobs, from `job_slots`).
pub async fn keys_of(
    conn: &mut PgConnection,
    jobs: &[Uuid],
) -> Result<Vec<(TenantId, String)>, DbError> {
    let rows = sqlx::query!(
        r#"SELECT DISTINCT tenant_id AS "tenant_id!: TenantId", concurrency_key AS "key!"
           FROM jobs WHERE id = ANY($1) AND concurrency_key IS NOT NULL"#,
        jobs,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.tenant_id, r.key)).collect())
}

/// Every key with a waiting job (the sweep). Index: `jobs_concurrency`.
pub async fn waiting_keys(conn: &mut PgConnection) -> Result<Vec<(TenantId, String)>, DbError> {
    let rows = sqlx::query!(
        r#"SELECT DISTINCT tenant_id AS "tenant_id!: TenantId", concurrency_key AS "key!"
           FROM jobs WHERE status = 'waiting' AND concurrency_key IS NOT NULL"#,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.tenant_id, r.key)).collect())
}

/// Serialises the releases of one key across replicas until the
/// transaction ends; the count that follows, a statement of its own, sees
/// every release committed before the lock was granted.
pub async fn lock_key(conn: &mut PgConnection, tenant: TenantId, key: &str) -> Result<(), DbError> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::text || '/' || $2, 11))",
        tenant as TenantId,
        key,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The oldest waiting jobs of the key that fit its free slots: while the
/// key's queued and running jobs plus those taken stay within the key's
/// limit: the tenant's stored one (`concurrency_key_limits`, migration
/// 0031) when there is one, else each job's own `max_concurrency`. A
/// lowered limit releases nothing until the busy ones are fewer than it. A
/// job whose parents do not allow it yet (one unfinished, or one failed
/// without `run_on_failure`: the dependency duty cancels those) is passed
/// over. Call under `lock_key`. Index: `jobs_concurrency`, and the stored
/// limits' primary key.
pub async fn fitting(
    conn: &mut PgConnection,
    tenant: TenantId,
    key: &str,
    limit: i64,
) -> Result<Vec<Uuid>, DbError> {
    Ok(sqlx::query_scalar!(
        r#"WITH busy AS (
               SELECT count(*) AS n FROM jobs
               WHERE tenant_id = $1 AND concurrency_key = $2 AND status IN ('queued', 'running')),
           next AS (
               SELECT id, max_concurrency, row_number() OVER (ORDER BY id) AS rn FROM (
                   SELECT id, max_concurrency FROM jobs w
                   WHERE tenant_id = $1 AND concurrency_key = $2 AND status = 'waiting'
                     AND NOT EXISTS (
                         SELECT 1 FROM job_dependencies d JOIN jobs p ON p.id = d.parent_id
                         WHERE d.child_id = w.id
                           AND (p.status NOT IN ('succeeded', 'failed', 'cancelled')
                                OR (p.status <> 'succeeded' AND NOT d.run_on_failure)))
                   ORDER BY id LIMIT $3) w)
           SELECT next.id AS "id!" FROM next, busy
           WHERE busy.n + next.rn <= COALESCE(
               (SELECT s.max_concurrency FROM concurrency_key_limits s
                WHERE s.tenant_id = $1 AND s.concurrency_key = $2),
               next.max_concurrency)
           ORDER BY next.id"#,
        tenant as TenantId,
        key,
        limit,
    )
    .fetch_all(&mut *conn)
    .await?)
}
