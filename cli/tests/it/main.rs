//! The real `catalytic` binary against the real fleet (`catalytic-e2e`
//! spawns the api, worker and scheduler on the real PostgreSQL, RabbitMQ and
//! Redis): each test runs CLI commands as a user would and checks their
//! output, exit code and what the API then holds.
//!
//! Build the fleet first: `cargo build --bins -p catalytic-api -p
//! catalytic-worker -p catalytic-scheduler`.

mod accounts;
mod concurrency_keys;
mod errors;
mod harness;
mod https;
mod jobs;
mod schedules;
mod session;
mod webhooks;
