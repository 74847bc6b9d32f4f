//! `catalytic`: the command line of the Catalytic API, on the typed
//! `catalytic-client`. This file reads the command line and the
//! environment once, runs the command, and turns its failure into a
//! message on stderr and an exit code (see `failure.rs`).
//!
//! - `args.rs`: the commands and flags (clap)
//! - `config.rs`: flags → environment → config file, and the stored session
//! - `session.rs`: the client a command calls through (refreshes a session)
//! - `body.rs`: job and lattice bodies from flags or a JSON file
//! - `output.rs`: `--output json|table`
//! - `commands/`: one file per group of commands; `watch.rs` the progress bar

mod args;
mod body;
mod commands;
mod config;
mod failure;
mod output;
mod session;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    // Failures are told in the format in force, once it is known.
    let mut format = cli.output.unwrap_or(output::OutputFormat::Table);
    match run(cli, &mut format) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.report(format);
            ExitCode::from(failure.exit_code())
        }
    }
}

fn run(cli: args::Cli, format: &mut output::OutputFormat) -> Result<(), failure::Failure> {
    let env = commands::Environment::read(|name| std::env::var(name).ok())?;
    let context = commands::Context::new(&cli, env)?;
    *format = context.resolved.output;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| failure::Failure::Local(anyhow::anyhow!("starting the runtime: {e}")))?;
    runtime.block_on(commands::run(cli.command, &context))
}
