//! Catalytic's shared crate: what more than one process needs, and nothing
//! process-specific.
//!
//! - [`billing`]: the money of docs/adr/0003-plans.md (periods, proration, overage, metering),
//!   pure.
//! - [`stripe`]: Stripe webhook signatures and the events billing acts on, pure.
//! - [`config`]: settings for every process (defaults + `CATALYTIC_*`), validated.
//! - [`telemetry`], [`metrics`]: JSON logs with request/job ids; every metric name.
//! - [`shutdown`], [`probe`], [`health`]: signals, and `/healthz` `/readyz` `/metrics`.
//! - [`ids`], [`tenant`], [`secret`]: id newtypes, plans and their limits, `Secret<T>`.
//! - [`job`]: the state machine (the one transition table), the stored spec, outcomes.
//! - [`db`]: PostgreSQL — migrations, the schema check, and all SQL, including
//!   `db::jobs::transition`, the one function that changes a job's state.
//! - [`queue`]: RabbitMQ topology, the job message, a reconnecting broker handle.
//! - `testkit` (feature): a fresh database and queue prefix per test.

pub mod billing;
pub mod config;
pub mod db;
pub mod health;
pub mod ids;
pub mod job;
pub mod metrics;
pub mod probe;
pub mod queue;
pub mod secret;
pub mod shutdown;
pub mod stripe;
pub mod telemetry;
pub mod tenant;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod webhook_event;
pub mod webhook_secret;

pub use config::Settings;
pub use secret::Secret;
