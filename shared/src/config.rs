//! Settings for every process: the embedded `config/defaults.toml` (which
//! documents each key), overridden by `CATALYTIC_*` environment variables,
//! then validated. Every error names the environment variable to fix.

use crate::secret::Secret;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

const DEFAULTS: &str = include_str!("../config/defaults.toml");
const LOCAL_API_KEY_SECRET: &str = "local-only-api-key-secret-change-me";
const LOCAL_JWT_SIGNING_KEY: &str = "local-only-jwt-signing-key-change-me";
const LOCAL_WEBHOOK_ENCRYPTION_KEY: &str = "local-only-webhook-encryption-key-change-me";

/// Why `secret` is too weak for production, if it is: a local-only default,
/// a placeholder left from an example, or under 128 bits of entropy judged by its own
/// characters (Shannon entropy of their frequencies times the length: a
/// random base64 or hex secret of 32 bytes has ~200 or more, 32 × `a` none).
fn weak_secret(secret: &str) -> Option<&'static str> {
    const PLACEHOLDERS: [&str; 6] = [
        "replace",
        "change-me",
        "change_me",
        "changeme",
        "example",
        "placeholder",
    ];
    if [
        LOCAL_API_KEY_SECRET,
        LOCAL_JWT_SIGNING_KEY,
        LOCAL_WEBHOOK_ENCRYPTION_KEY,
    ]
    .contains(&secret)
    {
        return Some("the local-only default is refused in production; set a random secret");
    }
    let lower = secret.to_ascii_lowercase();
    if PLACEHOLDERS.iter().any(|word| lower.contains(word)) {
        return Some(
            "looks like a placeholder; set a random secret (e.g. `openssl rand -base64 32`)",
        );
    }
    let mut counts = std::collections::HashMap::new();
    for c in secret.chars() {
        *counts.entry(c).or_insert(0_usize) += 1;
    }
    let n = secret.chars().count() as f64;
    let bits: f64 = counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2() * n
        })
        .sum();
    (bits < 128.0).then_some(
        "has too little entropy (under 128 bits); set a random secret (e.g. `openssl rand -base64 32`)",
    )
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Parse(String),
    #[error("invalid configuration: {key}: {message}")]
    Invalid { key: String, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Local,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub environment: Environment,
    pub log: LogSettings,
    pub traces: TraceSettings,
    pub database: DatabaseSettings,
    pub amqp: AmqpSettings,
    pub redis: RedisSettings,
    pub api: ApiSettings,
    pub auth: AuthSettings,
    pub worker: WorkerSettings,
    pub scheduler: SchedulerSettings,
    pub webhooks: WebhookSettings,
    pub autoscale: AutoscaleSettings,
    pub billing: BillingSettings,
    pub mail: MailSettings,
    pub faults: FaultSettings,
}

/// Mail over SMTP (issue 20): the outbox the api and the scheduler write,
/// sent by the scheduler (scheduler/src/mail).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    /// `smtp://host:port` (plain, for a relay on a trusted network),
    /// `smtp://host:587?tls=required` (STARTTLS) or `smtps://host:465`, with
    /// `user:password@` when the server wants them. Empty: nothing is sent
    /// and messages wait in the outbox until a server is configured.
    pub smtp_url: Secret<String>,
    /// The `From:` of every message.
    pub from: String,
    /// Where links in messages point (the dashboard's origin).
    pub public_url: String,
    /// Messages claimed per round, and sent at once.
    pub batch: i64,
    pub concurrency: usize,
    /// Idle poll (a committed message also wakes the sender by NOTIFY).
    pub poll_ms: u64,
    /// Attempts before a message is given up as failed; a permanent SMTP
    /// refusal (5xx) fails it at once.
    pub max_attempts: i32,
    /// The first retry's delay; each next one doubles, up to an hour.
    pub retry_base_secs: f64,
    /// One attempt's time limit, connection included.
    pub timeout_secs: u64,
    /// A claimed message comes due again after this if its sender vanished.
    pub lease_secs: u64,
    /// Finished messages (and their attempts) are kept this long.
    pub retention_secs: u64,
}

/// Billing rollups and invoices (scheduler; docs/adr/0003-plans.md, docs/adr/0005-scheduler.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingSettings {
    /// Seconds between rounds: re-roll touched hours, refresh drafts, finalise.
    pub rollup_interval_secs: u64,
    /// Seconds after a period ends before its invoice is finalised.
    pub finalize_after_secs: u64,
    /// Seconds usage events are kept after their period's invoice is finalised.
    pub usage_retention_secs: u64,
    /// Signing secret of the Stripe webhook endpoint; unset: the endpoint is off (404).
    #[serde(default)]
    pub stripe_webhook_secret: Option<Secret<String>>,
    /// The Stripe Billing Meter export (scheduler), off by default.
    pub meter_export: bool,
    /// Base URL meter events are posted to (`{base}/v1/billing/meter_events`).
    pub meter_base_url: String,
    /// Stripe secret API key for the export; required when it is on.
    #[serde(default)]
    pub meter_api_key: Option<Secret<String>>,
    /// Meter event names are `{prefix}_jobs`, `{prefix}_cpu_vertex_visits`, `{prefix}_gpu_ms`.
    pub meter_event_prefix: String,
    /// Hours whose rollups are exported per round, at most.
    pub meter_batch: i64,
    /// Stripe Checkout for plan upgrades (`POST /v1/billing/checkout`) and
    /// the Customer Portal (`POST /v1/billing/portal`): the secret API key.
    /// Unset, both answer 404 and only an operator can move a tenant up.
    #[serde(default)]
    pub checkout_api_key: Option<Secret<String>>,
    /// Base URL the sessions are created at (`{base}/v1/checkout/sessions`,
    /// `{base}/v1/billing_portal/sessions`).
    pub checkout_base_url: String,
    /// The Stripe price (`price_…`) of each paid plan; each one is required
    /// when checkout is on. Their lookup keys must be the plan names, which
    /// is how subscription events name the plan (docs/api.md).
    #[serde(default)]
    pub checkout_prices: CheckoutPrices,
    /// Where Stripe sends the browser after a payment. Fixed here, never
    /// taken from a request, so the api cannot be made to redirect anywhere.
    pub checkout_success_url: String,
    /// Where Stripe sends the browser when the payment is abandoned, and
    /// where the Customer Portal returns to.
    pub checkout_cancel_url: String,
}

