//! Webhook delivery end to end: the real delivery loop, real PostgreSQL,
//! real HTTP receivers (`webhook_receiver`) verifying every signature.

use crate::harness::{eventually, tenant};
use crate::webhook_receiver::*;
use catalytic_scheduler::webhooks::Webhooks;
use catalytic_shared::config::WebhookSettings;
use catalytic_shared::db::webhooks as store;
use catalytic_shared::ids::{EndpointId, TenantId, WebhookMessageId};
use catalytic_shared::secret::Secret;
use catalytic_shared::testkit::TestDatabase;
use catalytic_shared::webhook_secret::{self, SecretBox};
use std::net::SocketAddr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn every_event_is_delivered_once_when_the_receiver_comes_up() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let settings = settings(0.001, true)?;
    let tenant = tenant(&db.pool).await?;
    // A port with nothing listening: connection refused.
    let port = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await?
        .local_addr()?
        .port();
    let url = format!("http://receiver.test:{port}/hook");
    let (_, secret) = endpoint(&db, &settings, tenant, &url).await?;
    for _ in 0..3 {
        finished_job(&db, tenant).await?;
    }
    let webhooks = Webhooks::with_lookup(db.pool.clone(), &settings, fake_lookup())?;
    webhooks.run_once().await?.finished().await;
    let failed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_attempts WHERE error IS NOT NULL")
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(failed, 3, "the first attempts should have failed");

    let receiver = Receiver::start_on(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    receiver.verify_with(&secret);
    drive(&webhooks, Duration::from_secs(20), || {
        receiver.counts().len() == 3
    })
    .await?;
    assert!(
        receiver.counts().values().all(|&n| n == 1),
        "{:?}",
        receiver.counts()
    );
    assert!(
        receiver
            .received()
            .iter()
            .all(|r| r.verified && r.event_type == "job.succeeded")
    );
    assert_eq!(delivery_states(&db).await?, vec!["succeeded"; 3]);
    receiver.stop.cancel();
    db.drop_database().await
}

#[tokio::test]
async fn failures_are_retried_on_the_compressed_schedule_and_logged() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    // Delays: 10 ms, then 600 ms (±20 %).
    let settings = settings(0.002, true)?;
    let tenant = tenant(&db.pool).await?;
    let receiver = Receiver::start().await?;
    receiver.answer(&[(500, None), (500, None)]);
    let url = format!("http://127.0.0.1:{}/hook", receiver.addr.port());
    let (_, secret) = endpoint(&db, &settings, tenant, &url).await?;
    receiver.verify_with(&secret);
    finished_job(&db, tenant).await?;
    let webhooks = Webhooks::with_lookup(db.pool.clone(), &settings, fake_lookup())?;
    drive(&webhooks, Duration::from_secs(20), || {
        receiver.received().len() == 3
    })
    .await?;

    let message: uuid::Uuid = sqlx::query_scalar("SELECT id FROM webhook_messages")
        .fetch_one(&db.pool)
        .await?;
    let attempts =
        store::list_attempts(&db.pool, tenant, WebhookMessageId::from_uuid(message)).await?;
    let statuses: Vec<_> = attempts
        .iter()
        .map(|a| (a.attempt, a.status_code))
        .collect();
    assert_eq!(
        statuses,
        vec![(1, Some(500)), (2, Some(500)), (3, Some(200))]
    );
    let gap = |i: usize| (attempts[i + 1].started_at - attempts[i].started_at).num_milliseconds();
    assert!(gap(0) >= 8, "first retry after {} ms", gap(0));
    assert!(gap(1) >= 480, "second retry after {} ms", gap(1));
    assert!(
        attempts
            .iter()
            .all(|a| a.response_body.as_deref() == Some("ok"))
    );
    let ids: std::collections::HashSet<_> = receiver.received().into_iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 1, "webhook-id is stable across retries");
    assert!(receiver.received().iter().all(|r| r.verified));
    assert_eq!(delivery_states(&db).await?, vec!["succeeded"]);
    receiver.stop.cancel();
    db.drop_database().await
}

