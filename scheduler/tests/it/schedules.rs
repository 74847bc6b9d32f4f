//! Firing cron schedules (issue 21): exactly one job per tick with two
//! replicas firing at once, the catch-up policies after a downtime, and
//! the overlap policies while the previous job is unfinished.

use crate::harness::{queued_job, tenant};
use catalytic_scheduler::schedules::{Fired, Schedules};
use catalytic_shared::ids::{JobId, TenantId};
use catalytic_shared::schedule::When;
use catalytic_shared::testkit::TestDatabase;
use chrono::{DateTime, Timelike, Utc};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

fn replica(db: &TestDatabase) -> Schedules {
    Schedules {
        pool: db.pool.clone(),
        poll: Duration::from_millis(100),
        batch: 10,
        exit_before_commit: false,
        hold_before_commit: Duration::ZERO,
    }
}

/// An hourly cron at a minute half an hour away from now, so no tick is
/// within a minute of the test's clock, and its tick `hours_ago` hours
/// back (0: the latest past tick).
fn hourly_far_from_now(hours_ago: i64) -> anyhow::Result<(String, DateTime<Utc>)> {
    let now = Utc::now();
    let minute = (now.minute() + 30) % 60;
    let cron = format!("{minute} * * * *");
    let when = When::parse(&cron, "UTC")?;
    let latest = when
        .after(now - chrono::TimeDelta::minutes(61), 2)
        .into_iter()
        .rfind(|t| *t <= now)
        .ok_or_else(|| anyhow::anyhow!("no tick in the last hour"))?;
    Ok((cron, latest - chrono::TimeDelta::hours(hours_ago)))
}

/// A schedule of `cron` (UTC) whose next tick to fire is `first`.
async fn schedule(
    db: &TestDatabase,
    tenant: TenantId,
    (cron, first): (String, DateTime<Utc>),
    overlap: &str,
    catch_up: &str,
) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    let spec = json!({"lattice": {"sizes": [4, 4]}, "operation": "shortest_path",
                      "params": {"start": [0, 0], "end": [3, 3]}});
    sqlx::query(
        "INSERT INTO schedules (id, tenant_id, name, cron, timezone, template, spec, overlap, catch_up, next_fire_at)
         VALUES ($1, $2, $3, $4, 'UTC', '{}', $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(tenant.as_uuid())
    .bind(format!("s-{id}"))
    .bind(cron)
    .bind(spec)
    .bind(overlap)
    .bind(catch_up)
    .bind(first)
    .execute(&db.pool)
    .await?;
    Ok(id)
}

/// (tick, outcome, job) of every run, oldest tick first.
async fn runs(
    db: &TestDatabase,
    id: Uuid,
) -> anyhow::Result<Vec<(DateTime<Utc>, String, Option<Uuid>)>> {
    Ok(sqlx::query_as(
        "SELECT tick_at, outcome, job_id FROM schedule_runs WHERE schedule_id = $1 ORDER BY tick_at",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?)
}

async fn jobs_of(db: &TestDatabase, tenant: TenantId) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM jobs j JOIN job_outbox o ON o.job_id = j.id WHERE j.tenant_id = $1 AND j.status = 'queued'")
            .bind(tenant.as_uuid())
            .fetch_one(&db.pool)
            .await?,
    )
}

async fn next_fire_at(db: &TestDatabase, id: Uuid) -> anyhow::Result<DateTime<Utc>> {
    Ok(
        sqlx::query_scalar("SELECT next_fire_at FROM schedules WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await?,
    )
}

#[tokio::test]
async fn two_replicas_firing_at_once_submit_one_job_per_tick() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let tenant = tenant(&db.pool).await?;
    // Down for five hours, catching up every tick: six ticks due.
    let id = schedule(&db, tenant, hourly_far_from_now(5)?, "queue", "all").await?;
    let (a, b) = (replica(&db), replica(&db));
    let mut total = Fired::default();
    for _ in 0..5 {
        let (x, y) = tokio::join!(a.run_once(), b.run_once());
        for fired in [x?, y?] {
            total.submitted += fired.submitted;
            total.schedules += fired.schedules;
        }
    }
    let runs = runs(&db, id).await?;
    assert_eq!(runs.len(), 6, "{runs:?}");
    assert_eq!(total.schedules, 1, "one replica fired it, once");
    assert_eq!(total.submitted, runs.len());
    assert!(
        runs.iter()
            .all(|(_, outcome, job)| outcome == "submitted" && job.is_some())
    );
    assert!(
        runs.windows(2)
            .all(|w| (w[1].0 - w[0].0).num_minutes() == 60),
        "every tick once: {runs:?}"
    );
    assert_eq!(
        jobs_of(&db, tenant).await?,
        runs.len() as i64,
        "one queued job (and outbox row) per tick"
    );
    assert!(next_fire_at(&db, id).await? > Utc::now(), "moved past now");
    db.drop_database().await
}

