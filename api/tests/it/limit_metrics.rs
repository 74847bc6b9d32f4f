//! Every 429 is counted in `catalytic_rate_limit_hits_total{limit}` (issue
//! 7), registered at zero for each limit before the first refusal.

use crate::harness::{problem, spawn_app_with};

/// The value of one sample in this process's registry (the api runs
/// in-process, so its metrics are here).
pub fn sample(name: &str) -> anyhow::Result<Option<f64>> {
    let rendered = catalytic_shared::metrics::render(&catalytic_shared::metrics::install(
        catalytic_shared::metrics::Process::Api,
    )?);
    Ok(rendered.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        (series == name).then(|| value.parse().ok()).flatten()
    }))
}

#[tokio::test]
async fn a_refused_request_counts_one_rate_limit_hit_by_limit() -> anyhow::Result<()> {
    let app = spawn_app_with(&[("CATALYTIC_API__RATE_PER_IP_PER_MINUTE", "3")]).await?;
    let per_ip = r#"catalytic_rate_limit_hits_total{limit="requests_per_ip"}"#;
    let per_tenant = r#"catalytic_rate_limit_hits_total{limit="requests_per_tenant"}"#;
    assert_eq!(sample(per_ip)?, Some(0.0), "registered before any refusal");
    assert_eq!(sample(per_tenant)?, Some(0.0));
    for _ in 0..3 {
        assert_ne!(app.get("/healthz").await?.status(), 429);
    }
    let (status, body) = problem(app.get("/healthz").await?).await?;
    assert_eq!(
        (status, body["limit"].as_str()),
        (429, Some("requests_per_ip"))
    );
    assert_eq!(sample(per_ip)?, Some(1.0));
    assert_eq!(sample(per_tenant)?, Some(0.0));
    app.teardown().await
}
