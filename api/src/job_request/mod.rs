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
}

impl JobIn {
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
        let time = cost::estimated_time(&estimate);
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