#[tokio::test]
async fn retry_after_is_honoured_within_the_clamp() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    // First delay 500 ms ±20 %; Retry-After: 1 s lies within [d, 2d] or is cut to 2d.
    let settings = settings(0.1, true)?;
    let tenant = tenant(&db.pool).await?;
    let receiver = Receiver::start().await?;
    receiver.answer(&[(503, Some("1"))]);
    let url = format!("http://127.0.0.1:{}/hook", receiver.addr.port());
    endpoint(&db, &settings, tenant, &url).await?;
    finished_job(&db, tenant).await?;
    let webhooks = Webhooks::with_lookup(db.pool.clone(), &settings, fake_lookup())?;
    drive(&webhooks, Duration::from_secs(20), || {
        receiver.received().len() == 2
    })
    .await?;
    let times: Vec<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT started_at FROM webhook_attempts ORDER BY started_at")
            .fetch_all(&db.pool)
            .await?;
    let gap = (times[1] - times[0]).num_milliseconds();
    assert!(gap >= 780, "retried after {gap} ms despite Retry-After: 1");
    receiver.stop.cancel();
    db.drop_database().await
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_tells_the_others() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let settings = settings(0.001, true)?;
    let tenant = tenant(&db.pool).await?;
    let gone = Receiver::start().await?;
    gone.answer(&[(410, None)]);
    let other = Receiver::start().await?;
    let (gone_id, _) = endpoint(
        &db,
        &settings,
        tenant,
        &format!("http://127.0.0.1:{}/hook", gone.addr.port()),
    )
    .await?;
    let (_, secret) = endpoint(
        &db,
        &settings,
        tenant,
        &format!("http://127.0.0.1:{}/hook", other.addr.port()),
    )
    .await?;
    other.verify_with(&secret);
    finished_job(&db, tenant).await?;
    let webhooks = Webhooks::with_lookup(db.pool.clone(), &settings, fake_lookup())?;
    drive(&webhooks, Duration::from_secs(20), || {
        other
            .received()
            .iter()
            .any(|r| r.event_type == "endpoint.disabled")
    })
    .await?;
    let row = store::get_endpoint(&db.pool, tenant, gone_id).await?;
    assert!(row.is_some_and(|r| !r.enabled && r.disabled_reason.is_some()));
    assert_eq!(
        gone.received().len(),
        1,
        "nothing more is sent to a gone endpoint"
    );
    assert!(other.received().iter().all(|r| r.verified));
    gone.stop.cancel();
    other.stop.cancel();
    db.drop_database().await
}

#[tokio::test]
async fn two_replicas_never_send_an_event_twice() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let settings = settings(0.001, true)?;
    let tenant = tenant(&db.pool).await?;
    let receivers = [
        Receiver::start().await?,
        Receiver::start().await?,
        Receiver::start().await?,
    ];
    for r in &receivers {
        let (_, secret) = endpoint(
            &db,
            &settings,
            tenant,
            &format!("http://127.0.0.1:{}/hook", r.addr.port()),
        )
        .await?;
        r.verify_with(&secret);
    }
    messages(&db, tenant, 100).await?;
    let shutdown = CancellationToken::new();
    let a = tokio::spawn(
        Webhooks::with_lookup(db.pool.clone(), &settings, fake_lookup())?.run(shutdown.clone()),
    );
    let b = tokio::spawn(
        Webhooks::with_lookup(db.pool.clone(), &settings, fake_lookup())?.run(shutdown.clone()),
    );
    eventually(Duration::from_secs(30), || async {
        Ok(receivers
            .iter()
            .all(|r| r.counts().len() == 100)
            .then_some(()))
    })
    .await?;
    // Give a would-be duplicate time to arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    shutdown.cancel();
    a.await?;
    b.await?;
    for r in &receivers {
        let counts = r.counts();
        assert!(
            counts.values().all(|&n| n == 1),
            "a webhook-id arrived twice"
        );
        assert!(r.received().iter().all(|x| x.verified));
        r.stop.cancel();
    }
    db.drop_database().await
}

/// Rotates the endpoint's secret (the previous one signs for a minute);
/// returns the new one.
async fn rotate(
    db: &TestDatabase,
    settings: &WebhookSettings,
    tenant: TenantId,
    endpoint: EndpointId,
) -> anyhow::Result<Secret<String>> {
    let new = webhook_secret::generate();
    let sealed = SecretBox::new(settings).seal(&new)?;
    store::rotate_secret(
        &db.pool,
        tenant,
        endpoint,
        &sealed.key_id,
        &sealed.bytes,
        Duration::from_secs(60),
    )
    .await?;
    Ok(new)
}

