//! The SQL only the api runs: accounts and sessions, idempotency keys,
//! lattices, quota counters, Stripe's customer links and events. Checked at
//! compile time by `sqlx::query!` like the shared SQL in `catalytic_shared::db`
//! (offline data in `.sqlx/`); SQL another process also runs stays there.

pub mod account_tokens;
pub mod accounts;
pub mod audit;
pub mod deletion;
pub mod idempotency;
pub mod lattices;
pub mod quotas;
pub mod schedules;
pub mod stripe;

/// The error of every query here, as in `catalytic_shared::db`.
pub use catalytic_shared::db::DbError;
