//! Issue 22: an elastic compute pool grows while jobs wait for a slot and
//! the host has idle CPU, and shrinks back once slots stand unused; each
//! change is counted.

use crate::harness::{FINISH, Worker};
use catalytic_e2e::wait_until;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_burst_grows_the_pool_and_idleness_shrinks_it() -> anyhow::Result<()> {
    let worker = Worker::start_with(&[
        ("CATALYTIC_WORKER__CONCURRENCY_MIN", "1"),
        ("CATALYTIC_WORKER__CONCURRENCY_MAX", "2"),
        ("CATALYTIC_WORKER__POOL_ADJUST_MS", "100"),
        ("CATALYTIC_WORKER__POOL_IDLE_SECS", "1"),
        // Tests run side by side on two cores: grow on waiting work alone
        // (the idle-CPU rule is pool.rs's unit test).
        ("CATALYTIC_WORKER__POOL_MIN_IDLE_CORES", "0"),
    ])
    .await?;
    let slots = "catalytic_worker_pool_slots";
    wait_until("the pool's first look", FINISH, || async {
        Ok((worker.metric(slots).await? == 1.0).then_some(()))
    })
    .await?;
    // Single-threaded analyses (below the all-cores size): on one slot the
    // next ones wait.
    let mut jobs = Vec::new();
    for seed in 0..6 {
        let (job, message) = worker
            .insert(
                json!({"lattice": {"sizes": [1500, 1500], "blocked": {"kind": "seeded", "fraction": 0.2, "seed": seed}},
                       "operation": "analyze", "params": {}}),
                3,
                Duration::from_secs(120),
            )
            .await?;
        jobs.push((job, message));
    }
    let messages: Vec<_> = jobs.iter().map(|(_, m)| m.clone()).collect();
    worker.publish_all(&messages).await?;
    wait_until("the pool to grow", FINISH, || async {
        Ok((worker.metric(slots).await? >= 2.0).then_some(()))
    })
    .await?;
    for (job, _) in &jobs {
        let (status, ..) = worker.wait_terminal(*job).await?;
        assert_eq!(status, "succeeded");
    }
    wait_until("the pool to shrink back", FINISH, || async {
        Ok((worker.metric(slots).await? == 1.0).then_some(()))
    })
    .await?;
    let grown = worker
        .metric(r#"catalytic_worker_pool_resizes_total{direction="grow"}"#)
        .await?;
    let shrunk = worker
        .metric(r#"catalytic_worker_pool_resizes_total{direction="shrink"}"#)
        .await?;
    assert!(
        grown >= 1.0 && shrunk >= 1.0 && grown - shrunk == 0.0,
        "{grown} {shrunk}"
    );
    worker.stop().await
}