#[tokio::test]
async fn both_secrets_sign_during_a_rotation() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let settings = settings(0.001, true)?;
    let tenant = tenant(&db.pool).await?;
    let receiver = Receiver::start().await?;
    let url = format!("http://127.0.0.1:{}/hook", receiver.addr.port());
    let (id, old) = endpoint(&db, &settings, tenant, &url).await?;
    let new = rotate(&db, &settings, tenant, id).await?;
    finished_job(&db, tenant).await?;
    let webhooks = Webhooks::with_lookup(db.pool.clone(), &settings, fake_lookup())?;
    drive(&webhooks, Duration::from_secs(20), || {
        receiver.received().len() == 1
    })
    .await?;
    let got = receiver.received().remove(0);
    for secret in [old.as_str(), new.expose().as_str()] {
        standardwebhooks::Webhook::new(secret)?.verify(&got.body, &got.headers)?;
    }
    let signatures = got
        .headers
        .get("webhook-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert_eq!(signatures.split(' ').count(), 2, "{signatures}");

    // Once the overlap is over, only the new secret signs.
    sqlx::query("UPDATE webhook_endpoints SET previous_expires_at = now() - interval '1 second'")
        .execute(&db.pool)
        .await?;
    finished_job(&db, tenant).await?;
    drive(&webhooks, Duration::from_secs(20), || {
        receiver.received().len() == 2
    })
    .await?;
    let got = receiver.received().remove(1);
    assert!(
        standardwebhooks::Webhook::new(&old)?
            .verify(&got.body, &got.headers)
            .is_err()
    );
    standardwebhooks::Webhook::new(new.expose())?.verify(&got.body, &got.headers)?;

    // The same duty (it keeps opened keys per endpoint) signs with a secret
    // rotated after it last sent.
    let newer = rotate(&db, &settings, tenant, id).await?;
    finished_job(&db, tenant).await?;
    drive(&webhooks, Duration::from_secs(20), || {
        receiver.received().len() == 3
    })
    .await?;
    let got = receiver.received().remove(2);
    for secret in [new.expose(), newer.expose()] {
        standardwebhooks::Webhook::new(secret)?.verify(&got.body, &got.headers)?;
    }
    receiver.stop.cancel();
    db.drop_database().await
}

#[tokio::test]
async fn an_endpoints_rate_limit_is_enforced() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let settings = settings(0.001, true)?;
    let tenant = tenant(&db.pool).await?;
    let receiver = Receiver::start().await?;
    let url = format!("http://127.0.0.1:{}/hook", receiver.addr.port());
    endpoint(&db, &settings, tenant, &url).await?;
    sqlx::query("UPDATE webhook_endpoints SET rate_limit_per_second = 20")
        .execute(&db.pool)
        .await?;
    messages(&db, tenant, 11).await?;
    let webhooks = Webhooks::with_lookup(db.pool.clone(), &settings, fake_lookup())?;
    drive(&webhooks, Duration::from_secs(20), || {
        receiver.received().len() == 11
    })
    .await?;
    let received = receiver.received();
    let spread = received[10].at - received[0].at;
    // 11 sends at 20/s: at least 10 intervals of 50 ms.
    assert!(
        spread >= Duration::from_millis(480),
        "11 sends in {spread:?}"
    );
    receiver.stop.cancel();
    db.drop_database().await
}

