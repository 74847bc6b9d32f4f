//! A typed async client of the Catalytic API (`docs/api.md`), shared by the
//! load generator, the chaos harness and later the CLI.
//!
//! - [`Client`]: one base URL and one bearer credential (API key or access
//!   token); cheap to clone, and several can share one connection pool.
//! - [`Error`]: an answer the API refused (HTTP status + its problem+json
//!   body), a transport failure, or a body that did not decode.
//! - The wire types the calls return: [`Job`], [`Submitted`], [`Tokens`],
//!   [`Registered`], [`Lattice`], [`ApiKeyCreated`].

mod client;
mod error;
mod types;

pub use client::Client;
pub use error::{Error, Problem};
pub use types::{ApiKeyCreated, Job, JobId, JobStatus, Lattice, Registered, Submitted, Tokens};
