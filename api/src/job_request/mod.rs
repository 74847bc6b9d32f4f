//! The job request as clients send it (`JobIn`) and its one conversion into
//! a validated `JobSpec` (parse, don't validate): the lattice (inline or a
//! stored one), the operation's parameters, and the plan's caps. Every
//! refusal is a 422 naming the field.

pub mod echo;
pub mod lattice;
mod params;

use crate::error::ApiError;
use catalytic_shared::job::{JobSpec, LatticeDef, cost};
use catalytic_shared::tenant::PlanLimits;
use lattice::{LatticeIn, ValidLattice};
use serde::Deserialize;
use utoipa::ToSchema;

pub use params::{MAX_BATCH_PAIRS, OPERATIONS};

/// A job submission: a lattice (inline, or `lattice_id` of a stored one),
/// an operation and its parameters.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "lattice": {"dimensions": 2, "size": 10},
    "operation": "shortest_path",
    "params": {"start": [0, 0], "end": [9, 9]}
}))]
pub struct JobIn {
    pub lattice: Option<LatticeIn>,
    /// A stored lattice (`POST /v1/lattices`), instead of `lattice`.
    pub lattice_id: Option<uuid::Uuid>,
    /// `shortest_path`, `distances`, `neighbors`, `components`, `analyze`, `transform` or `batch`.
    pub operation: String,
    /// The operation's parameters (see the API guide in docs/api.md).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    /// Run no earlier than this time (RFC 3339): the job is `scheduled`
    /// until then. At most the plan's horizon ahead; up to 5 s in the past
    /// counts as now. Not with `delay_secs`.
    pub run_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Run no earlier than this many seconds from now (0 to the plan's
    /// horizon). Not with `run_at`.
    pub delay_secs: Option<f64>,
    /// Unique jobs: for this many seconds (1 to 604,800, 7 days) the job
    /// holds its uniqueness key, and a submit of the same key answers this
    /// job (200, `existing: true`) instead of storing another. Unlike an
    /// `Idempotency-Key`, the requests need not be the same.
    pub unique_for_secs: Option<u64>,
    /// The uniqueness key (1–255 characters, no control characters); by
    /// default a digest of the request (lattice, operation, parameters), so
    /// the same computation is not run twice in the window. Needs
    /// `unique_for_secs`.
    pub unique_key: Option<String>,
    /// Parent jobs (up to 100, yours): the job is `waiting` until every one
    /// has succeeded. Each is a job id, or in a bulk submit the index of an
    /// earlier item of the same request. Not with `run_at`/`delay_secs`.
    pub depends_on: Option<Vec<ParentRef>>,
    /// When a parent fails or is cancelled: `cancel` (default: this job is
    /// cancelled, the reason naming the parent) or `run` (it runs once
    /// every parent has finished).
    pub on_parent_failure: Option<String>,
    /// Concurrency key (1–255 characters): at most `max_concurrency` of
    /// your jobs with this key are queued or running at once; the rest are
    /// `waiting`, in submit order, without holding up other keys. With
    /// `depends_on`, it waits for its parents, then for a slot; with
    /// `run_at` or `delay_secs`, for its time, then for a slot.
    pub concurrency_key: Option<String>,
    /// 1–1000 (default 1) with `concurrency_key`.
    pub max_concurrency: Option<i64>,
    /// How long after it finished the job keeps its full result: 60
    /// seconds to the plan's bound (7 / 30 / 90 / 365 days). Then the
    /// result becomes a summary, as for every job after the fleet's
    /// default (7 days) when this is absent.
    pub result_ttl_secs: Option<u64>,
}

/// A key a client names (uniqueness, concurrency): 1–255 characters, none
/// of them control characters (the columns' CHECKs say the same).
pub(crate) fn check_key(field: &str, key: &str) -> Result<(), ApiError> {
    let chars = key.chars().count();
    if !(1..=255).contains(&chars) || key.chars().any(char::is_control) {
        return Err(ApiError::field(
            field,
            "must be 1 to 255 characters, none of them control characters",
        ));
    }
    Ok(())
}

/// The most jobs of one concurrency key at once.
pub const MAX_CONCURRENCY: i64 = 1000;

/// A parent named by a submit: a job id, or (bulk submits) the index of an
/// earlier item of the same request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ParentRef {
    /// A job of yours, by id.
    Job(uuid::Uuid),
    /// In a bulk submit: an earlier item of the same request, by index.
    Item(usize),
}

/// The most parents a job may name.
pub const MAX_PARENTS: usize = 100;

