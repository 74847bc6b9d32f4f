//! Running a cheap job through (issue 17, worker/src/run_through.rs): a
//! message carrying a copy of its spec is computed before any claim and
//! recorded as a claim and a success at once; a copy that is not the row's
//! spec falls back to the claim and computes what the row says; a copy
//! delivered again after the job ended has no effect; with running through
//! turned off, the copy is ignored. (Which jobs are cheap enough is
//! `run_through::eligible`'s unit tests.)

use crate::harness::{FINISH, Worker};
use catalytic_e2e::wait_until;
use catalytic_shared::queue::InlineJob;
use serde_json::{Value, json};

const RAN_THROUGH: &str = "catalytic_worker_jobs_run_through_total";
const STALE_RUN_THROUGH: &str = r#"catalytic_stale_writes_total{transition="run_through"}"#;
const STALE_CLAIM: &str = r#"catalytic_stale_writes_total{transition="claim"}"#;
const HISTORY: &str = "SELECT count(*) FROM job_transitions WHERE job_id = $1";

fn path_to(end: [u32; 2]) -> Value {
    json!({"lattice": {"sizes": [5, 4]}, "operation": "shortest_path",
           "params": {"start": [0, 0], "end": end}})
}

fn copy(spec: Value) -> Option<InlineJob> {
    Some(InlineJob {
        spec,
        time_limit_ms: 10_000,
    })
}

#[tokio::test]
async fn a_message_with_its_spec_runs_through_and_a_duplicate_has_no_effect() -> anyhow::Result<()>
{
    let mut worker = Worker::start().await?;
    let spec = path_to([4, 3]);
    let (job, mut message) = worker.insert(spec.clone(), 3, FINISH).await?;
    message.inline = copy(spec);
    worker.publish(&message).await?;
    let (status, attempt, result, _) = worker.wait_terminal(job).await?;
    assert_eq!((status.as_str(), attempt), ("succeeded", 1));
    let result = result.ok_or_else(|| anyhow::anyhow!("succeeded without a result"))?;
    assert_eq!(result["length"], 7, "{result}");
    assert_eq!(worker.metric(RAN_THROUGH).await?, 1.0);
    let history: Vec<(Option<String>, String)> = sqlx::query_as(
        "SELECT from_status::text, to_status::text FROM job_transitions WHERE job_id = $1 ORDER BY id",
    )
    .bind(job.as_uuid())
    .fetch_all(&worker.env.db.pool)
    .await?;
    assert_eq!(
        history,
        vec![
            (Some("queued".into()), "running".into()),
            (Some("running".into()), "succeeded".into())
        ]
    );

    // Delivered again: the run-through is stale, the claim it falls back
    // to is stale too, and the message is acked.
    let before = worker.metric(STALE_CLAIM).await?;
    worker.publish(&message).await?;
    wait_until("the duplicate to be dropped", FINISH, || async {
        Ok((worker.metric(STALE_CLAIM).await? > before).then_some(()))
    })
    .await?;
    assert_eq!(worker.metric(STALE_RUN_THROUGH).await?, 1.0);
    assert_eq!(worker.sigterm_and_count_left().await?, 0);
    assert_eq!(worker.count(HISTORY, job).await?, 2, "recorded once");
    assert_eq!(
        worker
            .count("SELECT count(*) FROM usage_events WHERE job_id = $1", job)
            .await?,
        1
    );
    worker.stop().await
}

#[tokio::test]
async fn a_copy_that_is_not_the_rows_spec_is_not_recorded_and_the_row_is_computed()
-> anyhow::Result<()> {
    let worker = Worker::start().await?;
    let (job, mut message) = worker.insert(path_to([4, 3]), 3, FINISH).await?;
    // A forged (or corrupted) copy: one step instead of seven.
    message.inline = copy(path_to([1, 0]));
    worker.publish(&message).await?;
    let (status, _, result, _) = worker.wait_terminal(job).await?;
    assert_eq!(status, "succeeded");
    let result = result.ok_or_else(|| anyhow::anyhow!("succeeded without a result"))?;
    assert_eq!(result["length"], 7, "the row's spec was computed: {result}");
    assert_eq!(worker.metric(RAN_THROUGH).await?, 0.0);
    assert_eq!(worker.metric(STALE_RUN_THROUGH).await?, 1.0);
    assert_eq!(
        worker.count(HISTORY, job).await?,
        2,
        "claimed, then succeeded"
    );
    worker.stop().await
}

#[tokio::test]
async fn with_run_through_off_a_message_with_its_spec_is_claimed_first() -> anyhow::Result<()> {
    let worker = Worker::start_with(&[("CATALYTIC_WORKER__RUN_THROUGH_MAX_MS", "0")]).await?;
    let spec = path_to([4, 3]);
    let (job, mut message) = worker.insert(spec.clone(), 3, FINISH).await?;
    message.inline = copy(spec);
    worker.publish(&message).await?;
    let (status, ..) = worker.wait_terminal(job).await?;
    assert_eq!(status, "succeeded");
    assert_eq!(worker.metric(RAN_THROUGH).await?, 0.0);
    let claims = worker
        .metric(r#"catalytic_worker_batch_size_sum{write="claim"}"#)
        .await?;
    assert_eq!(claims, 1.0, "the job was claimed");
    assert_eq!(worker.count(HISTORY, job).await?, 2);
    worker.stop().await
}
