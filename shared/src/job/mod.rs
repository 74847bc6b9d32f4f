//! A job's life: its state machine, its validated spec, and its outcome.

pub mod cost;
pub mod outcome;
pub mod retry;
pub mod spec;
pub mod state;

pub use outcome::{Failure, Usage};
pub use spec::{
    AuxSpec, BlockedDef, DataSpec, JobSpec, LatticeDef, Operation, PathPair, TransformKind,
    TransformSpec,
};
pub use state::{IllegalTransition, JobEvent, JobState};
