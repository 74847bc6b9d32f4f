//! The Catalytic worker: pulls job messages from RabbitMQ, computes them with
//! the lattice engine, commits result and terminal state in one transaction,
//! and only then acks.
//!
//! - [`startup`]: connect, register in the fleet, run until shutdown.
//! - [`consumer`]: consume the class queues with bounded prefetch; reconnect.
//! - [`executor`]: one delivery: claim, compute, record, ack.
//! - [`run_through`]: which cheap jobs skip the claim (claim and outcome in one statement).
//! - [`settle`]: acks of one channel, several in one `multiple` frame where safe.
//! - [`cancel`]: job id → the running compute's token, fed by `LISTEN job_cancel`.
//! - [`admission`]: the memory budget each job reserves its estimate from.
//! - [`compute`]: the engine call for each operation, off the async threads.
//! - [`device`]: CPU or GPU (`--device auto|cpu|cuda`), and which jobs go to the GPU.
//! - [`weighted`]: which class queue the next free slot serves (gpu, then 3:2:1).
//! - [`heartbeat`]: lease extension for a running attempt; fleet heartbeat.
//! - [`prefetch`]: the prefetch sized from the jobs' compute time.
//! - [`inputs`]: a parent's output read into its child's spec before the compute.
//! - [`pool`]: the compute slots, fixed or growing and shrinking with the work.
//! - [`progress`]: a running job's progress, written at most once a second.

pub mod admission;
pub mod cancel;
pub mod compute;
pub mod consumer;
pub mod device;
pub mod executor;
pub mod heartbeat;
pub mod inputs;
pub mod pool;
pub mod prefetch;
pub mod progress;
pub mod run_through;
pub mod settle;
pub mod startup;
pub mod weighted;
