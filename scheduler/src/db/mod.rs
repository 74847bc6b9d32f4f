//! The SQL only the scheduler runs: the outbox relay, the lease reaper,
//! retention, usage pruning, the meter export, webhook deliveries and the
//! mail sender.
//! Checked at compile time by `sqlx::query!` like the shared SQL in
//! `catalytic_shared::db` (offline data in `.sqlx/`); SQL another process
//! also runs stays there.

pub mod dependencies;
pub mod erasure;
pub mod mail;
pub mod meter;
pub mod outbox;
pub mod reaper;
pub mod retention;
pub mod schedules;
pub mod usage;
pub mod webhook_deliveries;

/// The error of every query here, as in `catalytic_shared::db`.
pub use catalytic_shared::db::DbError;