#[tokio::test]
async fn missed_ticks_fire_by_the_catch_up_policy() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let tenant = tenant(&db.pool).await?;
    let none = schedule(&db, tenant, hourly_far_from_now(3)?, "queue", "none").await?;
    let one = schedule(&db, tenant, hourly_far_from_now(3)?, "queue", "one").await?;
    replica(&db).run_once().await?;

    let none_runs = runs(&db, none).await?;
    assert_eq!(none_runs.len(), 1, "{none_runs:?}");
    assert_eq!(
        none_runs[0].1, "missed",
        "the latest tick is half an hour late"
    );
    let one_runs = runs(&db, one).await?;
    let outcomes: Vec<&str> = one_runs.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(outcomes, ["missed", "submitted"], "{one_runs:?}");
    assert!(
        one_runs[1].0 > one_runs[0].0,
        "the latest tick is the one that fires"
    );
    assert_eq!(jobs_of(&db, tenant).await?, 1);
    db.drop_database().await
}

#[tokio::test]
async fn a_tick_over_an_unfinished_job_follows_the_overlap_policy() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let tenant = tenant(&db.pool).await?;
    let mut previous = Vec::new();
    let mut ids = Vec::new();
    for overlap in ["skip", "queue", "cancel_previous"] {
        let id = schedule(&db, tenant, hourly_far_from_now(0)?, overlap, "one").await?;
        let job = queued_job(&db, tenant, 3).await?;
        sqlx::query("UPDATE schedules SET last_job_id = $2 WHERE id = $1")
            .bind(id)
            .bind(job.as_uuid())
            .execute(&db.pool)
            .await?;
        previous.push(job);
        ids.push(id);
    }
    replica(&db).run_once().await?;
    let outcome = |i: usize| {
        let db = &db;
        let id = ids[i];
        async move {
            anyhow::Ok(
                runs(db, id)
                    .await?
                    .into_iter()
                    .map(|r| r.1)
                    .collect::<Vec<_>>(),
            )
        }
    };
    assert_eq!(outcome(0).await?, ["skipped_overlap"]);
    assert_eq!(outcome(1).await?, ["submitted"]);
    assert_eq!(outcome(2).await?, ["submitted"]);
    let status = |job: JobId| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT status::text FROM jobs WHERE id = $1")
                .bind(job.as_uuid())
                .fetch_one(&pool)
                .await
        }
    };
    assert_eq!(status(previous[0]).await?, "queued", "skip leaves it");
    assert_eq!(status(previous[1]).await?, "queued", "queue leaves it");
    assert_eq!(
        status(previous[2]).await?,
        "cancelled",
        "cancel_previous cancels it"
    );
    // A skipped tick still moves the schedule on; the next fire sees the
    // job it skipped for.
    assert!(next_fire_at(&db, ids[0]).await? > Utc::now());
    db.drop_database().await
}

#[tokio::test]
async fn ticks_go_through_the_plans_queue_cap_like_submits() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    // A free tenant (100 queued at most) with 98 queued, and three ticks due.
    let tenant = tenant(&db.pool).await?;
    for _ in 0..98 {
        queued_job(&db, tenant, 3).await?;
    }
    let id = schedule(&db, tenant, hourly_far_from_now(2)?, "queue", "all").await?;
    replica(&db).run_once().await?;
    let outcomes: Vec<String> = runs(&db, id).await?.into_iter().map(|r| r.1).collect();
    assert_eq!(outcomes, ["submitted", "submitted", "refused"]);
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM schedule_runs WHERE schedule_id = $1 AND outcome = 'refused'",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await?;
    assert!(detail.contains("(queued_jobs)"), "{detail}");
    assert_eq!(jobs_of(&db, tenant).await?, 100, "the cap, not one more");
    db.drop_database().await
}
