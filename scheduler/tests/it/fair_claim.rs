//! The relay's fair claim under a deep backlog (issue 17): it returns a fair
//! batch bounded by the plans' caps and the batch size, and what it reads
//! does not grow with the backlog. Cost is measured as tuples and buffers
//! the claim's transaction touched (`pg_stat_xact_*`), never as time: the
//! counts are the same on a loaded machine, and the query it replaced,
//! kept here as `OLD_CLAIM`, is shown to exceed the bound.

use catalytic_scheduler::db::outbox::{self, DueMessage};
use catalytic_scheduler::relay::running_caps as caps;
use catalytic_shared::db;
use catalytic_shared::ids::TenantId;
use catalytic_shared::tenant::Plan;
use catalytic_shared::testkit::{self, TestDatabase};
use sqlx::PgPool;
use std::collections::HashMap;

async fn tenant(pool: &PgPool, plan: Plan) -> anyhow::Result<TenantId> {
    let tenant = TenantId::new();
    db::tenants::create(pool, tenant, "t", plan).await?;
    Ok(tenant)
}

fn per_tenant(round: &[DueMessage]) -> HashMap<TenantId, usize> {
    let mut counts = HashMap::new();
    for row in round {
        *counts.entry(row.tenant_id).or_insert(0) += 1;
    }
    counts
}

/// Claims, publishes nothing, retires the round's rows (as a relay round
/// does after the broker's confirms), in one transaction.
async fn round(db: &TestDatabase, limit: i64) -> anyhow::Result<Vec<DueMessage>> {
    let mut tx = db.pool.begin().await?;
    let due = outbox::claim_fair(&mut tx, limit, &caps()).await?;
    let ids: Vec<i64> = due.iter().map(|r| r.id).collect();
    outbox::retire_sent(&mut tx, &ids).await?;
    tx.commit().await?;
    Ok(due)
}

#[tokio::test]
async fn a_deep_backlog_is_claimed_fairly_within_caps_and_batch() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let big = [
        tenant(&db.pool, Plan::Enterprise).await?,
        tenant(&db.pool, Plan::Enterprise).await?,
        tenant(&db.pool, Plan::Enterprise).await?,
    ];
    let busy = tenant(&db.pool, Plan::Enterprise).await?;
    let starters = [
        tenant(&db.pool, Plan::Starter).await?,
        tenant(&db.pool, Plan::Starter).await?,
    ];
    let free = tenant(&db.pool, Plan::Free).await?;
    // `busy` first gets 98 of its 100 slots in the broker, through the
    // relay's own claim and mark.
    testkit::queue_jobs(&db.pool, &[busy], 98).await?;
    assert_eq!(round(&db, 200).await?.len(), 98);
    let all = [big[0], big[1], big[2], busy, starters[0], starters[1], free];
    testkit::queue_jobs(&db.pool, &all, 20_000).await?;
    // The first row of big[0] is cancelled: its job moved on, never claimed.
    sqlx::query(
        "UPDATE jobs SET status = 'cancelled', finished_at = now()
         WHERE id = (SELECT job_id FROM job_outbox WHERE tenant_id = $1 AND sent_at IS NULL
                     ORDER BY id LIMIT 1)",
    )
    .bind(big[0].as_uuid())
    .execute(&db.pool)
    .await?;

    // Free slots: big 100 each, busy 2, starters 5 each, free 2. Turns fill
    // 200 as 62 + 62 + 62 + 2 + 5 + 5 + 2.
    let first = round(&db, 200).await?;
    assert_eq!(first.len(), 200);
    let got = per_tenant(&first);
    for (t, want) in [
        (big[0], 62),
        (big[1], 62),
        (big[2], 62),
        (busy, 2),
        (starters[0], 5),
        (starters[1], 5),
        (free, 2),
    ] {
        assert_eq!(got.get(&t).copied(), Some(want), "{got:?}");
    }
    // Turns: the first seven rows are seven different tenants.
    let firsts: std::collections::HashSet<TenantId> =
        first.iter().take(7).map(|r| r.tenant_id).collect();
    assert_eq!(firsts.len(), 7);
    // Each tenant's oldest rows, in order, skipping the cancelled job.
    let skipped: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM job_outbox o JOIN jobs j ON j.id = o.job_id
         WHERE j.status = 'cancelled' AND o.sent_at IS NULL",
    )
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(skipped, 1, "the cancelled job's row was not claimed");
    for t in all {
        let claimed: Vec<i64> = first
            .iter()
            .filter(|r| r.tenant_id == t)
            .map(|r| r.id)
            .collect();
        // The claimed rows are gone (retired): every live row left comes
        // after them, and they were taken in order.
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT min(o.id) FROM job_outbox o JOIN jobs j ON j.id = o.job_id AND j.status = 'queued'
             WHERE o.tenant_id = $1 AND o.sent_at IS NULL",
        )
        .bind(t.as_uuid())
        .fetch_one(&db.pool)
        .await?;
        assert!(claimed.windows(2).all(|w| w[0] < w[1]), "{claimed:?}");
        assert!(
            claimed.iter().all(|&id| next.is_none_or(|n| id < n)),
            "{t:?} claimed {claimed:?} before its row {next:?}"
        );
    }

    // Now in the broker: big 62 each, busy, starters and free at their caps.
    // Only the big ones have slots left, 38 each.
    let second = round(&db, 200).await?;
    let got = per_tenant(&second);
    assert_eq!(second.len(), 114);
    for t in big {
        assert_eq!(got.get(&t).copied(), Some(38), "{got:?}");
    }
    // Everyone at the cap: nothing.
    assert!(round(&db, 200).await?.is_empty());

    // A running job still counts, a job re-queued under a new attempt (a
    // retry) no longer does, nor does a finished one.
    sqlx::query(
        "UPDATE jobs SET status = 'running' WHERE id IN
             (SELECT id FROM jobs WHERE tenant_id = $1 AND status = 'queued'
                                     AND dispatched_attempt = attempt LIMIT 10)",
    )
    .bind(big[0].as_uuid())
    .execute(&db.pool)
    .await?;
    sqlx::query(
        "UPDATE jobs SET attempt = attempt + 1 WHERE id IN
             (SELECT id FROM jobs WHERE tenant_id = $1 AND status = 'queued'
                                     AND dispatched_attempt = attempt LIMIT 3)",
    )
    .bind(big[1].as_uuid())
    .execute(&db.pool)
    .await?;
    sqlx::query(
        "UPDATE jobs SET status = 'succeeded', result = '{}', finished_at = now() WHERE id IN
             (SELECT id FROM jobs WHERE tenant_id = $1 AND status = 'queued'
                                     AND dispatched_attempt = attempt LIMIT 4)",
    )
    .bind(big[2].as_uuid())
    .execute(&db.pool)
    .await?;
    let third = per_tenant(&round(&db, 200).await?);
    assert_eq!(third.get(&big[0]), None, "{third:?}");
    assert_eq!(third.get(&big[1]).copied(), Some(3), "{third:?}");
    assert_eq!(third.get(&big[2]).copied(), Some(4), "{third:?}");
    assert_eq!(third.len(), 2, "{third:?}");
    db.drop_database().await
}