/// The Stripe price of each paid plan (`billing.checkout_prices.<plan>`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutPrices {
    pub starter: Option<String>,
    pub professional: Option<String>,
    pub enterprise: Option<String>,
}

impl CheckoutPrices {
    /// The price of `plan`; `None` for the free plan or one left unset.
    pub fn of(&self, plan: crate::tenant::Plan) -> Option<&str> {
        use crate::tenant::Plan;
        match plan {
            Plan::Free => None,
            Plan::Starter => self.starter.as_deref(),
            Plan::Professional => self.professional.as_deref(),
            Plan::Enterprise => self.enterprise.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscaleSettings {
    pub interval_ms: u64,
    pub target_per_worker: u64,
    pub min_workers: u32,
    pub max_workers: u32,
    pub scale_down_stabilization_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
}

/// Trace export (issue 23, crate::telemetry): OpenTelemetry spans over
/// OTLP/HTTP protobuf, sampled parent-based.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceSettings {
    /// The receiver's base URL (`/v1/traces` is appended), e.g. an
    /// OpenTelemetry Collector at `http://otel-collector:4318`. Empty: off.
    pub otlp_endpoint: String,
    /// A trace that starts here (no sampled `traceparent` came with the
    /// request) is kept with this probability, 0.0–1.0; a caller's sampled
    /// flag is always followed.
    pub sample_ratio: f64,
    /// Spans waiting for export, at most; more are dropped (and counted by
    /// the SDK), never blocking a request or a job.
    pub queue_size: usize,
    /// Spans per export request.
    pub batch_size: usize,
    /// Time between exports.
    pub export_every_ms: u64,
    /// One export request's time limit.
    pub export_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: Secret<String>,
    pub max_connections: u32,
    pub acquire_timeout_secs: u64,
    /// Seconds a connection of a planned-once pool lives before it is
    /// replaced, so its generic plans are made again against the tables'
    /// current size (`db::Planning::Once`).
    pub replan_after_secs: u64,
    /// A CA (PEM) to trust besides the compiled-in roots, for a server
    /// certificate from a private CA; TLS itself and its verification are
    /// the URL's `sslmode` (crate::tls).
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpSettings {
    pub url: Secret<String>,
    pub prefix: String,
    pub prefetch: u16,
    pub delivery_limit: u32,
    /// A CA (PEM) to trust besides the compiled-in roots for `amqps://`.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub url: Secret<String>,
    /// Every key this deployment writes starts with `{prefix}:`.
    pub prefix: String,
    /// The only CA (PEM) trusted for `rediss://` when set.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    pub listen: SocketAddr,
    /// `/metrics`, `/healthz` and `/readyz` on a port of their own, as the
    /// worker and scheduler serve them: the metrics (login failures,
    /// lockouts, tenants' rate-limit hits) are not for the public port.
    pub probe_listen: SocketAddr,
    pub api_key_secret: Secret<String>,
    pub max_body_bytes: usize,
    pub cors_allowed_origins: Vec<String>,
    /// CIDRs of the proxies (the Ingress controller) whose `Forwarded` and
    /// `X-Forwarded-For` headers name the client for per-IP limits
    /// (api/src/limits/client_ip.rs); empty: the TCP peer is the client.
    pub trusted_proxies: Vec<String>,
    pub hsts: bool,
    pub rate_per_ip_per_minute: u32,
    pub auth_rate_per_ip_per_minute: u32,
    /// Finished job rows each api process keeps from `job_done` (0: none).
    pub job_cache_entries: usize,
    /// Seconds a finished row is answered from memory.
    pub job_cache_ttl_secs: u64,
    /// Submit transactions in flight at once (issue 17's group commit):
    /// each holds a pooled connection; submits beyond them wait and share
    /// the next transaction.
    pub submit_flushers: usize,
    /// Most submit requests (a bulk submit is one) in one transaction.
    pub submit_batch_max: usize,
}

impl ApiSettings {
    /// `trusted_proxies` parsed (a plain address counts as its /32 or /128).
    pub fn trusted_proxy_networks(&self) -> Result<Vec<ipnet::IpNet>, String> {
        self.trusted_proxies
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| entry.to_owned())
            })
            .collect()
    }
}

