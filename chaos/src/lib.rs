//! Chaos scenarios (issue 8): the real fleet (api, 2 workers, 2 schedulers)
//! with PostgreSQL, RabbitMQ and Redis reached through TCP fault proxies,
//! a webhook receiver that verifies every signature, and invariants read
//! from the database and the receiver after each fault heals.

pub mod harness;
pub mod proxy;
pub mod receiver;
pub mod scenarios;
