//! The Catalytic scheduler: the background duties around the queue.
//!
//! - [`relay`]: the outbox → RabbitMQ relay (publisher confirms, stable ids).
//! - [`startup`]: probes and the duty loops, until shutdown.
//!
//! Still to come (their issues): lease reaper, dead-letter consumer,
//! webhook delivery, billing rollups, autoscaling signal.

pub mod relay;
pub mod startup;
