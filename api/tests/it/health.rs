use crate::harness::spawn_app;
use serde_json::Value;

#[tokio::test]
async fn probes_answer_and_readiness_names_its_checks() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    assert_eq!(app.get("/healthz").await?.status(), 200);
    let response = app.get("/readyz").await?;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await?;
    let names: Vec<&str> = body["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["postgres", "redis"]);
    app.teardown().await
}

/// Issue 19: Redis is a cache and a limiter, so losing it degrades the api
/// (a flag and a metric) instead of taking every replica out of service.
#[tokio::test]
async fn readiness_holds_without_redis_and_says_it_is_degraded() -> anyhow::Result<()> {
    // Port 1 on loopback: nothing listens there.
    let app =
        crate::harness::spawn_app_with(&[("CATALYTIC_REDIS__URL", "redis://127.0.0.1:1")]).await?;
    let response = app.get("/readyz").await?;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await?;
    assert_eq!(
        (body["ready"].clone(), body["degraded"].clone()),
        (true.into(), true.into())
    );
    let redis = body["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == "redis")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (redis["ok"].clone(), redis["required"].clone()),
        (false.into(), false.into())
    );
    assert!(
        app.metrics()
            .await?
            .contains("catalytic_dependency_up{dependency=\"redis\"} 0"),
        "the gauge shows the loss"
    );
    // And it still serves: a submit goes through without Redis.
    let job = serde_json::json!({"lattice": {"dimensions": 1, "size": 4}, "operation": "shortest_path",
                                 "params": {"start": [0], "end": [3]}});
    assert_eq!(app.submit(&job).await?.status(), 202);
    app.teardown().await
}

#[tokio::test]
async fn metrics_are_registered_before_their_first_event() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let text = app.metrics().await?;
    for name in [
        "catalytic_jobs_submitted_total",
        "catalytic_stale_writes_total",
        "catalytic_rate_limit_hits_total",
        "catalytic_build_info{process=\"api\"",
        "process_resident_memory_bytes",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
    // Only the api's own families (issue 19): no scaling signal, no relay.
    for name in [
        "catalytic_desired_workers",
        "catalytic_queue_ready_messages",
        "catalytic_outbox_published_total",
        "catalytic_worker_jobs_in_flight",
    ] {
        assert!(!text.contains(name), "{name} on the api's /metrics");
    }
    app.teardown().await
}

/// Issue 18: `/metrics` (login failures, lockouts, tenants' rate-limit
/// hits) was public on the api port. It is served on the probe port only,
/// with the probes.
#[tokio::test]
async fn metrics_are_on_the_probe_port_only() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    assert_eq!(app.get("/metrics").await?.status(), 404);
    assert!(
        app.metrics()
            .await?
            .contains("catalytic_http_requests_total")
    );
    for probe in ["/healthz", "/readyz"] {
        let status = app
            .http
            .get(format!("{}{probe}", app.probes))
            .send()
            .await?
            .status();
        assert_eq!(status, 200, "{probe} on the probe port");
    }
    app.teardown().await
}

#[tokio::test]
async fn request_durations_are_histograms_with_buckets() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    app.get("/healthz").await?;
    let text = app.metrics().await?;
    assert!(
        text.contains("catalytic_http_request_duration_seconds_bucket"),
        "durations must be histograms so quantiles aggregate across replicas"
    );
    app.teardown().await
}

#[tokio::test]
async fn request_ids_are_echoed_or_made() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let response = app
        .http
        .get(format!("{}/healthz", app.base))
        .header("x-request-id", "abc-123")
        .send()
        .await?;
    assert_eq!(
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("abc-123")
    );
    let response = app.get("/healthz").await?;
    assert!(response.headers().get("x-request-id").is_some());
    app.teardown().await
}

#[tokio::test]
async fn responses_carry_security_headers_and_cors_only_for_allowed_origins() -> anyhow::Result<()>
{
    let app = crate::harness::spawn_app_with(&[(
        "CATALYTIC_API__CORS_ALLOWED_ORIGINS",
        "[\"https://app.example.com\"]",
    )])
    .await?;
    let response = app.get("/healthz").await?;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(header("x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(header("referrer-policy").as_deref(), Some("no-referrer"));
    assert!(header("content-security-policy").is_some());
    assert!(
        header("strict-transport-security").is_none(),
        "HSTS only when configured"
    );

    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, format!("{}/v1/jobs", app.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let allowed = preflight("https://app.example.com").await?;
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://app.example.com")
    );
    let refused = preflight("https://evil.example").await?;
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    app.teardown().await
}

/// A saturated database pool is overload, not a fault: 503 with
/// `Retry-After`, never a 500 (the soak saw one long-poll answered 500).
/// `jobs` is locked so the reads that got a connection keep it; the rest
/// wait `acquire_timeout_secs` for one and are answered while the lock is
/// still held.
#[tokio::test]
async fn a_saturated_pool_answers_503_with_retry_after() -> anyhow::Result<()> {
    let app = crate::harness::spawn_app_with(&[
        ("CATALYTIC_DATABASE__MAX_CONNECTIONS", "2"),
        ("CATALYTIC_DATABASE__ACQUIRE_TIMEOUT_SECS", "1"),
    ])
    .await?;
    // Authenticated once, so the key is in this process's cache.
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(app.get_job_as(&app.key, &unknown).await?.status(), 404);
    let mut lock = app.db.pool.begin().await?;
    sqlx::query("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await?;
    let mut reads = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let request = app
            .http
            .get(format!("{}/v1/jobs", app.base))
            .bearer_auth(&app.key);
        reads.spawn(async move { request.send().await });
    }
    // The first answer comes while the lock holds the other reads.
    let mut answers = Vec::new();
    if let Some(first) = reads.join_next().await {
        answers.push(first??);
    }
    lock.rollback().await?;
    while let Some(answer) = reads.join_next().await {
        answers.push(answer??);
    }
    let mut saturated = 0;
    for answer in &answers {
        assert_ne!(answer.status(), 500, "overload must not be a 500");
        if answer.status() == 503 {
            assert_eq!(
                answer
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()),
                Some("1")
            );
            saturated += 1;
        }
    }
    assert_eq!(answers[0].status(), 503, "the first answer is a refusal");
    assert!(saturated >= 1);
    app.teardown().await
}
