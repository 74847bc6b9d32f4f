//! Logging: one subscriber for every process, on stderr (stdout is kept for
//! command output such as `bootstrap`). JSON lines in production
//! (each carries the fields of its enclosing spans, so `request_id` and
//! `job_id` reach every line logged inside a request or a job), pretty
//! text for people.

use crate::config::{LogFormat, LogSettings};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init(service: &'static str, settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests calling main twice) is harmless: the first wins.
    let _ = match settings.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    tracing::info!(service, version = env!("CARGO_PKG_VERSION"), "starting");
}

/// Logs an error with its whole `source()` chain. Per-task failures go
/// through here so grep finds every "logged and carried on" place.
pub fn log_error_chain(context: &str, error: &(dyn std::error::Error + 'static)) {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(error = %chain, "{context}");
}
