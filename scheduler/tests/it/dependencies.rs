//! The dependency duty (issue 21): a waiting job is queued (with its
//! outbox row) once every parent succeeded; cancelled, naming the parent,
//! as soon as one fails or is cancelled; with `run_on_failure`, queued once
//! every parent finished whatever the outcome. A cancelled child's own
//! children follow it, and the sweep finds what no notification named.
//! Concurrency keys: at most the key's limit queued or running, the
//! tenant's stored limit over each job's own, a change released at once.

use crate::harness::tenant;
use catalytic_scheduler::dependencies::Dependencies;
use catalytic_shared::db::concurrency_keys;
use catalytic_shared::db::jobs::{self, Change, Concurrency, Guard, NewJob, Parents};
use catalytic_shared::ids::{JobId, TenantId, WorkerId};
use catalytic_shared::job::{Failure, JobState, Usage};
use catalytic_shared::tenant::QueueClass;
use catalytic_shared::testkit::TestDatabase;
use serde_json::json;
use std::time::Duration;

fn duty(db: &TestDatabase) -> Dependencies {
    Dependencies {
        pool: db.pool.clone(),
        sweep: Duration::from_secs(3600),
        batch: 2,
    }
}

/// Stores a job of `tenant` waiting for `parents` (queued when none).
async fn job(
    db: &TestDatabase,
    tenant: TenantId,
    parents: &[JobId],
    run_on_failure: bool,
) -> anyhow::Result<JobId> {
    let new = NewJob {
        id: JobId::new(),
        tenant_id: tenant,
        operation: "shortest_path",
        spec: json!({"lattice": {"sizes": [2]}, "operation": "shortest_path", "params": {"start": [0], "end": [1]}}),
        queue_class: QueueClass::Low,
        max_attempts: 1,
        time_limit: Duration::from_secs(10),
        lattice_id: None,
        run_at: None,
        unique: None,
        parents: (!parents.is_empty()).then(|| Parents {
            ids: parents.to_vec(),
            run_on_failure,
        }),
        concurrency: None,
        result_ttl: None,
        traceparent: None,
    };
    let mut conn = db.pool.acquire().await?;
    let stored = jobs::insert_batch(&mut conn, &[(&new, None)], &[]).await?;
    anyhow::ensure!(stored == [new.id]);
    Ok(new.id)
}

/// Two queued parents and their waiting child.
async fn family(db: &TestDatabase, tenant: TenantId) -> anyhow::Result<(JobId, JobId, JobId)> {
    let a = job(db, tenant, &[], false).await?;
    let b = job(db, tenant, &[], false).await?;
    let child = job(db, tenant, &[a, b], false).await?;
    Ok((a, b, child))
}

/// Runs the job to `outcome` as a worker would.
async fn finish(db: &TestDatabase, job: JobId, succeed: bool) -> anyhow::Result<()> {
    let mut conn = db.pool.acquire().await?;
    let queued = Guard {
        job,
        from: JobState::Queued,
        attempt: 1,
    };
    let claim = Change::Claim {
        worker: WorkerId::new(),
        lease: Duration::from_secs(30),
    };
    jobs::transition(&mut conn, queued, claim).await?;
    let running = Guard {
        job,
        from: JobState::Running,
        attempt: 1,
    };
    let change = match succeed {
        true => Change::Succeed {
            result: json!({"length": 1}),
            usage: Usage::default(),
        },
        false => Change::Fail {
            error: Failure::Invalid {
                message: "no path".into(),
            },
            usage: Usage::default(),
        },
    };
    jobs::transition(&mut conn, running, change).await?;
    Ok(())
}

/// (status, transitions' last reason, outbox rows) of a job.
async fn state(db: &TestDatabase, job: JobId) -> anyhow::Result<(String, Option<String>, i64)> {
    Ok(sqlx::query_as(
        "SELECT j.status::text,
                (SELECT reason FROM job_transitions t WHERE t.job_id = j.id ORDER BY t.id DESC LIMIT 1),
                (SELECT count(*) FROM job_outbox o WHERE o.job_id = j.id)
         FROM jobs j WHERE j.id = $1",
    )
    .bind(job.as_uuid())
    .fetch_one(&db.pool)
    .await?)
}

