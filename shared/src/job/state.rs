//! The job state machine: the only table of legal transitions.
//!
//! ```text
//! queued ──claim──> running ──succeed──> succeeded
//!   │                 │ ├────fail─────> failed
//!   │                 │ └────retry────> queued   (attempt + 1, backoff)
//!   ├──cancel──> cancelled <──cancel──┘
//!   └──fail (poison message, DLQ)──> failed
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
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// What can happen to a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEvent {
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
            (Queued, Claim) => Ok(Running),
            (Running, Succeed) => Ok(Succeeded),
            (Running | Queued, Fail) => Ok(Failed),
            (Running, Retry) => Ok(Queued),
            (Queued | Running, Cancel) => Ok(Cancelled),
            (from, event) => Err(IllegalTransition { from, event }),
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
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

    const STATES: [JobState; 5] = [Queued, Running, Succeeded, Failed, Cancelled];
    const EVENTS: [JobEvent; 5] = [Claim, Succeed, Fail, Retry, Cancel];

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
    fn cancel_is_allowed_until_terminal() {
        assert_eq!(Queued.on(Cancel), Ok(Cancelled));
        assert_eq!(Running.on(Cancel), Ok(Cancelled));
    }

    #[test]
    fn every_reachable_state_is_reachable_from_queued() {
        // Guards against an edit that makes a state unreachable.
        let mut seen = vec![Queued];
        let mut frontier = vec![Queued];
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
