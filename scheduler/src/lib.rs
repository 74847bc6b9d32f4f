//! The Catalytic scheduler: the background duties around the queue.
//!
//! - [`relay`]: the outbox → RabbitMQ relay (publisher confirms, stable ids).
//! - [`leases`]: the lease reaper: expired running jobs re-queued or failed.
//! - [`schedules`]: fires cron schedules, exactly one job per tick across replicas.
//! - [`dependencies`]: queues waiting jobs when their parents finished, or cancels them.
//! - [`dead_letters`]: fails the jobs of dead-lettered messages, with the reason.
//! - [`retention`]: prunes old results, sent outbox rows, expired tokens, webhook attempts.
//! - [`billing`]: hourly usage rollups, invoices (drafts, finalisation, numbers) and the
//!   Stripe Billing Meter export (off unless configured).
//! - [`webhooks`]: signed, retried, logged webhook delivery (SSRF-guarded).
//! - [`autoscale`]: the autoscaling signal: backlog and desired workers per queue class.
//! - [`startup`]: probes and the duty loops, until shutdown.

pub mod autoscale;
pub mod billing;
pub mod db;
pub mod dead_letters;
pub mod dependencies;
pub mod leases;
pub mod relay;
pub mod retention;
pub mod schedules;
pub mod startup;
pub mod webhooks;
