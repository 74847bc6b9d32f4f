//! The Catalytic api: a thin HTTP layer over PostgreSQL. It validates,
//! stores and reads; it never computes and never talks to the broker.
//!
//! - [`startup`]: build (bind, pools, router) and run; [`state`]: `AppState`, what handlers reach (imports no route).
//! - [`routes`]: one module per resource; [`openapi`]: the document's frame.
//! - [`responses`]: response bodies shared by routes and dashboard pages, so neither imports the other.
//! - [`auth`]: API keys, user sessions (JWT + rotating refresh tokens) and the `TenantScope` extractor.
//! - [`audit`]: the tenant's append-only audit log, written in each change's transaction.
//! - [`mailing`]: the mail a change sends (verification, reset, invitation…), queued in its transaction.
//! - [`job_request`]: the wire format of a job and its validation.
//! - [`enqueue`]: the submit (quotas, job row + outbox row + idempotency record, committed together).
//! - [`submit_batch`]: the group commit every submit goes through: concurrent submits share one transaction.
//! - [`idempotency`]: `Idempotency-Key`: same body → same job, other body → 409.
//! - [`limits`]: plan quotas (402 / 429) checked in the write's transaction.
//! - [`notifications`], [`job_events`]: the LISTEN connection (finished jobs, auth changes).
//! - [`json`], [`query`], [`error`]: JSON bodies and query strings in, problem+json errors out.
//! - [`bootstrap`]: the admin command that creates a tenant and its first key.
//! - [`dashboard`]: the server-rendered web dashboard under `/dashboard`, a client of the API in process.

pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod checkout;
pub mod dashboard;
pub mod db;
pub mod enqueue;
pub mod error;
pub mod hygiene;
pub mod idempotency;
pub mod job_events;
pub mod job_request;
pub mod json;
pub mod limits;
pub mod mailing;
pub mod notifications;
pub mod openapi;
pub mod pagination;
pub mod query;
pub mod responses;
pub mod routes;
pub mod startup;
pub mod state;
pub mod stripe;
pub mod submit_batch;
pub mod trace_context;
