//! The Catalytic scheduler: the background duties around the queue.
//!
//! - [`relay`]: the outbox → RabbitMQ relay (publisher confirms, stable ids).
//! - [`leases`]: the lease reaper: expired running jobs re-queued or failed.
//! - [`dead_letters`]: fails the jobs of dead-lettered messages, with the reason.
//! - [`retention`]: prunes old results, sent outbox rows, expired tokens.
//! - [`billing`]: hourly usage rollups and invoices (drafts, finalisation, numbers).
//! - [`webhooks`]: signed, retried, logged webhook delivery (SSRF-guarded).
//! - [`startup`]: probes and the duty loops, until shutdown.
//!
//! Still to come (their issues): the Stripe meter export, autoscaling signal.

pub mod autoscale;
pub mod billing;
pub mod db;
pub mod dead_letters;
pub mod leases;
pub mod relay;
pub mod retention;
pub mod startup;
pub mod webhooks;
