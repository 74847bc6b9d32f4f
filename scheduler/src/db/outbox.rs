//! The job outbox, the relay's side: rows written with the job in the
//! submit transaction (or by a retry; `catalytic_shared::db::outbox::insert`),
//! claimed by the relay leader, and deleted only after the broker
//! confirmed them (`retire_sent`): a row in this table is a message still to
//! publish, so the table stays as small as the backlog.
//!
//! `sent_at` is what relays before issue 17's outbox change set instead of
//! deleting: every claim still reads only rows with `sent_at IS NULL`, so
//! old and new relays can share a rolling deploy, and retention deletes
//! rows marked sent (`retention::delete_sent_outbox`). Tests mark rows sent
//! to keep the relay off a message they publish themselves.

use catalytic_shared::db::DbError;
use catalytic_shared::ids::{JobId, MessageId, TenantId};
use catalytic_shared::job::{JobEvent, JobState};
use catalytic_shared::queue::INLINE_SPEC_MAX_BYTES;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// A due, unsent row, claimed (row-locked) by the caller's transaction.
#[derive(Debug, Clone)]
pub struct DueMessage {
    pub id: i64,
    pub message_id: MessageId,
    pub job_id: JobId,
    pub tenant_id: TenantId,
    pub attempt: i32,
    pub queue_class: String,
    pub run_at: DateTime<Utc>,
    /// The job's trace (issue 23): the relay's publish span continues it.
    pub traceparent: Option<String>,
    /// The job's spec when it is at most `INLINE_SPEC_MAX_BYTES`, copied
    /// into the message so a worker may run the job through (issue 17).
    pub inline_spec: Option<serde_json::Value>,
    pub time_limit_ms: i64,
}

