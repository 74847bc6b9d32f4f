//! A job message's way through the worker: computed to `succeeded`, a job
//! that cannot be computed `failed` with its typed error, and a message
//! delivered again after the job ended acked with no second effect.

use crate::harness::{FINISH, Worker};
use catalytic_e2e::wait_until;
use catalytic_shared::job::Failure;
use serde_json::json;
use std::time::Duration;

const TERMINAL_TRANSITIONS: &str = "SELECT count(*) FROM job_transitions WHERE job_id = $1
     AND to_status IN ('succeeded', 'failed', 'cancelled')";
const USAGE_EVENTS: &str = "SELECT count(*) FROM usage_events WHERE job_id = $1";
const WEBHOOK_MESSAGES: &str = "SELECT count(*) FROM webhook_messages WHERE job_id = $1";

#[tokio::test]
async fn a_delivered_job_is_computed_and_succeeds_with_its_result() -> anyhow::Result<()> {
    let worker = Worker::start().await?;
    let (job, _) = worker
        .submit(
            json!({"lattice": {"sizes": [5, 4]}, "operation": "shortest_path",
                   "params": {"start": [0, 0], "end": [4, 3]}}),
            Duration::from_secs(10),
        )
        .await?;

    let (status, attempt, result, error) = worker.wait_terminal(job).await?;
    assert_eq!((status.as_str(), attempt), ("succeeded", 1));
    assert_eq!(error, None);
    let result = result.ok_or_else(|| anyhow::anyhow!("succeeded without a result"))?;
    assert_eq!(result["reachable"], true, "{result}");
    assert_eq!(result["length"], 7, "{result}");
    // The canonical path (docs/adr/0002-lattices.md): each step to the smallest index one closer.
    assert_eq!(
        result["path"],
        json!([
            [0, 0],
            [1, 0],
            [2, 0],
            [3, 0],
            [4, 0],
            [4, 1],
            [4, 2],
            [4, 3]
        ]),
        "{result}"
    );
    assert_eq!(result["engine"], "cpu");
    assert_eq!(worker.count(TERMINAL_TRANSITIONS, job).await?, 1);
    assert_eq!(worker.usage_events(job, true).await?, 1);
    assert_eq!(worker.count(WEBHOOK_MESSAGES, job).await?, 1);
    worker.stop().await
}

#[tokio::test]
async fn a_job_that_cannot_be_computed_fails_with_a_typed_error() -> anyhow::Result<()> {
    let worker = Worker::start().await?;
    // Valid JSON of a job, but `end` is off the lattice: the engine refuses it.
    let (job, _) = worker
        .submit(
            json!({"lattice": {"sizes": [5, 4]}, "operation": "shortest_path",
                   "params": {"start": [0, 0], "end": [4, 9]}}),
            Duration::from_secs(10),
        )
        .await?;

    let (status, attempt, result, error) = worker.wait_terminal(job).await?;
    assert_eq!((status.as_str(), attempt), ("failed", 1), "{error:?}");
    assert_eq!(result, None);
    let error = error.ok_or_else(|| anyhow::anyhow!("failed without an error"))?;
    // The wire shape of docs/api.md ("Job errors"): exactly kind and message.
    let failure: Failure = serde_json::from_value(error.clone())?;
    let Failure::Invalid { message } = &failure else {
        anyhow::bail!("expected an invalid failure, got {error}");
    };
    assert!(!message.is_empty());
    assert_eq!(error, json!({"kind": "invalid", "message": message}));
    // Not billed, and the `job.failed` webhook carries the same error.
    assert_eq!(worker.usage_events(job, false).await?, 1);
    let (payload,): (serde_json::Value,) = sqlx::query_as(
        "SELECT payload FROM webhook_messages WHERE job_id = $1 AND event_type = 'job.failed'",
    )
    .bind(job.as_uuid())
    .fetch_one(&worker.env.db.pool)
    .await?;
    assert_eq!(payload["data"]["error"], error);
    worker.stop().await
}

#[tokio::test]
async fn a_job_past_its_time_limit_fails_with_kind_time_limit() -> anyhow::Result<()> {
    let worker = Worker::start().await?;
    // A million-vertex analysis cannot finish in a millisecond.
    let (job, _) = worker
        .submit(
            json!({"lattice": {"sizes": [1000, 1000], "blocked": {"kind": "seeded", "fraction": 0.2, "seed": 1}},
                   "operation": "analyze", "params": {}}),
            Duration::from_millis(1),
        )
        .await?;

    let (status, _, _, error) = worker.wait_terminal(job).await?;
    assert_eq!(status, "failed");
    let error = error.ok_or_else(|| anyhow::anyhow!("failed without an error"))?;
    let failure: Failure = serde_json::from_value(error.clone())?;
    assert!(
        matches!(failure, Failure::TimeLimit { .. }),
        "expected a time_limit failure, got {error}"
    );
    assert_eq!(error["kind"], "time_limit");
    // The tenant's job used its whole allowance: billed.
    assert_eq!(worker.usage_events(job, true).await?, 1);
    worker.stop().await
}

