//! `catalytic-chaos`: runs every chaos scenario, one fleet each, prints each
//! one's ledger line as it ends and then a markdown table; exits 1 if any
//! invariant broke. Run it with `scripts/chaos.sh`, which builds the fleet's
//! binaries and places this one where the e2e harness looks for them.
//!
//! `catalytic-chaos [--rate JOBS_PER_S] [--seconds LOAD_SECONDS] [WORD]`:
//! only the scenarios whose name contains WORD, under an open-loop load of
//! JOBS_PER_S (default 1,000) for LOAD_SECONDS (default 6).

use anyhow::Context;
use catalytic_chaos::scenarios::{self, Outcome, Scenario, Timing};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (timing, only) = arguments(std::env::args().skip(1))?;
    let mut outcomes: Vec<Outcome> = Vec::new();
    for scenario in Scenario::ALL {
        if !scenario.name().to_lowercase().contains(&only) {
            continue;
        }
        eprintln!("running: {}", scenario.name());
        let outcome = scenarios::run(scenario, timing)
            .await
            .with_context(|| scenario.name())?;
        outcomes.push(outcome);
    }
    println!("\n{}", Outcome::TABLE_HEADER);
    for outcome in &outcomes {
        println!("{}", outcome.table_row());
    }
    if outcomes.iter().any(|o| !o.holds()) {
        anyhow::bail!("an invariant broke");
    }
    Ok(())
}

/// `--rate N`, `--seconds S` and the optional scenario filter.
fn arguments(mut args: impl Iterator<Item = String>) -> anyhow::Result<(Timing, String)> {
    let mut timing = Timing::default();
    let mut only = String::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rate" => {
                timing.rate = args
                    .next()
                    .context("--rate takes jobs per second")?
                    .parse()
                    .context("--rate takes a whole number of jobs per second")?;
            }
            "--seconds" => {
                let secs: u64 = args
                    .next()
                    .context("--seconds takes the load's length")?
                    .parse()
                    .context("--seconds takes a whole number")?;
                timing.load_for = std::time::Duration::from_secs(secs.max(3));
            }
            word => only = word.to_lowercase(),
        }
    }
    Ok((timing, only))
}
