//! Issue 23's proof: one job's trace across the three processes. A submit
//! with a caller's `traceparent` is followed through the api's request, the
//! relay's publish, the wait in the queue, the worker's claim, compute and
//! commit, the webhook sender (whose receiver gets the trace's context) and
//! the billing rollup, all exported over OTLP/HTTP to the project's receiver
//! (`catalytic-otlp-receiver`), and the span tree is asserted.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use catalytic_e2e::otlp::OtlpReceiver;
use catalytic_e2e::{Binary, Client, Env, wait_ready, wait_until};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const READY: Duration = Duration::from_secs(30);
const FINISH: Duration = Duration::from_secs(60);

/// The caller's trace and span: the api's request span must be its child.
const TRACE_ID: &str = "5ac1e7a1b2c3d4e5f60718293a4b5c6d";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// Every `traceparent` header the webhook receiver saw.
type Seen = Arc<Mutex<Vec<String>>>;

async fn webhook_receiver() -> anyhow::Result<(String, Seen)> {
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            post(|State(seen): State<Seen>, headers: HeaderMap| async move {
                if let Some(tp) = headers.get("traceparent").and_then(|v| v.to_str().ok())
                    && let Ok(mut seen) = seen.lock()
                {
                    seen.push(tp.to_owned());
                }
                "ok"
            }),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, seen))
}

fn span<'a>(spans: &'a [Value], name: &str) -> anyhow::Result<&'a Value> {
    spans
        .iter()
        .find(|s| s["name"] == name)
        .ok_or_else(|| anyhow::anyhow!("no {name} span"))
}

/// Asserts that `child`'s parent is `parent` and that both are of `service`s.
fn parent_of(spans: &[Value], child: &str, parent: &str) -> anyhow::Result<()> {
    let c = span(spans, child)?;
    let p = span(spans, parent)?;
    assert_eq!(
        c["parent_span_id"], p["span_id"],
        "{child} should be a child of {parent}: {c} / {p}"
    );
    Ok(())
}

/// Registers a tenant's owner, marks the address verified and logs in.
async fn owner_token(env: &Env) -> anyhow::Result<String> {
    let http = reqwest::Client::new();
    let (email, password) = ("tracer@example.com", "correct horse battery staple 23");
    let registered = http
        .post(format!("{}/v1/auth/register", env.api_url()))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?;
    assert_eq!(registered.status(), 202);
    sqlx::query("UPDATE users SET email_verified_at = now() WHERE email = $1")
        .bind(email)
        .execute(&env.db.pool)
        .await?;
    let login: Value = http
        .post(format!("{}/v1/auth/login", env.api_url()))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    login["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no access token: {login}"))
}

