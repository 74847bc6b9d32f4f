//! The worker's integration tests: the real `catalytic-worker` binary against
//! the real PostgreSQL and RabbitMQ, each test with its own database and
//! queue prefix (`catalytic_e2e::Env` over `catalytic_shared::testkit`).
//! Jobs are written straight to the database and their messages published
//! by the test, so no api or scheduler runs: what happens is the worker's.

mod batches;
mod harness;
mod jobs;
mod pool;
mod prefetch;
mod run_through;
