//! catalytic-worker: computes lattice jobs from RabbitMQ.

use catalytic_shared::{Settings, shutdown, telemetry};
use clap::Parser;

#[derive(Parser)]
#[command(
    version,
    about = "Catalytic worker. Settings: CATALYTIC_* environment variables (shared/config/defaults.toml)."
)]
struct Cli {}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Cli::parse();
    let settings = Settings::load()?;
    telemetry::init("catalytic-worker", &settings.log);
    catalytic_worker::startup::run(settings, shutdown::on_signal()).await
}
