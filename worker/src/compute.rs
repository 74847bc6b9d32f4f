//! Runs an operation on the lattice engine, on the blocking thread pool (so
//! a long BFS never stalls the async runtime that keeps heartbeats and acks
//! flowing), polling a cancellation token as it goes.

use catalytic_lattice::{Cancelled, LatticeError};
use catalytic_shared::job::{JobSpec, Operation};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What the engine produced.
#[derive(Debug)]
pub struct Computed {
    pub result: Value,
    pub vertex_visits: u64,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    #[error("the stored spec is invalid for the engine: {0}")]
    Invalid(#[from] LatticeError),
    #[error("the stored spec is not a job spec: {0}")]
    Unreadable(#[from] serde_json::Error),
    #[error(transparent)]
    Cancelled(#[from] Cancelled),
    #[error("the engine thread failed: {0}")]
    Panicked(String),
}

pub const ENGINE: &str = "cpu";

/// Computes `spec` on a blocking thread.
pub async fn run(spec: Value, cancel: CancellationToken) -> Result<Computed, ComputeError> {
    let spec: JobSpec = serde_json::from_value(spec)?;
    tokio::task::spawn_blocking(move || compute(&spec, &cancel))
        .await
        .map_err(|e| ComputeError::Panicked(e.to_string()))?
}

fn compute(spec: &JobSpec, cancel: &CancellationToken) -> Result<Computed, ComputeError> {
    let started = Instant::now();
    let lattice = spec.lattice()?;
    let should_stop = || cancel.is_cancelled();
    match &spec.operation {
        Operation::ShortestPath { start, end } => {
            let to_u64 = |c: &[u32]| c.iter().map(|&x| u64::from(x)).collect::<Vec<_>>();
            let s = lattice.index_of(&to_u64(start))?;
            let e = lattice.index_of(&to_u64(end))?;
            let path = catalytic_lattice::shortest_path(&lattice, s, e, &should_stop)?;
            let elapsed = started.elapsed();
            let (result, visits) = match path {
                Some(p) => (
                    json!({
                        "reachable": true,
                        "length": p.length,
                        "path": p.path,
                        "vertices_visited": p.vertices_visited,
                        "engine": ENGINE,
                        "compute_ms": elapsed.as_secs_f64() * 1e3,
                    }),
                    p.vertices_visited,
                ),
                None => (
                    json!({"reachable": false, "engine": ENGINE, "compute_ms": elapsed.as_secs_f64() * 1e3}),
                    lattice.vertex_count(),
                ),
            };
            Ok(Computed {
                result,
                vertex_visits: visits,
                elapsed,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn computes_a_path_from_a_stored_spec() -> Result<(), ComputeError> {
        let spec = json!({"lattice": {"sizes": [5, 5]}, "operation": "shortest_path",
                          "params": {"start": [0, 0], "end": [4, 3]}});
        let out = run(spec, CancellationToken::new()).await?;
        assert_eq!(out.result["length"], 7);
        assert_eq!(out.result["path"][0], json!([0, 0]));
        assert_eq!(out.result["path"][7], json!([4, 3]));
        Ok(())
    }

    #[tokio::test]
    async fn a_cancelled_token_stops_the_engine() {
        let spec = json!({"lattice": {"sizes": [300, 300, 300]}, "operation": "shortest_path",
                          "params": {"start": [0, 0, 0], "end": [299, 299, 299]}});
        let token = CancellationToken::new();
        token.cancel();
        assert!(matches!(
            run(spec, token).await,
            Err(ComputeError::Cancelled(_))
        ));
    }

    #[tokio::test]
    async fn garbage_specs_are_unreadable_not_panics() {
        let out = run(json!({"lattice": 3}), CancellationToken::new()).await;
        assert!(matches!(out, Err(ComputeError::Unreadable(_))));
    }
}
