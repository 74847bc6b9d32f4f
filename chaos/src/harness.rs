//! The fleet of one chaos scenario, on the e2e harness (`catalytic_e2e::Env`:
//! its own database, queue prefix and log directory): the api, two workers
//! and two schedulers, with the workers and schedulers reaching PostgreSQL,
//! RabbitMQ and Redis through fault proxies; and a webhook endpoint of the
//! tenant pointing at the receiver.

use crate::proxy::FaultProxy;
use crate::receiver::Receiver;
use anyhow::Context;
use catalytic_e2e::{Binary, Client, Env, Process, free_port, wait_ready, wait_until};
use catalytic_shared::Settings;
use catalytic_shared::db::webhooks::{self as store, NewEndpoint};
use catalytic_shared::ids::{EndpointId, TenantId};
use catalytic_shared::testkit;
use catalytic_shared::webhook_secret::{self, SecretBox};
use std::net::SocketAddr;
use std::time::Duration;

const READY_WITHIN: Duration = Duration::from_secs(60);

/// A worker or scheduler of the fleet and the host name it was given
/// (`HOSTNAME`, which a worker records in the `workers` table).
pub struct Member {
    pub process: Process,
    pub host: String,
}

pub struct Fleet {
    pub env: Env,
    /// One client per tenant: the load is spread over them so that no
    /// tenant's plan rate limit (enterprise: 100 requests/s) binds.
    pub clients: Vec<Client>,
    pub postgres: FaultProxy,
    pub rabbitmq: FaultProxy,
    pub redis: FaultProxy,
    pub receiver: Receiver,
    pub workers: Vec<Member>,
    pub schedulers: Vec<Member>,
    /// The api reaches the servers directly: the faults are on the paths of
    /// the processes that move jobs.
    _api: Process,
}

/// Submits a second one enterprise tenant can make within its plan's rate
/// limit (6,000 requests a minute), with headroom.
const SUBMITS_PER_TENANT: u32 = 80;

impl Fleet {
    /// A fleet whose tenants can together submit `rate` jobs a second.
    pub async fn start(rate: u32) -> anyhow::Result<Self> {
        let env = Env::new().await?;
        let postgres = FaultProxy::start(server_addr(&env.db.url)?).await?;
        let rabbitmq = FaultProxy::start(server_addr(&testkit::amqp_url())?).await?;
        let redis = FaultProxy::start(server_addr(&testkit::redis_url())?).await?;
        let receiver = Receiver::start().await?;
        let tenants = rate.div_ceil(SUBMITS_PER_TENANT).max(1);
        let mut keys = vec![env.bootstrap("enterprise")?];
        for i in 1..tenants {
            keys.push(env.bootstrap_named(&format!("chaos-{i}"), "enterprise")?);
        }
        let secret = register_endpoints(&env, &receiver.url()).await?;
        receiver.verify_with(&secret);
        // Every submit comes from this one address: its limit must not bind.
        let api = env.spawn(
            Binary::Api,
            &[("CATALYTIC_API__RATE_PER_IP_PER_MINUTE", "100000000")],
        )?;
        wait_ready(&format!("{}/readyz", env.api_url()), READY_WITHIN).await?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        let clients: Vec<Client> = keys
            .into_iter()
            .map(|key| Client {
                http: http.clone(),
                base: env.api_url(),
                key,
            })
            .collect();
        let mut fleet = Self {
            clients,
            env,
            postgres,
            rabbitmq,
            redis,
            receiver,
            workers: Vec::new(),
            schedulers: Vec::new(),
            _api: api,
        };
        for _ in 0..2 {
            let worker = fleet.spawn(Binary::Worker).await?;
            fleet.workers.push(worker);
            let scheduler = fleet.spawn(Binary::Scheduler).await?;
            fleet.schedulers.push(scheduler);
        }
        Ok(fleet)
    }

    /// The first tenant's client (the one a worker-kill's long job uses).
    pub fn client(&self) -> &Client {
        &self.clients[0]
    }

    /// Starts one more worker or scheduler behind the proxies, and waits
    /// until its probe says it is ready.
    pub async fn spawn(&self, binary: Binary) -> anyhow::Result<Member> {
        let probe = free_port()?;
        let host = format!("chaos-{}-{probe}", process_kind(binary));
        let mut vars = self.proxied_vars()?;
        vars.push(("HOSTNAME".to_owned(), host.clone()));
        let probe_key = match binary {
            Binary::Worker => "CATALYTIC_WORKER__PROBE_LISTEN",
            Binary::Scheduler => "CATALYTIC_SCHEDULER__PROBE_LISTEN",
            Binary::Api => anyhow::bail!("the api is not proxied"),
        };
        vars.push((probe_key.to_owned(), format!("127.0.0.1:{probe}")));
        let extra: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let process = self.env.spawn(binary, &extra)?;
        wait_ready(&format!("http://127.0.0.1:{probe}/readyz"), READY_WITHIN)
            .await
            .with_context(|| {
                format!(
                    "{} behind the proxies:\n{}",
                    process.name,
                    process.log_text()
                )
            })?;
        Ok(Member { process, host })
    }

