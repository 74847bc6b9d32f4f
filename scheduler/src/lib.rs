//! The Catalytic scheduler: the background duties around the queue.
//!
//! - [`relay`]: the outbox → RabbitMQ relay (publisher confirms, stable ids).
//! - [`leases`]: the lease reaper: expired running jobs re-queued or failed.
//! - [`schedules`]: fires cron schedules, exactly one job per tick across replicas.
//! - [`dependencies`]: queues waiting jobs when their parents finished, or cancels them.
//! - [`dead_letters`]: fails the jobs of dead-lettered messages, with the reason.
//! - [`erasure`]: erases a deleted tenant once its grace period is over (issue 20).
//! - [`retention`]: prunes old results, sent outbox rows, expired tokens, webhook attempts,
//!   finished mail.
//! - [`billing`]: hourly usage rollups, invoices (drafts, finalisation, numbers) and the
//!   Stripe Billing Meter export (off unless configured).
//! - [`webhooks`]: signed, retried, logged webhook delivery (SSRF-guarded).
//! - [`mail`]: sends the mail outbox over SMTP from templates, with retries (issue 20).
//! - [`autoscale`]: the autoscaling signal: backlog and desired workers per queue class.
//! - [`wakeup`]: a duty's wait between rounds: NOTIFY from its table, or a poll.
//! - [`startup`]: probes and the duty loops, until shutdown.

pub mod autoscale;
pub mod billing;
pub mod db;
pub mod dead_letters;
pub mod dependencies;
pub mod erasure;
pub mod leases;
pub mod mail;
pub mod relay;
pub mod retention;
pub mod schedules;
pub mod startup;
pub mod wakeup;
pub mod webhooks;
