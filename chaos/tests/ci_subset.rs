//! The short chaos subset of the test suite: a worker SIGKILLed mid-load and
//! PostgreSQL blackholed for 2 s through the fault proxy. Each fails if an
//! invariant breaks (lost, duplicated, incomplete, webhook missing, bad
//! signature). The full set: `scripts/chaos.sh` (docs/chaos.md).

use catalytic_chaos::scenarios::{self, Outcome, Scenario, Timing};
use std::time::Duration;

/// Shorter than the full run's, so each test ends well within a minute.
fn timing() -> Timing {
    Timing {
        fault_at: Duration::from_secs(1),
        load_for: Duration::from_secs(4),
        rate: 50,
        settle_within: Duration::from_secs(30),
    }
}

async fn holds(scenario: Scenario) -> anyhow::Result<Outcome> {
    let outcome = scenarios::run(scenario, timing()).await?;
    assert!(outcome.holds(), "an invariant broke: {outcome}");
    Ok(outcome)
}

#[tokio::test]
async fn a_worker_sigkilled_mid_load_loses_and_duplicates_nothing() -> anyhow::Result<()> {
    let outcome = holds(Scenario::WorkerKilled).await?;
    // The kill landed mid-job: that job's attempt was lost and retried.
    assert!(outcome.retried >= 1, "{outcome}");
    Ok(())
}

#[tokio::test]
async fn postgres_blackholed_2s_loses_and_duplicates_nothing() -> anyhow::Result<()> {
    holds(Scenario::PostgresBlackhole).await.map(drop)
}
