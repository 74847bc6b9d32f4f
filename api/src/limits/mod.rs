//! Plan limits checked on the request path: quotas (this module's
//! `quota`) against PostgreSQL counts. Each refusal names the limit, its
//! value and, where it resets, when.

pub mod client_ip;
pub mod enforce;
pub mod quota;
pub mod rate;
