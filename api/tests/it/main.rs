//! The api's integration tests: the real application on port 0 against a
//! fresh, migrated PostgreSQL database per test (and the real Redis).

mod accounts;
mod api_keys;
mod auth;
mod auth_cache;
mod billing;
mod checkout;
mod concurrency_keys;
mod dashboard;
mod dependencies;
mod group_commit;
mod harness;
mod health;
mod job_batches;
mod job_cache;
mod job_deletion;
mod job_results;
mod jobs;
mod jobs_lifecycle;
mod lattices;
mod limit_metrics;
mod openapi;
mod quotas;
mod rate_limits;
mod scheduled;
mod schedules;
mod stripe;
mod unique_jobs;
mod users;
mod webhooks;
