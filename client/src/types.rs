//! What the API answers, as the client reads it: the fields callers act on
//! are typed, the rest is kept in `extra` so nothing is lost when the API
//! grows a field. Each also serialises back to what was received, so a
//! caller (the CLI's `--output json`) can print it whole.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// A job's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub uuid::Uuid);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Submitted with `run_at` / `delay_secs`: waiting for its time.
    Scheduled,
    /// Submitted with `depends_on`: waiting for its parent jobs.
    Waiting,
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobStatus {
    /// The wire name: `queued`, `running`, …
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Scheduled => "scheduled",
            JobStatus::Waiting => "waiting",
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// `succeeded`, `failed` and `cancelled` never change again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

/// Which jobs a listing or a bulk cancel takes; every field set narrows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFilter {
    /// Any of these states (none: all).
    pub statuses: Vec<JobStatus>,
    pub operation: Option<String>,
    /// RFC 3339, inclusive.
    pub created_after: Option<String>,
    /// RFC 3339, exclusive.
    pub created_before: Option<String>,
    /// Jobs with this concurrency key.
    pub concurrency_key: Option<String>,
    /// Jobs a cron schedule submitted (the schedule's id).
    pub schedule: Option<String>,
}

impl JobFilter {
    /// The filters set besides the states, by their API names.
    pub fn narrowing(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("operation", &self.operation),
            ("created_after", &self.created_after),
            ("created_before", &self.created_before),
            ("concurrency_key", &self.concurrency_key),
            ("schedule", &self.schedule),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
    }

    /// The filter as the body of a bulk cancel or delete.
    pub fn body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        if !self.statuses.is_empty() {
            body.insert("status".into(), serde_json::json!(self.statuses));
        }
        for (name, value) in self.narrowing() {
            body.insert(name.into(), Value::String(value.to_owned()));
        }
        body
    }
}

/// The 200 of `POST /v1/jobs/cancel`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cancelled {
    pub cancelled: u64,
    /// More matched than one request cancels: send it again.
    pub more: bool,
}

/// The 200 of `POST /v1/jobs/delete`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deleted {
    pub deleted: u64,
    /// More matched than one request deletes: send it again.
    pub more: bool,
}

/// The 202 of `POST /v1/jobs`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Submitted {
    pub id: JobId,
    pub status: JobStatus,
    pub location: String,
    /// Nothing was stored: a live uniqueness hold (`unique_for_secs`) names
    /// this existing job, and `status` is its state now.
    #[serde(default)]
    pub existing: bool,
    /// `Idempotent-Replayed: true`: an earlier submit with this key answered again.
    #[serde(skip_deserializing)]
    pub replayed: bool,
}

/// The answer to a bulk submit (`POST /v1/jobs/batch`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BulkSubmitted {
    pub accepted: usize,
    pub refused: usize,
    /// One per item, in the order sent.
    pub results: Vec<BulkResult>,
    /// `Idempotent-Replayed: true`: an earlier bulk submit with this key answered again.
    #[serde(skip_deserializing)]
    pub replayed: bool,
}

impl BulkSubmitted {
    /// The per-item results of a bulk submit that accepted no job (the
    /// API's problem carries them); `None` for any other refusal.
    pub fn from_refusal(error: &crate::Error) -> Option<Self> {
        let crate::Error::Api { problem, .. } = error else {
            return None;
        };
        let results: Vec<BulkResult> =
            serde_json::from_value(problem.body.get("results")?.clone()).ok()?;
        Some(Self {
            accepted: 0,
            refused: results.len(),
            results,
            replayed: false,
        })
    }
}

/// One item of a bulk submit: accepted (`id`) or refused (`error`, the
/// problem a single submit of it would have had, fields named `jobs[i].…`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BulkResult {
    pub index: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<JobId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<JobStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<serde_json::Value>,
    /// Nothing was stored for the item: a live uniqueness hold names the
    /// existing job `id`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub existing: bool,
}

/// A job as `GET /v1/jobs/{id}` answers it.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Clone, Serialize, Deserialize)]
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

/// The 202 of a register: the same answer whether or not the email already
/// had an account (the API gives no account oracle), so it names neither a
/// user nor a tenant; what happens next is in the mail and in `message`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterAccepted {
    /// The address as the API normalised it (trimmed, lower-case).
    pub email: String,
    /// What happens next, for a person to read.
    pub message: String,
}

/// The 202 of a call that mails a link (a new verification link, a
/// password-reset link): only a message, which never says whether an
/// account exists.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MailAccepted {
    pub message: String,
}

/// A stored lattice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lattice {
    pub id: uuid::Uuid,
    pub name: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The 201 of `POST /v1/api-keys`: the key itself, shown this once.
#[derive(Clone, Serialize, Deserialize)]
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

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One page of a list call, newest first (stored concurrency limits: in
/// key order, the cursor a key); pass `next_cursor` as the next call's
/// cursor until it is `None`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T, C = uuid::Uuid> {
    pub items: Vec<T>,
    pub next_cursor: Option<C>,
}

/// An API key as listed (never the secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: uuid::Uuid,
    pub name: String,
    pub prefix: String,
    pub scope: String,
    pub revoked_at: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A webhook endpoint (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub id: uuid::Uuid,
    pub url: String,
    pub enabled: bool,
    #[serde(default)]
    pub event_types: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The 201 of `POST /v1/webhooks/endpoints`: the signing secret, shown this once.
#[derive(Clone, Serialize, Deserialize)]
pub struct WebhookEndpointCreated {
    pub secret: String,
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
}

impl fmt::Debug for WebhookEndpointCreated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookEndpointCreated")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// The 202 of an endpoint test: the `webhook.test` message sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookTestSent {
    pub message_id: uuid::Uuid,
}