/// Tries to become the publishing relay: a session advisory lock, held
/// for as long as `conn` lives. One relay publishes at a time, so the
/// per-tenant gate below sees every in-flight message; replicas stay for
/// availability and take over when the leader's session ends. `conn` must
/// not go back to a pool (detach it): the lock would go with it.
///
/// A session lock, not a lock per round: a round is then two statements
/// (claim, mark) instead of seven (BEGIN, lock, supersede, claim, mark,
/// COMMIT, lag), and the relay ran a round per job (issue 8's profile).
pub async fn try_lead(conn: &mut PgConnection) -> Result<bool, DbError> {
    Ok(
        sqlx::query_scalar!(r#"SELECT pg_try_advisory_lock(7361) AS "led!""#)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Queues up to `limit` scheduled jobs whose `run_at` has come (issue 21):
/// each moves to `queued` (`JobState::Scheduled.on(JobEvent::Due)`, the one
/// transition table), its transition is logged, and its first outbox row is
/// written, in one statement; the outbox insert's NOTIFY wakes the next
/// round. A job with a concurrency key moves to `waiting` instead
/// (`JobEvent::DueHeld`) without an outbox row, and the dependency duty is
/// told (`job_slots`), which releases it when its key has a free slot.
/// `FOR UPDATE SKIP LOCKED` and the status guard keep a job that a cancel
/// holds (or took) out of it. Returns how many were queued.
pub async fn promote_due(conn: &mut PgConnection, limit: i64) -> Result<u64, DbError> {
    let to = JobState::Scheduled.on(JobEvent::Due)?;
    let held = JobState::Scheduled.on(JobEvent::DueHeld)?;
    Ok(sqlx::query!(
        "WITH due AS (
             SELECT id FROM jobs WHERE status = 'scheduled' AND run_at <= now()
             ORDER BY run_at LIMIT $1 FOR UPDATE SKIP LOCKED),
         promoted AS (
             UPDATE jobs j SET status = CASE WHEN j.concurrency_key IS NULL THEN $2::job_status
                                             ELSE $3::job_status END,
                               updated_at = now()
             FROM due WHERE j.id = due.id AND j.status = 'scheduled'
             RETURNING j.id, j.tenant_id, j.attempt, j.queue_class, j.status),
         logged AS (
             INSERT INTO job_transitions (job_id, tenant_id, from_status, to_status, attempt, reason)
             SELECT id, tenant_id, 'scheduled', status, attempt,
                    CASE WHEN status = $2::job_status THEN 'run_at reached'
                         ELSE 'run_at reached; waiting for a slot of its concurrency key' END
             FROM promoted),
         -- A keyed job waits for its key's slot: the dependency duty is told
         -- (as at a keyed submit) and releases it when the key has room.
         held AS MATERIALIZED (
             SELECT count(pg_notify('job_slots', id::text)) AS told
             FROM promoted WHERE status = $3::job_status),
         queued AS (
             INSERT INTO job_outbox (message_id, job_id, tenant_id, attempt, queue_class)
             SELECT gen_random_uuid(), id, tenant_id, attempt, queue_class
             FROM promoted WHERE status = $2::job_status
             RETURNING 1)
         -- Both read in the select list: a CTE joined to an empty side
         -- would never run, and a lone keyed job would go untold.
         SELECT (SELECT count(*) FROM queued) AS \"queued!\", (SELECT told FROM held) AS \"told!\"",
        limit,
        to as JobState,
        held as JobState,
    )
    .fetch_one(&mut *conn)
    .await?
    .queued
    .try_into()
    .unwrap_or(0))
}

/// Deletes the due rows whose job is no longer queued at that attempt
/// (cancelled, failed, or re-queued under a newer attempt): publishing them
/// could only produce a stale claim. Returns how many. `claim_fair` skips
/// such rows itself; this is housekeeping (the lag gauge counts due rows,
/// and a claim walks past the stale rows at a tenant's head).
///
/// Only the first `per_tenant` due rows of each tenant are looked at: those
/// are the rows a claim can reach, and the oldest due row (the lag) is one
/// of them. A stale row deeper in a backlog is handled once it comes that
/// near the head. So this costs O(tenants × `per_tenant`) per call, not
/// O(backlog): it runs every poll interval, and over all due rows it took
/// ~190 ms with 75,000 due (issue 17).
pub async fn supersede_stale(conn: &mut PgConnection, per_tenant: i64) -> Result<u64, DbError> {
    Ok(sqlx::query!(
        "WITH RECURSIVE unsent (tenant_id) AS (
             (SELECT o.tenant_id FROM job_outbox o
              WHERE o.sent_at IS NULL ORDER BY o.tenant_id LIMIT 1)
             UNION ALL
             SELECT (SELECT o.tenant_id FROM job_outbox o
                     WHERE o.sent_at IS NULL AND o.tenant_id > u.tenant_id
                     ORDER BY o.tenant_id LIMIT 1)
             FROM unsent u WHERE u.tenant_id IS NOT NULL),
         stale AS MATERIALIZED (
             SELECT h.id FROM unsent u
             CROSS JOIN LATERAL (
                 SELECT o.id,
                        (SELECT j.status = 'queued' AND j.attempt = o.attempt
                         FROM jobs j WHERE j.id = o.job_id) AS live
                 FROM job_outbox o
                 WHERE o.tenant_id = u.tenant_id AND o.sent_at IS NULL AND o.run_at <= now()
                 ORDER BY o.run_at, o.id
                 LIMIT $1) h
             WHERE u.tenant_id IS NOT NULL AND h.live IS NOT TRUE)
         DELETE FROM job_outbox o
         WHERE o.id = ANY(ARRAY(SELECT id FROM stale)) AND o.sent_at IS NULL",
        per_tenant
    )
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Up to `limit` due rows, fairly (issue 5, docs/adr/0001-processes.md): a tenant's rows are
/// taken only while it has free running slots, i.e. while its running jobs
/// plus its messages already in the broker stay under its plan's
/// `running_at_once`; and tenants take turns (each tenant's first row, then
/// each one's second, ...), so one tenant's backlog cannot fill the queue.
/// `caps` maps plan names to their running caps (the plan table stays in Rust).
/// Rows whose job moved on (see `supersede_stale`) are never taken.
/// Call as the relay leader (`try_lead`).
///
/// Cost (issue 17): O(tenants with unsent rows × (their in-flight jobs +
/// `limit`)), whatever the backlog behind them. It used to number every due
/// row and join every queued job of a tenant to the outbox, so a round took
/// 1–3 s with 10,000 rows due and a burst drained in quadratic time. Now:
///
/// 1. `unsent`: the tenants with unsent rows, by a loose index scan (one
///    probe of `job_outbox_tenant_unsent` per tenant, recursive CTE).
/// 2. `open`: each one's free slots, its cap minus its in-flight jobs
///    counted in `jobs_in_flight` (running, or queued with this attempt's
///    message in the broker: `dispatched_attempt`, set by `retire_sent`),
///    the count stopped at the cap.
/// 3. `first`: from each open tenant, its first due rows by the same index
///    (the job joined to skip stale rows), as many as a fair share needs:
///    `take` = ⌈limit / open tenants⌉ (and at most its free slots). When
///    those fill the round, every row of a later turn would sort after
///    them: the result is exactly the old one's.
/// 4. `more`: only when they do not (tenants short of due rows), each
///    tenant's rows after its first `take`, up to its free slots. A one-time
///    filter: not run at all otherwise. (It repeats `first`'s fetch with
///    other bounds: a CTE takes no parameters, and a function in the
///    schema would hide the plan from this file.)
///
/// Each row's job is probed by its key (a LATERAL fenced by `OFFSET 0`, as
/// in `retire_sent`): as a join on `status = 'queued'`, the relay's plan,
/// made once on a fresh database's nearly empty tables, walked the whole
/// partial index of queued jobs for every due row until its replan.
///
/// The CTEs are MATERIALIZED: inlined, the planner may evaluate a count or
/// a per-tenant fetch once per row of something larger (seen on fresh
/// tables without statistics: 10,000 due rows, a 3-minute round; the
/// plans this relies on are pinned by scheduler/tests/it/fair_claim.rs).
pub async fn claim_fair(
    conn: &mut PgConnection,
    limit: i64,
    caps: &[(String, i32)],
) -> Result<Vec<DueMessage>, DbError> {
    let plans: Vec<String> = caps.iter().map(|(p, _)| p.clone()).collect();
    let limits: Vec<i32> = caps.iter().map(|(_, c)| *c).collect();
    Ok(sqlx::query_as!(
        DueMessage,
        r#"WITH RECURSIVE caps AS (SELECT * FROM unnest($2::text[], $3::int[]) AS c(plan, cap)),
           unsent (tenant_id) AS (
               (SELECT o.tenant_id FROM job_outbox o
                WHERE o.sent_at IS NULL ORDER BY o.tenant_id LIMIT 1)
               UNION ALL
               SELECT (SELECT o.tenant_id FROM job_outbox o
                       WHERE o.sent_at IS NULL AND o.tenant_id > u.tenant_id
                       ORDER BY o.tenant_id LIMIT 1)
               FROM unsent u WHERE u.tenant_id IS NOT NULL),
           open AS MATERIALIZED (
               SELECT u.tenant_id,
                      least(caps.cap - (SELECT count(*) FROM (
                                            SELECT 1 FROM jobs j
                                            WHERE j.tenant_id = u.tenant_id
                                              AND (j.status = 'running'
                                                   OR (j.status = 'queued' AND j.dispatched_attempt = j.attempt))
                                            LIMIT caps.cap) f),
                            $1::bigint) AS most
               FROM unsent u
               JOIN tenants t ON t.id = u.tenant_id
               JOIN caps ON caps.plan = t.plan),
           share AS MATERIALIZED (
               SELECT ($1::bigint + count(*) - 1) / greatest(count(*), 1) AS take
               FROM open WHERE most > 0),
           first AS MATERIALIZED (
               SELECT p.* FROM open e CROSS JOIN share
               CROSS JOIN LATERAL (
                   SELECT o.id, o.message_id, o.job_id, o.tenant_id, o.attempt, o.queue_class, o.run_at,
                          j.traceparent, CASE WHEN pg_column_size(j.spec) <= $4 THEN j.spec END AS inline_spec,
                          j.time_limit_ms, row_number() OVER (ORDER BY o.run_at, o.id) AS rn
                   FROM job_outbox o
                   CROSS JOIN LATERAL (
                       SELECT status, attempt, traceparent, spec, time_limit_ms
                       FROM jobs WHERE id = o.job_id OFFSET 0) j
                   WHERE o.tenant_id = e.tenant_id AND o.sent_at IS NULL AND o.run_at <= now()
                     AND j.status = 'queued' AND j.attempt = o.attempt
                   ORDER BY o.run_at, o.id
                   LIMIT least(e.most, share.take)) p
               WHERE e.most > 0),
           more AS MATERIALIZED (
               SELECT p.* FROM open e CROSS JOIN share
               CROSS JOIN LATERAL (
                   SELECT o.id, o.message_id, o.job_id, o.tenant_id, o.attempt, o.queue_class, o.run_at,
                          j.traceparent, CASE WHEN pg_column_size(j.spec) <= $4 THEN j.spec END AS inline_spec,
                          j.time_limit_ms, row_number() OVER (ORDER BY o.run_at, o.id) AS rn
                   FROM job_outbox o
                   CROSS JOIN LATERAL (
                       SELECT status, attempt, traceparent, spec, time_limit_ms
                       FROM jobs WHERE id = o.job_id OFFSET 0) j
                   WHERE o.tenant_id = e.tenant_id AND o.sent_at IS NULL AND o.run_at <= now()
                     AND j.status = 'queued' AND j.attempt = o.attempt
                   ORDER BY o.run_at, o.id
                   OFFSET share.take LIMIT e.most - share.take) p
               WHERE e.most > share.take AND (SELECT count(*) FROM first) < $1::bigint)
           SELECT c.id AS "id!", c.message_id AS "message_id!: MessageId", c.job_id AS "job_id!: JobId",
                  c.tenant_id AS "tenant_id!: TenantId", c.attempt AS "attempt!",
                  c.queue_class AS "queue_class!", c.run_at AS "run_at!", c.traceparent,
                  c.inline_spec, c.time_limit_ms AS "time_limit_ms!"
           FROM (SELECT * FROM first UNION ALL SELECT * FROM more) c
           ORDER BY c.rn, c.run_at, c.id
           LIMIT $1::bigint"#,
        limit,
        &plans,
        &limits,
        INLINE_SPEC_MAX_BYTES,
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Deletes the broker-confirmed rows and, in the same statement, records
/// on each job still queued at that attempt that its message is in the
/// broker (`dispatched_attempt`): that is what puts it in `jobs_in_flight`,
/// the index the fairness gate counts (issue 17). One statement per batch;
/// the jobs are locked in id order, as the worker's batches lock them
/// (`catalytic_shared::db::jobs`), so the two never deadlock.
///
/// Every job is reached by its primary key, one probe per sent row (the
/// LATERAL, fenced by `OFFSET 0` so no condition on `status` is pushed
/// into it), and the UPDATE matches on the id alone (the locked row cannot
/// have changed). Written as a join on `status = 'queued'`, a generic plan
/// made before the tables had statistics walked the whole partial index of
/// queued jobs (`jobs_queued_class_created`) for every batch: 1.5 s per
/// round at 25,000 queued, which capped the relay at ~100 jobs/s under a
/// backlog (docs/benchmarks.md, "Plans made on an empty database").
///
/// Deleted, not marked sent (as until 2026-12-07, as `mark_sent`): an update
/// of `sent_at` wrote a new row version and an entry in each of the table's
/// three full indexes per job, and the rows then stayed a day for retention
/// to delete (86 million a day at 1,000 jobs/s); a delete only stamps the
/// row (docs/benchmarks.md, "The outbox keeps only what is to publish").
pub async fn retire_sent(conn: &mut PgConnection, ids: &[i64]) -> Result<(), DbError> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "WITH sent AS (
             DELETE FROM job_outbox WHERE id = ANY($1) RETURNING job_id, attempt),
         locked AS MATERIALIZED (
             SELECT j.id, s.attempt
             FROM (SELECT job_id, attempt FROM sent ORDER BY job_id) s
             CROSS JOIN LATERAL (
                 SELECT id, status, attempt FROM jobs WHERE id = s.job_id OFFSET 0 FOR UPDATE) j
             WHERE j.status = 'queued' AND j.attempt = s.attempt)
         UPDATE jobs j SET dispatched_attempt = l.attempt
         FROM locked l
         WHERE j.id = l.id",
        ids
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Seconds since the oldest due, unsent row became due (0 when none): the
/// relay-lag signal alerts watch.
pub async fn lag_seconds(conn: &mut PgConnection) -> Result<f64, DbError> {
    let lag = sqlx::query_scalar!(
        r#"SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(run_at))::float8, 0) AS "lag!"
           FROM job_outbox WHERE sent_at IS NULL AND run_at <= now()"#
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(lag.max(0.0))
}
