//! The adaptive prefetch through the real worker (issue 17, worker/src/prefetch.rs):
//! a stream of trivial jobs grows the prefetch past its floor, consumers
//! are re-made under it while deliveries are in flight, and still every job
//! ends `succeeded` once with its own result and every delivery is acked;
//! a few slow ones bring the prefetch back to the floor.

use crate::harness::{FINISH, Worker};
use catalytic_e2e::wait_until;
use serde_json::json;
use std::time::Duration;

const JOBS: usize = 400;
const PREFETCH: &str = "catalytic_worker_prefetch";

#[tokio::test]
async fn trivial_jobs_grow_the_prefetch_and_slow_ones_shrink_it() -> anyhow::Result<()> {
    let worker = Worker::start_with(&[
        ("CATALYTIC_AMQP__PREFETCH", "4"),
        ("CATALYTIC_WORKER__PREFETCH_MAX", "64"),
        ("CATALYTIC_WORKER__CONCURRENCY", "2"),
    ])
    .await?;
    wait_until("the worker to consume", FINISH, || async {
        Ok((worker.metric(PREFETCH).await? == 4.0).then_some(()))
    })
    .await?;

    let mut jobs = Vec::with_capacity(JOBS);
    let mut messages = Vec::with_capacity(JOBS);
    for i in 0..JOBS {
        // 1-D lattices of different lengths: each job's result says which it was.
        let size = 2 + (i % 50) as u64;
        let (job, message) = worker
            .insert(
                json!({"lattice": {"sizes": [size]}, "operation": "shortest_path",
                       "params": {"start": [0], "end": [size - 1]}}),
                3,
                Duration::from_secs(10),
            )
            .await?;
        messages.push(message);
        jobs.push((job, size));
    }
    // One burst, more than the floor's prefetch gets through before the
    // first retune (a second after the first compute): the consumers are
    // re-made while deliveries are in flight.
    worker.publish_all(&messages).await?;
    wait_until("the prefetch to grow", FINISH, || async {
        Ok((worker.metric(PREFETCH).await? > 4.0).then_some(()))
    })
    .await?;
    for &(job, size) in &jobs {
        let (status, attempt, result, error) = worker.wait_terminal(job).await?;
        assert_eq!((status.as_str(), attempt), ("succeeded", 1), "{error:?}");
        let result = result.ok_or_else(|| anyhow::anyhow!("succeeded without a result"))?;
        assert_eq!(result["length"], json!(size - 1), "size {size}: {result}");
    }
    let grown = worker.metric(PREFETCH).await?;
    assert!(grown > 4.0 && grown <= 64.0, "prefetch {grown}");

    // Jobs that compute for far longer than trivial ones: shortest paths
    // across 4 million vertices, tens of milliseconds each even here. The
    // estimate moves 1/16 of the way per job; eight of them take it past
    // the 10 ms at which the target is the floor (2 slots × 20 ms ÷ 10 ms).
    let mut slow = Vec::new();
    for _ in 0..8 {
        let (job, _) = worker
            .submit(
                json!({"lattice": {"sizes": [2000, 2000]}, "operation": "shortest_path",
                       "params": {"start": [0, 0], "end": [1999, 1999]}}),
                Duration::from_secs(60),
            )
            .await?;
        slow.push(job);
    }
    for job in &slow {
        let (status, _, _, error) = worker.wait_terminal(*job).await?;
        assert_eq!(status, "succeeded", "{error:?}");
    }
    wait_until("the prefetch to come back to its floor", FINISH, || async {
        Ok((worker.metric(PREFETCH).await? == 4.0).then_some(()))
    })
    .await?;

    // Every delivery acked once (a double ack would close the channel and
    // redeliver the rest), and exactly one claim and one outcome per job.
    let mut worker = worker;
    assert_eq!(
        worker.sigterm_and_count_left().await?,
        0,
        "every delivery acked"
    );
    let (transitions, usage): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM job_transitions), (SELECT count(*) FROM usage_events)",
    )
    .fetch_one(&worker.env.db.pool)
    .await?;
    assert_eq!(transitions, 2 * (JOBS as i64 + 8));
    assert_eq!(usage, JOBS as i64 + 8);
    worker.stop().await
}
