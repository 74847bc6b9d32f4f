//! `catalytic-chaos`: runs every chaos scenario, one fleet each, prints each
//! one's ledger line as it ends and then a markdown table; exits 1 if any
//! invariant broke. Run it with `scripts/chaos.sh`, which builds the fleet's
//! binaries and places this one where the e2e harness looks for them.
//!
//! `catalytic-chaos [WORD]`: only the scenarios whose name contains WORD.

use anyhow::Context;
use catalytic_chaos::scenarios::{self, Outcome, Scenario, Timing};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let only = std::env::args().nth(1).unwrap_or_default().to_lowercase();
    let mut outcomes: Vec<Outcome> = Vec::new();
    for scenario in Scenario::ALL {
        if !scenario.name().to_lowercase().contains(&only) {
            continue;
        }
        eprintln!("running: {}", scenario.name());
        let outcome = scenarios::run(scenario, Timing::default())
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
