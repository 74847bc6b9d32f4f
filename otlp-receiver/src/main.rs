//! `catalytic-otlp-receiver`: collects the traces the api, worker and
//! scheduler export over OTLP/HTTP, for tests and development, because no
//! OpenTelemetry Collector can be installed here (production points the
//! processes at a real collector instead).
//!
//! ```text
//! catalytic-otlp-receiver [--listen 127.0.0.1:4318] [--out spans.jsonl] [--capacity 200000]
//! ```
//!
//! On start it prints exactly one line to stdout, `listening on
//! http://ADDR`, so a harness that asked for port 0 learns the port; logs
//! go to stderr (`RUST_LOG`, default `info`). Point an exporter at
//! `http://ADDR` (it appends `/v1/traces`), then read
//! `http://ADDR/v1/spans?trace_id=…` or `http://ADDR/v1/traces/…/tree`.

use anyhow::Context;
use catalytic_otlp_receiver::{Config, DEFAULT_CAPACITY, DEFAULT_LISTEN, Receiver};
use clap::Parser;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

/// An OTLP/HTTP trace receiver for tests and development (not a collector).
#[derive(Debug, Parser)]
#[command(name = "catalytic-otlp-receiver", version)]
struct Args {
    /// Where to listen; port 0 picks a free port (printed on start).
    #[arg(long, default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Append every received span to this file as one JSON line.
    #[arg(long)]
    out: Option<PathBuf>,
    /// How many spans to keep in memory; the oldest are dropped first.
    #[arg(long, default_value_t = DEFAULT_CAPACITY)]
    capacity: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let config = Config {
        listen: args.listen,
        out: args.out,
        capacity: args.capacity,
    };
    let receiver = Receiver::bind(&config).await?;
    let addr = receiver.local_addr();
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{addr}")?;
        stdout.flush()?;
    }
    tracing::info!(%addr, out = ?config.out, capacity = config.capacity, "otlp receiver started");
    receiver
        .serve(shutdown())
        .await
        .context("serving the OTLP receiver")?;
    tracing::info!("otlp receiver stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
