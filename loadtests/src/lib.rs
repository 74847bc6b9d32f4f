//! The load generator (issue 8): drives `POST /v1/jobs` (or `POST /v1/jobs/batch`) on a real stack,
//! follows every accepted job to its terminal state with long-polls, and
//! reports what a user would see.
//!
//! - [`mix`]: the job sizes and the weighted mix (`trivial=8,small=1`).
//! - [`tenants`]: enterprise tenants made with the real `catalytic-api bootstrap`.
//! - [`drive`]: the open loop (fixed arrival rate), the closed loop (N clients) and bulk (N clients, batches of jobs per request).
//! - [`report`]: counters, quantiles and the text / JSON report.
//! - [`compare`]: `--compare`, this machine's broker and database ceilings.
//! - [`plot`]: the latency CDF as an SVG.

pub mod compare;
pub mod drive;
pub mod mix;
pub mod plot;
pub mod report;
pub mod tenants;

pub use drive::{Config, Mode, run};
pub use mix::{Mix, Size};
pub use report::Report;