#[tokio::test]
async fn a_message_of_a_finished_job_is_acked_without_a_second_result() -> anyhow::Result<()> {
    let mut worker = Worker::start().await?;
    let (job, message) = worker
        .submit(
            json!({"lattice": {"sizes": [6, 6, 6]}, "operation": "shortest_path",
                   "params": {"start": [0, 0, 0], "end": [5, 4, 3]}}),
            Duration::from_secs(10),
        )
        .await?;
    let first = worker.wait_terminal(job).await?;
    assert_eq!(first.0, "succeeded");
    let finished: (chrono::DateTime<chrono::Utc>,) =
        sqlx::query_as("SELECT updated_at FROM jobs WHERE id = $1")
            .bind(job.as_uuid())
            .fetch_one(&worker.env.db.pool)
            .await?;

    // The very message again, as a broker redelivery or a relay republish.
    let stale = r#"catalytic_stale_writes_total{transition="claim"}"#;
    let before = worker.metric(stale).await?;
    worker.publish(&message).await?;
    wait_until("the duplicate to be dropped", FINISH, || async {
        Ok((worker.metric(stale).await? > before).then_some(()))
    })
    .await?;
    // Dropped means acked: once the worker has stopped (its channel closed,
    // so an unacked delivery would be back in the queue), nothing is left.
    assert_eq!(worker.sigterm_and_count_left().await?, 0);

    assert_eq!(worker.row(job).await?, first, "the result is written once");
    let again: (chrono::DateTime<chrono::Utc>,) =
        sqlx::query_as("SELECT updated_at FROM jobs WHERE id = $1")
            .bind(job.as_uuid())
            .fetch_one(&worker.env.db.pool)
            .await?;
    assert_eq!(again, finished);
    assert_eq!(worker.count(TERMINAL_TRANSITIONS, job).await?, 1);
    assert_eq!(
        worker
            .count(
                "SELECT count(*) FROM job_transitions WHERE job_id = $1 AND to_status = 'running'",
                job
            )
            .await?,
        1,
        "claimed once"
    );
    assert_eq!(worker.count(USAGE_EVENTS, job).await?, 1);
    assert_eq!(worker.count(WEBHOOK_MESSAGES, job).await?, 1);
    worker.stop().await
}

/// Issue 22: a job that computes for longer than a second reports its
/// progress while it runs (vertices expanded against the estimate), and a
/// cancel still stops it.
#[tokio::test]
async fn a_long_job_reports_its_progress_while_it_runs() -> anyhow::Result<()> {
    let worker = Worker::start_with(&[("CATALYTIC_WORKER__PROGRESS_EVERY_MS", "200")]).await?;
    // 5×10^8 vertices, corner to corner: seconds of work on any machine
    // this runs on, and 128 MB of engine state.
    let (job, message) = worker
        .submit(
            json!({"lattice": {"sizes": [800, 800, 800]}, "operation": "shortest_path",
                   "params": {"start": [0, 0, 0], "end": [799, 799, 799]}}),
            Duration::from_secs(120),
        )
        .await?;
    let reported = || async {
        sqlx::query_as::<_, (i64, i64, String, i32)>(
            "SELECT done, total, unit, attempt FROM job_progress WHERE job_id = $1",
        )
        .bind(job.as_uuid())
        .fetch_optional(&worker.env.db.pool)
        .await
    };
    let first = wait_until("a progress report", FINISH, || async {
        Ok(reported().await?.filter(|(done, ..)| *done > 0))
    })
    .await?;
    let (done, total, unit, attempt) = first.clone();
    assert_eq!((unit.as_str(), attempt), ("vertices", message.attempt));
    assert!(done <= total && total >= 512_000_000, "{first:?}");
    // It keeps moving while the job runs.
    wait_until("a later report", FINISH, || async {
        let (status, ..) = worker.row(job).await?;
        let later = reported().await?.map_or(0, |(d, ..)| d);
        Ok((later > done || status != "running").then_some(()))
    })
    .await?;
    let guard = catalytic_shared::db::jobs::Guard {
        job,
        from: catalytic_shared::job::JobState::Running,
        attempt: message.attempt,
    };
    let cancelled =
        catalytic_shared::db::job_queries::cancel(&worker.env.db.pool, guard, "test").await?;
    let status = wait_until("the end", FINISH, || async {
        let (status, ..) = worker.row(job).await?;
        Ok((status != "running").then_some(status))
    })
    .await?;
    let expected = match cancelled {
        catalytic_shared::db::jobs::Transitioned::Applied(_) => "cancelled",
        catalytic_shared::db::jobs::Transitioned::Stale => "succeeded",
    };
    assert_eq!(status, expected);
    worker.stop().await
}

