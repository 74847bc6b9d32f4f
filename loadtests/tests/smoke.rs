//! The load generator against the real debug binaries, briefly: every job
//! it submits is accepted and succeeds, with zero errors of any kind.

use catalytic_e2e::{Binary, Env, wait_ready};
use catalytic_loadtests::{Config, Mode, run};
use std::time::Duration;

#[tokio::test]
async fn a_short_open_loop_run_has_no_errors_and_every_job_succeeds() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let keys = vec![env.bootstrap("enterprise")?, env.bootstrap("enterprise")?];
    let _api = env.spawn(Binary::Api, &[])?;
    let _worker = env.spawn(Binary::Worker, &[])?;
    let _scheduler = env.spawn(Binary::Scheduler, &[])?;
    wait_ready(
        &format!("{}/readyz", env.api_url()),
        Duration::from_secs(30),
    )
    .await?;

    let report = run(Config {
        base: env.api_url(),
        keys,
        mode: Mode::Open { rate: 20.0 },
        duration: Duration::from_secs(3),
        mix: "trivial=3,small=1"
            .parse()
            .map_err(|e: String| anyhow::anyhow!(e))?,
        follow_concurrency: 64,
        max_in_flight: 64,
        drain: Duration::from_secs(30),
    })
    .await?;
    print!("{}", report.to_text());
    assert_eq!(report.submitted, 60);
    assert_eq!(report.error_count(), 0, "{:?}", report.errors);
    assert_eq!(report.accepted, report.submitted);
    assert_eq!(report.succeeded, report.accepted);
    assert_eq!(report.end_to_end_ms.count as u64, report.accepted);
    drop((_api, _worker, _scheduler));
    env.teardown().await
}

#[tokio::test]
async fn targets_other_than_loopback_are_refused() {
    let result = run(Config {
        base: "http://192.0.2.1:8080".to_owned(),
        keys: vec!["clc_x".to_owned()],
        mode: Mode::Open { rate: 1.0 },
        duration: Duration::from_secs(1),
        mix: "trivial".parse().unwrap_or_else(|_| unreachable!()),
        follow_concurrency: 1,
        max_in_flight: 1,
        drain: Duration::from_secs(1),
    })
    .await;
    assert!(result.is_err());
}