    /// Waits until `job` runs, and returns the index of the worker running
    /// it (found by the host name it registered with).
    pub async fn worker_running(&self, job: uuid::Uuid) -> anyhow::Result<usize> {
        let host: String = wait_until("the job to run", READY_WITHIN, || async {
            Ok(sqlx::query_scalar(
                "SELECT w.host FROM jobs j JOIN workers w ON w.id = j.worker_id
                  WHERE j.id = $1 AND j.status = 'running'",
            )
            .bind(job)
            .fetch_optional(&self.env.db.pool)
            .await?)
        })
        .await?;
        self.workers
            .iter()
            .position(|w| w.host == host)
            .with_context(|| format!("no worker of this fleet is {host}"))
    }

    /// The servers' URLs rewritten to the proxies, plus settings that make
    /// recovery observable in seconds rather than the production minutes.
    fn proxied_vars(&self) -> anyhow::Result<Vec<(String, String)>> {
        Ok(vec![
            (
                "CATALYTIC_DATABASE__URL".into(),
                via(&self.env.db.url, &self.postgres)?,
            ),
            (
                "CATALYTIC_AMQP__URL".into(),
                via(&testkit::amqp_url(), &self.rabbitmq)?,
            ),
            (
                "CATALYTIC_REDIS__URL".into(),
                via(&testkit::redis_url(), &self.redis)?,
            ),
            // A killed worker's lease runs out in 3 s; the reaper looks every 200 ms.
            ("CATALYTIC_WORKER__LEASE_SECS".into(), "3".into()),
            ("CATALYTIC_WORKER__HEARTBEAT_SECS".into(), "1".into()),
            (
                "CATALYTIC_SCHEDULER__REAPER_INTERVAL_MS".into(),
                "200".into(),
            ),
            // The receiver is on loopback, which the SSRF guard refuses unless listed.
            (
                "CATALYTIC_WEBHOOKS__ALLOW_PRIVATE".into(),
                "[\"127.0.0.1/32\"]".into(),
            ),
            // Retries 1000x sooner: 5 ms, 0.3 s, 1.8 s, 7.2 s, 18 s, ...
            ("CATALYTIC_WEBHOOKS__SCHEDULE_SCALE".into(), "0.001".into()),
            ("CATALYTIC_WEBHOOKS__POLL_MS".into(), "50".into()),
            // A schedules round that fired jobs waits 1.5 s before its
            // commit, saying so: the cron scenario's kill lands there.
            (
                "CATALYTIC_FAULTS__SCHEDULES_HOLD_BEFORE_COMMIT_MS".into(),
                "1500".into(),
            ),
        ])
    }

    /// Stops every process, then drops the database and the queues.
    pub async fn teardown(self) -> anyhow::Result<()> {
        let Self {
            env,
            workers,
            schedulers,
            _api,
            ..
        } = self;
        drop((workers, schedulers, _api));
        env.teardown().await
    }
}

fn process_kind(binary: Binary) -> &'static str {
    match binary {
        Binary::Api => "api",
        Binary::Worker => "worker",
        Binary::Scheduler => "scheduler",
    }
}

/// `host:port` of a server URL.
fn server_addr(url: &str) -> anyhow::Result<SocketAddr> {
    let url = url::Url::parse(url)?;
    let host = url.host_str().context("no host in the server url")?;
    let port = url
        .port_or_known_default()
        .context("no port in the server url")?;
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    Ok(SocketAddr::new(host.parse()?, port))
}

/// The same URL, pointing at the proxy.
fn via(url: &str, proxy: &FaultProxy) -> anyhow::Result<String> {
    let mut url = url::Url::parse(url)?;
    url.set_host(Some("127.0.0.1"))?;
    url.set_port(Some(proxy.addr.port()))
        .map_err(|()| anyhow::anyhow!("{url} takes no port"))?;
    Ok(url.to_string())
}

/// A webhook endpoint of every tenant, for every event type, stored the way
/// the api stores one; returns their signing secret. One secret for all, so
/// the receiver verifies every delivery with it.
async fn register_endpoints(env: &Env, url: &str) -> anyhow::Result<String> {
    let tenants: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM tenants")
        .fetch_all(&env.db.pool)
        .await?;
    let settings = Settings::load_from([])?.webhooks;
    let secret = webhook_secret::generate();
    let sealed = SecretBox::new(&settings).seal(&secret)?;
    for tenant in tenants {
        store::insert_endpoint(
            &env.db.pool,
            &NewEndpoint {
                id: EndpointId::new(),
                tenant: TenantId::from_uuid(tenant),
                url,
                description: "chaos receiver",
                event_types: &[],
                enabled: true,
                rate_limit_per_second: None,
                key_id: &sealed.key_id,
                sealed: &sealed.bytes,
            },
        )
        .await?;
    }
    Ok(secret.expose().clone())
}