/// The claim before issue 17, for comparison: it numbered every due row and
/// counted each tenant's queued jobs against the outbox.
const OLD_CLAIM: &str = r"
WITH caps AS (SELECT * FROM unnest($2::text[], $3::int[]) AS c(plan, cap)),
due AS MATERIALIZED (
    SELECT o.id, o.tenant_id, o.run_at,
           row_number() OVER (PARTITION BY o.tenant_id ORDER BY o.run_at, o.id) AS rn
    FROM job_outbox o
    JOIN jobs j ON j.id = o.job_id AND j.status = 'queued' AND j.attempt = o.attempt
    WHERE o.sent_at IS NULL AND o.run_at <= now()),
dispatched AS MATERIALIZED (
    SELECT t.tenant_id,
           (SELECT count(*) FROM jobs j WHERE j.tenant_id = t.tenant_id AND j.status = 'running')
         + (SELECT count(*) FROM jobs j
            JOIN job_outbox s ON s.job_id = j.id AND s.attempt = j.attempt
            WHERE j.tenant_id = t.tenant_id AND j.status = 'queued' AND s.sent_at IS NOT NULL) AS n
    FROM (SELECT DISTINCT tenant_id FROM due) t)
SELECT o.id FROM due
JOIN job_outbox o ON o.id = due.id
JOIN tenants t ON t.id = due.tenant_id
JOIN caps ON caps.plan = t.plan
JOIN dispatched d ON d.tenant_id = due.tenant_id
WHERE due.rn <= caps.cap - d.n
ORDER BY due.rn, due.run_at
LIMIT $1";