/// What a submit asked of its parents, validated but not yet resolved
/// (an item index becomes that item's job id in the bulk route).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependencies {
    pub parents: Vec<ParentRef>,
    pub run_on_failure: bool,
}

/// The shortest `result_ttl_secs`: the retention pass runs every few
/// minutes, so a shorter one would not be kept to anyway.
pub const MIN_RESULT_TTL_SECS: u64 = 60;

/// The longest `unique_for_secs`.
pub const MAX_UNIQUE_FOR_SECS: u64 = 7 * 86_400;

/// What a submit asked of uniqueness, validated: the key it named (None:
/// the request's digest, made once the request is valid) and the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uniqueness {
    pub key: Option<String>,
    pub window: std::time::Duration,
}

/// A `run_at` this far in the past is taken as "now" (clocks differ).
pub const PAST_TOLERANCE: chrono::TimeDelta = chrono::TimeDelta::seconds(5);
/// Delays shorter than this run at once: the relay leader's poll (0.5 s)
/// would not resolve them anyway.
const NOT_WORTH_SCHEDULING: chrono::TimeDelta = chrono::TimeDelta::milliseconds(500);

impl JobIn {
    /// When the job may run, from `run_at` or `delay_secs` (None: at once),
    /// within the plan's horizon from `now`.
    pub fn run_at(
        &self,
        limits: &PlanLimits,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
        let horizon =
            chrono::TimeDelta::from_std(limits.schedule_horizon).unwrap_or(chrono::TimeDelta::MAX);
        let (at, field) = match (self.run_at, self.delay_secs) {
            (None, None) => return Ok(None),
            (Some(_), Some(_)) => {
                return Err(ApiError::field(
                    "delay_secs",
                    "give either run_at or delay_secs, not both",
                ));
            }
            (Some(at), None) => {
                if at < now - PAST_TOLERANCE {
                    return Err(ApiError::field(
                        "run_at",
                        format!("{} is in the past", at.to_rfc3339()),
                    ));
                }
                (at, "run_at")
            }
            (None, Some(secs)) => {
                if !secs.is_finite() || secs < 0.0 {
                    return Err(ApiError::field(
                        "delay_secs",
                        "must be a number of seconds, 0 or more",
                    ));
                }
                // Compared before any date arithmetic: a huge delay is
                // refused, never overflowed.
                let delay = match secs <= limits.schedule_horizon.as_secs_f64() {
                    true => chrono::TimeDelta::milliseconds((secs * 1000.0) as i64),
                    false => chrono::TimeDelta::MAX,
                };
                (
                    now.checked_add_signed(delay)
                        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC),
                    "delay_secs",
                )
            }
        };
        if at - now > horizon {
            return Err(ApiError::field(
                field,
                format!(
                    "at most {} days ahead on your plan",
                    limits.schedule_horizon.as_secs() / 86_400
                ),
            ));
        }
        Ok((at - now >= NOT_WORTH_SCHEDULING).then_some(at))
    }

    /// The parents the submit named, if any (422 naming the field
    /// otherwise): at most `MAX_PARENTS`, each once, not with a time to
    /// run at. Whether they exist is the route's question.
    pub fn dependencies(&self) -> Result<Option<Dependencies>, ApiError> {
        let run_on_failure = match self.on_parent_failure.as_deref() {
            None | Some("cancel") => false,
            Some("run") => true,
            Some(_) => {
                return Err(ApiError::field(
                    "on_parent_failure",
                    "must be cancel or run",
                ));
            }
        };
        let parents = match &self.depends_on {
            None => {
                return match self.on_parent_failure {
                    Some(_) => Err(ApiError::field("on_parent_failure", "needs depends_on")),
                    None => Ok(None),
                };
            }
            Some(parents) => parents.clone(),
        };
        if parents.is_empty() || parents.len() > MAX_PARENTS {
            return Err(ApiError::field(
                "depends_on",
                format!("must name 1 to {MAX_PARENTS} parent jobs"),
            ));
        }
        if let Some(i) = (1..parents.len()).find(|&i| parents[..i].contains(&parents[i])) {
            return Err(ApiError::field(format!("depends_on[{i}]"), "named twice"));
        }
        if self.run_at.is_some() || self.delay_secs.is_some() {
            return Err(ApiError::field(
                "depends_on",
                "a job waits for its parents or for a time, not both",
            ));
        }
        Ok(Some(Dependencies {
            parents,
            run_on_failure,
        }))
    }

    /// The concurrency key the submit named, if any (422 naming the field
    /// otherwise).
    pub fn concurrency(&self) -> Result<Option<catalytic_shared::db::jobs::Concurrency>, ApiError> {
        let key = match (&self.concurrency_key, self.max_concurrency) {
            (None, None) => return Ok(None),
            (None, Some(_)) => {
                return Err(ApiError::field("max_concurrency", "needs concurrency_key"));
            }
            (Some(key), _) => key,
        };
        check_key("concurrency_key", key)?;
        let max = self.max_concurrency.unwrap_or(1);
        if !(1..=MAX_CONCURRENCY).contains(&max) {
            return Err(ApiError::field(
                "max_concurrency",
                format!("must be 1 to {MAX_CONCURRENCY}"),
            ));
        }
        Ok(Some(catalytic_shared::db::jobs::Concurrency {
            key: key.clone(),
            max: i32::try_from(max).unwrap_or(1),
        }))
    }

    /// How long the job keeps its result, if the submit said (422 naming
    /// the field when it is outside 60 s – the plan's bound).
    pub fn result_ttl(&self, limits: &PlanLimits) -> Result<Option<std::time::Duration>, ApiError> {
        let Some(secs) = self.result_ttl_secs else {
            return Ok(None);
        };
        let most = limits.result_retention.as_secs();
        if !(MIN_RESULT_TTL_SECS..=most).contains(&secs) {
            return Err(ApiError::field(
                "result_ttl_secs",
                format!(
                    "must be {MIN_RESULT_TTL_SECS} to {most} seconds ({} days) on your plan",
                    most / 86_400
                ),
            ));
        }
        Ok(Some(std::time::Duration::from_secs(secs)))
    }

    /// The uniqueness the submit asked for, if any (422 naming the field
    /// otherwise).
    pub fn uniqueness(&self) -> Result<Option<Uniqueness>, ApiError> {
        let window = match (self.unique_for_secs, &self.unique_key) {
            (None, None) => return Ok(None),
            (None, Some(_)) => {
                return Err(ApiError::field(
                    "unique_for_secs",
                    "is required with unique_key",
                ));
            }
            (Some(secs), _) if !(1..=MAX_UNIQUE_FOR_SECS).contains(&secs) => {
                return Err(ApiError::field(
                    "unique_for_secs",
                    format!("must be 1 to {MAX_UNIQUE_FOR_SECS} seconds"),
                ));
            }
            (Some(secs), _) => std::time::Duration::from_secs(secs),
        };
        if let Some(key) = &self.unique_key {
            check_key("unique_key", key)?;
        }
        Ok(Some(Uniqueness {
            key: self.unique_key.clone(),
            window,
        }))
    }

    /// Validates against the lattice rules and the plan. `stored` is the
    /// definition behind `lattice_id`, already looked up (tenant-scoped).
    pub fn into_spec(
        self,
        limits: &PlanLimits,
        stored: Option<LatticeDef>,
    ) -> Result<JobSpec, ApiError> {
        let valid = match (&self.lattice, stored) {
            (Some(_), Some(_)) => {
                return Err(ApiError::field(
                    "lattice_id",
                    "give either lattice or lattice_id, not both",
                ));
            }
            (Some(inline), None) => inline.validate("lattice")?,
            (None, Some(def)) => {
                let lattice = def.build().map_err(|e| {
                    ApiError::Internal(anyhow::anyhow!("stored lattice is invalid: {e}"))
                })?;
                ValidLattice { def, lattice }
            }
            (None, None) => return Err(ApiError::field("lattice", "required (or lattice_id)")),
        };
        let vertices = valid.lattice.vertex_count();
        if vertices > limits.max_vertices_per_job {
            return Err(ApiError::field(
                "lattice",
                format!(
                    "the lattice has {vertices} vertices; your plan allows at most {} per job",
                    limits.max_vertices_per_job
                ),
            ));
        }
        let operation = params::parse(&self.operation, self.params, &valid.lattice)?;
        let spec = JobSpec {
            lattice: valid.def,
            operation,
        };
        let estimate = cost::estimate(&spec, &valid.lattice);
        let time = cost::estimated_time(&spec, &valid.lattice, &estimate);
        if time > limits.time_limit {
            return Err(ApiError::field(
                "operation",
                format!(
                    "estimated at {:.1} s ({} vertex visits), over your plan's {} s time limit per job",
                    time.as_secs_f64(),
                    estimate.vertex_visits,
                    limits.time_limit.as_secs()
                ),
            ));
        }
        Ok(spec)
    }
}

#[cfg(test)]
mod tests;