#[tokio::test]
async fn a_child_is_queued_when_every_parent_succeeded() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let tenant = tenant(&db.pool).await?;
    let (a, b, child) = family(&db, tenant).await?;
    assert_eq!(state(&db, child).await?.0, "waiting");
    assert_eq!(state(&db, child).await?.2, 0, "no message while waiting");

    finish(&db, a, true).await?;
    let settled = duty(&db).settle_children_of(&[a.as_uuid()]).await?;
    assert_eq!(
        (settled.released, settled.cancelled),
        (0, 0),
        "b is still queued"
    );
    assert_eq!(state(&db, child).await?.0, "waiting");

    finish(&db, b, true).await?;
    let settled = duty(&db).settle_children_of(&[b.as_uuid()]).await?;
    assert_eq!(settled.released, 1);
    let (status, reason, outbox) = state(&db, child).await?;
    assert_eq!((status.as_str(), outbox), ("queued", 1));
    assert_eq!(reason.as_deref(), Some("every parent succeeded"));
    db.drop_database().await
}

#[tokio::test]
async fn a_failed_parent_cancels_its_child_and_its_grandchild() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let tenant = tenant(&db.pool).await?;
    let (a, b, child) = family(&db, tenant).await?;
    let grandchild = job(&db, tenant, &[child], false).await?;
    let anyway = job(&db, tenant, &[a, b], true).await?;

    // a fails while b is still queued: the child is cancelled at once;
    // the run-anyway one waits for b.
    finish(&db, a, false).await?;
    duty(&db).sweep_once().await?;
    let (status, reason, _) = state(&db, child).await?;
    assert_eq!(status, "cancelled");
    assert_eq!(reason, Some(format!("parent job {a} failed")));
    assert_eq!(state(&db, anyway).await?.0, "waiting");
    // The grandchild follows its cancelled parent (a second sweep, or the
    // cancel's own notification).
    duty(&db).sweep_once().await?;
    let (status, reason, _) = state(&db, grandchild).await?;
    assert_eq!(status, "cancelled");
    assert_eq!(reason, Some(format!("parent job {child} cancelled")));

    finish(&db, b, true).await?;
    let settled = duty(&db).sweep_once().await?;
    assert_eq!(settled.released, 1);
    assert_eq!(state(&db, anyway).await?.0, "queued");
    // A second sweep finds nothing more to do.
    let again = duty(&db).sweep_once().await?;
    assert_eq!((again.released, again.cancelled), (0, 0));
    db.drop_database().await
}

/// A trivial job of `tenant` on the free plan, not yet stored.
fn free_job(tenant: TenantId) -> anyhow::Result<NewJob> {
    let spec = json!({"lattice": {"sizes": [2]}, "operation": "shortest_path",
                      "params": {"start": [0], "end": [1]}});
    let plan = catalytic_shared::tenant::Plan::Free;
    Ok(NewJob::from_spec(
        tenant,
        plan,
        &serde_json::from_value(spec)?,
        None,
    )?)
}

/// Stores `n` jobs of `tenant` with concurrency key `key` (at most `max`).
async fn keyed(
    db: &TestDatabase,
    tenant: TenantId,
    key: &str,
    max: i32,
    n: usize,
) -> anyhow::Result<Vec<JobId>> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let mut new = free_job(tenant)?;
        new.concurrency = Some(Concurrency {
            key: key.to_owned(),
            max,
        });
        let mut conn = db.pool.acquire().await?;
        jobs::insert_batch(&mut conn, &[(&new, None)], &[]).await?;
        ids.push(new.id);
    }
    Ok(ids)
}

async fn statuses(db: &TestDatabase, jobs: &[JobId]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for job in jobs {
        out.push(state(db, *job).await?.0);
    }
    Ok(out)
}