/// This connection's counters so far: (tuples read from `jobs` and
/// `job_outbox` by scans and index scans, buffers requested from every
/// relation of the schema). They include counts not yet flushed from
/// earlier transactions (PostgreSQL 15 keeps them pending a while), so a
/// claim's cost is the difference around it.
async fn read_counters(conn: &mut sqlx::PgConnection) -> anyhow::Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT (SELECT COALESCE(sum(COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0)), 0)::int8
                 FROM pg_stat_xact_user_tables WHERE relname IN ('jobs', 'job_outbox')),
                (SELECT COALESCE(sum(pg_stat_get_xact_blocks_fetched(c.oid)), 0)::int8
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public')",
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// What one claim of 200 read: (tuples, buffers, rows claimed), in a
/// transaction that is rolled back.
async fn claim_cost(db: &TestDatabase, old: bool) -> anyhow::Result<(i64, i64, usize)> {
    claim_cost_planned(db, old, false).await
}

/// `claim_cost`, with the claim planned as the relay plans it when
/// `generic` (one generic plan per connection, `Planning::Once`).
async fn claim_cost_planned(
    db: &TestDatabase,
    old: bool,
    generic: bool,
) -> anyhow::Result<(i64, i64, usize)> {
    let mut tx = db.pool.begin().await?;
    if generic {
        // As the relay's connection plans, for this transaction only.
        for (name, value) in db::Planning::ONCE_SETTINGS {
            sqlx::query("SELECT set_config($1, $2, true)")
                .bind(name)
                .bind(value)
                .execute(&mut *tx)
                .await?;
        }
    }
    let (tuples_before, buffers_before) = read_counters(&mut tx).await?;
    let claimed = if old {
        let (plans, limits): (Vec<String>, Vec<i32>) = caps().into_iter().unzip();
        sqlx::query(OLD_CLAIM)
            .bind(200_i64)
            .bind(&plans)
            .bind(&limits)
            .fetch_all(&mut *tx)
            .await?
            .len()
    } else {
        outbox::claim_fair(&mut tx, 200, &caps()).await?.len()
    };
    let (tuples, buffers) = read_counters(&mut tx).await?;
    tx.rollback().await?;
    Ok((tuples - tuples_before, buffers - buffers_before, claimed))
}

#[tokio::test]
async fn what_a_claim_reads_does_not_grow_with_the_backlog() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let mut tenants = Vec::new();
    for _ in 0..8 {
        tenants.push(tenant(&db.pool, Plan::Enterprise).await?);
    }
    // Some of each tenant's slots in the broker, so the in-flight count
    // has something to count.
    testkit::queue_jobs(&db.pool, &tenants, 400).await?;
    assert_eq!(round(&db, 400).await?.len(), 400);

    // Fresh tables (no ANALYZE yet): the plan must already be the bounded one.
    testkit::queue_jobs(&db.pool, &tenants, 2_000).await?;
    let (shallow_tuples, shallow_buffers, claimed) = claim_cost(&db, false).await?;
    assert_eq!(claimed, 200);
    testkit::queue_jobs(&db.pool, &tenants, 18_000).await?;
    let (deep_tuples, deep_buffers, claimed) = claim_cost(&db, false).await?;
    assert_eq!(claimed, 200);
    // The relay plans its statements once (generic plans): bounded too.
    let (generic_tuples, generic_buffers, claimed) = claim_cost_planned(&db, false, true).await?;
    assert_eq!(claimed, 200);
    sqlx::query("ANALYZE").execute(&db.pool).await?;
    let (analysed_tuples, analysed_buffers, _) = claim_cost(&db, false).await?;
    let (analysed_generic_tuples, _, _) = claim_cost_planned(&db, false, true).await?;
    let (old_tuples, old_buffers, old_claimed) = claim_cost(&db, true).await?;
    assert_eq!(old_claimed, 200);
    println!(
        "claim of 200 reads: 2,000 due: {shallow_tuples} tuples / {shallow_buffers} buffers; \
         20,000 due: {deep_tuples} / {deep_buffers}, analysed {analysed_tuples} / {analysed_buffers}, \
         generic plan {generic_tuples} / {generic_buffers} (analysed {analysed_generic_tuples}); \
         the old claim at 20,000: {old_tuples} / {old_buffers}"
    );

    // O(batch + tenants × in-flight): 200 rows and their jobs, 8 tenants'
    // 50 in-flight each, a probe per tenant. 2,000 leaves room for plan
    // details; the old claim read every due row and its job (≥ 40,000).
    const BOUND: i64 = 2_000;
    for (tuples, what) in [
        (shallow_tuples, "2,000 due"),
        (deep_tuples, "20,000 due"),
        (analysed_tuples, "20,000 due, analysed"),
        (generic_tuples, "20,000 due, generic plan"),
        (
            analysed_generic_tuples,
            "20,000 due, analysed, generic plan",
        ),
    ] {
        assert!(tuples < BOUND, "{what}: the claim read {tuples} tuples");
    }
    // Ten times the backlog, about the same reads (a few more index pages
    // for a deeper tree, dead entries of the rows marked sent).
    assert!(
        deep_buffers < shallow_buffers * 3 / 2 + 100,
        "buffers: {shallow_buffers} at 2,000 due, {deep_buffers} at 20,000"
    );
    assert!(
        generic_buffers < shallow_buffers * 3 / 2 + 100,
        "buffers: {shallow_buffers} at 2,000 due, {generic_buffers} at 20,000 with a generic plan"
    );
    assert!(
        analysed_buffers < shallow_buffers * 3 / 2 + 100,
        "buffers: {shallow_buffers} at 2,000 due, {analysed_buffers} at 20,000 analysed"
    );
    // The old claim's buffers stay lowish (it hashed whole tables a page
    // at a time); its tuples are what grew: every due row and its job.
    assert!(
        old_tuples > 40_000,
        "the old claim read {old_tuples} tuples ({old_buffers} buffers)"
    );
    db.drop_database().await
}

