//! A typed async client of the Catalytic API (`docs/api.md`), shared by the
//! load generator, the chaos harness and the `catalytic` CLI (`cli/`).
//!
//! - [`Client`]: one base URL and one bearer credential (API key or access
//!   token); cheap to clone, and several can share one connection pool.
//! - [`Error`]: an answer the API refused (HTTP status + its problem+json
//!   body), a transport failure, or a body that did not decode.
//! - The wire types the calls return: [`Job`], [`Submitted`], [`BulkSubmitted`], [`Tokens`],
//!   [`RegisterAccepted`], [`MailAccepted`], [`Lattice`], [`ApiKey`],
//!   [`WebhookEndpoint`], [`AuditEvent`], [`Usage`], [`Invoice`], each list
//!   call's [`Page`], …
//!
//! The calls are grouped by resource: `client.rs` (the client itself,
//! register and login, jobs, creating lattices and keys), `accounts.rs`
//! (session, email verification, passwords, API keys), `audit.rs`,
//! `lattices.rs`, `schedules.rs`, `concurrency_keys.rs`, `webhooks.rs`,
//! `billing.rs`.

mod accounts;
mod audit;
mod billing;
mod client;
mod concurrency_keys;
mod error;
mod lattices;
mod schedules;
mod types;
mod webhooks;

pub use client::{Client, PartDownload};
pub use error::{Error, Problem};
pub use types::{
    ApiKey, ApiKeyCreated, AuditEvent, AuditFilter, BulkResult, BulkSubmitted, Cancelled,
    ConcurrencyKey, Deleted, Invoice, InvoiceLine, Items, Job, JobFilter, JobId, JobStatus,
    Lattice, MailAccepted, Page, RegisterAccepted, Schedule, ScheduleRun, Submitted, Tokens, Usage,
    UsageBucket, WebhookAttempt, WebhookEndpoint, WebhookEndpointCreated, WebhookMessage,
    WebhookTestSent,
};