#[tokio::test]
async fn a_concurrency_key_runs_at_most_its_max_in_submit_order() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let tenant = tenant(&db.pool).await?;
    let k = keyed(&db, tenant, "report", 2, 5).await?;
    let other = keyed(&db, tenant, "other", 1, 1).await?;
    assert!(statuses(&db, &k).await?.iter().all(|s| s == "waiting"));

    // Two replicas filling at once: the key lock keeps it at two.
    let (a, b) = (duty(&db), duty(&db));
    let (first, second) = ([k[0].as_uuid()], [k[1].as_uuid()]);
    let (x, y) = tokio::join!(a.fill_slots_of(&first), b.fill_slots_of(&second));
    assert_eq!(x? + y?, 2);
    assert_eq!(
        statuses(&db, &k).await?,
        ["queued", "queued", "waiting", "waiting", "waiting"]
    );
    assert_eq!(
        statuses(&db, &other).await?,
        ["waiting"],
        "another key is its own"
    );

    // One finishes: the oldest waiting one takes its slot.
    finish(&db, k[0], true).await?;
    assert_eq!(duty(&db).fill_slots_of(&[k[0].as_uuid()]).await?, 1);
    assert_eq!(
        statuses(&db, &k).await?,
        ["succeeded", "queued", "queued", "waiting", "waiting"]
    );
    let (_, reason, outbox) = state(&db, k[2]).await?;
    assert_eq!(
        (reason.as_deref(), outbox),
        (Some("a slot of its concurrency key is free"), 1)
    );
    assert_eq!(
        duty(&db).fill_slots_of(&[k[0].as_uuid()]).await?,
        0,
        "still full"
    );

    // The sweep fills every key with free slots.
    duty(&db).sweep_once().await?;
    assert_eq!(statuses(&db, &other).await?, ["queued"]);
    db.drop_database().await
}

#[tokio::test]
async fn a_keyed_child_waits_for_its_parents_then_for_a_slot() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let tenant = tenant(&db.pool).await?;
    let parent = job(&db, tenant, &[], false).await?;
    // The key's only slot is taken by a job without parents.
    let busy = keyed(&db, tenant, "k", 1, 1).await?;
    let mut child = free_job(tenant)?;
    child.parents = Some(Parents {
        ids: vec![parent],
        run_on_failure: false,
    });
    child.concurrency = Some(Concurrency {
        key: "k".into(),
        max: 1,
    });
    let mut conn = db.pool.acquire().await?;
    jobs::insert_batch(&mut conn, &[(&child, None)], &[]).await?;
    drop(conn);

    let duty = duty(&db);
    duty.sweep_once().await?;
    assert_eq!(statuses(&db, &busy).await?, ["queued"], "the slot's holder");
    assert_eq!(
        state(&db, child.id).await?.0,
        "waiting",
        "its parent is queued"
    );

    // The key's slot frees while the parent still runs: the child still waits.
    finish(&db, busy[0], true).await?;
    duty.fill_slots_of(&[busy[0].as_uuid()]).await?;
    assert_eq!(state(&db, child.id).await?.0, "waiting", "parents first");

    // The parent succeeds: the child takes the free slot.
    finish(&db, parent, true).await?;
    let settled = duty.settle_children_of(&[parent.as_uuid()]).await?;
    assert_eq!(settled.released, 1);
    let (status, reason, outbox) = state(&db, child.id).await?;
    assert_eq!((status.as_str(), outbox), ("queued", 1));
    assert_eq!(
        reason.as_deref(),
        Some("a slot of its concurrency key is free")
    );
    db.drop_database().await
}

/// Stores (or changes) the tenant's limit of `key` as the api does: in a
/// transaction that wakes the release on commit.
async fn store_limit(
    db: &TestDatabase,
    tenant: TenantId,
    key: &str,
    max: i32,
) -> anyhow::Result<()> {
    let mut tx = db.pool.begin().await?;
    concurrency_keys::set(&mut tx, tenant, key, max).await?;
    tx.commit().await?;
    Ok(())
}

