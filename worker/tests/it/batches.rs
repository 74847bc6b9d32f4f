//! Batched writes through the real worker (issue 17): a burst of jobs is
//! claimed and recorded in fewer statements than jobs, every job ends
//! `succeeded` with its own result, and a duplicate delivered right beside
//! its original changes nothing.

use crate::harness::{FINISH, Worker};
use catalytic_e2e::wait_until;
use serde_json::json;
use std::time::Duration;

const JOBS: usize = 40;

#[tokio::test]
async fn a_burst_is_claimed_and_recorded_in_fewer_statements_than_jobs() -> anyhow::Result<()> {
    // One claim flusher and a deep prefetch: while a claim is in flight the
    // next deliveries are already here and wait for the following statement.
    let worker = Worker::start_with(&[
        ("CATALYTIC_WORKER__CLAIM_FLUSHERS", "1"),
        ("CATALYTIC_WORKER__OUTCOME_FLUSHERS", "1"),
        ("CATALYTIC_AMQP__PREFETCH", "32"),
    ])
    .await?;
    let mut jobs = Vec::with_capacity(JOBS);
    let mut messages = Vec::with_capacity(JOBS + 1);
    for i in 0..JOBS {
        // 1-D lattices of different lengths: each job's result says which it was.
        let size = 2 + i as u64;
        let (job, message) = worker
            .insert(
                json!({"lattice": {"sizes": [size]}, "operation": "shortest_path",
                       "params": {"start": [0], "end": [size - 1]}}),
                3,
                Duration::from_secs(10),
            )
            .await?;
        messages.push(message.clone());
        if i == 0 {
            // The first message twice in a row: its copy arrives with it.
            messages.push(message);
        }
        jobs.push((job, size));
    }
    let stale = r#"catalytic_stale_writes_total{transition="claim"}"#;
    let stale_before = worker.metric(stale).await?;
    worker.publish_all(&messages).await?;

    for &(job, size) in &jobs {
        let (status, attempt, result, error) = worker.wait_terminal(job).await?;
        assert_eq!((status.as_str(), attempt), ("succeeded", 1), "{error:?}");
        let result = result.ok_or_else(|| anyhow::anyhow!("succeeded without a result"))?;
        assert_eq!(
            result["length"],
            json!(size - 1),
            "job of size {size}: {result}"
        );
    }
    // Every delivery's claim was answered (the copy's as stale) before its
    // ack; wait for the copy's, which may come after the last outcome.
    wait_until("the copy's claim to be dropped", FINISH, || async {
        Ok((worker.metric(stale).await? > stale_before).then_some(()))
    })
    .await?;
    assert_eq!(worker.metric(stale).await? - stale_before, 1.0);

    let claims = worker
        .metric(r#"catalytic_worker_batch_size_count{write="claim"}"#)
        .await?;
    let claimed = worker
        .metric(r#"catalytic_worker_batch_size_sum{write="claim"}"#)
        .await?;
    let outcomes = worker
        .metric(r#"catalytic_worker_batch_size_count{write="outcome"}"#)
        .await?;
    let recorded = worker
        .metric(r#"catalytic_worker_batch_size_sum{write="outcome"}"#)
        .await?;
    assert_eq!(claimed, (JOBS + 1) as f64, "every delivery claimed once");
    assert_eq!(recorded, JOBS as f64, "every job's outcome written once");
    eprintln!(
        "{claims} claim statements for {claimed} deliveries, {outcomes} outcome statements for {recorded} jobs"
    );
    assert!(
        claims >= 1.0 && claims < claimed,
        "{claims} claim statements for {claimed} deliveries"
    );
    assert!(
        outcomes >= 1.0 && outcomes <= recorded,
        "{outcomes} outcome statements for {recorded} outcomes"
    );

    // Every delivery acked (some runs by one `multiple` frame), none twice:
    // a double ack would have closed the channel and redelivered the rest.
    let single = worker
        .metric(r#"catalytic_worker_ack_frames_total{frame="single"}"#)
        .await?;
    let multiple = worker
        .metric(r#"catalytic_worker_ack_frames_total{frame="multiple"}"#)
        .await?;
    eprintln!("ack frames: {single} single, {multiple} multiple");
    assert!(single + multiple >= 1.0 && single + multiple <= (JOBS + 1) as f64);
    let mut worker = worker;
    assert_eq!(
        worker.sigterm_and_count_left().await?,
        0,
        "every delivery acked"
    );

    // Exactly one of everything per job; the copy wrote nothing.
    let (transitions, messages, usage): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM job_transitions),
                (SELECT count(*) FROM webhook_messages),
                (SELECT count(*) FROM usage_events)",
    )
    .fetch_one(&worker.env.db.pool)
    .await?;
    assert_eq!(
        transitions,
        2 * JOBS as i64,
        "a claim and a terminal row each"
    );
    assert_eq!((messages, usage), (JOBS as i64, JOBS as i64));
    worker.stop().await
}