/// Accounts and tokens (issue 4, docs/adr/0004-api.md). Keys are HS256 secrets named by
/// a `kid`; rotation: add the new key as the signing key and keep the old one
/// in `verification_keys` until the last token it signed has expired.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub invitation_ttl_secs: u64,
    /// How long a mailed email-verification link (`cev_`) stays valid.
    pub verify_email_ttl_secs: u64,
    /// How long a mailed password-reset link (`cpr_`) stays valid.
    pub password_reset_ttl_secs: u64,
    pub signing_key_id: String,
    pub signing_key: Secret<String>,
    /// kid → key, accepted for verification only.
    pub verification_keys: std::collections::BTreeMap<String, Secret<String>>,
    /// Failed logins from one client address at one account, within the
    /// window, that lock the address out of the account.
    pub lockout_failures: u32,
    pub lockout_window_secs: u64,
    /// The first lock of an (account, address) pair; each next one doubles,
    /// up to `lockout_max_secs`.
    pub lockout_secs: u64,
    pub lockout_max_secs: u64,
    /// Failed logins at one account from all addresses, within the window,
    /// that lock the account for everyone for `lockout_max_secs` (guessing
    /// from many addresses); a password reset lifts it.
    pub lockout_failures_per_email: u32,
    /// Milliseconds a Redis cache lookup may take before PostgreSQL decides alone.
    pub cache_timeout_ms: u64,
    /// API keys, and access tokens, each api process keeps resolved (0: none).
    pub principal_cache_entries: usize,
    /// Seconds a resolved credential is trusted without a notification.
    pub principal_cache_ttl_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    pub probe_listen: SocketAddr,
    pub concurrency: usize,
    /// An elastic compute pool (issue 22): with `concurrency_max` above 0,
    /// the pool starts at `concurrency_min` (at least 1) and grows to
    /// `concurrency_max` while jobs wait for a slot and the host has idle
    /// CPU, shrinking after `pool_idle_secs` of unused slots; `concurrency`
    /// is then ignored. Checked every `pool_adjust_ms`.
    pub concurrency_min: usize,
    pub concurrency_max: usize,
    pub pool_adjust_ms: u64,
    pub pool_idle_secs: u64,
    /// Idle host CPU, in cores, the pool grows on (0: whenever a job waits).
    pub pool_min_idle_cores: f64,
    pub lease_secs: u64,
    pub heartbeat_secs: u64,
    /// How often a running job's progress is written, at most (issue 22).
    pub progress_every_ms: u64,
    pub shutdown_grace_secs: u64,
    pub memory_budget_mb: u64,
    /// What to compute on (docs/adr/0002-lattices.md); `--device` on the command line overrides it.
    pub device: DeviceMode,
    /// Jobs on lattices smaller than this run on the CPU even on a GPU
    /// worker: below it the GPU's fixed costs outweigh its speed (measured,
    /// docs/benchmarks.md "GPU").
    pub gpu_min_vertices: u64,
    /// On a GPU worker, BFS levels whose frontier has at most this many
    /// 64-vertex tiles run many to a launch in one thread block; 0 turns it
    /// off (docs/benchmarks.md "GPU engine" says why it is off by default).
    pub gpu_thin_max_tiles: u64,
    /// Round trips in flight at once for claims, and for outcomes: each is
    /// a group commit (`group_commit`) whose batches form while its
    /// flushers are busy.
    pub claim_flushers: usize,
    pub outcome_flushers: usize,
    /// Most claims, or outcomes, written by one statement.
    pub batch_max: usize,
    /// Jobs estimated to compute within this many milliseconds run through:
    /// computed from the message's copy of the spec before any claim, claim
    /// and outcome recorded in one statement (worker/src/run_through.rs).
    /// 0 turns it off.
    pub run_through_max_ms: u64,
    /// The deepest prefetch the worker grows to when its jobs compute fast
    /// (worker/src/prefetch.rs); `amqp.prefetch` is the floor. Equal to
    /// `amqp.prefetch`, the prefetch stays fixed.
    pub prefetch_max: u16,
    /// Compute a delivery may wait behind, per compute slot, when the
    /// prefetch is sized: prefetch = concurrency × this ÷ a job's compute time.
    pub prefetch_wait_ms: u64,
}

/// `worker.device`: where a worker computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceMode {
    /// The first CUDA device if one opens, else the CPU (logged).
    Auto,
    /// The CPU only.
    Cpu,
    /// A CUDA device, or refuse to start.
    Cuda,
}

impl std::str::FromStr for DeviceMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(DeviceMode::Auto),
            "cpu" => Ok(DeviceMode::Cpu),
            "cuda" => Ok(DeviceMode::Cuda),
            other => Err(format!(
                "unknown device {other:?}: expected auto, cpu or cuda"
            )),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerSettings {
    pub probe_listen: SocketAddr,
    pub relay_batch: u32,
    pub relay_poll_ms: u64,
    pub reaper_interval_ms: u64,
    /// Milliseconds between cron schedule rounds (issue 21).
    pub schedules_poll_ms: u64,
    /// Milliseconds between sweeps of waiting jobs (issue 21; parents'
    /// notifications settle them sooner).
    pub dependencies_sweep_ms: u64,
    pub retention_interval_secs: u64,
    pub retention_results_secs: u64,
    pub retention_sent_outbox_secs: u64,
    /// Finished jobs are deleted this long after finishing (or after their
    /// own `result_ttl_secs`, if longer).
    pub retention_jobs_secs: u64,
}

