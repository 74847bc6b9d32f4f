//! The webhook tests' receiver: an axum server on 127.0.0.1:0 that records
//! each request, verifies its signature with the independent
//! `standardwebhooks` crate, and answers the statuses a test queues; plus a
//! name lookup that never asks the network, and set-up helpers.

use crate::harness::{claim, eventually, queued_job};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use catalytic_scheduler::webhooks::Webhooks;
use catalytic_scheduler::webhooks::ssrf::Lookup;
use catalytic_shared::Settings;
use catalytic_shared::config::WebhookSettings;
use catalytic_shared::db::jobs::{self, Change, Guard};
use catalytic_shared::db::webhooks::{self as store, NewEndpoint};
use catalytic_shared::ids::{EndpointId, JobId, TenantId, WebhookMessageId};
use catalytic_shared::job::{JobState, Usage};
use catalytic_shared::testkit::TestDatabase;
use catalytic_shared::webhook_secret::{self, SecretBox};
use futures::future::BoxFuture;
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub event_type: String,
    pub verified: bool,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: std::time::Instant,
}

struct ReceiverState {
    /// Answers to give, in order; then 200.
    answers: Mutex<VecDeque<(u16, Option<&'static str>)>>,
    received: Mutex<Vec<Received>>,
    /// How many requests came, for waiting without copying the log.
    count: tokio::sync::watch::Sender<usize>,
    /// How long each answer takes (a slow endpoint).
    delay: Mutex<Duration>,
    /// The endpoint secret, for verification (set after the endpoint exists).
    secret: Mutex<Option<String>>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<ReceiverState>,
    pub stop: CancellationToken,
}

impl Receiver {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on("127.0.0.1:0".parse()?).await
    }

