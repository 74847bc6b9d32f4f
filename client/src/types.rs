//! What the API answers, as the client reads it: the fields callers act on
//! are typed, the rest is kept in `extra` so nothing is lost when the API
//! grows a field.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::fmt;

/// A job's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub uuid::Uuid);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobStatus {
    /// `succeeded`, `failed` and `cancelled` never change again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

/// The 202 of `POST /v1/jobs`.
#[derive(Debug, Clone, Deserialize)]
pub struct Submitted {
    pub id: JobId,
    pub status: JobStatus,
    pub location: String,
    /// `Idempotent-Replayed: true`: an earlier submit with this key answered again.
    #[serde(skip)]
    pub replayed: bool,
}

/// A job as `GET /v1/jobs/{id}` answers it.
#[derive(Debug, Clone, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub status: JobStatus,
    pub attempt: i32,
    pub result: Option<Value>,
    pub error: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The 200 of a login or a refresh.
#[derive(Clone, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub refresh_expires_in: u64,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// The 201 of a register: the new user and their tenant.
#[derive(Debug, Clone, Deserialize)]
pub struct Registered {
    pub user: Value,
    pub tenant: Value,
}

/// A stored lattice.
#[derive(Debug, Clone, Deserialize)]
pub struct Lattice {
    pub id: uuid::Uuid,
    pub name: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The 201 of `POST /v1/api-keys`: the key itself, shown this once.
#[derive(Clone, Deserialize)]
pub struct ApiKeyCreated {
    pub id: uuid::Uuid,
    pub key: String,
    pub scope: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for ApiKeyCreated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyCreated")
            .field("id", &self.id)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_three_end_states_are_terminal() {
        let all = [
            (JobStatus::Queued, false),
            (JobStatus::Running, false),
            (JobStatus::Succeeded, true),
            (JobStatus::Failed, true),
            (JobStatus::Cancelled, true),
        ];
        for (status, terminal) in all {
            assert_eq!(status.is_terminal(), terminal, "{status:?}");
        }
    }

    #[test]
    fn a_job_keeps_the_fields_it_does_not_type() -> Result<(), serde_json::Error> {
        let job: Job = serde_json::from_value(json!({
            "id": "0195f0a4-7d2e-7000-8000-000000000001", "status": "succeeded",
            "attempt": 1, "result": {"length": 1}, "error": null, "operation": "shortest_path"
        }))?;
        assert_eq!(job.status, JobStatus::Succeeded);
        assert_eq!(job.extra["operation"], "shortest_path");
        assert_eq!(job.result.map(|r| r["length"].clone()), Some(json!(1)));
        Ok(())
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let tokens = Tokens {
            access_token: "eyJ-secret".to_owned(),
            token_type: "Bearer".to_owned(),
            expires_in: 900,
            refresh_token: "clr_secret".to_owned(),
            refresh_expires_in: 1,
        };
        assert!(!format!("{tokens:?}").contains("secret"));
    }
}