/// Webhook delivery (issue 6, docs/adr/0005-scheduler.md); every key documented in defaults.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    pub encryption_key: Secret<String>,
    pub encryption_key_id: String,
    /// kid → key: earlier encryption keys, used only to open secrets sealed
    /// under them (key rotation: new secrets are sealed under the current key).
    pub previous_encryption_keys: std::collections::BTreeMap<String, Secret<String>>,
    pub rotation_overlap_secs: u64,
    pub schedule_scale: f64,
    pub allow_private: Vec<String>,
    pub concurrency: usize,
    pub batch: i64,
    pub poll_ms: u64,
    pub timeout_secs: u64,
    pub connect_timeout_secs: u64,
    pub lease_secs: u64,
    pub extra_root_ca_file: String,
    pub disable_after_failing_secs: u64,
    pub attempt_retention_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSettings {
    pub relay_exit_after_publish: bool,
    pub schedules_exit_before_commit: bool,
    pub schedules_hold_before_commit_ms: u64,
}

impl Settings {
    /// Defaults, then the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_figment(Figment::from(Toml::string(DEFAULTS)).merge(env_provider()))
    }

    /// Defaults, then the given `(CATALYTIC_..., value)` pairs only. For tests,
    /// which must not depend on the environment they run in.
    pub fn load_from<'a>(
        vars: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        for (key, value) in vars {
            if is_cli_variable(key) {
                continue;
            }
            let path = key
                .strip_prefix("CATALYTIC_")
                .ok_or_else(|| ConfigError::Invalid {
                    key: key.to_owned(),
                    message: "settings keys start with CATALYTIC_".into(),
                })?
                .to_lowercase()
                .replace("__", ".");
            let parsed: figment::value::Value = value
                .parse()
                .unwrap_or_else(|_| figment::value::Value::from(value.to_owned()));
            figment = figment.merge((path, parsed));
        }
        Self::from_figment(figment)
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract().map_err(|e| {
            let messages: Vec<String> = e
                .into_iter()
                .map(|e| match e.path.is_empty() {
                    true => e.kind.to_string(),
                    false => format!("{}: {}", env_key(&e.path.join(".")), e.kind),
                })
                .collect();
            ConfigError::Parse(messages.join("; "))
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// Cross-field and range rules that serde cannot express.
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| {
            Err(ConfigError::Invalid {
                key: env_key(key),
                message: message.to_owned(),
            })
        };
        for (key, file) in [
            ("database.tls_ca_file", &self.database.tls_ca_file),
            ("amqp.tls_ca_file", &self.amqp.tls_ca_file),
            ("redis.tls_ca_file", &self.redis.tls_ca_file),
        ] {
            if let Some(path) = file
                && let Err(e) = crate::tls::read_ca_file(path)
            {
                return invalid(key, &format!("cannot use {}: {e}", path.display()));
            }
        }
        if self.api.trusted_proxy_networks().is_err() {
            return invalid(
                "api.trusted_proxies",
                "each entry must be a CIDR such as 10.0.0.0/8 or fd00::/8",
            );
        }
        if self.database.max_connections == 0 {
            return invalid("database.max_connections", "must be at least 1");
        }
        self.validate_mail()?;
        self.validate_traces()?;
        if self.database.replan_after_secs == 0 {
            return invalid("database.replan_after_secs", "must be at least 1");
        }
        if self.amqp.prefetch == 0 {
            return invalid(
                "amqp.prefetch",
                "must be at least 1 (0 would mean unbounded)",
            );
        }
        if self.amqp.prefix.is_empty()
            || !self
                .amqp
                .prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return invalid(
                "amqp.prefix",
                "must be non-empty and use only [A-Za-z0-9._-]",
            );
        }
        if self.redis.prefix.is_empty()
            || !self
                .redis
                .prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return invalid(
                "redis.prefix",
                "must be non-empty and use only [A-Za-z0-9._-]",
            );
        }
        if self.amqp.delivery_limit == 0 {
            return invalid("amqp.delivery_limit", "must be at least 1");
        }
        if self.api.api_key_secret.expose().len() < 32 {
            return invalid("api.api_key_secret", "must be at least 32 characters");
        }
        self.validate_auth()?;
        self.validate_webhooks()?;
        if self.environment == Environment::Production {
            self.validate_production_secrets()?;
        }
        if self.worker.heartbeat_secs == 0 || self.worker.heartbeat_secs >= self.worker.lease_secs {
            return invalid(
                "worker.heartbeat_secs",
                "must be at least 1 and shorter than worker.lease_secs",
            );
        }
        if self.worker.concurrency_max > 0
            && self.worker.concurrency_min > self.worker.concurrency_max
        {
            return invalid(
                "worker.concurrency_min",
                "must not exceed worker.concurrency_max",
            );
        }
        if self.worker.pool_adjust_ms < 100 {
            return invalid("worker.pool_adjust_ms", "must be at least 100");
        }
        if self.worker.progress_every_ms < 100 {
            return invalid(
                "worker.progress_every_ms",
                "must be at least 100 (each report is a database write)",
            );
        }
        if self.worker.claim_flushers == 0 {
            return invalid("worker.claim_flushers", "must be at least 1");
        }
        if self.worker.outcome_flushers == 0 {
            return invalid("worker.outcome_flushers", "must be at least 1");
        }
        if self.worker.batch_max == 0 {
            return invalid("worker.batch_max", "must be at least 1");
        }
        if self.worker.prefetch_max < self.amqp.prefetch {
            return invalid("worker.prefetch_max", "must be at least amqp.prefetch");
        }
        if self.autoscale.target_per_worker == 0 {
            return invalid("autoscale.target_per_worker", "must be at least 1");
        }
        if self.autoscale.max_workers < self.autoscale.min_workers {
            return invalid(
                "autoscale.max_workers",
                "must be at least autoscale.min_workers",
            );
        }
        if self.billing.rollup_interval_secs == 0 {
            return invalid("billing.rollup_interval_secs", "must be at least 1");
        }
        if self.billing.finalize_after_secs > 31 * 86_400 {
            return invalid(
                "billing.finalize_after_secs",
                "must be at most 2678400 (a month): a period is finalised before the next one ends",
            );
        }
        self.validate_billing()?;
        if self.scheduler.relay_batch == 0 {
            return invalid("scheduler.relay_batch", "must be at least 1");
        }
        let scheduler = &self.scheduler;
        for (key, value) in [
            ("scheduler.reaper_interval_ms", scheduler.reaper_interval_ms),
            ("scheduler.schedules_poll_ms", scheduler.schedules_poll_ms),
            (
                "scheduler.dependencies_sweep_ms",
                scheduler.dependencies_sweep_ms,
            ),
            (
                "scheduler.retention_interval_secs",
                scheduler.retention_interval_secs,
            ),
            (
                "scheduler.retention_results_secs",
                scheduler.retention_results_secs,
            ),
            (
                "scheduler.retention_sent_outbox_secs",
                scheduler.retention_sent_outbox_secs,
            ),
            (
                "scheduler.retention_jobs_secs",
                scheduler.retention_jobs_secs,
            ),
        ] {
            if value == 0 {
                return invalid(key, "must be at least 1");
            }
        }
        for (key, set) in [
            (
                "faults.relay_exit_after_publish",
                self.faults.relay_exit_after_publish,
            ),
            (
                "faults.schedules_exit_before_commit",
                self.faults.schedules_exit_before_commit,
            ),
            (
                "faults.schedules_hold_before_commit_ms",
                self.faults.schedules_hold_before_commit_ms > 0,
            ),
        ] {
            if self.environment == Environment::Production && set {
                return invalid(key, "fault hooks are refused in production");
            }
        }
        Ok(())
    }

    fn validate_mail(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| {
            Err(ConfigError::Invalid {
                key: env_key(key),
                message: message.to_owned(),
            })
        };
        let m = &self.mail;
        let url = m.smtp_url.expose();
        let smtp = url.starts_with("smtp://") || url.starts_with("smtps://");
        if !url.is_empty() && !smtp {
            return invalid("mail.smtp_url", "must start with smtp:// or smtps://");
        }
        if !(m.public_url.starts_with("http://") || m.public_url.starts_with("https://")) {
            return invalid("mail.public_url", "must start with http:// or https://");
        }
        if !m.from.contains('@') {
            return invalid(
                "mail.from",
                "must be an address, e.g. Name <no-reply@example.com>",
            );
        }
        if m.lease_secs < 2 || m.timeout_secs < 1 {
            return invalid(
                "mail.lease_secs",
                "mail.lease_secs must be at least 2 and mail.timeout_secs at least 1",
            );
        }
        if m.batch < 1 || m.concurrency == 0 || m.max_attempts < 1 {
            return invalid(
                "mail.batch",
                "mail.batch, mail.concurrency and mail.max_attempts must be at least 1",
            );
        }
        // NaN is refused too.
        if m.retry_base_secs.is_nan() || m.retry_base_secs <= 0.0 {
            return invalid("mail.retry_base_secs", "must be above 0");
        }
        Ok(())
    }

    fn validate_traces(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| {
            Err(ConfigError::Invalid {
                key: env_key(key),
                message: message.to_owned(),
            })
        };
        let t = &self.traces;
        let endpoint = &t.otlp_endpoint;
        let url = endpoint.starts_with("http://") || endpoint.starts_with("https://");
        if !(endpoint.is_empty() || url) {
            return invalid(
                "traces.otlp_endpoint",
                "must be empty (off) or an http:// or https:// URL",
            );
        }
        // NaN fails both comparisons, so it is refused too.
        if !(t.sample_ratio >= 0.0 && t.sample_ratio <= 1.0) {
            return invalid("traces.sample_ratio", "must be between 0.0 and 1.0");
        }
        if t.queue_size == 0 || t.batch_size == 0 || t.batch_size > t.queue_size {
            return invalid(
                "traces.batch_size",
                "traces.queue_size and traces.batch_size must be at least 1, the batch no larger than the queue",
            );
        }
        if t.export_every_ms == 0 || t.export_timeout_ms == 0 {
            return invalid(
                "traces.export_every_ms",
                "traces.export_every_ms and traces.export_timeout_ms must be at least 1",
            );
        }
        Ok(())
    }

    fn validate_billing(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| {
            Err(ConfigError::Invalid {
                key: env_key(key),
                message: message.to_owned(),
            })
        };
        let b = &self.billing;
        if b.stripe_webhook_secret
            .as_ref()
            .is_some_and(|s| s.expose().is_empty())
        {
            return invalid(
                "billing.stripe_webhook_secret",
                "must not be empty (leave it unset to turn the endpoint off)",
            );
        }
        if b.usage_retention_secs < 86_400 {
            return invalid(
                "billing.usage_retention_secs",
                "must be at least 86400 (a day)",
            );
        }
        if !(b.meter_base_url.starts_with("http://") || b.meter_base_url.starts_with("https://")) {
            return invalid(
                "billing.meter_base_url",
                "must be an http:// or https:// URL",
            );
        }
        if b.meter_event_prefix.is_empty()
            || !b
                .meter_event_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return invalid(
                "billing.meter_event_prefix",
                "must be non-empty and use only [A-Za-z0-9_]",
            );
        }
        if b.meter_batch < 1 {
            return invalid("billing.meter_batch", "must be at least 1");
        }
        for (key, url) in [
            ("billing.checkout_base_url", &b.checkout_base_url),
            ("billing.checkout_success_url", &b.checkout_success_url),
            ("billing.checkout_cancel_url", &b.checkout_cancel_url),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return invalid(key, "must be an http:// or https:// URL");
            }
        }
        if let Some(key) = &b.checkout_api_key {
            if key.expose().is_empty() {
                return invalid(
                    "billing.checkout_api_key",
                    "must not be empty (leave it unset to turn checkout off)",
                );
            }
            for plan in crate::tenant::Plan::ALL {
                if plan != crate::tenant::Plan::Free
                    && b.checkout_prices.of(plan).is_none_or(str::is_empty)
                {
                    return invalid(
                        &format!("billing.checkout_prices.{plan}"),
                        "is required when billing.checkout_api_key is set (the plan's Stripe price, price_...)",
                    );
                }
            }
        }
        if b.meter_export
            && b.meter_api_key
                .as_ref()
                .is_none_or(|k| k.expose().is_empty())
        {
            return invalid(
                "billing.meter_api_key",
                "is required when billing.meter_export is on",
            );
        }
        Ok(())
    }

    /// Production secrets must be real (issue 18): not a local-only
    /// default, not a placeholder from an example (`REPLACE_ME_…`), not low-entropy (32 × `a`), and not one
    /// value reused for several keys. The error names the variable.
    fn validate_production_secrets(&self) -> Result<(), ConfigError> {
        let mut secrets = vec![
            (
                "api.api_key_secret".to_owned(),
                self.api.api_key_secret.expose(),
            ),
            (
                "auth.signing_key".to_owned(),
                self.auth.signing_key.expose(),
            ),
            (
                "webhooks.encryption_key".to_owned(),
                self.webhooks.encryption_key.expose(),
            ),
        ];
        for (kid, key) in &self.auth.verification_keys {
            if *kid != self.auth.signing_key_id {
                secrets.push((format!("auth.verification_keys.{kid}"), key.expose()));
            }
        }
        for (i, (key, secret)) in secrets.iter().enumerate() {
            if let Some(why) = weak_secret(secret) {
                return Err(ConfigError::Invalid {
                    key: env_key(key),
                    message: why.to_owned(),
                });
            }
            if let Some((first, _)) = secrets[..i].iter().find(|(_, other)| other == secret) {
                return Err(ConfigError::Invalid {
                    key: env_key(key),
                    message: format!(
                        "reuses the value of {}; every key needs its own",
                        env_key(first)
                    ),
                });
            }
        }
        Ok(())
    }

    fn validate_webhooks(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| {
            Err(ConfigError::Invalid {
                key: env_key(key),
                message: message.to_owned(),
            })
        };
        let w = &self.webhooks;
        if w.encryption_key.expose().len() < 32 {
            return invalid("webhooks.encryption_key", "must be at least 32 characters");
        }
        if w.encryption_key_id.is_empty() || w.encryption_key_id.len() > 64 {
            return invalid("webhooks.encryption_key_id", "must be 1 to 64 characters");
        }
        for (kid, key) in &w.previous_encryption_keys {
            let path = format!("webhooks.previous_encryption_keys.{kid}");
            if key.expose().len() < 32 {
                return invalid(&path, "must be at least 32 characters");
            }
            if *kid == w.encryption_key_id {
                return invalid(&path, "has the current key's id; give the new key a new id");
            }
        }
        if !(w.schedule_scale.is_finite() && w.schedule_scale > 0.0) {
            return invalid("webhooks.schedule_scale", "must be a positive number");
        }
        for entry in &w.allow_private {
            if entry.parse::<ipnet::IpNet>().is_err() && entry.parse::<std::net::IpAddr>().is_err()
            {
                return invalid(
                    "webhooks.allow_private",
                    &format!("{entry:?} is neither an IP address nor a CIDR"),
                );
            }
        }
        for (key, value) in [
            ("webhooks.concurrency", w.concurrency as u64),
            ("webhooks.batch", u64::try_from(w.batch).unwrap_or(0)),
            ("webhooks.poll_ms", w.poll_ms),
            ("webhooks.timeout_secs", w.timeout_secs),
            ("webhooks.connect_timeout_secs", w.connect_timeout_secs),
        ] {
            if value == 0 {
                return invalid(key, "must be at least 1");
            }
        }
        if w.lease_secs <= w.timeout_secs {
            return invalid(
                "webhooks.lease_secs",
                "must be longer than webhooks.timeout_secs",
            );
        }
        Ok(())
    }

    fn validate_auth(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| {
            Err(ConfigError::Invalid {
                key: env_key(key),
                message: message.to_owned(),
            })
        };
        let auth = &self.auth;
        if auth.jwt_issuer.is_empty() {
            return invalid("auth.jwt_issuer", "must not be empty");
        }
        if auth.jwt_audience.is_empty() {
            return invalid("auth.jwt_audience", "must not be empty");
        }
        if auth.access_ttl_secs == 0 || auth.access_ttl_secs >= auth.refresh_ttl_secs {
            return invalid(
                "auth.access_ttl_secs",
                "must be at least 1 and shorter than auth.refresh_ttl_secs",
            );
        }
        if auth.invitation_ttl_secs == 0 {
            return invalid("auth.invitation_ttl_secs", "must be at least 1");
        }
        if auth.signing_key_id.is_empty() {
            return invalid("auth.signing_key_id", "must not be empty");
        }
        if auth.signing_key.expose().len() < 32 {
            return invalid("auth.signing_key", "must be at least 32 characters");
        }
        for (kid, key) in &auth.verification_keys {
            let path = format!("auth.verification_keys.{kid}");
            if key.expose().len() < 32 {
                return invalid(&path, "must be at least 32 characters");
            }
            if *kid == auth.signing_key_id && key != &auth.signing_key {
                return invalid(&path, "has the signing key's kid but another key");
            }
        }
        if auth.lockout_failures == 0 || auth.lockout_window_secs == 0 || auth.lockout_secs == 0 {
            return invalid(
                "auth.lockout_failures",
                "lockout_failures, lockout_window_secs and lockout_secs must be at least 1",
            );
        }
        Ok(())
    }

    pub fn worker_concurrency(&self) -> usize {
        match self.worker.concurrency {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// The compute pool's (min, max) slots: equal for a fixed pool.
    pub fn worker_pool_bounds(&self) -> (usize, usize) {
        match self.worker.concurrency_max {
            0 => (self.worker_concurrency(), self.worker_concurrency()),
            max => (self.worker.concurrency_min.clamp(1, max), max),
        }
    }

    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.worker.lease_secs)
    }
}

