//! catalytic-load: drives a running stack on 127.0.0.1 and prints the
//! report (text on stdout, JSON with `--json`). `scripts/load.sh` starts a
//! fresh stack and runs it; see docs/benchmarks.md, "End-to-end load".

use anyhow::Context;
use catalytic_loadtests::{Config, Mix, Mode, run, tenants};
use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "catalytic-load",
    about = "Load generator for the Catalytic API"
)]
struct Cli {
    /// The API, on 127.0.0.1.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    api_url: String,
    /// Open loop: jobs per second (the default mode, 100/s).
    #[arg(long, conflicts_with = "clients")]
    rate: Option<f64>,
    /// Closed loop: this many clients, one job at a time each.
    #[arg(long)]
    clients: Option<usize>,
    /// Bulk: each client (--clients, default 8) submits this many jobs
    /// (1–1000) in one `POST /v1/jobs/batch` and follows them all to their
    /// end before the next.
    #[arg(long, value_name = "N", conflicts_with = "rate")]
    bulk: Option<usize>,
    /// Seconds of generation.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Job sizes: `trivial`, `small`, `medium`, or weights `trivial=8,small=1`.
    #[arg(long, default_value = "trivial")]
    mix: Mix,
    /// Enterprise tenants to bootstrap (each has 6,000 requests/min).
    #[arg(long, default_value_t = 4)]
    tenants: usize,
    /// `catalytic-api` for `bootstrap` (default: beside this binary).
    #[arg(long)]
    api_bin: Option<PathBuf>,
    /// Use these API keys (comma-separated) instead of bootstrapping.
    #[arg(
        long,
        env = "CATALYTIC_LOAD_KEYS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    keys: Vec<String>,
    /// Most long-polls in flight (open loop).
    #[arg(long, default_value_t = 1024)]
    follow_concurrency: usize,
    /// Most submits in flight (open loop).
    #[arg(long, default_value_t = 1024)]
    max_in_flight: usize,
    /// Seconds to keep following unfinished jobs after the window.
    #[arg(long, default_value_t = 60.0)]
    drain: f64,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also draw the latency CDF as an SVG here.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// After the load, measure the raw broker round trip and a PostgreSQL
    /// job-lifecycle pipeline (5 s each) and state our throughput as a
    /// fraction of them.
    #[arg(long)]
    compare: bool,
    /// RabbitMQ for --compare (a private queue, deleted after).
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    amqp_url: String,
    /// PostgreSQL for --compare (a scratch table, dropped after).
    #[arg(
        long,
        default_value = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
    )]
    database_url: String,
}

fn seconds(s: f64, what: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s)
        .with_context(|| format!("--{what} must be a number of seconds ≥ 0"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let keys = match cli.keys.is_empty() {
        false => cli.keys,
        true => {
            let api_bin = match cli.api_bin {
                Some(path) => path,
                None => tenants::api_binary_beside_me()?,
            };
            let tag = std::process::id().to_string();
            tenants::bootstrap(&api_bin, cli.tenants.max(1), &tag)?
        }
    };
    let mode = match (cli.bulk, cli.clients) {
        (Some(batch), clients) => Mode::Bulk {
            clients: clients.unwrap_or(8),
            batch,
        },
        (None, Some(clients)) => Mode::Closed { clients },
        (None, None) => Mode::Open {
            rate: cli.rate.unwrap_or(100.0),
        },
    };
    let report = run(Config {
        base: cli.api_url,
        keys,
        mode,
        duration: seconds(cli.duration, "duration")?,
        mix: cli.mix,
        follow_concurrency: cli.follow_concurrency,
        max_in_flight: cli.max_in_flight,
        drain: seconds(cli.drain, "drain")?,
    })
    .await?;
    let mut report = report;
    if cli.compare {
        let window = Duration::from_secs(5);
        report.ceilings = Some(
            catalytic_loadtests::compare::measure(&cli.amqp_url, &cli.database_url, window).await?,
        );
    }
    print!("{}", report.to_text());
    if let Some(path) = &cli.plot {
        std::fs::write(path, catalytic_loadtests::plot::svg(&report))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = cli.json {
        std::fs::write(&path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
