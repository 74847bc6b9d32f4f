//! A job's life: its state machine, its validated spec, and its outcome.

pub mod outcome;
pub mod spec;
pub mod state;

pub use outcome::{Failure, Usage};
pub use spec::{JobSpec, LatticeDef, Operation};
pub use state::{IllegalTransition, JobEvent, JobState};
