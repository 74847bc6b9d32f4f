//! Each operation's parameters: parsed from the body's `params` object with
//! errors named `params.<field>`, checked against the lattice (coordinates
//! in range and not blocked, radius, data length, rotation plane).

use super::lattice::index_of;
use crate::error::{ApiError, FieldError};
use catalytic_lattice::Lattice;
use catalytic_shared::job::{AuxSpec, DataSpec, Operation, PathPair, TransformKind, TransformSpec};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Operations this api accepts, in the order the docs list them.
pub const OPERATIONS: [&str; 7] = [
    "shortest_path",
    "distances",
    "neighbors",
    "components",
    "analyze",
    "transform",
    "batch",
];

/// Pairs one batch may hold.
pub const MAX_BATCH_PAIRS: usize = 1_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Path {
    start: Vec<i64>,
    end: Vec<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    source: Vec<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ball {
    center: Vec<i64>,
    radius: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Nothing {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    pairs: Vec<Path>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Transform {
    transform: String,
    key: Option<Vec<u8>>,
    axes: Option<Vec<i64>>,
    quarter_turns: Option<i64>,
    factor: Option<f32>,
    data: DataIn,
    #[serde(default)]
    catalytic: bool,
    aux: Option<AuxIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DataIn {
    #[serde(rename = "type")]
    kind: String,
    values: Option<Vec<serde_json::Number>>,
    seed: Option<u64>,
    /// `parent`: the output of the job's one parent (`depends_on`).
    from: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuxIn {
    values: Option<Vec<u8>>,
    seed: Option<u64>,
}

pub fn parse(
    operation: &str,
    params: serde_json::Value,
    lattice: &Lattice,
) -> Result<Operation, ApiError> {
    Ok(match operation {
        "shortest_path" => {
            let p: Path = from_params(params)?;
            let (start, end) = path(lattice, &p, "params")?;
            Operation::ShortestPath { start, end }
        }
        "distances" => {
            let p: Source = from_params(params)?;
            Operation::Distances {
                source: open_vertex(lattice, &p.source, "params.source")?,
            }
        }
        "neighbors" => {
            let p: Ball = from_params(params)?;
            let center = open_vertex(lattice, &p.center, "params.center")?;
            let max = lattice.max_distance();
            let radius = u32::try_from(p.radius)
                .ok()
                .filter(|r| u64::from(*r) <= max)
                .ok_or_else(|| {
                    ApiError::field(
                        "params.radius",
                        format!(
                            "must be between 0 and {max} (the lattice's largest distance), got {}",
                            p.radius
                        ),
                    )
                })?;
            Operation::Neighbors { center, radius }
        }
        "components" => {
            let _: Nothing = from_params(params)?;
            Operation::Components {}
        }
        "analyze" => {
            let _: Nothing = from_params(params)?;
            Operation::Analyze {}
        }
        "batch" => {
            let p: Batch = from_params(params)?;
            if p.pairs.is_empty() || p.pairs.len() > MAX_BATCH_PAIRS {
                return Err(ApiError::field(
                    "params.pairs",
                    format!(
                        "must hold between 1 and {MAX_BATCH_PAIRS} pairs, got {}",
                        p.pairs.len()
                    ),
                ));
            }
            let pairs = p
                .pairs
                .iter()
                .enumerate()
                .map(|(i, pair)| {
                    path(lattice, pair, &format!("params.pairs[{i}]"))
                        .map(|(start, end)| PathPair { start, end })
                })
                .collect::<Result<_, _>>()?;
            Operation::Batch { pairs }
        }
        "transform" => Operation::Transform(transform(from_params(params)?, lattice)?),
        other => {
            return Err(ApiError::field(
                "operation",
                format!(
                    "unknown operation {other:?}; expected one of: {}",
                    OPERATIONS.join(", ")
                ),
            ));
        }
    })
}

/// Deserialises `params` (absent = `{}`), naming fields `params.<path>`.
fn from_params<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
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

fn path(lattice: &Lattice, p: &Path, at: &str) -> Result<(Vec<u32>, Vec<u32>), ApiError> {
    Ok((
        open_vertex(lattice, &p.start, &format!("{at}.start"))?,
        open_vertex(lattice, &p.end, &format!("{at}.end"))?,
    ))
}

/// A coordinate that is in range and not blocked.
fn open_vertex(lattice: &Lattice, coord: &[i64], field: &str) -> Result<Vec<u32>, ApiError> {
    let index = index_of(lattice, coord, field)?;
    if lattice.is_blocked(index) {
        return Err(ApiError::field(field.to_owned(), "this vertex is blocked"));
    }
    // In range was just checked, so each component fits in u32.
    Ok(coord.iter().map(|&c| c as u32).collect())
}

fn transform(t: Transform, lattice: &Lattice) -> Result<TransformSpec, ApiError> {
    let kind = match t.transform.as_str() {
        "xor" => {
            let key = t.key.unwrap_or_default();
            if key.is_empty() {
                return Err(ApiError::field(
                    "params.key",
                    "xor needs a non-empty byte key",
                ));
            }
            TransformKind::Xor { key }
        }
        "rotate" => {
            let axes = t.axes.unwrap_or_default();
            let dims = lattice.dimensions();
            let [a, b] = axes[..] else {
                return Err(ApiError::field(
                    "params.axes",
                    "rotate needs two axes, e.g. [0, 1]",
                ));
            };
            let axis = |x: i64| usize::try_from(x).ok().filter(|x| *x < dims);
            let (Some(a), Some(b)) = (axis(a), axis(b)) else {
                return Err(ApiError::field(
                    "params.axes",
                    format!("axes must be between 0 and {}", dims - 1),
                ));
            };
            if a == b {
                return Err(ApiError::field("params.axes", "the two axes must differ"));
            }
            let sizes = lattice.sizes();
            if sizes[a] != sizes[b] {
                return Err(ApiError::field(
                    "params.axes",
                    format!(
                        "rotation needs axes of equal size; axis {a} has {} and axis {b} has {}",
                        sizes[a], sizes[b]
                    ),
                ));
            }
            let turns = t.quarter_turns.unwrap_or(1);
            let quarter_turns = u8::try_from(turns.rem_euclid(4)).unwrap_or(0);
            TransformKind::Rotate {
                axes: [a, b],
                quarter_turns,
            }
        }
        "scale" => {
            let factor = t
                .factor
                .ok_or_else(|| ApiError::field("params.factor", "scale needs a factor"))?;
            if !factor.is_finite() {
                return Err(ApiError::field("params.factor", "must be a finite number"));
            }
            TransformKind::Scale { factor }
        }
        other => {
            return Err(ApiError::field(
                "params.transform",
                format!("unknown transform {other:?}; expected xor, rotate or scale"),
            ));
        }
    };
    let data = data(t.data, lattice)?;
    if matches!(kind, TransformKind::Scale { .. }) && data.kind() == catalytic_lattice::DataKind::U8
    {
        return Err(ApiError::field("params.data.type", "scale needs f32 data"));
    }
    let aux = match (t.catalytic, t.aux) {
        (false, Some(_)) => {
            return Err(ApiError::field(
                "params.aux",
                "only catalytic transforms take an aux buffer",
            ));
        }
        (false, None) => None,
        (true, None) => Some(AuxSpec::Seeded { seed: 0 }),
        (
            true,
            Some(AuxIn {
                values: Some(values),
                seed: None,
            }),
        ) => Some(AuxSpec::Bytes { values }),
        (
            true,
            Some(AuxIn {
                values: None,
                seed: Some(seed),
            }),
        ) => Some(AuxSpec::Seeded { seed }),
        (true, Some(_)) => return Err(ApiError::field("params.aux", "give either values or seed")),
    };
    let spec = TransformSpec {
        transform: kind,
        data,
        catalytic: t.catalytic,
        aux,
    };
    if let Some(AuxSpec::Bytes { values }) = &spec.aux {
        let needed = catalytic_lattice::aux_bytes_needed(
            lattice,
            spec.data.kind(),
            &spec.transform.engine(),
        );
        if (values.len() as u64) < needed {
            return Err(ApiError::field(
                "params.aux.values",
                format!(
                    "this transform needs an aux buffer of at least {needed} bytes, got {}",
                    values.len()
                ),
            ));
        }
    }
    Ok(spec)
}

fn data(d: DataIn, lattice: &Lattice) -> Result<DataSpec, ApiError> {
    let n = lattice.vertex_count();
    match d.from.as_deref() {
        None => {}
        Some("parent") if d.values.is_none() && d.seed.is_none() => {
            return match d.kind.as_str() {
                "u8" => Ok(DataSpec::ParentU8),
                "f32" => Ok(DataSpec::ParentF32),
                other => Err(kind_error(other)),
            };
        }
        Some("parent") => {
            return Err(ApiError::field(
                "params.data.from",
                "give values, a seed or from, one of them",
            ));
        }
        Some(_) => return Err(ApiError::field("params.data.from", "must be parent")),
    }
    let values = match (d.values, d.seed) {
        (Some(v), None) => v,
        (None, Some(seed)) => {
            return match d.kind.as_str() {
                "u8" => Ok(DataSpec::SeededU8 { seed }),
                "f32" => Ok(DataSpec::SeededF32 { seed }),
                other => Err(kind_error(other)),
            };
        }
        _ => return Err(ApiError::field("params.data", "give either values or seed")),
    };
    if values.len() as u64 != n {
        return Err(ApiError::field(
            "params.data.values",
            format!("must hold one value per vertex: {n}, got {}", values.len()),
        ));
    }
    match d.kind.as_str() {
        "u8" => values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_u64()
                    .and_then(|x| u8::try_from(x).ok())
                    .ok_or_else(|| {
                        ApiError::field(
                            format!("params.data.values[{i}]"),
                            "must be an integer 0..=255",
                        )
                    })
            })
            .collect::<Result<_, _>>()
            .map(|values| DataSpec::U8 { values }),
        "f32" => values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_f64()
                    .map(|x| x as f32)
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| {
                        ApiError::field(
                            format!("params.data.values[{i}]"),
                            "must be a finite number",
                        )
                    })
            })
            .collect::<Result<_, _>>()
            .map(|values| DataSpec::F32 { values }),
        other => Err(kind_error(other)),
    }
}

fn kind_error(kind: &str) -> ApiError {
    ApiError::field(
        "params.data.type",
        format!("unknown data type {kind:?}; expected u8 or f32"),
    )
}
