//! `jobs watch`: follow a job until it ends, with a live progress bar on
//! stderr (the state, the attempt and the time so far; while the job runs,
//! the share of its work done and an estimate of the time left, from the
//! progress its worker reports, issue 22). The API's long-poll answers at once when the job ends,
//! so the end is seen without delay; each poll is short (`POLL_WAIT_SECS`)
//! because the long-poll does not answer on queued → running, and the bar
//! should show that change too.
//!
//! Without a terminal on stderr (a pipe, CI) the bar is not drawn; each
//! change of state is printed as one line instead.

use super::Context;
use super::jobs::job_table;
use crate::failure::Failure;
use crate::output::emit;
use crate::session::Api;
use catalytic_client::{Job, JobId, JobStatus};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Seconds each long-poll may wait (the API allows 0–60). Three keeps a
/// watch at ~20 requests a minute, a third of the free plan's budget.
const POLL_WAIT_SECS: u32 = 3;

/// Failed polls in a row a watch rides out (an api restart, a 503, a 429)
/// before it gives up; the pause grows by a second each time, or follows
/// `Retry-After`, up to `MAX_PAUSE`.
const MAX_RETRIES: u32 = 10;
const MAX_PAUSE: Duration = Duration::from_secs(10);

/// Follows `id` until it ends, then prints it; exit 3 unless it succeeded.
pub async fn watch(
    ctx: &Context,
    api: &mut Api,
    id: JobId,
    timeout: Option<u64>,
) -> Result<(), Failure> {
    let started = Instant::now();
    let deadline = timeout.map(|s| started + Duration::from_secs(s));
    let display = Display::new(id);
    let mut wait = 0;
    let mut failures = 0;
    // The state last seen, for the timeout's message.
    let mut last = "not seen yet".to_owned();
    let job = loop {
        let polled = api
            .call(|c| async move { c.get_job(id, Some(wait)).await })
            .await;
        match polled {
            Ok(job) if job.status.is_terminal() => {
                display.show(&job);
                break job;
            }
            Ok(job) => {
                failures = 0;
                wait = POLL_WAIT_SECS;
                display.show(&job);
                last = job.status.to_string();
            }
            Err(e) if failures < MAX_RETRIES && e.is_transient() => {
                failures += 1;
                let pause = e
                    .retry_after()
                    .unwrap_or(Duration::from_secs(failures.into()))
                    .min(MAX_PAUSE);
                let problem = e.lines().into_iter().next().unwrap_or_default();
                display.note(&format!(
                    "{problem} (retrying in {} s, {failures}/{MAX_RETRIES})",
                    pause.as_secs()
                ));
                tokio::time::sleep(pause).await;
            }
            Err(e) => {
                display.abandon();
                return Err(e);
            }
        }
        // Checked between polls: a timeout may be overrun by one poll.
        if deadline.is_some_and(|d| Instant::now() >= d) {
            display.abandon();
            return Err(Failure::NotFinished(format!(
                "job {id} is still {last} after {} s (it goes on: watch it again, or cancel it)",
                started.elapsed().as_secs()
            )));
        }
    };
    display.finish(&job);
    emit(ctx.format(), &job, job_table)?;
    match job.status {
        JobStatus::Succeeded => Ok(()),
        _ => Err(ended(&job)),
    }
}

/// The failure of a job that ended failed or cancelled, with its reason.
pub fn ended(job: &Job) -> Failure {
    let reason = job
        .error
        .as_ref()
        .map(|e| match (e["kind"].as_str(), e["message"].as_str()) {
            (Some(kind), Some(message)) => format!("{kind}: {message}"),
            (Some(kind), None) => kind.to_owned(),
            (None, Some(message)) => message.to_owned(),
            (None, None) => e.to_string(),
        });
    Failure::JobEnded {
        id: job.id.to_string(),
        status: job.status.to_string(),
        reason,
    }
}

/// A running job's share of its work done, in percent, and the seconds
/// left at the rate so far, from its `progress` (done of an estimated
/// total, an upper bound: the time left is at most about this) and
/// `started_at`. None when it reports no progress.
pub fn progress_of(job: &Job) -> Option<(u64, Option<u64>)> {
    let progress = job.extra.get("progress")?;
    let done = progress["done"].as_u64()?;
    let total = progress["total"].as_u64().filter(|t| *t > 0)?;
    let percent = (done.min(total) * 100) / total;
    let at = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    let left = match (
        at(&progress["updated_at"]),
        job.extra.get("started_at").and_then(at),
    ) {
        (Some(now), Some(started)) if done > 0 => {
            let spent = (now - started).num_milliseconds().max(0) as f64 / 1e3;
            Some((spent * (total - done.min(total)) as f64 / done as f64).round() as u64)
        }
        _ => None,
    };
    Some((percent, left))
}

