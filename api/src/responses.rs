//! The API's response bodies that more than one module reads: the route
//! that answers with one, the dashboard page that renders it, and a route
//! that embeds another's (`RegisteredOut` holds a `UserOut`). They live here,
//! not in the route that writes them, so routes and pages depend on this
//! module and never on each other (issue 16; `scripts/check-api-imports.py`
//! keeps the api's import graph free of loops of more than two files).
//! A body only its own route reads stays in that route's module. Also here:
//! `static_file`, the response both the docs route and the dashboard serve
//! their compiled-in files with.
//!
//! This module imports no route and no page.

use crate::db::accounts::UserRow;
use crate::error::ApiError;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use catalytic_shared::db;
use catalytic_shared::db::billing::UsageBucket;
use catalytic_shared::db::jobs::Holder;
use catalytic_shared::job::JobState;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// Jobs: `routes::jobs` answers with them, `dashboard::jobs` renders them.

/// The answer to a submit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobAccepted {
    pub id: uuid::Uuid,
    /// `queued`, or `scheduled` for a delayed job (`run_at`, `delay_secs`);
    /// a replay answers the job's state now.
    pub status: String,
    /// Where to poll: `/v1/jobs/{id}`.
    pub location: String,
    /// On a re-run: the job this one repeats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerun_of: Option<uuid::Uuid>,
    /// `true` (with status 200) when the submit stored nothing because a
    /// live uniqueness hold (`unique_for_secs`) names this existing job;
    /// `status` is that job's state now. Absent otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub existing: bool,
}

impl JobAccepted {
    pub fn new(id: catalytic_shared::ids::JobId, status: JobState) -> Self {
        Self {
            id: id.as_uuid(),
            status: status.as_str().to_owned(),
            location: format!("/v1/jobs/{id}"),
            rerun_of: None,
            existing: false,
        }
    }
}

/// A page of jobs, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobPage {
    pub items: Vec<JobOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<uuid::Uuid>,
}

/// A job as its tenant sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobOut {
    pub id: uuid::Uuid,
    /// `scheduled` (waiting for `run_at`), `waiting` (for its parents or a
    /// concurrency slot), `queued`, `running`, `succeeded`, `failed` or
    /// `cancelled`.
    pub status: String,
    pub operation: String,
    /// The validated request, in the shape a submit takes (it can be sent
    /// again as it is): `lattice` {size, wrap, blocked}, `operation`, `params`.
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    /// The current (or last) attempt, from 1.
    pub attempt: i32,
    pub max_attempts: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the submit asked it to run (`run_at` or `delay_secs`); absent
    /// for a job queued at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_at: Option<DateTime<Utc>>,
    /// Present when `succeeded`. For `shortest_path`: `reachable`, `length`,
    /// `path` (coordinates from start to end), `vertices_visited`, `engine`.
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// Present when `failed` (and after a retried attempt).
    #[schema(value_type = Option<Object>)]
    pub error: Option<serde_json::Value>,
    /// Its parent jobs (`depends_on`), when it has any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<uuid::Uuid>,
    /// How long after finishing it keeps its full result, when the submit
    /// said (`result_ttl_secs`); absent: the fleet's default, 7 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_ttl_secs: Option<i32>,
    /// With `result_ttl_secs`, once succeeded: when the full result goes
    /// (a summary stays: `{"pruned": true, …}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_expires_at: Option<DateTime<Utc>>,
    /// While `running`: the work done so far, as the worker last reported
    /// it (at most once a second; absent before its first report, for
    /// jobs under a second, and on the GPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<ProgressOut>,
}

/// A running job's progress: `done` of `total` `unit`s. For a search or
/// scan `total` is the operation's estimate, an upper bound (a search that
/// meets its target early finishes below it); for a `transform` it is the
/// data's element count, reached exactly.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProgressOut {
    pub done: u64,
    pub total: u64,
    /// `vertices` (expanded by the search or scan) or `elements` (of a
    /// transform's data field).
    pub unit: String,
    /// When the worker reported it.
    pub updated_at: DateTime<Utc>,
}

/// The stored spec as a submit's body (`job_request::echo`); a spec that
/// does not read as one (none should) is shown as stored.
fn request_of(spec: serde_json::Value) -> serde_json::Value {
    // Read from the value in place: no copy on every GET and list.
    match <catalytic_shared::job::JobSpec as serde::Deserialize>::deserialize(&spec) {
        Ok(parsed) => crate::job_request::echo::echo(&parsed),
        Err(_) => spec,
    }
}

