//! The scheduler's integration tests, against the real PostgreSQL and
//! RabbitMQ: each test has its own database and queue prefix.

mod autoscale;
mod billing;
mod dead_letters;
mod dependencies;
mod erasure;
mod fair_claim;
mod harness;
mod leases;
mod lock_order;
mod mail;
mod meter_export;
mod outbox;
mod retention;
mod schedules;
mod usage_retention;
mod webhook_bench;
mod webhook_https;
mod webhook_rate_limit;
mod webhook_receiver;
mod webhook_ssrf;
mod webhooks;
