//! The job request as clients send it (`JobIn`), and its one conversion into
//! a validated `JobSpec` (parse, don't validate). Every refusal names the
//! field. The lattice crate decides what a valid lattice is; this module
//! maps its errors onto request fields and applies the plan's caps.

use crate::error::{ApiError, FieldError};
use catalytic_lattice::{Lattice, LatticeError, MAX_DIMENSIONS};
use catalytic_shared::job::{JobSpec, LatticeDef, Operation};
use catalytic_shared::tenant::PlanLimits;
use serde::Deserialize;
use utoipa::ToSchema;

/// Operations this api accepts, in the order the docs list them.
pub const OPERATIONS: [&str; 1] = ["shortest_path"];

/// A job submission.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "lattice": {"dimensions": 2, "size": 10},
    "operation": "shortest_path",
    "params": {"start": [0, 0], "end": [9, 9]}
}))]
pub struct JobIn {
    pub lattice: LatticeIn,
    /// One of: `shortest_path`.
    pub operation: String,
    /// Parameters of the operation; for `shortest_path`: `start` and `end`
    /// coordinates, one integer per axis, axis 0 first.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
}

/// A lattice: `dimensions` axes, each of `size` points (one integer for
/// every axis, or one per axis, each ≥ 2).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LatticeIn {
    /// 1..=10. Optional when `size` is an array (then it must match its length).
    pub dimensions: Option<i64>,
    pub size: SizeIn,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum SizeIn {
    Uniform(i64),
    PerAxis(Vec<i64>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShortestPathParams {
    start: Vec<i64>,
    end: Vec<i64>,
}

impl JobIn {
    /// Validates against the lattice rules and the tenant's plan.
    pub fn into_spec(self, limits: &PlanLimits) -> Result<JobSpec, ApiError> {
        let sizes = sizes(&self.lattice)?;
        let lattice = Lattice::new(sizes.clone()).map_err(|e| lattice_error(e, &self.lattice))?;
        if lattice.vertex_count() > limits.max_vertices_per_job {
            return Err(ApiError::field(
                "lattice",
                format!(
                    "the lattice has {} vertices; your plan allows at most {} per job",
                    lattice.vertex_count(),
                    limits.max_vertices_per_job
                ),
            ));
        }
        let operation = match self.operation.as_str() {
            "shortest_path" => {
                let params: ShortestPathParams = params(self.params)?;
                Operation::ShortestPath {
                    start: coordinate(&lattice, &params.start, "params.start")?,
                    end: coordinate(&lattice, &params.end, "params.end")?,
                }
            }
            other => {
                return Err(ApiError::field(
                    "operation",
                    format!(
                        "unknown operation {other:?}; expected one of: {}",
                        OPERATIONS.join(", ")
                    ),
                ));
            }
        };
        Ok(JobSpec {
            lattice: LatticeDef { sizes },
            operation,
        })
    }
}

fn sizes(lattice: &LatticeIn) -> Result<Vec<u32>, ApiError> {
    let max = MAX_DIMENSIONS as i64;
    let in_range_dims = |d: i64| (1..=max).contains(&d);
    let raw: Vec<(String, i64)> = match &lattice.size {
        SizeIn::Uniform(size) => {
            let d = lattice.dimensions.ok_or_else(|| {
                ApiError::field("lattice.dimensions", "required when size is one integer")
            })?;
            if !in_range_dims(d) {
                return Err(ApiError::field(
                    "lattice.dimensions",
                    format!("must be between 1 and {max}, got {d}"),
                ));
            }
            (0..d).map(|_| ("lattice.size".to_owned(), *size)).collect()
        }
        SizeIn::PerAxis(sizes) => {
            let d = sizes.len() as i64;
            if !in_range_dims(d) {
                return Err(ApiError::field(
                    "lattice.size",
                    format!("must list between 1 and {max} sizes, got {d}"),
                ));
            }
            if let Some(dims) = lattice.dimensions
                && dims != d
            {
                return Err(ApiError::field(
                    "lattice.dimensions",
                    format!("is {dims} but size lists {d} axes"),
                ));
            }
            sizes
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("lattice.size[{i}]"), *s))
                .collect()
        }
    };
    let mut errors = Vec::new();
    let mut out = Vec::with_capacity(raw.len());
    for (field, size) in raw {
        match u32::try_from(size) {
            Ok(s) if s >= catalytic_lattice::MIN_SIZE => out.push(s),
            _ => {
                if !errors.iter().any(|e: &FieldError| e.field == field) {
                    errors.push(FieldError::new(
                        field,
                        format!("must be an integer between 2 and {}, got {size}", u32::MAX),
                    ));
                }
            }
        }
    }
    match errors.is_empty() {
        true => Ok(out),
        false => Err(ApiError::Validation(errors)),
    }
}

fn lattice_error(e: LatticeError, lattice: &LatticeIn) -> ApiError {
    match e {
        LatticeError::Dimensions(_) => ApiError::field("lattice.dimensions", e.to_string()),
        LatticeError::Size { axis, .. } => match lattice.size {
            SizeIn::Uniform(_) => ApiError::field("lattice.size", e.to_string()),
            SizeIn::PerAxis(_) => ApiError::field(format!("lattice.size[{axis}]"), e.to_string()),
        },
        LatticeError::TooLarge => ApiError::field("lattice", "the vertex count overflows 64 bits"),
        other => ApiError::field("lattice", other.to_string()),
    }
}

