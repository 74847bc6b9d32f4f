//! Issue 17: a finished job is answered from its `job_done` notification
//! (the row travels in the payload) instead of another read, and the answer
//! is the read's, byte for byte. A second api process with the cache off
//! (`api.job_cache_entries = 0`) gives the read's answer to compare with.

use crate::harness::{TestApp, spawn_app};
use crate::jobs_lifecycle::{claim, transition};
use crate::limit_metrics::sample;
use catalytic_shared::db::jobs::{Change, Transitioned};
use catalytic_shared::job::{Failure, JobState, Usage};
use catalytic_shared::tenant::Plan;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

pub(crate) fn cache_hits(path: &str) -> anyhow::Result<f64> {
    Ok(sample(&format!(
        "catalytic_job_cache_hits_total{{path=\"{path}\"}}"
    ))?
    .unwrap_or(0.0))
}

/// The api with its cache, and a sibling that always reads.
pub(crate) struct Pair {
    pub(crate) app: TestApp,
    /// An enterprise tenant's key (the free plan's 60 requests a minute
    /// would bind before the test ends).
    pub(crate) key: String,
    pub(crate) reader: String,
    stop: CancellationToken,
}

pub(crate) async fn pair() -> anyhow::Result<Pair> {
    let app = spawn_app().await?;
    let key = app.new_tenant_key(Plan::Enterprise).await?;
    let mut settings = app.settings.clone();
    settings.api.job_cache_entries = 0;
    let (reader, stop) = app.spawn_sibling_with(settings).await?;
    Ok(Pair {
        app,
        key,
        reader,
        stop,
    })
}

impl Pair {
    pub(crate) async fn get(
        &self,
        base: &str,
        key: &str,
        path: &str,
    ) -> anyhow::Result<(u16, String)> {
        let response = self
            .app
            .http
            .get(format!("{base}{path}"))
            .bearer_auth(key)
            .send()
            .await?;
        Ok((response.status().as_u16(), response.text().await?))
    }

