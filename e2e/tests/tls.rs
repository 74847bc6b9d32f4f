//! TLS to every server (issue 19): the fleet against a PostgreSQL, a
//! RabbitMQ listener and a Redis that speak TLS only, with certificates from
//! a CA of the test's own.
//!
//! Run by scripts/check-tls.sh, which starts those servers
//! (scripts/tls-servers.sh) and points `TEST_*` at them; scripts/test.sh
//! leaves this binary out of the plain run. Without the variables the tests
//! fail, saying so, rather than pass without TLS.

use catalytic_e2e::{Binary, Client, Env, wait_ready, wait_until};
use catalytic_shared::testkit;
use serde_json::{Value, json};
use std::time::Duration;

const READY: Duration = Duration::from_secs(30);

/// The CA the test servers' certificates chain to, and one that signed
/// nothing.
struct Cas {
    right: String,
    wrong: String,
}

fn cas() -> anyhow::Result<Cas> {
    let var = |name: &str| {
        std::env::var(name).map_err(|_| {
            anyhow::anyhow!(
                "{name} is not set: run scripts/check-tls.sh, which starts the TLS servers"
            )
        })
    };
    anyhow::ensure!(
        testkit::amqp_url().starts_with("amqps://")
            && testkit::redis_url().starts_with("rediss://")
            && testkit::admin_url().contains("sslmode=verify-full"),
        "TEST_AMQP_URL, TEST_REDIS_URL and TEST_POSTGRES_URL must name the TLS servers"
    );
    Ok(Cas {
        right: var("TEST_TLS_CA_FILE")?,
        wrong: var("TEST_TLS_WRONG_CA_FILE")?,
    })
}

/// The test database's URL without `sslrootcert`: the processes get the CA
/// from `database.tls_ca_file` instead, so that setting is what is tested.
fn url_without_root_cert(url: &str) -> String {
    match url.split_once('?') {
        None => url.to_owned(),
        Some((base, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|p| !p.starts_with("sslrootcert="))
                .collect();
            format!("{base}?{}", kept.join("&"))
        }
    }
}

/// `/readyz` of a probe port: status and body.
async fn readyz(port: u16) -> anyhow::Result<(u16, Value)> {
    let response = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await?;
    Ok((response.status().as_u16(), response.json().await?))
}

/// The error of `dependency` in a `/readyz` body, if it failed.
fn check_error(body: &Value, dependency: &str) -> Option<String> {
    body["checks"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == dependency && c["ok"] == false)
        .and_then(|c| c["error"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn a_job_runs_end_to_end_over_tls_to_every_server() -> anyhow::Result<()> {
    let cas = cas()?;
    let env = Env::new().await?;
    let url = url_without_root_cert(&env.db.url);
    let fleet_url = [
        ("CATALYTIC_DATABASE__URL", url.as_str()),
        ("CATALYTIC_DATABASE__TLS_CA_FILE", cas.right.as_str()),
        ("CATALYTIC_AMQP__TLS_CA_FILE", cas.right.as_str()),
        ("CATALYTIC_REDIS__TLS_CA_FILE", cas.right.as_str()),
    ];
    let key = env.bootstrap("starter")?;
    let _api = env.spawn(Binary::Api, &fleet_url)?;
    let _worker = env.spawn(Binary::Worker, &fleet_url)?;
    let _scheduler = env.spawn(Binary::Scheduler, &fleet_url)?;
    wait_ready(&format!("{}/readyz", env.api_url()), READY).await?;
    for port in [env.worker_probe_port, env.scheduler_probe_port] {
        wait_ready(&format!("http://127.0.0.1:{port}/readyz"), READY).await?;
    }
    // Redis answers too (it only degrades readiness, so check it by name).
    let (_, body) = readyz(env.api_probe_port).await?;
    assert_eq!(check_error(&body, "redis"), None, "{body}");

    let client = Client::new(env.api_url(), key);
    let id = client
        .submit(&json!({
            "lattice": {"dimensions": 2, "size": 30},
            "operation": "shortest_path",
            "params": {"start": [0, 0], "end": [29, 29]},
        }))
        .await?;
    let job = client.wait_terminal(&id, Duration::from_secs(60)).await?;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["result"]["length"], 58, "{job}");

    // Every connection of the fleet to this database is encrypted (the
    // server refuses any other, and says so here).
    let (tls, plain): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl)
           FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
          WHERE a.datname = $1 AND a.pid <> pg_backend_pid()",
    )
    .bind(&env.db.name)
    .fetch_one(&env.db.pool)
    .await?;
    assert!(tls > 0 && plain == 0, "tls {tls}, plain {plain}");
    Ok(())
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_ca_is_refused_naming_the_server() -> anyhow::Result<()> {
    let cas = cas()?;
    let env = Env::new().await?;
    let url = url_without_root_cert(&env.db.url);

    // PostgreSQL: the process stops at start, naming the server.
    let mut api = env.spawn(
        Binary::Api,
        &[
            ("CATALYTIC_DATABASE__URL", url.as_str()),
            ("CATALYTIC_DATABASE__TLS_CA_FILE", cas.wrong.as_str()),
        ],
    )?;
    let status = api.wait_exit(READY).await?;
    let log = api.log_text();
    assert!(!status.success(), "{log}");
    assert!(
        log.contains("PostgreSQL at localhost:5433") && log.contains("certificate"),
        "{log}"
    );

    // RabbitMQ: the worker stays unready and its /readyz names the broker.
    let _worker = env.spawn(
        Binary::Worker,
        &[("CATALYTIC_AMQP__TLS_CA_FILE", &cas.wrong)],
    )?;
    let error = wait_until("the worker to report the broker", READY, || async {
        let (status, body) = readyz(env.worker_probe_port).await?;
        // Before its first connect has failed the worker only says it is
        // not connected yet: wait for the reason.
        Ok(check_error(&body, "rabbitmq")
            .filter(|e| status == 503 && !e.starts_with("not connected yet")))
    })
    .await?;
    assert!(
        error.contains("RabbitMQ at localhost:5671") && error.contains("certificate"),
        "{error}"
    );

    // Redis: a cache, so the api serves on, degraded, naming Redis.
    let _api = env.spawn(Binary::Api, &[("CATALYTIC_REDIS__TLS_CA_FILE", &cas.wrong)])?;
    let (status, error) = wait_until("the api to report Redis", READY, || async {
        let (status, body) = readyz(env.api_probe_port).await?;
        Ok(check_error(&body, "redis").map(|e| (status, e)))
    })
    .await?;
    assert_eq!(status, 200, "{error}");
    assert!(
        error.contains("Redis at localhost:6380") && error.contains("certificate"),
        "{error}"
    );
    Ok(())
}
