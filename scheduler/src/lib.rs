//! The Catalytic scheduler: the background duties around the queue.
//!
//! - [`relay`]: the outbox → RabbitMQ relay (publisher confirms, stable ids).
//! - [`leases`]: the lease reaper: expired running jobs re-queued or failed.
//! - [`dead_letters`]: fails the jobs of dead-lettered messages, with the reason.
//! - [`retention`]: prunes old results, sent outbox rows, expired tokens.
//! - [`startup`]: probes and the duty loops, until shutdown.
//!
//! Still to come (their issues): webhook delivery, billing rollups, autoscaling signal.

pub mod dead_letters;
pub mod leases;
pub mod relay;
pub mod retention;
pub mod startup;