#[tokio::test]
async fn an_endpoint_failing_for_days_is_disabled() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let settings = settings(0.001, true)?;
    let tenant = tenant(&db.pool).await?;
    let failing = Receiver::start().await?;
    failing.answer(&[(500, None)]);
    let other = Receiver::start().await?;
    let (failing_id, _) = endpoint(
        &db,
        &settings,
        tenant,
        &format!("http://127.0.0.1:{}/hook", failing.addr.port()),
    )
    .await?;
    endpoint(
        &db,
        &settings,
        tenant,
        &format!("http://127.0.0.1:{}/hook", other.addr.port()),
    )
    .await?;
    sqlx::query(
        "UPDATE webhook_endpoints SET failing_since = now() - interval '6 days' WHERE id = $1",
    )
    .bind(failing_id.as_uuid())
    .execute(&db.pool)
    .await?;
    finished_job(&db, tenant).await?;
    let webhooks = Webhooks::with_lookup(db.pool.clone(), &settings, fake_lookup())?;
    drive(&webhooks, Duration::from_secs(20), || {
        other
            .received()
            .iter()
            .any(|r| r.event_type == "endpoint.disabled")
    })
    .await?;
    let row = store::get_endpoint(&db.pool, tenant, failing_id).await?;
    assert!(row.is_some_and(|r| !r.enabled));
    // A success resets the clock of the healthy endpoint.
    let healthy: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM webhook_endpoints WHERE enabled AND failing_since IS NULL",
    )
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(healthy, 1);
    failing.stop.cancel();
    other.stop.cancel();
    db.drop_database().await
}

#[tokio::test]
async fn a_ping_goes_to_its_endpoint_only() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let settings = settings(0.001, true)?;
    let tenant = tenant(&db.pool).await?;
    let pinged = Receiver::start().await?;
    let other = Receiver::start().await?;
    let (id, secret) = endpoint(
        &db,
        &settings,
        tenant,
        &format!("http://127.0.0.1:{}/hook", pinged.addr.port()),
    )
    .await?;
    endpoint(
        &db,
        &settings,
        tenant,
        &format!("http://127.0.0.1:{}/hook", other.addr.port()),
    )
    .await?;
    pinged.verify_with(&secret);
    store::insert_ping(&db.pool, tenant, id).await?;
    let webhooks = Webhooks::with_lookup(db.pool.clone(), &settings, fake_lookup())?;
    drive(&webhooks, Duration::from_secs(20), || {
        pinged.received().len() == 1
    })
    .await?;
    webhooks.run_once().await?.finished().await;
    assert!(
        pinged
            .received()
            .iter()
            .all(|r| r.verified && r.event_type == "webhook.test")
    );
    assert!(other.received().is_empty());
    pinged.stop.cancel();
    other.stop.cancel();
    db.drop_database().await
}

#[tokio::test]
async fn a_result_is_inlined_up_to_256_kib_and_linked_beyond() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let settings = settings(0.001, true)?;
    let tenant = tenant(&db.pool).await?;
    let receiver = Receiver::start().await?;
    let url = format!("http://127.0.0.1:{}/hook", receiver.addr.port());
    let (_, secret) = endpoint(&db, &settings, tenant, &url).await?;
    receiver.verify_with(&secret);
    let small = serde_json::json!({"length": 4, "path": [[0], [1], [2], [3]]});
    let small_job = finished_job_with(&db, tenant, small.clone()).await?;
    let large = serde_json::json!({"path": "x".repeat(300 * 1024)});
    let large_job = finished_job_with(&db, tenant, large).await?;
    let webhooks = Webhooks::with_lookup(db.pool.clone(), &settings, fake_lookup())?;
    drive(&webhooks, Duration::from_secs(20), || {
        receiver.received().len() == 2
    })
    .await?;
    for got in receiver.received() {
        assert!(got.verified);
        let body: serde_json::Value = serde_json::from_slice(&got.body)?;
        let data = &body["data"];
        let job = data["job_id"].as_str().unwrap_or_default().to_owned();
        assert_eq!(data["result_url"], format!("/v1/jobs/{job}"));
        assert_eq!(data["tenant_id"], tenant.to_string());
        if job == small_job.to_string() {
            assert_eq!(data["result"], small);
        } else {
            assert_eq!(job, large_job.to_string());
            assert!(data.get("result").is_none(), "a 300 KiB result was inlined");
            assert_eq!(data["result_omitted"], true);
            assert!(got.body.len() <= 256 * 1024, "{} bytes", got.body.len());
        }
    }
    receiver.stop.cancel();
    db.drop_database().await
}