/// Issue 22: a distance field too large to list inline is stored as a
/// `.npy` part beside the job, listed in its result, and holds exactly the
/// reference search's distances (-1 where unreachable), axis 0 first.
#[tokio::test]
async fn a_field_beyond_the_inline_cap_is_stored_as_a_part() -> anyhow::Result<()> {
    let worker = Worker::start().await?;
    let (sizes, blocked) = ([400u32, 300], vec![401u64, 402, 5_000]);
    let (job, _) = worker
        .submit(
            json!({"lattice": {"sizes": sizes, "blocked": {"kind": "explicit", "indices": blocked}},
                   "operation": "distances", "params": {"source": [3, 2]}}),
            Duration::from_secs(60),
        )
        .await?;
    let (status, _, result, _) = worker.wait_terminal(job).await?;
    assert_eq!(status, "succeeded");
    let result = result.ok_or_else(|| anyhow::anyhow!("no result"))?;
    assert!(
        result.get("field").is_none_or(|f| f.is_null()),
        "not inline"
    );
    let part = &result["parts"][0];
    assert_eq!(part["name"], "field", "{result}");
    assert_eq!(part["dtype"], "<i4");
    assert_eq!(part["shape"], json!([400, 300]));
    assert_eq!(part["url"], format!("/v1/jobs/{job}/result/field"));

    // The stored file, reassembled, against the engine's own search.
    let (dict, data) = worker.stored_part(job, "field").await?;
    assert!(dict.contains("'shape': (400, 300)"), "{dict}");
    assert_eq!(
        part["bytes"].as_u64(),
        Some((dict.len() + 10 + data.len()) as u64)
    );
    let stored: Vec<i64> = data
        .chunks(4)
        .map(|b| i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        .collect();
    let lattice = catalytic_lattice::Lattice::new(sizes.to_vec())?
        .with_blocked(catalytic_lattice::Blocked::Explicit(vec![401, 402, 5_000]))?;
    let source = 3 + 400 * 2;
    let (_, reference) =
        catalytic_lattice::distances_with_field(&lattice, source, &catalytic_lattice::Never)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    let expected: Vec<i64> = reference
        .iter()
        .map(|&d| if d == u32::MAX { -1 } else { i64::from(d) })
        .collect();
    assert_eq!(stored.len(), 120_000);
    assert!(stored == expected, "the stored field is the reference's");
    assert_eq!(stored[401], -1, "blocked");
    assert_eq!(stored[source as usize], 0);
    worker.stop().await
}

/// Issue 22: a transform's output beyond the inline cap is its `data` part,
/// equal to the engine's own output on the same input.
#[tokio::test]
async fn a_transform_output_beyond_the_inline_cap_is_stored_as_a_part() -> anyhow::Result<()> {
    let worker = Worker::start().await?;
    let (job, _) = worker
        .submit(
            json!({"lattice": {"sizes": [400, 400]}, "operation": "transform",
                   "params": {"transform": {"kind": "scale", "factor": 2.0},
                              "data": {"source": "seeded_f32", "seed": 5}}}),
            Duration::from_secs(60),
        )
        .await?;
    let (status, _, result, error) = worker.wait_terminal(job).await?;
    assert_eq!(status, "succeeded", "{error:?}");
    let result = result.ok_or_else(|| anyhow::anyhow!("no result"))?;
    assert!(result.get("data").is_none(), "not inline");
    let part = &result["parts"][0];
    assert_eq!(
        (part["name"].as_str(), part["dtype"].as_str()),
        (Some("data"), Some("<f4")),
        "{result}"
    );
    assert_eq!(part["shape"], json!([400, 400]));
    let (_, data) = worker.stored_part(job, "data").await?;
    let lattice = catalytic_lattice::Lattice::new(vec![400, 400])?;
    let input = catalytic_lattice::generate(&lattice, catalytic_lattice::DataKind::F32, 5);
    let expected = match catalytic_lattice::apply(
        &lattice,
        input,
        &catalytic_lattice::Transform::Scale { factor: 2.0 },
        &catalytic_lattice::Never,
    )?? {
        catalytic_lattice::Data::F32(values) => values,
        other => anyhow::bail!("not f32: {:?}", other.kind()),
    };
    let stored: Vec<f32> = data
        .chunks(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(stored.len(), 160_000);
    assert!(stored == expected, "the stored data is the engine's output");
    worker.stop().await
}

/// Issue 22: a ball of more than 10,000 vertices lists its vertices in the
/// `vertices` part: one row of coordinates per vertex, in index order.
#[tokio::test]
async fn a_ball_beyond_the_inline_cap_stores_its_vertices_as_a_part() -> anyhow::Result<()> {
    let worker = Worker::start().await?;
    let (job, _) = worker
        .submit(
            json!({"lattice": {"sizes": [300, 300]}, "operation": "neighbors",
                   "params": {"center": [150, 150], "radius": 80}}),
            Duration::from_secs(60),
        )
        .await?;
    let (status, _, result, error) = worker.wait_terminal(job).await?;
    assert_eq!(status, "succeeded", "{error:?}");
    let result = result.ok_or_else(|| anyhow::anyhow!("no result"))?;
    let count = result["count"].as_u64().unwrap_or_default();
    assert!(count > 10_000 && result["vertices"].is_null(), "{result}");
    let part = &result["parts"][0];
    assert_eq!(
        (part["name"].as_str(), part["dtype"].as_str()),
        (Some("vertices"), Some("<u4"))
    );
    assert_eq!(part["shape"], json!([count, 2]));
    let (_, data) = worker.stored_part(job, "vertices").await?;
    let coords: Vec<u32> = data
        .chunks(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let rows: Vec<(u32, u32)> = coords.chunks(2).map(|c| (c[0], c[1])).collect();
    assert_eq!(rows.len() as u64, count);
    assert!(
        rows.iter()
            .all(|&(x, y)| x.abs_diff(150) + y.abs_diff(150) <= 80)
    );
    // Ascending vertex index: axis 1, then axis 0.
    assert!(rows.windows(2).all(|w| (w[0].1, w[0].0) < (w[1].1, w[1].0)));
    worker.stop().await
}

/// Issue 22: a batch whose paths pass 100,000 vertices stores them all as
/// `paths` (rows of coordinates) and `path_offsets` (where each starts).
#[tokio::test]
async fn a_batch_beyond_the_inline_cap_stores_its_paths_as_parts() -> anyhow::Result<()> {
    let worker = Worker::start().await?;
    // 250 paths to the far corner, 599 - y vertices each: 118,625 in all.
    let pairs: Vec<_> = (0..250)
        .map(|y| json!({"start": [0, y], "end": [299, 299]}))
        .collect();
    let (job, _) = worker
        .submit(
            json!({"lattice": {"sizes": [300, 300]}, "operation": "batch", "params": {"pairs": pairs}}),
            Duration::from_secs(60),
        )
        .await?;
    let (status, _, result, error) = worker.wait_terminal(job).await?;
    assert_eq!(status, "succeeded", "{error:?}");
    let result = result.ok_or_else(|| anyhow::anyhow!("no result"))?;
    assert_eq!(result["paths_listed"], false);
    let names: Vec<&str> = result["parts"]
        .as_array()
        .map(|p| p.iter().filter_map(|p| p["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["paths", "path_offsets"], "{result}");
    let offsets: Vec<i64> = worker
        .stored_part(job, "path_offsets")
        .await?
        .1
        .chunks(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap_or_default()))
        .collect();
    let coords: Vec<u32> = worker
        .stored_part(job, "paths")
        .await?
        .1
        .chunks(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(offsets.len(), 251);
    assert_eq!(offsets[250], 118_625);
    assert_eq!(offsets[250] as usize * 2, coords.len());
    for (y, w) in offsets.windows(2).enumerate() {
        let (from, to) = (w[0] as usize, w[1] as usize);
        // Manhattan: 299 + (299 - y) edges, one more vertex.
        assert_eq!(to - from, 299 + (299 - y) + 1, "pair {y}");
        assert_eq!((coords[2 * from], coords[2 * from + 1]), (0, y as u32));
        assert_eq!((coords[2 * to - 2], coords[2 * to - 1]), (299, 299));
        assert_eq!(result["results"][y]["length"], 299 + (299 - y));
    }
    worker.stop().await
}
