//! SQL of retention pruning (docs/adr/0005-scheduler.md). Each statement touches at most
//! `limit` rows, so a prune never holds long locks or bloats one
//! transaction; the caller loops until a batch comes back short. Rows are
//! picked with `FOR UPDATE SKIP LOCKED`: two scheduler replicas pruning at
//! once split the work. Usage events and webhook messages are billing's and
//! webhooks' to prune (they must outlive invoice finalisation).
//!
//! No index serves the age filters on `jobs.finished_at` and
//! `job_outbox.sent_at` yet: each batch scans. Fine hourly at today's sizes;
//! a partial index is the fix when it is not.

use catalytic_shared::db::DbError;
use sqlx::PgPool;
use std::time::Duration;

/// Replaces the result of succeeded jobs on the fleet's default retention
/// finished more than `age` ago with a summary, `{"pruned": true}` plus the
/// result's `length` and `count` when it had them. The job row stays
/// (docs/adr/0005-scheduler.md: job rows stay, as summaries). Jobs with their own
/// `result_ttl_secs` are `expire_own_results`' to summarise. The api
/// processes are told (`job_erased`), so none answers the full result from
/// its cache of finished jobs afterwards.
pub async fn summarise_results(pool: &PgPool, age: Duration, limit: i64) -> Result<u64, DbError> {
    let pruned = sqlx::query!(
        r#"WITH pruned AS (
               UPDATE jobs SET result = jsonb_strip_nulls(jsonb_build_object(
                       'pruned', true, 'length', result -> 'length', 'count', result -> 'count'))
               WHERE id IN (SELECT id FROM jobs
                            WHERE status = 'succeeded' AND result_ttl_secs IS NULL
                                  AND finished_at < now() - make_interval(secs => $1)
                                  AND NOT (result ? 'pruned')
                            LIMIT $2
                            FOR UPDATE SKIP LOCKED)
               RETURNING id),
           -- The full answer goes with the result it belonged to.
           parts AS (DELETE FROM job_result_parts WHERE job_id IN (SELECT id FROM pruned))
           SELECT count(*) AS "pruned!", notify_jobs_erased(array_agg(id)) AS told FROM pruned"#,
        age.as_secs_f64(),
        limit,
    )
    .fetch_one(pool)
    .await?;
    Ok(u64::try_from(pruned.pruned).unwrap_or(0))
}

/// Deletes finished jobs that finished more than `age` ago (or their own
/// `result_ttl_secs` ago, if longer), as `DELETE /v1/jobs/{id}` deletes
/// one (migrations/0027: their transitions, outbox rows and webhook
/// messages go with them, their usage events stay for billing with the id
/// forgotten), and tells the api processes (`job_erased`). Without this the
/// jobs table grows with every job ever run (issue 17's soak). Rows locked
/// by anyone else (a bulk delete) are skipped, to be seen next round.
pub async fn delete_old_jobs(pool: &PgPool, age: Duration, limit: i64) -> Result<u64, DbError> {
    let deleted = sqlx::query!(
        r#"WITH picked AS MATERIALIZED (
               SELECT id FROM jobs
               WHERE status IN ('succeeded', 'failed', 'cancelled')
                 AND finished_at < now() - make_interval(secs => greatest($1::float8, coalesce(result_ttl_secs, 0)))
               LIMIT $2
               FOR UPDATE SKIP LOCKED),
           gone AS (DELETE FROM jobs j USING picked p WHERE j.id = p.id RETURNING j.id)
           SELECT count(*) AS "deleted!", notify_jobs_erased(array_agg(id)) AS told FROM gone"#,
        age.as_secs_f64(),
        limit,
    )
    .fetch_one(pool)
    .await?;
    Ok(u64::try_from(deleted.deleted).unwrap_or(0))
}

