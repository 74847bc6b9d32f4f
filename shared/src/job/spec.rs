//! `JobSpec`: a job request after validation, as stored in `jobs.spec` and
//! read back by the worker. The wire format and its field-by-field errors
//! are the api's (`api/src/job_request.rs`); this type only holds specs that
//! passed, so the worker never re-validates user input.

use catalytic_lattice::{Estimate, Lattice, LatticeError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    pub lattice: LatticeDef,
    #[serde(flatten)]
    pub operation: Operation,
}

/// A lattice by its definition: a lattice is never stored as a graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatticeDef {
    /// One size per axis, axis 0 first.
    pub sizes: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "operation", content = "params", rename_all = "snake_case")]
pub enum Operation {
    ShortestPath { start: Vec<u32>, end: Vec<u32> },
}

impl Operation {
    pub fn name(&self) -> &'static str {
        match self {
            Operation::ShortestPath { .. } => "shortest_path",
        }
    }
}

impl JobSpec {
    pub fn lattice(&self) -> Result<Lattice, LatticeError> {
        Lattice::new(self.lattice.sizes.clone())
    }

    /// Memory and work the engine will need, for limits and admission.
    pub fn estimate(&self) -> Result<Estimate, LatticeError> {
        let lattice = self.lattice()?;
        Ok(match &self.operation {
            Operation::ShortestPath { .. } => catalytic_lattice::estimate_shortest_path(&lattice),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_is_stable() -> Result<(), serde_json::Error> {
        let spec = JobSpec {
            lattice: LatticeDef { sizes: vec![4, 4] },
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
}
