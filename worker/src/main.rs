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
    /// Where to compute: auto (a CUDA GPU if one opens, else the CPU), cpu,
    /// or cuda (refuse to start without a GPU). Overrides CATALYTIC_WORKER__DEVICE.
    #[arg(long, value_parser = ["auto", "cpu", "cuda"])]
    device: Option<String>,
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
    let mut settings = Settings::load()?;
    if let Some(device) = cli.device {
        settings.worker.device = device.parse().map_err(anyhow::Error::msg)?;
    }
    telemetry::init("catalytic-worker", &settings.log);
    catalytic_worker::startup::run(settings, shutdown::on_signal()).await
}
