//! Rate limits (issue 4): one budget per tenant across api processes, a
//! per-IP budget (stricter on the auth endpoints), and a per-process
//! fallback when Redis is away.

use crate::harness::{problem, spawn_app, spawn_app_with};
use catalytic_shared::tenant::Plan;
use serde_json::json;

const UNKNOWN_JOB: &str = "/v1/jobs/01a21317-7c9d-71ac-a0d4-ab1ce41bfe66";

fn header(response: &reqwest::Response, name: &str) -> Option<u64> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn two_api_processes_share_one_tenant_budget() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let (sibling, stop_sibling) = app.spawn_sibling().await?;
    let budget = u64::from(Plan::Free.limits().requests_per_minute);
    for i in 0..budget {
        let base = if i % 2 == 0 { &app.base } else { &sibling };
        let response = app
            .http
            .get(format!("{base}{UNKNOWN_JOB}"))
            .bearer_auth(&app.key)
            .send()
            .await?;
        assert_eq!(response.status(), 404, "request {i} is within the budget");
        assert_eq!(header(&response, "ratelimit-limit"), Some(budget));
        assert_eq!(
            header(&response, "ratelimit-remaining"),
            Some(budget - 1 - i)
        );
    }
    for base in [&app.base, &sibling] {
        let response = app
            .http
            .get(format!("{base}{UNKNOWN_JOB}"))
            .bearer_auth(&app.key)
            .send()
            .await?;
        let retry_after = header(&response, "retry-after");
        let (status, body) = problem(response).await?;
        assert_eq!(
            (status, body["limit"].clone()),
            (429, json!("requests_per_tenant")),
            "{body}"
        );
        assert!(retry_after.is_some_and(|s| s >= 1));
    }
    // Another tenant has its own budget.
    let other = app.new_tenant_key(Plan::Free).await?;
    let response = app
        .http
        .get(format!("{}{UNKNOWN_JOB}", app.base))
        .bearer_auth(&other)
        .send()
        .await?;
    assert_eq!(response.status(), 404);
    stop_sibling.cancel();
    app.teardown().await
}

#[tokio::test]
async fn with_redis_down_each_process_still_limits() -> anyhow::Result<()> {
    let app = spawn_app_with(&[("CATALYTIC_REDIS__URL", "redis://127.0.0.1:1")]).await?;
    let budget = u64::from(Plan::Free.limits().requests_per_minute);
    let started = std::time::Instant::now();
    let mut served = 0;
    let refused = loop {
        let response = app
            .get_job_as(&app.key, "01a21317-7c9d-71ac-a0d4-ab1ce41bfe66")
            .await?;
        match response.status().as_u16() {
            404 => served += 1,
            _ => break problem(response).await?,
        }
        anyhow::ensure!(served <= 2 * budget, "no limit without Redis");
    };
    assert_eq!(
        (refused.0, refused.1["limit"].clone()),
        (429, json!("requests_per_tenant"))
    );
    // Every request was served until the budget (plus what refilled while
    // Redis timeouts slowed the requests: one per second) was spent.
    let refilled = started.elapsed().as_secs() + 1;
    assert!(
        (budget..=budget + refilled).contains(&served),
        "served {served}, budget {budget}, refilled {refilled}"
    );
    app.teardown().await
}

#[tokio::test]
async fn the_auth_endpoints_have_a_stricter_per_ip_budget() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let budget = app.settings.api.auth_rate_per_ip_per_minute;
    for i in 0..budget {
        // A different email each time, so the per-email lockout stays out of it.
        let response = app
            .http
            .post(format!("{}/v1/auth/login", app.base))
            .json(
                &json!({"email": format!("nobody{i}@example.com"), "password": "not-the-password"}),
            )
            .send()
            .await?;
        assert_eq!(response.status(), 401, "attempt {i}");
    }
    let response = app
        .http
        .post(format!("{}/v1/auth/login", app.base))
        .json(&json!({"email": "one-more@example.com", "password": "not-the-password"}))
        .send()
        .await?;
    let (status, body) = problem(response).await?;
    assert_eq!(
        (status, body["limit"].clone()),
        (429, json!("requests_per_ip")),
        "{body}"
    );
    // Other routes have their own, larger per-IP budget.
    assert_eq!(app.get("/healthz").await?.status(), 200);
    app.teardown().await
}