#[tokio::test]
async fn one_jobs_trace_shows_its_whole_life_across_the_three_processes() -> anyhow::Result<()> {
    let receiver = OtlpReceiver::start()?;
    let endpoint = receiver.endpoint();
    let traces = [
        ("CATALYTIC_TRACES__OTLP_ENDPOINT", endpoint.as_str()),
        ("CATALYTIC_TRACES__EXPORT_EVERY_MS", "100"),
        // Traces that start in a process (no caller's context) are not
        // kept: only the job's trace reaches the receiver.
        ("CATALYTIC_TRACES__SAMPLE_RATIO", "0"),
        ("CATALYTIC_BILLING__ROLLUP_INTERVAL_SECS", "1"),
        // The claimed path, whose trace has every stage: a job this small
        // would otherwise run through (no `job.claim` span: claim and
        // outcome are then the one `job.commit`).
        ("CATALYTIC_WORKER__RUN_THROUGH_MAX_MS", "0"),
    ];
    let env = Env::new().await?;
    let _api = env.spawn(Binary::Api, &traces)?;
    let _worker = env.spawn(Binary::Worker, &traces)?;
    let _scheduler = env.spawn(Binary::Scheduler, &traces)?;
    wait_ready(&format!("{}/readyz", env.api_url()), READY).await?;
    // Webhook endpoints take an owner whose address is verified: one is
    // registered, and marked verified here rather than through the mail.
    let client = Client::new(env.api_url(), owner_token(&env).await?);

    let (hook_url, seen) = webhook_receiver().await?;
    let created = client
        .http
        .post(format!("{}/v1/webhooks/endpoints", client.base))
        .bearer_auth(&client.key)
        .json(&json!({"url": hook_url, "event_types": ["job.succeeded"]}))
        .send()
        .await?;
    assert_eq!(created.status(), 201, "{}", created.text().await?);

    let response = client
        .http
        .post(format!("{}/v1/jobs", client.base))
        .bearer_auth(&client.key)
        .header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN}-01"))
        .json(
            &json!({"lattice": {"dimensions": 2, "size": 30}, "operation": "shortest_path",
                      "params": {"start": [0, 0], "end": [29, 29]}}),
        )
        .send()
        .await?;
    assert_eq!(response.status(), 202);
    let id = response.json::<Value>().await?["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no id"))?;
    let job = client.wait_terminal(&id, FINISH).await?;
    assert_eq!(job["status"], "succeeded", "{job}");

    // The receiver of the job's webhook continues the same trace.
    let header = wait_until("the webhook with a traceparent", FINISH, || async {
        Ok(seen.lock().ok().and_then(|s| s.first().cloned()))
    })
    .await?;
    assert!(
        header.starts_with(&format!("00-{TRACE_ID}-")) && header.ends_with("-01"),
        "the webhook's traceparent continues the job's trace: {header}"
    );

    let names = [
        "request",
        "relay.publish",
        "queue.wait",
        "job",
        "job.claim",
        "job.compute",
        "job.commit",
        "webhook.deliver",
        "billing.rollup",
    ];
    let spans = receiver
        .wait_for_spans(TRACE_ID, &names, Duration::from_secs(60))
        .await?;
    let tree = receiver.tree(TRACE_ID).await?;
    eprintln!("{tree}");

    // Who made each span.
    for (name, service) in [
        ("request", "catalytic-api"),
        ("relay.publish", "catalytic-scheduler"),
        ("queue.wait", "catalytic-worker"),
        ("job", "catalytic-worker"),
        ("job.commit", "catalytic-worker"),
        ("webhook.deliver", "catalytic-scheduler"),
        ("billing.rollup", "catalytic-scheduler"),
    ] {
        assert_eq!(span(&spans, name)?["service"], service, "{name}");
    }
    // The tree: the caller → the request → the publish → (the queue wait,
    // the worker's job → its stages); the webhook and the rollup hang off
    // the request, whose context the job row stores.
    assert_eq!(span(&spans, "request")?["parent_span_id"], CALLER_SPAN);
    parent_of(&spans, "relay.publish", "request")?;
    parent_of(&spans, "queue.wait", "relay.publish")?;
    parent_of(&spans, "job", "relay.publish")?;
    for stage in ["job.claim", "job.compute", "job.commit"] {
        parent_of(&spans, stage, "job")?;
    }
    parent_of(&spans, "webhook.deliver", "request")?;
    parent_of(&spans, "billing.rollup", "request")?;
    // The receiver's traceparent names the delivery's span.
    let deliver = span(&spans, "webhook.deliver")?;
    assert!(
        deliver["span_id"]
            .as_str()
            .is_some_and(|id| header.contains(id)),
        "{header} names {deliver}"
    );
    // In order: the queue wait starts when the publish did its work and
    // ends before the worker claims.
    let start = |name: &str| span(&spans, name).map(|s| s["start_unix_nano"].as_u64());
    let end = |name: &str| span(&spans, name).map(|s| s["end_unix_nano"].as_u64());
    assert!(start("relay.publish")? <= start("queue.wait")?);
    assert!(end("queue.wait")? <= start("job.claim")?);
    assert!(end("job.claim")? <= start("job.compute")?);
    assert!(end("job.compute")? <= start("job.commit")?);
    // Nothing else: sample_ratio 0 keeps traces that start in a process out.
    let all: Vec<Value> = client
        .http
        .get(format!("{endpoint}/v1/spans"))
        .send()
        .await?
        .json()
        .await?;
    assert!(
        all.iter().all(|s| s["trace_id"] == TRACE_ID),
        "only the job's trace was sampled: {all:?}"
    );
    env.teardown().await
}