/// One webhook message (one event), as its `webhook-id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookMessage {
    pub id: uuid::Uuid,
    pub event_type: String,
    pub job_id: Option<uuid::Uuid>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One delivery attempt of a message to one endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookAttempt {
    pub endpoint_id: uuid::Uuid,
    pub attempt: i32,
    pub started_at: String,
    /// Absent when no response came (refused, timeout, SSRF guard).
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub response_body: Option<String>,
    pub error: Option<String>,
}

/// `GET /v1/usage`: the tenant's usage per UTC bucket, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Usage {
    pub from: String,
    pub to: String,
    pub granularity: String,
    pub buckets: Vec<UsageBucket>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UsageBucket {
    pub start: String,
    pub jobs: i64,
    pub billable_jobs: i64,
    pub vertex_visits: i64,
    pub cpu_compute_ms: i64,
    pub gpu_compute_ms: i64,
}

/// One month's invoice; `lines` only from `GET /v1/invoices/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invoice {
    pub id: uuid::Uuid,
    pub status: String,
    pub number: Option<String>,
    pub period_start: String,
    pub period_end: String,
    pub currency: String,
    pub total_cents: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<InvoiceLine>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub kind: String,
    pub description: String,
    pub quantity: i64,
    pub amount_cents: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_three_end_states_are_terminal() {
        let all = [
            (JobStatus::Scheduled, false),
            (JobStatus::Waiting, false),
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

    #[test]
    fn an_audit_filter_sends_only_what_is_set() {
        assert!(AuditFilter::default().query().is_empty());
        let actor = uuid::Uuid::from_u128(7);
        let filter = AuditFilter {
            action: Some("user.".to_owned()),
            actor_user_id: Some(actor),
            since: None,
            until: Some("2026-12-01T00:00:00Z".to_owned()),
        };
        assert_eq!(
            filter.query(),
            vec![
                ("action", "user.".to_owned()),
                ("actor_user_id", actor.to_string()),
                ("until", "2026-12-01T00:00:00Z".to_owned()),
            ]
        );
    }

    #[test]
    fn an_audit_record_reads_absent_actors_and_keeps_new_fields() -> Result<(), serde_json::Error> {
        let event: AuditEvent = serde_json::from_value(json!({
            "id": "0195f0a4-7d2e-7000-8000-000000000001", "at": "2026-12-06T20:00:00Z",
            "action": "auth.sign_in_failed", "actor_user_id": null, "actor_key_id": null,
            "actor_email": null, "ip": "127.0.0.1", "target": "ada@example.com",
            "details": {}, "request_id": "r-1"
        }))?;
        assert_eq!(event.action, "auth.sign_in_failed");
        assert_eq!(event.actor_user_id, None);
        assert_eq!(event.target.as_deref(), Some("ada@example.com"));
        assert_eq!(event.extra["request_id"], "r-1");
        Ok(())
    }
}

/// Which audit records `GET /v1/audit-log` lists; every field set narrows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// An action (`user.role_changed`) or a family ending in a dot (`user.`).
    pub action: Option<String>,
    /// Only what this user did.
    pub actor_user_id: Option<uuid::Uuid>,
    /// RFC 3339, inclusive.
    pub since: Option<String>,
    /// RFC 3339, exclusive.
    pub until: Option<String>,
}

impl AuditFilter {
    /// The filters set, by their API names.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        if let Some(action) = &self.action {
            query.push(("action", action.clone()));
        }
        if let Some(actor) = self.actor_user_id {
            query.push(("actor_user_id", actor.to_string()));
        }
        if let Some(since) = &self.since {
            query.push(("since", since.clone()));
        }
        if let Some(until) = &self.until {
            query.push(("until", until.clone()));
        }
        query
    }
}

/// One record of the tenant's audit log: who did what, from where, when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: uuid::Uuid,
    /// RFC 3339.
    pub at: String,
    /// `auth.sign_in`, `user.role_changed`, `api_key.created`, …
    pub action: String,
    /// The user who acted (none for an API key, a failed sign-in, the system).
    pub actor_user_id: Option<uuid::Uuid>,
    /// The API key that acted.
    pub actor_key_id: Option<uuid::Uuid>,
    /// The acting user's email when the record was written.
    pub actor_email: Option<String>,
    pub ip: Option<String>,
    /// What was acted on: an email, a key or endpoint id, a plan.
    pub target: Option<String>,
    #[serde(default)]
    pub details: Value,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A list answered whole (`{"items": [...]}`), without pages.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// A cron schedule as `GET /v1/schedules/{id}` answers it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Schedule {
    pub id: uuid::Uuid,
    pub name: String,
    pub cron: String,
    pub timezone: String,
    pub paused: bool,
    /// The next ticks, RFC 3339 (none while paused).
    pub next_fire_times: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One tick (or manual trigger) of a schedule's history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScheduleRun {
    /// RFC 3339.
    pub tick_at: String,
    pub manual: bool,
    /// `submitted`, `skipped_overlap`, `missed` or `refused`.
    pub outcome: String,
    pub job_id: Option<JobId>,
    pub detail: Option<String>,
}

/// A stored concurrency limit (`/v1/concurrency-keys/{key}`) with the
/// key's jobs when it was read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConcurrencyKey {
    pub key: String,
    /// Overrides each job's own `max_concurrency` while stored.
    pub max_concurrency: u32,
    /// Jobs of the key waiting for a slot.
    pub waiting_jobs: u64,
    /// Jobs of the key queued or running.
    pub active_jobs: u64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
