//! The SSRF guard, tested in a network namespace of its own (`unshare -n`):
//! inside it there is only a loopback device, so no packet of the test can
//! leave the machine, whatever the guard does. The forbidden addresses
//! (169.254.169.254, 10.0.0.1) are put on that loopback device with a
//! receiver listening on each: if the guard let a request through, it would
//! arrive there and the test would see it.
//!
//! The outer test re-runs this test binary under `unshare -n` with only the
//! inner test selected. It needs root (CI runs as root) and `unshare`/`ip`
//! (util-linux, iproute2). PostgreSQL is reached through its Unix socket,
//! which a network namespace does not cut off.

use crate::harness::tenant;
use crate::webhook_receiver::*;
use axum::Router;
use axum::http::{StatusCode, header};
use catalytic_scheduler::webhooks::Webhooks;
use catalytic_shared::testkit::TestDatabase;
use std::net::SocketAddr;
use std::process::Command;

const INNER: &str = "webhook_ssrf::refusals_inside_a_network_namespace";
/// Set by the outer test for the inner one.
const IN_NAMESPACE: &str = "CATALYTIC_TEST_IN_NETNS";
/// Inside: lo up, the forbidden addresses on it, then the test binary.
const SETUP: &str = "ip link set lo up \
    && ip addr add 10.0.0.1/32 dev lo \
    && ip addr add 169.254.169.254/32 dev lo \
    && exec \"$@\"";

#[test]
fn ssrf_refusals_run_in_their_own_network_namespace() -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let socket_dir = std::env::var("TEST_POSTGRES_SOCKET_DIR")
        .unwrap_or_else(|_| "/var/run/postgresql".to_owned());
    let output = Command::new("unshare")
        .args(["--net", "--", "sh", "-c", SETUP, "sh"])
        .arg(&exe)
        .args(["--exact", INNER, "--ignored", "--nocapture"])
        .env(IN_NAMESPACE, "1")
        .env(
            "TEST_POSTGRES_URL",
            format!("postgres://postgres@localhost/postgres?host={socket_dir}"),
        )
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the namespaced test failed (needs root, unshare and ip):\n{stdout}\n{stderr}"
    );
    // libtest exits 0 when the filter matches nothing: make sure it ran.
    assert!(
        stdout.contains("1 passed"),
        "the inner test did not run:\n{stdout}\n{stderr}"
    );
    Ok(())
}

/// The interfaces this process sees (its network namespace's).
fn interfaces() -> anyhow::Result<Vec<String>> {
    let dev = std::fs::read_to_string("/proc/self/net/dev")?;
    Ok(dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next().map(|n| n.trim().to_owned()))
        .collect())
}

/// An allowed endpoint that redirects to a forbidden one.
async fn redirector(to: String) -> anyhow::Result<SocketAddr> {
    // 127.0.0.2: loopback, but allow-listed (127.0.0.1 is not).
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let to = to.clone();
            async move { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

#[tokio::test]
#[ignore = "run by ssrf_refusals_run_in_their_own_network_namespace under unshare -n"]
async fn refusals_inside_a_network_namespace() -> anyhow::Result<()> {
    anyhow::ensure!(
        std::env::var_os(IN_NAMESPACE).is_some() && interfaces()? == ["lo"],
        "not in a network namespace of its own (interfaces {:?})",
        interfaces()?
    );
    let db = TestDatabase::create().await?;
    let mut settings = settings(0.001, false)?;
    settings.allow_private = vec!["127.0.0.2".into()];
    let tenant = tenant(&db.pool).await?;

    let loopback = Receiver::start().await?;
    let metadata = Receiver::start_on(SocketAddr::from(([169, 254, 169, 254], 80))).await?;
    let internal = Receiver::start_on(SocketAddr::from(([10, 0, 0, 1], 0))).await?;
    let internal_url = format!("http://10.0.0.1:{}/hook", internal.addr.port());
    let redirect = redirector(internal_url.clone()).await?;
    let cases = [
        // 127.0.0.1 with no allow-list entry for it.
        format!("http://127.0.0.1:{}/hook", loopback.addr.port()),
        format!("http://[::1]:{}/hook", loopback.addr.port()),
        // Cloud metadata.
        "http://169.254.169.254/hook".to_owned(),
        // A name the injected resolver maps to 10.0.0.1.
        format!("http://internal.test:{}/hook", internal.addr.port()),
    ];
    for url in &cases {
        endpoint(&db, &settings, tenant, url).await?;
    }
    // An allowed address that redirects to a private one.
    endpoint(&db, &settings, tenant, &format!("http://{redirect}/hook")).await?;
    finished_job(&db, tenant).await?;
    let webhooks = Webhooks::with_lookup(db.pool.clone(), &settings, fake_lookup())?;
    webhooks.run_once().await?.finished().await;

    let attempts: Vec<(String, Option<i32>, Option<String>)> = sqlx::query_as(
        "SELECT e.url, a.status_code, a.error FROM webhook_attempts a
         JOIN webhook_endpoints e ON e.id = a.endpoint_id",
    )
    .fetch_all(&db.pool)
    .await?;
    assert_eq!(attempts.len(), 5, "{attempts:?}");
    for (url, status, error) in &attempts {
        let error = error.as_deref().unwrap_or_default();
        if url.contains("127.0.0.2") {
            // Reached (the namespace's loopback works), answered 307, not followed.
            assert_eq!(*status, Some(307), "{url}");
            assert!(
                error.contains("redirect not followed") && error.contains(&internal_url),
                "{url}: {error}"
            );
        } else {
            assert_eq!(*status, None, "{url}");
            assert!(
                error.contains("private or reserved address"),
                "{url}: {error}"
            );
        }
    }
    // Every delivery failed its attempt and stays on the retry schedule.
    let delivered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'")
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(delivered, 0);
    for (name, r) in [
        ("127.0.0.1", &loopback),
        ("169.254.169.254", &metadata),
        ("10.0.0.1", &internal),
    ] {
        assert!(r.received().is_empty(), "a request reached {name}");
        r.stop.cancel();
    }
    db.drop_database().await
}