fn env_provider() -> Env {
    // The `catalytic` CLI's own variables share the prefix; a shell that
    // exports them must still be able to start the servers.
    Env::prefixed("CATALYTIC_")
        .ignore(CLI_VARIABLES)
        .split("__")
}

/// `CATALYTIC_*` variables read by the CLI (docs/cli.md), never settings.
pub const CLI_VARIABLES: &[&str] = &[
    "API_KEY",
    "SERVER",
    "OUTPUT",
    "CONFIG",
    "PASSWORD",
    "NEW_PASSWORD",
];

fn is_cli_variable(key: &str) -> bool {
    key.strip_prefix("CATALYTIC_")
        .is_some_and(|rest| CLI_VARIABLES.contains(&rest))
}

/// `database.url` → `CATALYTIC_DATABASE__URL`.
pub fn env_key(path: &str) -> String {
    format!("CATALYTIC_{}", path.to_uppercase().replace('.', "__"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_validate() {
        let s = Settings::load_from([]).map_err(|e| e.to_string());
        assert!(s.is_ok(), "{s:?}");
    }

    #[test]
    fn overrides_apply() -> Result<(), ConfigError> {
        let s = Settings::load_from([
            ("CATALYTIC_AMQP__PREFIX", "t_123"),
            ("CATALYTIC_WORKER__CONCURRENCY", "3"),
        ])?;
        assert_eq!(s.amqp.prefix, "t_123");
        assert_eq!(s.worker_concurrency(), 3);
        Ok(())
    }

    #[test]
    fn the_cli_variables_are_not_settings() -> Result<(), ConfigError> {
        let s = Settings::load_from([
            ("CATALYTIC_API_KEY", "clk_x"),
            ("CATALYTIC_SERVER", "http://127.0.0.1:8080"),
            ("CATALYTIC_OUTPUT", "json"),
        ])?;
        assert_eq!(s.worker.device, DeviceMode::Auto);
        Ok(())
    }

    #[test]
    fn the_worker_device_is_a_setting() -> Result<(), ConfigError> {
        let s = Settings::load_from([("CATALYTIC_WORKER__DEVICE", "cuda")])?;
        assert_eq!(s.worker.device, DeviceMode::Cuda);
        let err = Settings::load_from([("CATALYTIC_WORKER__DEVICE", "tpu")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("CATALYTIC_WORKER__DEVICE"), "{err}");
        Ok(())
    }

    #[test]
    fn errors_name_the_environment_variable() {
        let err = Settings::load_from([("CATALYTIC_AMQP__PREFETCH", "0")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("CATALYTIC_AMQP__PREFETCH"), "{err}");

        let err = Settings::load_from([("CATALYTIC_DATABASE__MAX_CONNECTIONS", "many")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("CATALYTIC_DATABASE__MAX_CONNECTIONS"), "{err}");

        let err = Settings::load_from([("CATALYTIC_API__TRUSTED_PROXIES", r#"["10.0.0.0/33"]"#)])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("CATALYTIC_API__TRUSTED_PROXIES"), "{err}");
        // A plain address is its own /32.
        let s = Settings::load_from([(
            "CATALYTIC_API__TRUSTED_PROXIES",
            r#"["10.0.0.0/8", "192.0.2.7"]"#,
        )]);
        let networks = s.map(|s| s.api.trusted_proxy_networks().map(|n| n.len()));
        assert!(matches!(networks, Ok(Ok(2))), "{networks:?}");
    }

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        let err = Settings::load_from([("CATALYTIC_AMQP__TLS_CA_FILE", "/nonexistent/ca.pem")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("CATALYTIC_AMQP__TLS_CA_FILE") && err.contains("/nonexistent/ca.pem"),
            "{err}"
        );
    }

    #[test]
    fn production_refuses_the_local_secret() {
        let err = Settings::load_from([("CATALYTIC_ENVIRONMENT", "production")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("CATALYTIC_API__API_KEY_SECRET"), "{err}");

        let err = Settings::load_from([
            ("CATALYTIC_ENVIRONMENT", "production"),
            (
                "CATALYTIC_API__API_KEY_SECRET",
                "a-real-random-secret-of-enough-length",
            ),
        ])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("CATALYTIC_AUTH__SIGNING_KEY"), "{err}");
    }

    /// The secrets of a production configuration that passes, with one
    /// replaced by `(variable, value)`: the error, if any.
    fn production_with(variable: &str, value: &str) -> String {
        let mut env = vec![
            ("CATALYTIC_ENVIRONMENT", "production"),
            (
                "CATALYTIC_API__API_KEY_SECRET",
                "q3VbX9kPz7LwT2mN8rJ5sY4hD6fG1aC0eUiOoKlBnM=",
            ),
            (
                "CATALYTIC_AUTH__SIGNING_KEY",
                "Zt7Wq2Lp9Xv4Rk8Nm3Hs6Jd1Fb5Gc0YeTuIiOoPaSd=",
            ),
            (
                "CATALYTIC_WEBHOOKS__ENCRYPTION_KEY",
                "Mn4Bv8Cx2Zl6Kj0Hg3Fd7Sa1Qw5Er9TyUiOpAsDfGh=",
            ),
        ];
        if let Some(entry) = env.iter_mut().find(|(k, _)| *k == variable) {
            entry.1 = value;
        }
        Settings::load_from(env)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn production_refuses_placeholder_weak_and_reused_secrets() {
        assert_eq!(production_with("", ""), "", "random secrets pass");
        let a32 = "a".repeat(32);
        // (variable, value, what the error must also say)
        let cases = [
            (
                "CATALYTIC_AUTH__SIGNING_KEY",
                "REPLACE_ME_WITH_AT_LEAST_32_RANDOM_BYTES",
                "placeholder",
            ),
            (
                "CATALYTIC_WEBHOOKS__ENCRYPTION_KEY",
                a32.as_str(),
                "entropy",
            ),
            (
                "CATALYTIC_WEBHOOKS__ENCRYPTION_KEY",
                "q3VbX9kPz7LwT2mN8rJ5sY4hD6fG1aC0eUiOoKlBnM=",
                "CATALYTIC_API__API_KEY_SECRET",
            ),
        ];
        for (variable, value, says) in cases {
            let err = production_with(variable, value);
            assert!(
                err.contains(variable) && err.contains(says),
                "{variable}: {err}"
            );
        }
        // Development keeps accepting its local defaults.
        assert!(
            Settings::load_from([("CATALYTIC_WEBHOOKS__ENCRYPTION_KEY", &"a".repeat(32)[..])])
                .is_ok()
        );
    }

    #[test]
    fn verification_keys_are_a_map_by_kid() -> Result<(), ConfigError> {
        let s = Settings::load_from([(
            "CATALYTIC_AUTH__VERIFICATION_KEYS__OLD",
            "an-old-key-still-accepted-for-a-while",
        )])?;
        assert_eq!(s.auth.verification_keys.keys().collect::<Vec<_>>(), ["old"]);
        let err = Settings::load_from([("CATALYTIC_AUTH__VERIFICATION_KEYS__OLD", "short")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("CATALYTIC_AUTH__VERIFICATION_KEYS__OLD"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn the_meter_export_needs_an_api_key_and_stripe_is_off_by_default() -> Result<(), ConfigError> {
        let s = Settings::load_from([])?;
        assert!(!s.billing.meter_export && s.billing.stripe_webhook_secret.is_none());
        let err = Settings::load_from([("CATALYTIC_BILLING__METER_EXPORT", "true")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("CATALYTIC_BILLING__METER_API_KEY"), "{err}");
        let s = Settings::load_from([
            ("CATALYTIC_BILLING__METER_EXPORT", "true"),
            ("CATALYTIC_BILLING__METER_API_KEY", "sk_test_123"),
        ])?;
        assert_eq!(
            s.billing
                .meter_api_key
                .as_ref()
                .map(|k| k.expose().as_str()),
            Some("sk_test_123")
        );
        Ok(())
    }

    #[test]
    fn checkout_is_off_by_default_and_needs_every_paid_plans_price() -> Result<(), ConfigError> {
        let s = Settings::load_from([])?;
        assert!(s.billing.checkout_api_key.is_none());
        let err = Settings::load_from([
            ("CATALYTIC_BILLING__CHECKOUT_API_KEY", "sk_test_1"),
            ("CATALYTIC_BILLING__CHECKOUT_PRICES__STARTER", "price_s"),
            ("CATALYTIC_BILLING__CHECKOUT_PRICES__ENTERPRISE", "price_e"),
        ])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            err.contains("CATALYTIC_BILLING__CHECKOUT_PRICES__PROFESSIONAL"),
            "{err}"
        );
        let s = Settings::load_from([
            ("CATALYTIC_BILLING__CHECKOUT_API_KEY", "sk_test_1"),
            ("CATALYTIC_BILLING__CHECKOUT_PRICES__STARTER", "price_s"),
            (
                "CATALYTIC_BILLING__CHECKOUT_PRICES__PROFESSIONAL",
                "price_p",
            ),
            ("CATALYTIC_BILLING__CHECKOUT_PRICES__ENTERPRISE", "price_e"),
        ])?;
        assert_eq!(
            s.billing
                .checkout_prices
                .of(crate::tenant::Plan::Professional),
            Some("price_p")
        );
        assert_eq!(
            s.billing.checkout_prices.of(crate::tenant::Plan::Free),
            None
        );
        let err =
            Settings::load_from([("CATALYTIC_BILLING__CHECKOUT_SUCCESS_URL", "javascript:x")])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
        assert!(
            err.contains("CATALYTIC_BILLING__CHECKOUT_SUCCESS_URL"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Settings::load_from([("CATALYTIC_DATABASE__URLL", "x")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("urll"), "{err}");
    }
}