#[tokio::test]
async fn attempts_older_than_30_days_are_pruned() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let settings = settings(0.001, true)?;
    let tenant = tenant(&db.pool).await?;
    let receiver = Receiver::start().await?;
    receiver.answer(&[(500, None)]);
    let url = format!("http://127.0.0.1:{}/hook", receiver.addr.port());
    endpoint(&db, &settings, tenant, &url).await?;
    for _ in 0..3 {
        finished_job(&db, tenant).await?;
    }
    let webhooks = Webhooks::with_lookup(db.pool.clone(), &settings, fake_lookup())?;
    // 3 first attempts (one failed), then the retry: 4 attempts in the log.
    drive(&webhooks, Duration::from_secs(20), || {
        receiver.received().len() == 4
    })
    .await?;
    // Two of the first attempts are 31 days old, one is 29.
    sqlx::query(
        "UPDATE webhook_attempts SET started_at = now() - interval '31 days'
         WHERE id IN (SELECT id FROM webhook_attempts WHERE attempt = 1 ORDER BY id LIMIT 2)",
    )
    .execute(&db.pool)
    .await?;
    sqlx::query(
        "UPDATE webhook_attempts SET started_at = now() - interval '29 days'
         WHERE attempt = 1 AND started_at > now() - interval '1 day'",
    )
    .execute(&db.pool)
    .await?;
    let retention = catalytic_scheduler::retention::Retention {
        pool: db.pool.clone(),
        interval: Duration::from_secs(3600),
        results: Duration::from_secs(7 * 86_400),
        sent_outbox: Duration::from_secs(86_400),
        jobs: Duration::from_secs(90 * 86_400),
        lockout_window: Duration::from_secs(300),
        webhook_attempts: Duration::from_secs(settings.attempt_retention_secs),
        mail_messages: Duration::from_secs(30 * 86_400),
    };
    assert_eq!(settings.attempt_retention_secs, 30 * 86_400);
    assert_eq!(retention.run_once().await.webhook_attempts, 2);
    let left: Vec<i32> =
        sqlx::query_scalar("SELECT attempt FROM webhook_attempts ORDER BY attempt")
            .fetch_all(&db.pool)
            .await?;
    assert_eq!(
        left,
        vec![1, 2],
        "the 29-day-old attempt and the retry stay"
    );
    // The deliveries and messages are not touched.
    assert_eq!(delivery_states(&db).await?, vec!["succeeded"; 3]);
    assert_eq!(retention.run_once().await.webhook_attempts, 0);
    receiver.stop.cancel();
    db.drop_database().await
}

#[tokio::test]
async fn a_queued_delivery_whose_lease_would_run_out_is_given_back_unsent() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let mut settings = settings(0.001, true)?;
    // A 4 s lease and a 2 s timeout: a queued delivery is sent only while
    // 2 s of its lease are left (half the lease). Each answer takes 1.3 s,
    // so of three deliveries claimed together the second starts at ~1.3 s
    // (sent) and the third at ~2.6 s (given back).
    settings.lease_secs = 4;
    settings.timeout_secs = 2;
    settings.connect_timeout_secs = 1;
    let tenant = tenant(&db.pool).await?;
    let receiver = Receiver::start().await?;
    receiver.answer_after(Duration::from_millis(1300));
    let url = format!("http://127.0.0.1:{}/hook", receiver.addr.port());
    let (_, secret) = endpoint(&db, &settings, tenant, &url).await?;
    receiver.verify_with(&secret);
    messages(&db, tenant, 3).await?;
    let webhooks = Webhooks::with_lookup(db.pool.clone(), &settings, fake_lookup())?;
    let first = webhooks.run_once().await?;
    assert_eq!(first.claimed, 3, "one claim takes all three");
    first.finished().await;
    assert_eq!(receiver.counts().len(), 2, "the third was given back");
    drive(&webhooks, Duration::from_secs(20), || {
        receiver.counts().len() == 3
    })
    .await?;
    assert!(receiver.counts().values().all(|&n| n == 1));
    assert!(receiver.received().iter().all(|r| r.verified));
    // Given back uncounted: each delivery took one attempt, all logged.
    let attempts: Vec<i32> =
        sqlx::query_scalar("SELECT attempts FROM webhook_deliveries ORDER BY created_at")
            .fetch_all(&db.pool)
            .await?;
    assert_eq!(attempts, vec![1, 1, 1]);
    let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_attempts")
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(logged, 3);
    assert_eq!(delivery_states(&db).await?, vec!["succeeded"; 3]);
    receiver.stop.cancel();
    db.drop_database().await
}