/// The bar, or plain lines when stderr is not a terminal.
struct Display {
    bar: Option<ProgressBar>,
    id: JobId,
    /// The state and the tenth of the work last shown as a line.
    last: std::cell::Cell<Option<(JobStatus, u64)>>,
}

impl Display {
    fn new(id: JobId) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(100), ProgressDrawTarget::stderr());
            // The template is a constant; should it ever not parse, the
            // default style is still a bar.
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner:.cyan} [{elapsed_precise}] [{bar:24.cyan/blue}] {msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            // The id on its own line: with it the bar would not fit 80 columns.
            bar.println(format!("watching job {id}"));
            bar.set_message("submitted");
            bar
        });
        Self {
            bar,
            id,
            last: std::cell::Cell::new(None),
        }
    }

    fn show(&self, job: &Job) {
        let mut state = format!(
            "{} (attempt {}/{})",
            job.status,
            job.attempt,
            job.extra
                .get("max_attempts")
                .map(|m| m.to_string())
                .unwrap_or_else(|| "?".to_owned())
        );
        let progress = progress_of(job).filter(|_| job.status == JobStatus::Running);
        if let Some((percent, left)) = progress {
            state.push_str(&format!(" {percent}%"));
            if let Some(left) = left {
                state.push_str(&format!(", ~{left} s left"));
            }
        }
        let position = match (job.status, progress) {
            (JobStatus::Running, Some((percent, _))) => percent,
            (status, _) => stage(status),
        };
        let tenth = position / 10;
        match &self.bar {
            Some(bar) => {
                bar.set_position(position);
                bar.set_message(state);
            }
            None if self.last.get() != Some((job.status, tenth)) => {
                eprintln!("job {}: {state}", self.id);
            }
            None => {}
        }
        self.last.set(Some((job.status, tenth)));
    }

    /// A message above the bar, or a line on stderr.
    fn note(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None => eprintln!("{message}"),
        }
    }

    fn finish(&self, job: &Job) {
        if let Some(bar) = &self.bar {
            bar.set_position(100);
            bar.finish_with_message(job.status.to_string());
        }
    }

    fn abandon(&self) {
        if let Some(bar) = &self.bar {
            bar.abandon();
        }
    }
}

/// Where a state sits on the bar (percent) when the job reports no
/// progress.
fn stage(status: JobStatus) -> u64 {
    match status {
        JobStatus::Scheduled | JobStatus::Waiting | JobStatus::Queued => 0,
        JobStatus::Running => 50,
        JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled => 100,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(extra: serde_json::Value) -> Job {
        let mut job = json!({"id": uuid::Uuid::nil(), "status": "running", "attempt": 1,
                             "result": null, "error": null});
        if let (Some(job), Some(extra)) = (job.as_object_mut(), extra.as_object()) {
            job.extend(extra.clone());
        }
        serde_json::from_value(job).unwrap_or_else(|e| panic!("a job: {e}"))
    }

    #[test]
    fn progress_gives_the_percent_and_the_time_left_at_the_rate_so_far() {
        let running = job(json!({"started_at": "2026-12-06T10:00:00Z",
            "progress": {"done": 250, "total": 1000, "unit": "vertices",
                         "updated_at": "2026-12-06T10:00:10Z"}}));
        // A quarter in 10 s: 30 s to go.
        assert_eq!(progress_of(&running), Some((25, Some(30))));
        let over = job(
            json!({"progress": {"done": 1500, "total": 1000, "unit": "vertices",
                                           "updated_at": "2026-12-06T10:00:10Z"}}),
        );
        assert_eq!(
            progress_of(&over),
            Some((100, None)),
            "no start: no estimate"
        );
        assert_eq!(progress_of(&job(json!({}))), None);
        let zero = job(json!({"progress": {"done": 0, "total": 0, "unit": "vertices"}}));
        assert_eq!(progress_of(&zero), None);
    }
}