impl From<db::jobs::JobRow> for JobOut {
    fn from(row: db::jobs::JobRow) -> Self {
        JobOut {
            id: row.id.into(),
            status: row.status.to_string(),
            operation: row.operation,
            request: request_of(row.spec),
            attempt: row.attempt,
            max_attempts: row.max_attempts,
            created_at: row.created_at,
            updated_at: row.updated_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            run_at: row.run_at,
            depends_on: row.depends_on,
            result_ttl_secs: row.result_ttl_secs,
            result_expires_at: row.result_expires_at,
            progress: row
                .progress
                .and_then(|p| serde_json::from_value::<ProgressOut>(p).ok()),
            result: row.result,
            error: row.error,
        }
    }
}

// Accounts: `routes::auth` and `routes::users` answer with them, `dashboard::login` reads the tokens.

/// A session's tokens. Keep the refresh token secret: it is shown once,
/// works once, and presenting it a second time ends the session.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenOut {
    /// A JWT: `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds the access token is valid.
    pub expires_in: u64,
    /// `clr_` + 64 hex characters.
    pub refresh_token: String,
    /// Seconds the refresh token is valid (renewed at each refresh).
    pub refresh_expires_in: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: uuid::Uuid,
    pub email: String,
    /// `owner`, `admin`, `member` or `viewer`.
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Whether the user followed the verification link mailed to them.
    /// Until then they cannot upgrade the plan, invite or add webhook
    /// endpoints.
    pub email_verified: bool,
}