/// Summarises the results of jobs submitted with their own
/// `result_ttl_secs` whose time has come (`result_expires_at`, set when
/// they succeeded), as `summarise_results` does, and tells the api
/// processes. Index: `jobs_result_expires`, which holds only results still
/// due to go, so a pass costs O(due), however many jobs there are.
pub async fn expire_own_results(pool: &PgPool, limit: i64) -> Result<u64, DbError> {
    let pruned = sqlx::query!(
        r#"WITH pruned AS (
               UPDATE jobs SET result = jsonb_strip_nulls(jsonb_build_object(
                       'pruned', true, 'length', result -> 'length', 'count', result -> 'count')),
                   result_expires_at = NULL
               WHERE id IN (SELECT id FROM jobs
                            WHERE result_expires_at < now()
                            ORDER BY result_expires_at
                            LIMIT $1
                            FOR UPDATE SKIP LOCKED)
               RETURNING id),
           -- The full answer goes with the result it belonged to.
           parts AS (DELETE FROM job_result_parts WHERE job_id IN (SELECT id FROM pruned))
           SELECT count(*) AS "pruned!", notify_jobs_erased(array_agg(id)) AS told FROM pruned"#,
        limit,
    )
    .fetch_one(pool)
    .await?;
    Ok(u64::try_from(pruned.pruned).unwrap_or(0))
}