/// Polls until exactly the first `n` of `jobs` are queued (and the rest
/// waiting), failing after a deadline: the statuses, for the message.
async fn until_queued(db: &TestDatabase, jobs: &[JobId], n: usize) -> anyhow::Result<()> {
    let want: Vec<&str> = (0..jobs.len())
        .map(|i| if i < n { "queued" } else { "waiting" })
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = statuses(db, jobs).await?;
        if now == want {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "still {now:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_stored_limit_holds_the_key_and_a_raise_releases_at_once() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let tenant = tenant(&db.pool).await?;
    // Each job names 5; the stored limit of 1 is what holds.
    let k = keyed(&db, tenant, "report", 5, 5).await?;
    store_limit(&db, tenant, "report", 1).await?;
    let shutdown = tokio_util::sync::CancellationToken::new();
    // Sweeps once at start (after it LISTENs), then not for an hour: what
    // follows is released by the notification alone.
    let running = tokio::spawn(duty(&db).run(shutdown.clone()));
    until_queued(&db, &k, 1).await?;

    store_limit(&db, tenant, "report", 3).await?;
    until_queued(&db, &k, 3).await?;
    shutdown.cancel();
    running.await?;

    // Lowered: nothing is cancelled, and nothing is released until fewer
    // than 1 are busy.
    let duty = duty(&db);
    store_limit(&db, tenant, "report", 1).await?;
    assert_eq!(duty.fill_slots_of(&[k[0].as_uuid()]).await?, 0);
    assert_eq!(
        statuses(&db, &k).await?,
        ["queued", "queued", "queued", "waiting", "waiting"]
    );
    finish(&db, k[0], true).await?;
    finish(&db, k[1], true).await?;
    assert_eq!(duty.fill_slots_of(&[k[0].as_uuid()]).await?, 0, "2 busy");
    finish(&db, k[2], true).await?;
    assert_eq!(duty.fill_slots_of(&[k[0].as_uuid()]).await?, 1, "none busy");
    assert_eq!(statuses(&db, &k[3..]).await?, ["queued", "waiting"]);

    // Deleted: each job's own 5 applies again.
    let mut tx = db.pool.begin().await?;
    assert_eq!(
        concurrency_keys::delete(&mut tx, tenant, "report").await?,
        Some(1)
    );
    tx.commit().await?;
    assert_eq!(duty.fill_slots_of(&[k[0].as_uuid()]).await?, 1);
    assert_eq!(statuses(&db, &k[3..]).await?, ["queued", "queued"]);
    db.drop_database().await
}

#[tokio::test]
async fn a_stored_limit_overrides_the_max_each_job_named() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let tenant = tenant(&db.pool).await?;
    let other_tenant = crate::harness::tenant(&db.pool).await?;
    let raised = keyed(&db, tenant, "raised", 1, 3).await?;
    let lowered = keyed(&db, tenant, "lowered", 3, 3).await?;
    let own = keyed(&db, tenant, "own", 2, 3).await?;
    let theirs = keyed(&db, other_tenant, "raised", 1, 2).await?;
    store_limit(&db, tenant, "raised", 2).await?;
    store_limit(&db, tenant, "lowered", 1).await?;

    duty(&db).sweep_once().await?;
    assert_eq!(
        statuses(&db, &raised).await?,
        ["queued", "queued", "waiting"],
        "stored 2 over each job's 1"
    );
    assert_eq!(
        statuses(&db, &lowered).await?,
        ["queued", "waiting", "waiting"],
        "stored 1 over each job's 3"
    );
    assert_eq!(
        statuses(&db, &own).await?,
        ["queued", "queued", "waiting"],
        "no stored limit: the jobs' own 2"
    );
    assert_eq!(
        statuses(&db, &theirs).await?,
        ["queued", "waiting"],
        "another tenant's key of the same name keeps its own 1"
    );
    db.drop_database().await
}
