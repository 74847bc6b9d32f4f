//! The autoscaling signal's inputs from PostgreSQL (running jobs per class,
//! the oldest queued job) and the signal itself, stored for the api.

use super::DbError;
use crate::tenant::QueueClass;
use sqlx::PgPool;

/// Per queue class (every one of `QueueClass::ALL`): its running jobs, and
/// the age in seconds of its oldest queued job (0 when none).
///
/// Each class is probed on its own, so the cost is the running jobs (the
/// fleet's size) plus one index entry per class, never the queued backlog:
/// the single scan of queued and running jobs this replaced was one of the
/// statements that collapsed the first soak (issue 17,
/// migrations/0018_queued_counts.sql).
pub async fn running_and_oldest(pool: &PgPool) -> Result<Vec<ClassLoad>, DbError> {
    let classes: Vec<&str> = QueueClass::ALL.iter().map(|c| c.as_str()).collect();
    Ok(sqlx::query_as!(
        ClassLoad,
        r#"SELECT c.class AS "class!",
                  (SELECT count(*) FROM jobs j
                   WHERE j.status = 'running' AND j.queue_class = c.class) AS "running!",
                  COALESCE((SELECT EXTRACT(EPOCH FROM now() - j.created_at)::float8 FROM jobs j
                            WHERE j.status = 'queued' AND j.queue_class = c.class
                            ORDER BY j.created_at LIMIT 1),
                           0) AS "oldest_queued_secs!"
           FROM unnest($1::text[]) AS c(class)"#,
        &classes as &[&str],
    )
    .fetch_all(pool)
    .await?)
}

/// One class's load, as `running_and_oldest` reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassLoad {
    pub class: String,
    pub running: i64,
    pub oldest_queued_secs: f64,
}

/// Jobs that finished (any outcome) in the last `window`, per queue class:
/// the queues' drain rate for the operators' fleet view. Read from the
/// usage events (one per finished job, indexed by `recorded_at`), so the
/// jobs table is not scanned.
pub async fn finished_per_class(
    pool: &PgPool,
    window: std::time::Duration,
) -> Result<Vec<(String, i64)>, DbError> {
    Ok(sqlx::query!(
        r#"SELECT j.queue_class, count(*) AS "n!"
           FROM usage_events u JOIN jobs j ON j.id = u.job_id
           WHERE u.recorded_at > now() - make_interval(secs => $1)
           GROUP BY j.queue_class"#,
        window.as_secs_f64(),
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.queue_class, r.n))
    .collect())
}

/// One row of the signal.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalRow {
    pub class: String,
    pub ready_messages: i64,
    pub running_jobs: i64,
    pub oldest_queued_secs: f64,
    pub desired_workers: i32,
    pub computed_at: chrono::DateTime<chrono::Utc>,
}

pub async fn store(pool: &PgPool, row: &SignalRow) -> Result<(), DbError> {
    sqlx::query!(
        "INSERT INTO scaling_signal (class, ready_messages, running_jobs, oldest_queued_secs, desired_workers, computed_at)
         VALUES ($1, $2, $3, $4, $5, now())
         ON CONFLICT (class) DO UPDATE SET ready_messages = EXCLUDED.ready_messages,
             running_jobs = EXCLUDED.running_jobs, oldest_queued_secs = EXCLUDED.oldest_queued_secs,
             desired_workers = EXCLUDED.desired_workers, computed_at = now()",
        row.class,
        row.ready_messages,
        row.running_jobs,
        row.oldest_queued_secs,
        row.desired_workers,
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn load(pool: &PgPool) -> Result<Vec<SignalRow>, DbError> {
    Ok(sqlx::query_as!(
        SignalRow,
        "SELECT class, ready_messages, running_jobs, oldest_queued_secs, desired_workers, computed_at
         FROM scaling_signal ORDER BY class"
    )
    .fetch_all(pool)
    .await?)
}
