//! The worker's batched claims and the relay's `retire_sent` lock the jobs
//! they share in one order (by id), so they wait on each other instead of
//! deadlocking (issue 17: PostgreSQL broke such cycles after its 1 s
//! `deadlock_timeout`, stalling the fleet a second at a time).
//!
//! The cycle is built on purpose: a third session holds job B; a claim batch
//! listing B before A and a mark of A and B both queue up behind it. Locking
//! in array order, the claim would wait on B holding nothing while the mark
//! held A and waited on B; once B is free the claim takes it and waits on A:
//! a deadlock. Locking in id order, the claim holds A first, so the mark
//! waits on A and both finish when B is released.

use crate::harness::{eventually, queued_job, tenant};
use catalytic_scheduler::db::outbox;
use catalytic_shared::db::jobs::{self, Guard, Transitioned};
use catalytic_shared::ids::{JobId, WorkerId};
use catalytic_shared::job::JobState;
use catalytic_shared::testkit::TestDatabase;
use std::time::Duration;

/// Sessions of this test's database waiting on a lock.
async fn lock_waiters(db: &TestDatabase) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .fetch_one(&db.pool)
    .await?)
}

#[tokio::test]
async fn a_claim_batch_and_a_mark_of_the_same_jobs_do_not_deadlock() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let t = tenant(&db.pool).await?;
    let mut ids = [queued_job(&db, t, 3).await?, queued_job(&db, t, 3).await?];
    ids.sort_by_key(|j| j.as_uuid());
    let (a, b) = (ids[0], ids[1]);
    let outbox_ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM job_outbox WHERE job_id = ANY($1) ORDER BY job_id")
            .bind(vec![a.as_uuid(), b.as_uuid()])
            .fetch_all(&db.pool)
            .await?;

    // A's current row version now lies after B's in the heap, so a plan
    // that reads the table in heap order meets B first (in the load this
    // happens by itself: every update moves a row).
    sqlx::query("UPDATE jobs SET updated_at = now() WHERE id = $1")
        .bind(a.as_uuid())
        .execute(&db.pool)
        .await?;

    let mut holder = db.pool.begin().await?;
    sqlx::query("SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE")
        .bind(b.as_uuid())
        .execute(&mut *holder)
        .await?;

    let guard = |job: JobId| Guard {
        job,
        from: JobState::Queued,
        attempt: 1,
    };
    let claim = {
        let pool = db.pool.clone();
        tokio::spawn(async move {
            let mut conn = pool.acquire().await?;
            let guards = [guard(b), guard(a)];
            let lease = Duration::from_secs(30);
            anyhow::Ok(jobs::claim_many(&mut conn, &guards, WorkerId::new(), lease).await?)
        })
    };
    eventually(Duration::from_secs(10), || async {
        Ok((lock_waiters(&db).await? >= 1).then_some(()))
    })
    .await?;
    let mark = {
        let pool = db.pool.clone();
        tokio::spawn(async move {
            let mut conn = pool.acquire().await?;
            anyhow::Ok(outbox::retire_sent(&mut conn, &outbox_ids).await?)
        })
    };
    eventually(Duration::from_secs(10), || async {
        Ok((lock_waiters(&db).await? >= 2).then_some(()))
    })
    .await?;
    holder.rollback().await?;

    let claimed = tokio::time::timeout(Duration::from_secs(10), claim).await???;
    tokio::time::timeout(Duration::from_secs(10), mark).await???;
    assert!(
        claimed
            .iter()
            .all(|c| matches!(c, Transitioned::Applied(_))),
        "both jobs are claimed: {claimed:?}"
    );
    Ok(())
}
