//! catalytic-scheduler: the outbox relay and the other background duties.

use catalytic_shared::{Settings, shutdown, telemetry};
use clap::Parser;

#[derive(Parser)]
#[command(
    version,
    about = "Catalytic scheduler. Settings: CATALYTIC_* environment variables (shared/config/defaults.toml)."
)]
struct Cli {}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Cli::parse();
    let settings = Settings::load()?;
    let _telemetry = telemetry::init("catalytic-scheduler", &settings.log, &settings.traces);
    catalytic_scheduler::startup::run(settings, shutdown::on_signal()).await
}