    pub(crate) async fn submit(&self) -> anyhow::Result<String> {
        let body = json!({"lattice": {"dimensions": 2, "size": 4}, "operation": "shortest_path",
                          "params": {"start": [0, 0], "end": [3, 3]}});
        let response = self.app.submit_as(&self.key, &body).await?;
        anyhow::ensure!(response.status() == 202, "submit: {}", response.status());
        let accepted: Value = response.json().await?;
        Ok(accepted["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Ends the job the way `outcome` says, as the worker or the api would.
    pub(crate) async fn finish(&self, id: &str, outcome: &str) -> anyhow::Result<()> {
        let change = match outcome {
            "cancelled" => {
                let response = self
                    .app
                    .http
                    .post(format!("{}/v1/jobs/{id}/cancel", self.app.base))
                    .bearer_auth(&self.key)
                    .send()
                    .await?;
                anyhow::ensure!(response.status() == 202, "cancel: {}", response.status());
                return Ok(());
            }
            // Values whose text a careless copy would change: floats, big
            // integers, escapes, non-ASCII, key order, nulls.
            "succeeded" => Change::Succeed {
                result: json!({"reachable": true, "length": 6, "path": [[0, 0], [3, 3]],
                               "ratio": 0.1, "tiny": 1e-7, "big": 12_345_678_901_234_567_890_u64,
                               "text": "ünïcødé \"q\" \\ / \u{1F600}",
                               "nested": {"z": 1, "a": [null, false, -0.0]}}),
                usage: Usage::default(),
            },
            _ => Change::Fail {
                error: Failure::Engine {
                    message: "ç'est \"cassé\" \u{1F600}".to_owned(),
                    attempt: 2_147_483_647,
                },
                usage: Usage::default(),
            },
        };
        let claimed = transition(&self.app, id, JobState::Queued, claim()).await?;
        anyhow::ensure!(matches!(claimed, Transitioned::Applied(_)));
        let ended = transition(&self.app, id, JobState::Running, change).await?;
        anyhow::ensure!(matches!(ended, Transitioned::Applied(_)));
        Ok(())
    }

    /// Long-polls job `id` on the api at `base` and, once `ready` is done,
    /// finishes it as succeeded; answers the poll's body and a read of the
    /// finished job by the reader.
    async fn poll_and_finish(
        &self,
        base: &str,
        id: &str,
        ready: impl std::future::Future<Output = anyhow::Result<()>>,
    ) -> anyhow::Result<(String, String)> {
        let waiting = format!("/v1/jobs/{id}?wait=30");
        let poll = self.get(base, &self.key, &waiting);
        let finish = async {
            ready.await?;
            self.finish(id, "succeeded").await
        };
        let (polled, finished) = tokio::join!(poll, finish);
        finished?;
        let (status, polled) = polled?;
        anyhow::ensure!(status == 200, "the long-poll answered {status}: {polled}");
        let (_, read) = self
            .get(&self.reader, &self.key, &format!("/v1/jobs/{id}"))
            .await?;
        Ok((polled, read))
    }

    pub(crate) async fn teardown(self) -> anyhow::Result<()> {
        self.stop.cancel();
        self.app.teardown().await
    }
}

#[tokio::test]
async fn a_finished_job_is_answered_from_its_notification_as_the_read_would() -> anyhow::Result<()>
{
    let pair = pair().await?;
    let stranger = pair.app.new_tenant_key(Plan::Enterprise).await?;
    for outcome in ["succeeded", "failed", "cancelled"] {
        let id = pair.submit().await?;
        pair.finish(&id, outcome).await?;
        let path = format!("/v1/jobs/{id}");
        // The notification arrives a moment after the commit: until then a
        // GET reads. Poll until one is answered from the cache.
        let deadline = Instant::now() + Duration::from_secs(5);
        let cached = loop {
            let before = cache_hits("get")?;
            let (status, body) = pair.get(&pair.app.base, &pair.key, &path).await?;
            assert_eq!(status, 200, "{outcome}: {body}");
            if cache_hits("get")? > before {
                break body;
            }
            anyhow::ensure!(Instant::now() < deadline, "{outcome}: never cached");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let (status, read) = pair.get(&pair.reader, &pair.key, &path).await?;
        assert_eq!(status, 200);
        assert_eq!(cached, read, "{outcome}: the cached answer is the read's");
        let job: Value = serde_json::from_str(&cached)?;
        assert_eq!(job["status"], outcome);

        // Another tenant: the same 404 from the cache as from the read.
        let before = cache_hits("get")?;
        let (status, _) = pair.get(&pair.app.base, &stranger, &path).await?;
        assert_eq!(status, 404, "{outcome}: another tenant's job");
        assert!(cache_hits("get")? > before, "answered without a read");
        let (status, _) = pair.get(&pair.reader, &stranger, &path).await?;
        assert_eq!(status, 404);
    }
    pair.teardown().await
}

#[tokio::test]
async fn a_long_poll_answers_from_the_notification_as_the_read_would() -> anyhow::Result<()> {
    let pair = pair().await?;
    // The reader has no cache: its long-poll can only answer from the
    // notification's row or from a read. Which one depends on whether the
    // poll was waiting when the job finished, so a round in which it was
    // not (a slow start) is tried again with a new job.
    let mut from_notification = false;
    for _ in 0..5 {
        let id = pair.submit().await?;
        let before = cache_hits("long_poll")?;
        // A head start for the poll; the answer is checked either way.
        let head_start = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok(())
        };
        let (polled, read) = pair.poll_and_finish(&pair.reader, &id, head_start).await?;
        assert_eq!(polled, read, "the long-poll's answer is the read's");
        if cache_hits("long_poll")? > before {
            from_notification = true;
            break;
        }
    }
    assert!(
        from_notification,
        "no long-poll answered from the notification"
    );
    pair.teardown().await
}

/// Issue 17: a long-poll of a job this api process accepted (the usual
/// request after a submit) waits for the notification before its first
/// read, and still answers exactly what the read answers. Another tenant's
/// long-poll of the same id is not trusted to the memory (404 by the read),
/// and a plain GET (no wait) reads the current state.
#[tokio::test]
async fn a_long_poll_after_a_submit_here_waits_without_a_first_read() -> anyhow::Result<()> {
    let pair = pair().await?;
    let stranger = pair.app.new_tenant_key(Plan::Enterprise).await?;
    let id = pair.submit().await?;
    let before = cache_hits("accepted")?;
    let (status, body) = pair
        .get(&pair.app.base, &pair.key, &format!("/v1/jobs/{id}"))
        .await?;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body)?["status"], "queued");
    let (status, _) = pair
        .get(&pair.app.base, &stranger, &format!("/v1/jobs/{id}?wait=1"))
        .await?;
    assert_eq!(status, 404, "another tenant's long-poll");
    assert_eq!(
        cache_hits("accepted")?,
        before,
        "neither the plain GET nor the stranger's poll skipped its read"
    );

    // Until the poll has skipped its read, finishing would race it.
    let skipped = async {
        let deadline = Instant::now() + Duration::from_secs(10);
        while cache_hits("accepted")? <= before {
            anyhow::ensure!(Instant::now() < deadline, "the poll never skipped its read");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    };
    let (polled, read) = pair.poll_and_finish(&pair.app.base, &id, skipped).await?;
    assert_eq!(polled, read, "the long-poll's answer is the read's");
    assert_eq!(serde_json::from_str::<Value>(&read)?["status"], "succeeded");
    assert_eq!(cache_hits("accepted")?, before + 1.0);
    pair.teardown().await
}