    pub async fn start_on(addr: SocketAddr) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        Self::serve(listener)
    }

    /// The same receiver behind TLS (`webhook_https`).
    pub async fn start_tls(
        addr: SocketAddr,
        acceptor: tokio_rustls::TlsAcceptor,
    ) -> anyhow::Result<Self> {
        let tcp = tokio::net::TcpListener::bind(addr).await?;
        Self::serve(TlsListener { tcp, acceptor })
    }

    fn serve<L>(listener: L) -> anyhow::Result<Self>
    where
        L: axum::serve::Listener<Addr = SocketAddr>,
    {
        let addr = listener.local_addr()?;
        let state = Arc::new(ReceiverState {
            answers: Mutex::default(),
            received: Mutex::default(),
            count: tokio::sync::watch::Sender::new(0),
            delay: Mutex::default(),
            secret: Mutex::default(),
        });
        let app = Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(state.clone());
        let stop = CancellationToken::new();
        let token = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { token.cancelled().await })
                .await;
        });
        Ok(Self { addr, state, stop })
    }

    pub fn answer(&self, answers: &[(u16, Option<&'static str>)]) {
        if let Ok(mut queue) = self.state.answers.lock() {
            queue.extend(answers.iter().copied());
        }
    }

    /// Every answer from now on comes this late (a slow endpoint).
    pub fn answer_after(&self, delay: Duration) {
        if let Ok(mut d) = self.state.delay.lock() {
            *d = delay;
        }
    }

    pub fn verify_with(&self, secret: &str) {
        if let Ok(mut s) = self.state.secret.lock() {
            *s = Some(secret.to_owned());
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.state
            .received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Waits until `n` requests have come (the benchmarks: no copy of the
    /// log per check, no polling interval in the measurement).
    pub async fn wait_for(&self, n: usize, within: Duration) -> anyhow::Result<()> {
        let mut count = self.state.count.subscribe();
        tokio::time::timeout(within, count.wait_for(|c| *c >= n))
            .await
            .map_err(|_| anyhow::anyhow!("{n} requests not received within {within:?}"))??;
        Ok(())
    }

    /// Requests per `webhook-id`.
    pub fn counts(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for r in self.received() {
            *counts.entry(r.id).or_default() += 1;
        }
        counts
    }
}

/// TCP accept, then the TLS handshake; a failed handshake (e.g. a client
/// that does not trust the certificate) drops that connection only.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, peer)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, peer);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let secret = state.secret.lock().ok().and_then(|s| s.clone());
    let verified = secret
        .and_then(|s| standardwebhooks::Webhook::new(&s).ok())
        .is_some_and(|wh| wh.verify(&body, &headers).is_ok());
    let event_type = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if let Ok(mut received) = state.received.lock() {
        received.push(Received {
            id,
            event_type,
            verified,
            headers,
            body,
            at: std::time::Instant::now(),
        });
        state.count.send_replace(received.len());
    }
    // Only a slow receiver touches the timer (even a zero sleep waits for
    // the next millisecond tick, which the benchmarks would measure).
    let delay = state.delay.lock().map(|d| *d).unwrap_or_default();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (status, retry_after) = state
        .answers
        .lock()
        .ok()
        .and_then(|mut a| a.pop_front())
        .unwrap_or((200, None));
    let mut response_headers = HeaderMap::new();
    if let Some(ra) = retry_after
        && let Ok(v) = ra.parse()
    {
        response_headers.insert("retry-after", v);
    }
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        response_headers,
        "ok",
    )
}

/// Names to addresses, as a resolver that never asks the network.
pub struct FakeLookup(HashMap<&'static str, IpAddr>);

impl Lookup for FakeLookup {
    fn lookup(
        &self,
        host: String,
    ) -> BoxFuture<'static, Result<Vec<IpAddr>, Box<dyn std::error::Error + Send + Sync>>> {
        let found = self.0.get(host.as_str()).copied();
        Box::pin(async move {
            found
                .map(|ip| vec![ip])
                .ok_or_else(|| format!("no such host {host}").into())
        })
    }
}

pub fn fake_lookup() -> Arc<FakeLookup> {
    Arc::new(FakeLookup(HashMap::from([
        ("receiver.test", IpAddr::from([127, 0, 0, 1])),
        ("internal.test", IpAddr::from([10, 0, 0, 1])),
    ])))
}

/// Test settings: the schedule compressed by `scale`, 127.0.0.1 allowed.
pub fn settings(scale: f64, allow_loopback: bool) -> anyhow::Result<WebhookSettings> {
    let mut settings = Settings::load_from([])?.webhooks;
    settings.schedule_scale = scale;
    settings.poll_ms = 10;
    if allow_loopback {
        settings.allow_private = vec!["127.0.0.1".into()];
    }
    Ok(settings)
}

/// An endpoint of the tenant; returns its id and secret.
pub async fn endpoint(
    db: &TestDatabase,
    settings: &WebhookSettings,
    tenant: TenantId,
    url: &str,
) -> anyhow::Result<(EndpointId, String)> {
    let secret = webhook_secret::generate();
    let sealed = SecretBox::new(settings).seal(&secret)?;
    let id = EndpointId::new();
    store::insert_endpoint(
        &db.pool,
        &NewEndpoint {
            id,
            tenant,
            url,
            description: "",
            event_types: &[],
            enabled: true,
            rate_limit_per_second: None,
            key_id: &sealed.key_id,
            sealed: &sealed.bytes,
        },
    )
    .await?;
    Ok((id, secret.expose().clone()))
}

/// A job that really succeeded: the terminal transition writes its message.
pub async fn finished_job(db: &TestDatabase, tenant: TenantId) -> anyhow::Result<()> {
    finished_job_with(db, tenant, json!({"length": 1}))
        .await
        .map(drop)
}

/// The same with a given result; returns the job.
pub async fn finished_job_with(
    db: &TestDatabase,
    tenant: TenantId,
    result: serde_json::Value,
) -> anyhow::Result<JobId> {
    let job = queued_job(db, tenant, 3).await?;
    claim(db, job, 1).await?;
    let mut conn = db.pool.acquire().await?;
    let guard = Guard {
        job,
        from: JobState::Running,
        attempt: 1,
    };
    let change = Change::Succeed {
        result,
        usage: Usage::default(),
    };
    jobs::transition(&mut conn, guard, change).await?;
    Ok(job)
}

/// Direct message inserts, for volume.
pub async fn messages(db: &TestDatabase, tenant: TenantId, n: usize) -> anyhow::Result<()> {
    for i in 0..n {
        sqlx::query("INSERT INTO webhook_messages (id, tenant_id, event_type, payload) VALUES ($1, $2, 'job.succeeded', $3)")
            .bind(WebhookMessageId::new().as_uuid())
            .bind(tenant.as_uuid())
            .bind(json!({"type": "job.succeeded", "timestamp": "2026-01-01T00:00:00Z", "data": {"n": i}}))
            .execute(&db.pool)
            .await?;
    }
    Ok(())
}

/// Runs rounds (each waiting for its sends) until `done` holds.
pub async fn drive<F>(webhooks: &Webhooks, within: Duration, done: F) -> anyhow::Result<()>
where
    F: Fn() -> bool,
{
    let done = &done;
    eventually(within, || async {
        webhooks.run_once().await?.finished().await;
        Ok(done().then_some(()))
    })
    .await
}

pub async fn delivery_states(db: &TestDatabase) -> anyhow::Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT status FROM webhook_deliveries ORDER BY created_at")
            .fetch_all(&db.pool)
            .await?,
    )
}
