//! The job state machine: the only table of legal transitions.
//!
//! ```text
//! scheduled ──due──┐    waiting ──release──┐   (parents done: issue 21)
//!                  v                       v
//! queued ──claim──> running ──succeed──> succeeded
//!   │                 │ ├────fail─────> failed
//!   │                 │ └────retry────> queued   (attempt + 1, backoff)
//!   ├──cancel──> cancelled <──cancel──┘
//!   └──fail (poison message, DLQ)──> failed
//! scheduled, waiting ──cancel──> cancelled (a waiting job also when a
//! parent failed or was cancelled)
//! ```
//!
//! Terminal states are final. The SQL that applies a transition lives in
//! `db::jobs`, guarded by the state this table says it must come from.

use serde::{Deserialize, Serialize};

/// Mirrors the PostgreSQL enum `job_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "job_status", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for its `run_at` (a delayed submit): no message exists yet;
    /// the relay leader queues it when due (issue 21).
    Scheduled,
    /// Waiting for its parent jobs (`depends_on`) to finish: no message
    /// exists yet; the scheduler queues it when they have (issue 21).
    Waiting,
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// What can happen to a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEvent {
    /// A scheduled job's `run_at` came: it is queued (and its message written).
    Due,
    /// A scheduled job with a concurrency key reached its `run_at`: it
    /// waits for a slot of its key (issue 21), then is released.
    DueHeld,
    /// A waiting job's parents finished as it needs: it is queued.
    Release,
    /// A worker takes the job (starts an attempt).
    Claim,
    /// The attempt produced a result.
    Succeed,
    /// The job cannot succeed: invalid for the engine, out of attempts, or
    /// a poison message. Terminal.
    Fail,
    /// The attempt failed in a way another attempt may fix (lost worker,
    /// transient error). Spends an attempt.
    Retry,
    /// The tenant asked to stop it.
    Cancel,
}

/// A transition the table forbids, e.g. anything out of a terminal state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("illegal job transition: {event:?} from {from:?}")]
pub struct IllegalTransition {
    pub from: JobState,
    pub event: JobEvent,
}

impl JobState {
    /// The one transition function. Every state change anywhere in the
    /// system is checked here before its guarded SQL runs.
    pub fn on(self, event: JobEvent) -> Result<JobState, IllegalTransition> {
        use JobEvent::*;
        use JobState::*;
        match (self, event) {
            (Scheduled, Due) | (Waiting, Release) => Ok(Queued),
            (Scheduled, DueHeld) => Ok(Waiting),
            (Queued, Claim) => Ok(Running),
            (Running, Succeed) => Ok(Succeeded),
            (Running | Queued, Fail) => Ok(Failed),
            (Running, Retry) => Ok(Queued),
            (Scheduled | Waiting | Queued | Running, Cancel) => Ok(Cancelled),
            (from, event) => Err(IllegalTransition { from, event }),
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }

    /// The state a submit stores a job in: `Waiting` when it must wait (for
    /// parents, or a concurrency slot now), `Scheduled` when it names a time
    /// to run at (a keyed one waits for its slot once that time comes), else
    /// `Queued`; the submit's SQL makes the same choice.
    pub fn at_submit(scheduled: bool, waiting: bool) -> JobState {
        match (waiting, scheduled) {
            (true, _) => JobState::Waiting,
            (false, true) => JobState::Scheduled,
            (false, false) => JobState::Queued,
        }
    }

    /// Every state, in the order a job goes through them.
    pub const ALL: [JobState; 7] = [
        JobState::Scheduled,
        JobState::Waiting,
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Scheduled => "scheduled",
            JobState::Waiting => "waiting",
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::JobEvent::*;
    use super::JobState::*;
    use super::*;

    const STATES: [JobState; 7] = JobState::ALL;
    const EVENTS: [JobEvent; 8] = [Due, DueHeld, Release, Claim, Succeed, Fail, Retry, Cancel];

    #[test]
    fn terminal_states_are_final() {
        for from in STATES.into_iter().filter(|s| s.is_terminal()) {
            for event in EVENTS {
                assert_eq!(from.on(event), Err(IllegalTransition { from, event }));
            }
        }
    }

    #[test]
    fn happy_path_and_retry() {
        assert_eq!(Queued.on(Claim), Ok(Running));
        assert_eq!(Running.on(Succeed), Ok(Succeeded));
        assert_eq!(Running.on(Retry), Ok(Queued));
        assert_eq!(Running.on(Fail), Ok(Failed));
    }

    #[test]
    fn a_queued_job_cannot_succeed_without_running() {
        assert!(Queued.on(Succeed).is_err());
        assert!(Queued.on(Retry).is_err());
        assert!(
            Running.on(Claim).is_err(),
            "a running job is not claimed twice"
        );
    }

    #[test]
    fn a_scheduled_job_is_queued_when_due_and_nothing_else_moves_it() {
        assert_eq!(Scheduled.on(Due), Ok(Queued));
        assert_eq!(
            Scheduled.on(DueHeld),
            Ok(Waiting),
            "keyed: waits for its slot"
        );
        for event in [Claim, Succeed, Fail, Retry] {
            assert!(Scheduled.on(event).is_err(), "{event:?}");
        }
        assert!(Queued.on(Due).is_err(), "a queued job is not queued twice");
    }

    #[test]
    fn a_waiting_job_is_released_or_cancelled_and_nothing_else_moves_it() {
        assert_eq!(Waiting.on(Release), Ok(Queued));
        assert_eq!(Waiting.on(Cancel), Ok(Cancelled));
        for event in [Due, DueHeld, Claim, Succeed, Fail, Retry] {
            assert!(Waiting.on(event).is_err(), "{event:?}");
        }
        assert!(Queued.on(Release).is_err(), "a queued job is not released");
        assert!(Scheduled.on(Release).is_err(), "nor a scheduled one");
    }

    #[test]
    fn cancel_is_allowed_until_terminal() {
        assert_eq!(Scheduled.on(Cancel), Ok(Cancelled));
        assert_eq!(Queued.on(Cancel), Ok(Cancelled));
        assert_eq!(Running.on(Cancel), Ok(Cancelled));
    }

    #[test]
    fn every_state_is_reachable_from_a_submit() {
        // Guards against an edit that makes a state unreachable. A submit
        // makes a job scheduled, waiting or queued.
        let mut seen = vec![Scheduled, Waiting, Queued];
        let mut frontier = vec![Scheduled, Waiting, Queued];
        while let Some(s) = frontier.pop() {
            for e in EVENTS {
                if let Ok(next) = s.on(e)
                    && !seen.contains(&next)
                {
                    seen.push(next);
                    frontier.push(next);
                }
            }
        }
        assert_eq!(seen.len(), STATES.len());
    }
}
