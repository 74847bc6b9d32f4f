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

/// A login from `client` through a proxy at 127.0.0.1 (the test's peer).
async fn login_via_proxy(
    app: &crate::harness::TestApp,
    client: &str,
    i: usize,
) -> anyhow::Result<u16> {
    Ok(app
        .http
        .post(format!("{}/v1/auth/login", app.base))
        .header("x-forwarded-for", client)
        .json(&json!({"email": format!("proxied{i}@example.com"), "password": "not-the-password"}))
        .send()
        .await?
        .status()
        .as_u16())
}

/// Issue 18: behind an Ingress every client was the proxy's address, so one
/// budget served everyone. Forwarding headers are believed from trusted
/// proxies only: then each client has its own budget; from anyone else
/// they are ignored (a client cannot pick a fresh budget per request).
#[tokio::test]
async fn per_ip_budgets_follow_the_forwarded_client_only_behind_trusted_proxies()
-> anyhow::Result<()> {
    let budget = 3;
    let trusted = spawn_app_with(&[
        ("CATALYTIC_API__TRUSTED_PROXIES", r#"["127.0.0.1/32"]"#),
        ("CATALYTIC_API__AUTH_RATE_PER_IP_PER_MINUTE", "3"),
    ])
    .await?;
    for i in 0..budget {
        assert_eq!(login_via_proxy(&trusted, "198.51.100.1", i).await?, 401);
    }
    assert_eq!(login_via_proxy(&trusted, "198.51.100.1", 9).await?, 429);
    assert_eq!(
        login_via_proxy(&trusted, "198.51.100.2", 10).await?,
        401,
        "another client behind the same proxy has its own budget"
    );
    trusted.teardown().await?;

    let untrusted = spawn_app_with(&[("CATALYTIC_API__AUTH_RATE_PER_IP_PER_MINUTE", "3")]).await?;
    for i in 0..budget {
        let client = format!("198.51.100.{}", 10 + i);
        assert_eq!(login_via_proxy(&untrusted, &client, 100 + i).await?, 401);
    }
    assert_eq!(
        login_via_proxy(&untrusted, "198.51.100.99", 20).await?,
        429,
        "forged headers from an untrusted peer share the peer's budget"
    );
    untrusted.teardown().await
}
