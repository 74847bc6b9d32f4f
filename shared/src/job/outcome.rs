//! What an attempt produced, as the worker reports it. Which outcomes spend
//! an attempt: `Failure::Retryable` does (the job goes back to `queued` with
//! attempt + 1 while attempts remain); `Failure::Permanent` ends the job.

use serde::Serialize;

/// Why an attempt did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// Another attempt may succeed (lost worker, transient error).
    Retryable { message: String },
    /// No attempt can succeed (invalid for the engine, over a limit).
    Permanent { message: String },
}

/// What a terminal transition records for billing (docs/adr/0003-plans.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// A job failed by the platform (lease expiry, DLQ) is not billed.
    pub billable: bool,
    pub vertex_visits: i64,
    pub compute_ms: i64,
    pub device: Option<&'static str>,
}
