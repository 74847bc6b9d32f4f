//! catalytic-api: `serve` (default), `migrate`, `bootstrap`, `admin`, `openapi`.

use anyhow::Context;
use catalytic_api::{bootstrap, startup::Application};
use catalytic_shared::tenant::Plan;
use catalytic_shared::{Settings, db, shutdown, telemetry};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    version,
    about = "Catalytic HTTP API. Settings: CATALYTIC_* environment variables (shared/config/defaults.toml)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Operator commands.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the OpenAPI document (JSON) and exit; needs no settings or servers.
    Openapi,
    /// Create a tenant and print its first API key (shown once).
    Bootstrap {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(long, default_value = "free", value_parser = parse_plan)]
        plan: Plan,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an operator key for /v1/admin/* and print it (shown once).
    CreateOperatorKey {
        #[arg(long)]
        name: String,
    },
}

fn parse_plan(s: &str) -> Result<Plan, String> {
    s.parse()
        .map_err(|_| "one of: free, starter, professional, enterprise".to_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        // Before loading settings: a document dump must work anywhere.
        println!("{}", catalytic_api::openapi::document().to_pretty_json()?);
        return Ok(());
    }
    let settings = Settings::load()?;
    let _telemetry = telemetry::init("catalytic-api", &settings.log, &settings.traces);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            app.run_until_stopped(shutdown::on_signal()).await
        }
        Command::Migrate => {
            let pool = db::pool(&settings.database)?;
            db::migrate(&pool).await.context("applying migrations")?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::CreateOperatorKey { name },
        } => {
            let key = bootstrap::create_operator_key(&settings, &name).await?;
            println!("{}", serde_json::json!({"operator_key": key.expose()}));
            Ok(())
        }
        Command::Openapi => Ok(()),
        Command::Bootstrap { tenant, plan } => {
            let done = bootstrap::run(&settings, &tenant, plan).await?;
            // The one place a key is printed: to stdout, once, for the operator.
            println!(
                "{}",
                serde_json::json!({"tenant_id": done.tenant_id, "api_key": done.api_key.expose()})
            );
            Ok(())
        }
    }
}
