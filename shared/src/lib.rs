//! Catalytic's shared crate: what more than one process needs, and nothing
//! process-specific.
//!
//! The rule: every module here is used by at least two of the processes
//! (api, worker, scheduler), or it moves to the process that owns it, SQL
//! included (`api::db`, `scheduler::db`, still checked by `sqlx::query!`);
//! that process's tests reach it through the process crate's lib. Two
//! exceptions, kept for the test crates only: `db::tenants` and
//! `db::webhooks`, which the scheduler's tests and the chaos harness use to
//! create tenants and endpoints. A module another shared module needs
//! (`billing`, `secret`, `webhook_event`, `db::outbox::insert` for
//! `db::jobs`) counts that module's users; a module split that way keeps
//! only the shared part here (the relay's side of the outbox is the
//! scheduler's).
//!
//! - [`billing`]: the money of docs/adr/0003-plans.md (periods, proration, overage, metering),
//!   pure.
//! - [`config`]: settings for every process (defaults + `CATALYTIC_*`), validated.
//! - [`telemetry`], [`metrics`]: JSON logs with request/job ids; every metric name.
//! - [`group_commit`]: many concurrent requests served by one round trip.
//! - [`shutdown`], [`probe`], [`health`]: signals, and `/healthz` `/readyz` `/metrics`.
//! - [`ids`], [`tenant`], [`secret`]: id newtypes, plans and their limits, `Secret<T>`.
//! - [`schedule`]: cron schedules' ticks in a time zone, overlap and catch-up policies.
//! - [`tls`]: TLS to PostgreSQL, RabbitMQ and Redis (CA files, trust failures named).
//! - [`mail`]: the messages the service mails (issue 20), queued by api and scheduler.
//! - [`job`]: the state machine (the one transition table), the stored spec, outcomes.
//! - [`db`]: PostgreSQL — migrations, the schema check, and the SQL of more
//!   than one process, including
//!   `db::jobs::transition`, the one function that changes a job's state.
//! - `queue` (feature): RabbitMQ topology, the job message, a reconnecting
//!   broker handle; only the worker, the scheduler and the tests turn it on.
//! - `testkit` (feature): a fresh database and queue prefix per test.

pub mod address;
pub mod billing;
pub mod config;
pub mod db;
pub mod group_commit;
pub mod health;
pub mod ids;
pub mod job;
pub mod mail;
pub mod metrics;
pub mod probe;
#[cfg(feature = "queue")]
pub mod queue;
pub mod reconnect;
pub mod result_parts;
pub mod schedule;
pub mod secret;
pub mod shutdown;
pub mod telemetry;
pub mod tenant;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod tls;
pub mod webhook_event;
pub mod webhook_secret;

pub use config::Settings;
pub use secret::Secret;
