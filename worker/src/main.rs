//! catalytic-worker: computes lattice jobs from RabbitMQ.

use catalytic_shared::{Settings, shutdown, telemetry};
use clap::Parser;

#[derive(Parser)]
#[command(
    version,
    about = "Catalytic worker. Settings: CATALYTIC_* environment variables (shared/config/defaults.toml)."
)]
struct Cli {
    /// Where to compute: auto (a CUDA GPU if one opens, else the CPU), cpu,
    /// or cuda (refuse to start without a GPU). Overrides CATALYTIC_WORKER__DEVICE.
    #[arg(long, value_parser = ["auto", "cpu", "cuda"])]
    device: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut settings = Settings::load()?;
    if let Some(device) = cli.device {
        settings.worker.device = device.parse().map_err(anyhow::Error::msg)?;
    }
    let _telemetry = telemetry::init("catalytic-worker", &settings.log, &settings.traces);
    catalytic_worker::startup::run(settings, shutdown::on_signal()).await
}
