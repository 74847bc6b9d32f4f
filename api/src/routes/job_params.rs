//! The job routes' shared readings of their inputs: a job id from the
//! path, a state and an operation from a query or a body, each refused
//! with the field named (`jobs`, `job_bulk`, `job_deletion`).

use crate::error::ApiError;
use catalytic_shared::ids::JobId;
use catalytic_shared::job::JobState;

/// A malformed id names no job: the same 404 as an unknown one.
pub fn job_id(id: &str) -> Result<JobId, ApiError> {
    let id: JobId = crate::error::path_id(id, "job")?;
    tracing::Span::current().record("job_id", tracing::field::display(id));
    Ok(id)
}

/// A job state by its name.
pub fn parse_status(status: &str) -> Result<JobState, ApiError> {
    JobState::ALL
        .into_iter()
        .find(|s| s.as_str() == status)
        .ok_or_else(|| {
            ApiError::field(
                "status",
                "must be one of scheduled, waiting, queued, running, succeeded, failed, cancelled",
            )
        })
}

/// An operation's name as the filters take it.
pub fn parse_operation(operation: &str) -> Result<String, ApiError> {
    crate::job_request::OPERATIONS
        .iter()
        .find(|o| **o == operation)
        .map(|o| (*o).to_owned())
        .ok_or_else(|| {
            ApiError::field(
                "operation",
                format!(
                    "must be one of {}",
                    crate::job_request::OPERATIONS.join(", ")
                ),
            )
        })
}