impl TryFrom<UserRow> for UserOut {
    type Error = ApiError;
    fn try_from(row: UserRow) -> Result<Self, ApiError> {
        let role = row.role()?;
        Ok(UserOut {
            id: row.id.as_uuid(),
            email: row.email,
            role: role.as_str().to_owned(),
            created_at: row.created_at,
            updated_at: row.updated_at,
            email_verified: row.email_verified_at.is_some(),
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantOut {
    pub id: uuid::Uuid,
    pub name: String,
    /// `free`, `starter`, `professional` or `enterprise`.
    pub plan: String,
}

// Billing: `routes::usage` and `routes::invoices` answer with them, `dashboard::billing` renders them.

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UsageOut {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub granularity: String,
    /// Buckets with usage, oldest first (empty buckets are omitted).
    pub buckets: Vec<UsageBucketOut>,
    /// Stored result parts now (full answers beyond the inline caps,
    /// compressed), whatever the range, and the plan's cap on them.
    pub stored_result_bytes: u64,
    pub stored_result_limit_bytes: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UsageBucketOut {
    /// Start of the UTC bucket.
    pub start: DateTime<Utc>,
    /// Every finished job, billable or not.
    pub jobs: i64,
    /// Jobs billed (platform failures are not).
    pub billable_jobs: i64,
    /// Vertex-visits of billable jobs.
    pub vertex_visits: i64,
    pub cpu_compute_ms: i64,
    pub gpu_compute_ms: i64,
}

impl From<UsageBucket> for UsageBucketOut {
    fn from(b: UsageBucket) -> Self {
        UsageBucketOut {
            start: b.start,
            jobs: b.jobs,
            billable_jobs: b.billable_jobs,
            vertex_visits: b.vertex_visits,
            cpu_compute_ms: b.cpu_compute_ms,
            gpu_compute_ms: b.gpu_compute_ms,
        }
    }
}

/// A page of invoices, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InvoicePage {
    pub items: Vec<InvoiceOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<uuid::Uuid>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InvoiceOut {
    pub id: uuid::Uuid,
    /// `draft` (recomputed each billing round) or `finalized` (immutable).
    pub status: String,
    /// `INV-<year>-<6 digits>`, gap-free per year; set at finalisation.
    pub number: Option<String>,
    /// The UTC calendar month billed: `[period_start, period_end)`.
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub currency: String,
    /// Sum of the lines, in cents.
    pub total_cents: i64,
    pub finalized_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Present on `GET /v1/invoices/{id}` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<InvoiceLineOut>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InvoiceLineOut {
    /// `base`, `overage`, `compute_cpu`, `compute_gpu` or `adjustment`.
    pub kind: String,
    pub description: String,
    /// Seconds billed (base), jobs (overage), vertex-visits (CPU),
    /// milliseconds (GPU), 1 (adjustment).
    pub quantity: i64,
    /// Rounded once per line, in cents.
    pub amount_cents: i64,
}

// The fleet: `routes::admin` answers with them, `dashboard::fleet` renders them.

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkerOut {
    pub id: uuid::Uuid,
    pub host: String,
    /// `cpu` or `cuda`.
    pub device: String,
    /// The GPU's name (`cuda` workers), e.g. `NVIDIA H100 80GB HBM3`.
    pub device_name: Option<String>,
    /// The GPU's memory in bytes (`cuda` workers).
    pub device_memory_bytes: Option<i64>,
    pub concurrency: i32,
    pub in_flight: i32,
    pub started_at: DateTime<Utc>,
    pub last_heartbeat_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScalingOut {
    /// `low`, `standard`, `high`, `gpu`, or `all` (the fleet's desired size).
    pub class: String,
    pub ready_messages: i64,
    pub running_jobs: i64,
    pub oldest_queued_secs: f64,
    pub desired_workers: i32,
    pub computed_at: DateTime<Utc>,
    /// Jobs of this class that finished (any outcome) in the last minute,
    /// read now (not as of `computed_at`): the rate the queue drains.
    pub finished_last_minute: i64,
}

// Compiled-in files: `routes::docs` (Swagger UI) and `dashboard::assets` serve them.

/// A compiled-in file; it changes only with the binary, so caches may keep
/// it for a day.
pub fn static_file(content_type: &'static str, bytes: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        bytes,
    )
        .into_response()
}

// Bulk submit: `routes::job_batches` answers with them; the submit batcher
// stores them in a bulk submit's idempotency record for replays.

/// One item of a bulk submit: accepted (`id`, `status`, `location`) or
/// refused (`error`, the problem a single submit of it would have had,
/// its fields named `jobs[i].…`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BulkItem {
    /// The item's position in `jobs`, from 0.
    pub index: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<uuid::Uuid>,
    /// `queued` when accepted (`scheduled` for a delayed one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Where to poll: `/v1/jobs/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::error::Problem>,
    /// `true` when nothing was stored for the item because a live
    /// uniqueness hold names this existing job (`id`, `status` its state).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub existing: bool,
}

impl BulkItem {
    pub fn accepted(index: usize, id: uuid::Uuid, status: JobState) -> Self {
        Self {
            index,
            id: Some(id),
            status: Some(status.as_str().to_owned()),
            location: Some(format!("/v1/jobs/{id}")),
            error: None,
            existing: false,
        }
    }

    /// An item answered with the existing job holding its uniqueness key.
    pub fn existing(index: usize, holder: Holder) -> Self {
        Self {
            existing: true,
            ..Self::accepted(index, holder.job.as_uuid(), holder.status)
        }
    }

    pub fn refused(index: usize, error: &ApiError) -> Self {
        Self {
            index,
            id: None,
            status: None,
            location: None,
            error: Some(error.problem()),
            existing: false,
        }
    }
}

/// The answer to a bulk cancel (`POST /v1/jobs/cancel`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CancelledOut {
    /// Jobs this request cancelled.
    pub cancelled: usize,
    /// The request stopped at its cap (10,000 jobs) with more matching:
    /// send it again.
    pub more: bool,
}

/// What a bulk delete did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeletedOut {
    /// Jobs this request deleted.
    pub deleted: usize,
    /// The request stopped at its cap (10,000 jobs) with more matching:
    /// send it again.
    pub more: bool,
}

/// The answer to a bulk submit: one result per item, in order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BulkAccepted {
    /// Items accepted (each has an `id`), including those answered with an
    /// existing job (`existing: true`).
    pub accepted: usize,
    /// Items refused (each has an `error`).
    pub refused: usize,
    pub results: Vec<BulkItem>,
}

impl BulkAccepted {
    pub fn new(results: Vec<BulkItem>) -> Self {
        let accepted = results.iter().filter(|r| r.id.is_some()).count();
        Self {
            accepted,
            refused: results.len() - accepted,
            results,
        }
    }
}

// The dashboard reads it back, a registration's answer included (whose
// `email` it does not need).
/// An accepted request whose outcome is in the mail (issue 20).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MailAccepted {
    pub message: String,
}