fn params<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    // Absent params read as `{}`, so the error names the first missing one.
    let value = match value {
        serde_json::Value::Null => serde_json::json!({}),
        other => other,
    };
    let bytes = serde_json::to_vec(&value).map_err(|e| ApiError::Internal(e.into()))?;
    crate::json::parse(&bytes).map_err(|e| match e {
        ApiError::Validation(errors) => ApiError::Validation(
            errors
                .into_iter()
                .map(|f| {
                    let field = match f.field.as_str() {
                        "body" => "params".to_owned(),
                        other => format!("params.{other}"),
                    };
                    FieldError::new(field, f.message)
                })
                .collect(),
        ),
        other => other,
    })
}

fn coordinate(lattice: &Lattice, coord: &[i64], field: &str) -> Result<Vec<u32>, ApiError> {
    if coord.len() != lattice.dimensions() {
        return Err(ApiError::field(
            field,
            format!(
                "has {} components but the lattice has {} dimensions",
                coord.len(),
                lattice.dimensions()
            ),
        ));
    }
    coord
        .iter()
        .zip(lattice.sizes())
        .enumerate()
        .map(|(axis, (&value, &size))| {
            u32::try_from(value)
                .ok()
                .filter(|v| *v < size)
                .ok_or_else(|| {
                    ApiError::field(
                        format!("{field}[{axis}]"),
                        format!("must be between 0 and {}, got {value}", size - 1),
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalytic_shared::tenant::Plan;
    use serde_json::json;

    fn submit(body: serde_json::Value) -> Result<JobSpec, ApiError> {
        let job: JobIn = crate::json::parse(body.to_string().as_bytes())?;
        job.into_spec(&Plan::Free.limits())
    }

    fn field(body: serde_json::Value) -> String {
        match submit(body) {
            Err(ApiError::Validation(errors)) => errors
                .iter()
                .map(|e| e.field.clone())
                .collect::<Vec<_>>()
                .join(","),
            other => format!("not a validation error: {other:?}"),
        }
    }

    fn job(
        lattice: serde_json::Value,
        start: serde_json::Value,
        end: serde_json::Value,
    ) -> serde_json::Value {
        json!({"lattice": lattice, "operation": "shortest_path", "params": {"start": start, "end": end}})
    }

    #[test]
    fn a_valid_request_becomes_a_spec() -> Result<(), ApiError> {
        let spec = submit(job(
            json!({"dimensions": 2, "size": 10}),
            json!([0, 1]),
            json!([9, 9]),
        ))?;
        assert_eq!(spec.lattice.sizes, vec![10, 10]);
        assert_eq!(
            spec.operation,
            Operation::ShortestPath {
                start: vec![0, 1],
                end: vec![9, 9]
            }
        );
        let spec = submit(job(
            json!({"size": [3, 4, 5]}),
            json!([0, 0, 0]),
            json!([2, 3, 4]),
        ))?;
        assert_eq!(spec.lattice.sizes, vec![3, 4, 5]);
        Ok(())
    }

    #[test]
    fn each_bad_field_is_named() {
        let ok = json!([0, 0]);
        assert_eq!(
            field(job(
                json!({"dimensions": 0, "size": 4}),
                ok.clone(),
                ok.clone()
            )),
            "lattice.dimensions"
        );
        assert_eq!(
            field(job(
                json!({"dimensions": 11, "size": 4}),
                ok.clone(),
                ok.clone()
            )),
            "lattice.dimensions"
        );
        assert_eq!(
            field(job(
                json!({"dimensions": 2, "size": 1}),
                ok.clone(),
                ok.clone()
            )),
            "lattice.size"
        );
        assert_eq!(
            field(job(json!({"size": [4, 1]}), ok.clone(), ok.clone())),
            "lattice.size[1]"
        );
        assert_eq!(
            field(job(
                json!({"dimensions": 3, "size": [4, 4]}),
                ok.clone(),
                ok.clone()
            )),
            "lattice.dimensions"
        );
        assert_eq!(
            field(job(
                json!({"dimensions": 2, "size": 4}),
                json!([0, 4]),
                ok.clone()
            )),
            "params.start[1]"
        );
        assert_eq!(
            field(job(
                json!({"dimensions": 2, "size": 4}),
                ok.clone(),
                json!([-1, 0])
            )),
            "params.end[0]"
        );
        assert_eq!(
            field(job(
                json!({"dimensions": 2, "size": 4}),
                json!([0]),
                ok.clone()
            )),
            "params.start"
        );
        assert_eq!(
            field(job(
                json!({"dimensions": 2, "size": 4}),
                json!([0, 0, 0]),
                ok.clone()
            )),
            "params.start"
        );
        assert_eq!(
            field(
                json!({"lattice": {"dimensions": 2, "size": 4}, "operation": "shortest_path", "params": {"start": [0, 0]}})
            ),
            "params.end"
        );
        assert_eq!(
            field(json!({"lattice": {"dimensions": 2, "size": 4}, "operation": "teleport"})),
            "operation"
        );
        assert_eq!(
            field(json!({"lattice": {"dimensions": 2, "size": 4}})),
            "operation"
        );
        assert_eq!(
            field(
                json!({"lattice": {"dimensions": 2, "size": "big"}, "operation": "shortest_path"})
            ),
            "lattice.size"
        );
    }

    #[test]
    fn the_vertex_cap_is_the_plans() {
        // Free allows 10^6 vertices: 1000 x 1000 is at the cap, 1001 x 1000 over it.
        let at = submit(job(
            json!({"size": [1000, 1000]}),
            json!([0, 0]),
            json!([1, 1]),
        ));
        assert!(at.is_ok(), "{at:?}");
        assert_eq!(
            field(job(
                json!({"size": [1001, 1000]}),
                json!([0, 0]),
                json!([1, 1])
            )),
            "lattice"
        );
        // 100^10 overflows nothing but is far over any cap.
        assert_eq!(
            field(job(
                json!({"dimensions": 10, "size": 100}),
                json!(vec![0; 10]),
                json!(vec![0; 10])
            )),
            "lattice"
        );
    }
}