/// Issue 17: the relay plans `retire_sent` once per connection, and on a
/// fresh database that plan is made while the tables are empty, then kept
/// as the queue grows. Written as a join on `status = 'queued'`, that plan
/// walked the whole partial index of queued jobs for every batch (1.5 s a
/// round at 25,000 queued). Each job is now reached by its key: retiring 20
/// rows reads about 20 jobs however deep the queue.
#[tokio::test]
async fn retiring_sent_rows_reads_their_own_jobs_under_a_plan_made_on_empty_tables()
-> anyhow::Result<()> {
    use sqlx::Connection;
    let db = TestDatabase::create().await?;
    let mut conn = db.pool.acquire().await?.detach();
    sqlx::query(db::Planning::ONCE_SQL)
        .execute(&mut conn)
        .await?;
    // Planned now, on empty tables (no outbox row has this id).
    outbox::retire_sent(&mut conn, &[-1]).await?;

    let tenants = vec![tenant(&db.pool, Plan::Enterprise).await?];
    testkit::queue_jobs(&db.pool, &tenants, 10_000).await?;
    let rows: Vec<(i64, uuid::Uuid)> =
        sqlx::query_as("SELECT id, job_id FROM job_outbox ORDER BY id LIMIT 20")
            .fetch_all(&db.pool)
            .await?;
    let (ids, job_ids): (Vec<i64>, Vec<uuid::Uuid>) = rows.into_iter().unzip();
    let mut tx = conn.begin().await?;
    let (before, _) = read_counters(&mut tx).await?;
    outbox::retire_sent(&mut tx, &ids).await?;
    let (after, _) = read_counters(&mut tx).await?;
    let (left, dispatched): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM job_outbox WHERE id = ANY($1)),
                (SELECT count(*) FROM jobs WHERE id = ANY($2) AND dispatched_attempt = attempt)",
    )
    .bind(&ids)
    .bind(&job_ids)
    .fetch_one(&mut *tx)
    .await?;
    tx.rollback().await?;
    assert_eq!(
        (left, dispatched),
        (0, 20),
        "every row is gone and its job records its dispatch"
    );
    // 20 outbox rows and 20 jobs (each fetched for the lock and the
    // update): under 200 with room; the whole-index plan read > 10,000.
    assert!(
        after - before < 200,
        "retiring 20 rows read {} tuples with 10,000 queued",
        after - before
    );
    db.drop_database().await
}

/// Issue 17: the relay's claim too is planned once per connection, on a
/// fresh database while the tables are empty. Joined to `jobs` on
/// `status = 'queued'`, that plan walked the whole partial index of queued
/// jobs for each due row it took (200 × the queue); each row's job is now
/// probed by its key.
#[tokio::test]
async fn a_claim_planned_on_empty_tables_reads_only_its_rows_and_jobs() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let mut conn = db.pool.acquire().await?.detach();
    sqlx::query(db::Planning::ONCE_SQL)
        .execute(&mut conn)
        .await?;
    // Planned now, on empty tables.
    assert!(
        outbox::claim_fair(&mut conn, 200, &caps())
            .await?
            .is_empty()
    );

    let tenants = vec![tenant(&db.pool, Plan::Enterprise).await?];
    testkit::queue_jobs(&db.pool, &tenants, 10_000).await?;
    use sqlx::Connection;
    let mut tx = conn.begin().await?;
    let (before, _) = read_counters(&mut tx).await?;
    let claimed = outbox::claim_fair(&mut tx, 200, &caps()).await?.len();
    let (after, _) = read_counters(&mut tx).await?;
    tx.rollback().await?;
    assert!(claimed > 0, "the claim took nothing from 10,000 due rows");
    // Its rows, their jobs, the tenant's in-flight count (none): a few
    // hundred; a walk of the queued index per row reads millions.
    assert!(
        after - before < 2_000,
        "a claim of {claimed} read {} tuples with 10,000 queued",
        after - before
    );
    db.drop_database().await
}