/// Deletes stored result parts (migrations/0029) of attempts that did not
/// succeed: the job failed, was cancelled or re-queued after its worker
/// stored them (a crash between the parts and the outcome). Parts of an
/// attempt still running are its worker's, about to be served.
pub async fn delete_orphan_parts(pool: &PgPool, limit: i64) -> Result<u64, DbError> {
    Ok(sqlx::query!(
        "DELETE FROM job_result_parts
         WHERE (job_id, name) IN (
             SELECT p.job_id, p.name FROM job_result_parts p JOIN jobs j ON j.id = p.job_id
             WHERE j.attempt <> p.attempt OR j.status NOT IN ('succeeded', 'running')
             LIMIT $1
             FOR UPDATE OF p SKIP LOCKED)",
        limit,
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// Deletes the progress rows (migrations/0028) of jobs no longer running
/// at the attempt that wrote them: GET shows none for them anyway.
pub async fn delete_finished_progress(pool: &PgPool, limit: i64) -> Result<u64, DbError> {
    Ok(sqlx::query!(
        "DELETE FROM job_progress
         WHERE job_id IN (SELECT p.job_id FROM job_progress p JOIN jobs j ON j.id = p.job_id
                          WHERE j.status <> 'running' OR j.attempt <> p.attempt
                          LIMIT $1
                          FOR UPDATE OF p SKIP LOCKED)",
        limit,
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// Deletes outbox rows marked sent more than `age` ago. Unsent rows are
/// never touched, whatever their age. Today's relay deletes a row once the
/// broker confirmed it (`outbox::retire_sent`); rows marked sent come from
/// relays before that change (a rolling deploy) and from tests.
pub async fn delete_sent_outbox(pool: &PgPool, age: Duration, limit: i64) -> Result<u64, DbError> {
    Ok(sqlx::query!(
        "DELETE FROM job_outbox
         WHERE id IN (SELECT id FROM job_outbox
                      WHERE sent_at < now() - make_interval(secs => $1)
                      LIMIT $2
                      FOR UPDATE SKIP LOCKED)",
        age.as_secs_f64(),
        limit,
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// Deletes up to `limit` webhook attempts that started more than `age` ago (design
/// §5: 30 days). Index: `webhook_attempts_started`.
pub async fn delete_old_webhook_attempts(
    pool: &PgPool,
    age: Duration,
    limit: i64,
) -> Result<u64, DbError> {
    Ok(sqlx::query!(
        "DELETE FROM webhook_attempts
         WHERE id IN (SELECT id FROM webhook_attempts
                      WHERE started_at < now() - make_interval(secs => $1)
                      LIMIT $2
                      FOR UPDATE SKIP LOCKED)",
        age.as_secs_f64(),
        limit,
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// Deletes refresh tokens past their expiry (refused as expired anyway).
/// Index: `refresh_tokens_expires`.
pub async fn delete_expired_refresh_tokens(pool: &PgPool, limit: i64) -> Result<u64, DbError> {
    Ok(sqlx::query!(
        "DELETE FROM refresh_tokens
         WHERE id IN (SELECT id FROM refresh_tokens WHERE expires_at < now()
                      LIMIT $1 FOR UPDATE SKIP LOCKED)",
        limit,
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// Deletes uniqueness holds that have expired (issue 21, unique jobs): an
/// expired hold answers no submit, and the next submit of its key would
/// take it over anyway. A hold taken over meanwhile is live again and is
/// re-checked under its row lock. Index: `job_unique_keys_expires`.
pub async fn delete_expired_unique_keys(pool: &PgPool, limit: i64) -> Result<u64, DbError> {
    Ok(sqlx::query!(
        "DELETE FROM job_unique_keys
         WHERE (tenant_id, key) IN (SELECT tenant_id, key FROM job_unique_keys
                                    WHERE expires_at <= now()
                                    LIMIT $1 FOR UPDATE SKIP LOCKED)",
        limit,
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// Deletes revocations of access tokens that have expired by now: an expired
/// token is refused without them. Index: `revoked_tokens_expires`.
pub async fn delete_expired_revocations(pool: &PgPool, limit: i64) -> Result<u64, DbError> {
    Ok(sqlx::query!(
        "DELETE FROM revoked_tokens
         WHERE jti IN (SELECT jti FROM revoked_tokens WHERE expires_at < now()
                       LIMIT $1 FOR UPDATE SKIP LOCKED)",
        limit,
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// Deletes lockout rows that no longer change a login's answer: not locked
/// now, and their failure window (`window`, `auth.lockout_window_secs`) is
/// over, so the next failure would start a fresh window anyway
/// (`accounts::record_failure`).
pub async fn delete_stale_lockouts(
    pool: &PgPool,
    window: Duration,
    limit: i64,
) -> Result<u64, DbError> {
    Ok(sqlx::query!(
        "DELETE FROM login_lockouts
         WHERE email IN (SELECT email FROM login_lockouts
                         WHERE (locked_until IS NULL OR locked_until <= now())
                               AND window_started_at < now() - make_interval(secs => $1)
                         LIMIT $2 FOR UPDATE SKIP LOCKED)",
        window.as_secs_f64(),
        limit,
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// Per-address failure counts (issue 20) a day after their last failure,
/// when not locked: a day without guessing forgets the growing lock.
pub async fn delete_stale_login_failures(pool: &PgPool, limit: i64) -> Result<u64, DbError> {
    Ok(sqlx::query!(
        "DELETE FROM login_failures
         WHERE (email, ip) IN (SELECT email, ip FROM login_failures
                               WHERE (locked_until IS NULL OR locked_until <= now())
                                     AND last_failure_at < now() - interval '1 day'
                               LIMIT $1 FOR UPDATE SKIP LOCKED)",
        limit,
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// Mailed tokens (issue 20) a day after they expired, used or not.
pub async fn delete_expired_account_tokens(pool: &PgPool, limit: i64) -> Result<u64, DbError> {
    Ok(sqlx::query!(
        "DELETE FROM account_tokens
         WHERE token_hash IN (SELECT token_hash FROM account_tokens
                              WHERE expires_at < now() - interval '1 day'
                              LIMIT $1 FOR UPDATE SKIP LOCKED)",
        limit,
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// Audit records older than a year (issue 20): the only deletion the
/// table's trigger allows outside a tenant's erasure.
pub async fn delete_old_audit_events(pool: &PgPool, limit: i64) -> Result<u64, DbError> {
    Ok(sqlx::query!(
        "DELETE FROM audit_events
         WHERE id IN (SELECT id FROM audit_events
                      WHERE at < now() - interval '1 year' - interval '1 minute'
                      LIMIT $1 FOR UPDATE SKIP LOCKED)",
        limit,
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// Deletes mail messages (migration 0030) finished, sent or failed, more
/// than `age` ago (`mail.retention_secs`); their attempts go with them
/// (ON DELETE CASCADE). Pending messages are never touched, whatever
/// their age. Index: `mail_messages_finished`.
pub async fn delete_finished_mail(
    pool: &PgPool,
    age: Duration,
    limit: i64,
) -> Result<u64, DbError> {
    Ok(sqlx::query!(
        "DELETE FROM mail_messages
         WHERE id IN (SELECT id FROM mail_messages
                      WHERE status <> 'pending'
                            AND finished_at < now() - make_interval(secs => $1)
                      LIMIT $2
                      FOR UPDATE SKIP LOCKED)",
        age.as_secs_f64(),
        limit,
    )
    .execute(pool)
    .await?
    .rows_affected())
}
