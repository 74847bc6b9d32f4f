//! `jobs watch`: follow a job until it ends, with a live progress bar on
//! stderr (a stage bar queued → running → done, the state, the attempt and
//! the time so far). The API's long-poll answers at once when the job ends,
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

/// The bar, or plain lines when stderr is not a terminal.
struct Display {
    bar: Option<ProgressBar>,
    id: JobId,
    last: std::cell::Cell<Option<JobStatus>>,
}

impl Display {
    fn new(id: JobId) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(3), ProgressDrawTarget::stderr());
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
        let state = format!(
            "{} (attempt {}/{})",
            job.status,
            job.attempt,
            job.extra
                .get("max_attempts")
                .map(|m| m.to_string())
                .unwrap_or_else(|| "?".to_owned())
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(stage(job.status));
                bar.set_message(state);
            }
            None if self.last.get() != Some(job.status) => {
                eprintln!("job {}: {state}", self.id);
            }
            None => {}
        }
        self.last.set(Some(job.status));
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
            bar.set_position(3);
            bar.finish_with_message(job.status.to_string());
        }
    }

    fn abandon(&self) {
        if let Some(bar) = &self.bar {
            bar.abandon();
        }
    }
}

/// Where a state sits on the three-step bar.
fn stage(status: JobStatus) -> u64 {
    match status {
        JobStatus::Scheduled | JobStatus::Waiting | JobStatus::Queued => 1,
        JobStatus::Running => 2,
        JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled => 3,
    }
}
