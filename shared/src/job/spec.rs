//! `JobSpec`: a job request after validation, as stored in `jobs.spec` and
//! read back by the worker. The wire format and its field-by-field errors
//! are the api's (`api/src/job_request/`); this type only holds specs that
//! passed, so the worker never re-validates user input. Coordinates are
//! stored as given (axis 0 first); the engine turns them into indices.

use catalytic_lattice::{Blocked, Lattice, LatticeError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    pub lattice: LatticeDef,
    #[serde(flatten)]
    pub operation: Operation,
}

/// A lattice by its definition: a lattice is never stored as a graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatticeDef {
    /// One size per axis, axis 0 first.
    pub sizes: Vec<u32>,
    /// One flag per axis; empty = no axis wraps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wrap: Vec<bool>,
    #[serde(default, skip_serializing_if = "BlockedDef::is_none")]
    pub blocked: BlockedDef,
}

/// Blocked vertices: none, an explicit list of vertex indices, or the seeded
/// rule of docs/adr/0002-lattices.md.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BlockedDef {
    #[default]
    None,
    Explicit {
        indices: Vec<u64>,
    },
    Seeded {
        fraction: f64,
        seed: u64,
    },
}

impl BlockedDef {
    pub fn is_none(&self) -> bool {
        matches!(self, BlockedDef::None)
    }
}

impl LatticeDef {
    /// The engine's lattice: the one constructor every process uses.
    pub fn build(&self) -> Result<Lattice, LatticeError> {
        let mut lattice = Lattice::new(self.sizes.clone())?;
        if !self.wrap.is_empty() {
            lattice = lattice.with_wrap(self.wrap.clone())?;
        }
        let blocked = match &self.blocked {
            BlockedDef::None => return Ok(lattice),
            BlockedDef::Explicit { indices } => Blocked::Explicit(indices.clone()),
            BlockedDef::Seeded { fraction, seed } => Blocked::Seeded {
                fraction: *fraction,
                seed: *seed,
            },
        };
        lattice.with_blocked(blocked)
    }
}

/// A start/end pair of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathPair {
    pub start: Vec<u32>,
    pub end: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "operation", content = "params", rename_all = "snake_case")]
pub enum Operation {
    ShortestPath { start: Vec<u32>, end: Vec<u32> },
    Distances { source: Vec<u32> },
    Neighbors { center: Vec<u32>, radius: u32 },
    Components {},
    Analyze {},
    Transform(TransformSpec),
    Batch { pairs: Vec<PathPair> },
}

/// A transform of a data field with one element per vertex (docs/adr/0002-lattices.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransformSpec {
    pub transform: TransformKind,
    pub data: DataSpec,
    /// Run with a caller-supplied auxiliary buffer as the only scratch
    /// memory, restored bit for bit.
    #[serde(default)]
    pub catalytic: bool,
    /// The auxiliary buffer's contents (catalytic only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aux: Option<AuxSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TransformKind {
    Xor { key: Vec<u8> },
    Rotate { axes: [usize; 2], quarter_turns: u8 },
    Scale { factor: f32 },
}

/// The data field: supplied values, or generated from a seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum DataSpec {
    U8 {
        values: Vec<u8>,
    },
    F32 {
        values: Vec<f32>,
    },
    SeededU8 {
        seed: u64,
    },
    SeededF32 {
        seed: u64,
    },
    /// The output of the job's one parent (`depends_on`), a transform's
    /// `data`, read when the job runs (issue 21: a parent's result fed to
    /// its child; worker/src/inputs.rs).
    ParentU8,
    ParentF32,
}

/// The auxiliary buffer: supplied bytes, or generated from a seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum AuxSpec {
    Bytes { values: Vec<u8> },
    Seeded { seed: u64 },
}

impl TransformKind {
    /// The engine's form of this transform.
    pub fn engine(&self) -> catalytic_lattice::Transform {
        match self {
            TransformKind::Xor { key } => catalytic_lattice::Transform::Xor { key: key.clone() },
            TransformKind::Rotate {
                axes,
                quarter_turns,
            } => catalytic_lattice::Transform::Rotate {
                axes: *axes,
                quarter_turns: *quarter_turns,
            },
            TransformKind::Scale { factor } => {
                catalytic_lattice::Transform::Scale { factor: *factor }
            }
        }
    }
}

impl DataSpec {
    /// Whether the data is the parent's output, to be read when the job runs.
    pub fn from_parent(&self) -> bool {
        matches!(self, DataSpec::ParentU8 | DataSpec::ParentF32)
    }

    pub fn kind(&self) -> catalytic_lattice::DataKind {
        match self {
            DataSpec::U8 { .. } | DataSpec::SeededU8 { .. } | DataSpec::ParentU8 => {
                catalytic_lattice::DataKind::U8
            }
            DataSpec::F32 { .. } | DataSpec::SeededF32 { .. } | DataSpec::ParentF32 => {
                catalytic_lattice::DataKind::F32
            }
        }
    }
}

impl Operation {
    pub fn name(&self) -> &'static str {
        match self {
            Operation::ShortestPath { .. } => "shortest_path",
            Operation::Distances { .. } => "distances",
            Operation::Neighbors { .. } => "neighbors",
            Operation::Components {} => "components",
            Operation::Analyze {} => "analyze",
            Operation::Transform(_) => "transform",
            Operation::Batch { .. } => "batch",
        }
    }
}

impl JobSpec {
    pub fn lattice(&self) -> Result<Lattice, LatticeError> {
        self.lattice.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_is_stable() -> Result<(), serde_json::Error> {
        let spec = JobSpec {
            lattice: LatticeDef {
                sizes: vec![4, 4],
                wrap: vec![],
                blocked: BlockedDef::None,
            },
            operation: Operation::ShortestPath {
                start: vec![0, 0],
                end: vec![3, 3],
            },
        };
        let json = serde_json::to_value(&spec)?;
        assert_eq!(
            json,
            serde_json::json!({
                "lattice": {"sizes": [4, 4]},
                "operation": "shortest_path",
                "params": {"start": [0, 0], "end": [3, 3]}
            })
        );
        assert_eq!(serde_json::from_value::<JobSpec>(json)?, spec);
        Ok(())
    }

    #[test]
    fn every_operation_round_trips() -> Result<(), serde_json::Error> {
        let lattice = LatticeDef {
            sizes: vec![3, 3],
            wrap: vec![true, false],
            blocked: BlockedDef::Seeded {
                fraction: 0.2,
                seed: 7,
            },
        };
        let operations = [
            Operation::Distances { source: vec![0, 0] },
            Operation::Neighbors {
                center: vec![1, 1],
                radius: 2,
            },
            Operation::Components {},
            Operation::Analyze {},
            Operation::Batch {
                pairs: vec![PathPair {
                    start: vec![0, 0],
                    end: vec![2, 2],
                }],
            },
            Operation::Transform(TransformSpec {
                transform: TransformKind::Rotate {
                    axes: [0, 1],
                    quarter_turns: 1,
                },
                data: DataSpec::SeededF32 { seed: 3 },
                catalytic: true,
                aux: Some(AuxSpec::Seeded { seed: 9 }),
            }),
        ];
        for operation in operations {
            let spec = JobSpec {
                lattice: lattice.clone(),
                operation,
            };
            let back: JobSpec = serde_json::from_value(serde_json::to_value(&spec)?)?;
            assert_eq!(back, spec);
        }
        Ok(())
    }
}
