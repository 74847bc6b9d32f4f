//! catalytic-worker: computes lattice jobs from RabbitMQ.

use catalytic_shared::{Settings, shutdown, telemetry};
use clap::Parser;

#[derive(Parser)]
#[command(
    version,
    about = "Catalytic worker. Settings: CATALYTIC_* environment variables (shared/config/defaults.toml)."
)]
struct Cli {
    /// Without a subcommand the worker runs: consumes jobs until shut down.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Measure BFS throughput (TEPS), wall time and memory of the lattice engines; prints a table.
    Bench(catalytic_worker::bench::BenchArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Bench(args)) = cli.command {
        // Compute only: no settings, no telemetry, no connections.
        return Ok(catalytic_worker::bench::run(&args)?);
    }
    let settings = Settings::load()?;
    telemetry::init("catalytic-worker", &settings.log);
    catalytic_worker::startup::run(settings, shutdown::on_signal()).await
}
