//! Every metric name and label in one place, so dashboards and alerts match
//! the code. `install` registers at start (at zero) the families of the
//! process installing it, and only those (issue 19): a scaling gauge at 0
//! on an api or worker pod would read as "no workers needed" to KEDA's
//! `max(...)` once the schedulers are gone, instead of leaving the series
//! absent so KEDA falls back and the `absent()` alert fires.
//! `catalytic_build_info{process, version}` and the standard `process_*`
//! families (resident memory, CPU seconds, open files) come with every
//! process.

use metrics::{describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const HTTP_REQUESTS: &str = "catalytic_http_requests_total";
pub const HTTP_DURATION: &str = "catalytic_http_request_duration_seconds";
pub const JOBS_SUBMITTED: &str = "catalytic_jobs_submitted_total";
pub const JOBS_FINISHED: &str = "catalytic_jobs_finished_total";
pub const JOB_COMPUTE_SECONDS: &str = "catalytic_job_compute_seconds";
pub const JOBS_IN_FLIGHT: &str = "catalytic_worker_jobs_in_flight";
/// Jobs a worker ran through: computed before any claim, claim and outcome
/// in one statement (worker/src/run_through.rs). Also counted in `JOBS_FINISHED`.
pub const JOBS_RUN_THROUGH: &str = "catalytic_worker_jobs_run_through_total";
/// Items per batched worker write, by `write` (claim, outcome): its count
/// is the statements, its sum the jobs they wrote.
pub const WORKER_BATCH_SIZE: &str = "catalytic_worker_batch_size";
/// Ack frames a worker sent, by `frame`: single, or multiple (one frame
/// acking a run of deliveries).
pub const WORKER_ACK_FRAMES: &str = "catalytic_worker_ack_frames_total";
/// The prefetch a worker consumes with now (worker/src/prefetch.rs).
pub const WORKER_PREFETCH: &str = "catalytic_worker_prefetch";
/// Compute slots of an elastic pool now, and its changes (worker/src/pool.rs).
pub const WORKER_POOL_SLOTS: &str = "catalytic_worker_pool_slots";
pub const WORKER_POOL_RESIZES: &str = "catalytic_worker_pool_resizes_total";
pub const STALE_WRITES: &str = "catalytic_stale_writes_total";
pub const MESSAGES_REJECTED: &str = "catalytic_messages_rejected_total";
pub const OUTBOX_PUBLISHED: &str = "catalytic_outbox_published_total";
pub const SCHEDULED_JOBS_QUEUED: &str = "catalytic_scheduled_jobs_queued_total";
pub const OUTBOX_PUBLISH_FAILURES: &str = "catalytic_outbox_publish_failures_total";
pub const OUTBOX_LAG: &str = "catalytic_outbox_lag_seconds";
pub const OUTBOX_CLAIM_SECONDS: &str = "catalytic_outbox_claim_seconds";
pub const QUEUE_READY: &str = "catalytic_queue_ready_messages";
pub const JOBS_RUNNING: &str = "catalytic_jobs_running";
pub const OLDEST_QUEUED: &str = "catalytic_oldest_queued_job_seconds";
pub const DESIRED_WORKERS: &str = "catalytic_desired_workers";
pub const LEASES_REAPED: &str = "catalytic_leases_reaped_total";
pub const DEAD_LETTERS: &str = "catalytic_dead_letters_total";
pub const RETENTION_PRUNED: &str = "catalytic_retention_pruned_total";
/// Waiting jobs (`depends_on`) settled, by `outcome`: `released` or `cancelled`.
pub const DEPENDENCY_SETTLED: &str = "catalytic_dependency_settled_total";
/// Cron schedule ticks handled, by `outcome` (`SCHEDULE_OUTCOMES`).
pub const SCHEDULE_TICKS: &str = "catalytic_schedule_ticks_total";
pub const BILLING_HOURS_ROLLED: &str = "catalytic_billing_hours_rolled_total";
pub const BILLING_INVOICES_FINALISED: &str = "catalytic_billing_invoices_finalised_total";
pub const BILLING_ROUND_FAILURES: &str = "catalytic_billing_round_failures_total";
pub const STRIPE_EVENTS: &str = "catalytic_stripe_events_total";
pub const METER_EVENTS_SENT: &str = "catalytic_billing_meter_events_sent_total";
pub const METER_EXPORT_FAILURES: &str = "catalytic_billing_meter_export_failures_total";
pub const DLQ_DEPTH: &str = "catalytic_dlq_depth_messages";
pub const RATE_LIMIT_HITS: &str = "catalytic_rate_limit_hits_total";
/// Requests (single, re-run or bulk submits) per group-committed submit
/// transaction in the api (issue 17): above 1 only while submits queue.
pub const SUBMIT_BATCH_SIZE: &str = "catalytic_submit_batch_size";
pub const WEBHOOK_ATTEMPTS: &str = "catalytic_webhook_attempts_total";
pub const WEBHOOK_ATTEMPT_SECONDS: &str = "catalytic_webhook_attempt_duration_seconds";
pub const WEBHOOK_ENDPOINTS_DISABLED: &str = "catalytic_webhook_endpoints_disabled_total";
pub const WEBHOOK_SSRF_REFUSED: &str = "catalytic_webhook_ssrf_refused_total";
/// Mail attempts finished by the scheduler's sender (issue 20), by
/// `template` (`crate::mail::Mail::TEMPLATES`, or `unknown` for a row that
/// names none) and `outcome` (`MAIL_OUTCOMES`).
pub const MAIL_MESSAGES: &str = "catalytic_mail_messages_total";
/// Time of one SMTP attempt (connection, when a new one was needed, included).
pub const MAIL_SEND_SECONDS: &str = "catalytic_mail_send_duration_seconds";
pub const AUTH_CACHE_HITS: &str = "catalytic_auth_cache_hits_total";
pub const AUTH_DB_READS: &str = "catalytic_auth_db_reads_total";
pub const AUTH_CACHE_RESETS: &str = "catalytic_auth_cache_resets_total";
pub const JOB_CACHE_HITS: &str = "catalytic_job_cache_hits_total";
/// 1 while a dependency's last readiness check passed, per `dependency`
/// (issue 19: Redis down degrades the api without making it unready).
pub const DEPENDENCY_UP: &str = "catalytic_dependency_up";
/// 1, labelled `process` and `version`: which build runs where.
pub const BUILD_INFO: &str = "catalytic_build_info";
/// Workers one class's backlog calls for, per `class` (before the
/// scale-down stabilisation): what a per-class Deployment (the GPU
/// workers) scales on.
pub const CLASS_DESIRED_WORKERS: &str = "catalytic_class_desired_workers";

/// The process a recorder belongs to: which families it registers, and
/// its `catalytic_build_info{process}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    Api,
    Worker,
    Scheduler,
}

impl Process {
    pub fn as_str(self) -> &'static str {
        match self {
            Process::Api => "api",
            Process::Worker => "worker",
            Process::Scheduler => "scheduler",
        }
    }
}
/// Label values of `AUTH_CACHE_HITS{credential}` and `AUTH_DB_READS{credential}`.
pub const CREDENTIALS: [&str; 2] = ["api_key", "session"];
/// Label values of `JOB_CACHE_HITS{path}`: a GET of a finished job, a
/// long-poll answered by the notification, or a long-poll's first read
/// skipped because this process accepted the job and has not heard it finish.
pub const JOB_CACHE_PATHS: [&str; 3] = ["get", "long_poll", "accepted"];
/// `outcome` label of `WEBHOOK_ATTEMPTS`.
pub const WEBHOOK_OUTCOMES: [&str; 4] = ["delivered", "retry", "failed", "disabled"];
/// `outcome` label of `MAIL_MESSAGES`: sent; failed this attempt, to be
/// retried; failed for good (a 5xx refusal, out of attempts, unusable).
pub const MAIL_OUTCOMES: [&str; 3] = ["sent", "retry", "failed"];

/// Label values of `STRIPE_EVENTS{result}`: applied, a redelivery of an
/// event already applied, refused (bad signature, unusable event).
pub const STRIPE_RESULTS: [&str; 3] = ["applied", "duplicate", "rejected"];
/// Label values of `RATE_LIMIT_HITS{limit}`: the limits that answer 429.
pub const RATE_LIMITS: [&str; 4] = [
    "requests_per_ip",
    "requests_per_tenant",
    "queued_jobs",
    "login_lockout",
];

/// Label values of `JOBS_FINISHED{outcome}`.
pub const OUTCOMES: [&str; 4] = ["succeeded", "failed", "cancelled", "retried"];
/// Label values of `STALE_WRITES{transition}`.
pub const TRANSITIONS: [&str; 6] = ["claim", "succeed", "fail", "retry", "cancel", "run_through"];
/// Label values of `LEASES_REAPED{outcome}`: re-queued, or failed out of attempts.
pub const REAP_OUTCOMES: [&str; 2] = ["retried", "failed"];
/// Label values of `DEAD_LETTERS{outcome}`: the job failed; the job had
/// already moved on (stale or superseded); the payload named no job.
pub const DEAD_LETTER_OUTCOMES: [&str; 3] = ["failed", "ignored", "unparsable"];
/// Label values of `SCHEDULE_TICKS{outcome}` (as `schedule_runs.outcome`).
pub const SCHEDULE_OUTCOMES: [&str; 4] = ["submitted", "skipped_overlap", "missed", "refused"];
/// Label values of `RETENTION_PRUNED{kind}`.
pub const RETENTION_KINDS: [&str; 12] = [
    "job_results",
    "usage_events",
    "sent_outbox",
    "refresh_tokens",
    "revoked_tokens",
    "login_lockouts",
    "login_failures",
    "account_tokens",
    "audit_events",
    "webhook_attempts",
    "unique_keys",
    "mail_messages",
];

/// Requests per batch: submits per api transaction (up to `api.submit_batch_max`),
/// jobs per worker statement (up to `worker.batch_max`).
const BATCH_SIZE_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// Seconds: from 100 µs (an api request) to an hour (the longest job).
const DURATION_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
static PROCESS_COLLECTOR: std::sync::OnceLock<metrics_process::Collector> =
    std::sync::OnceLock::new();

/// How often histogram samples are drained into their buckets when
/// nothing scrapes `/metrics`.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Installs the process-wide recorder for `process` (once; later calls
/// return the same handle, so tests can build several apps in one process)
/// and returns the handle `/metrics` renders (through [`render`]).
pub fn install(
    process: Process,
) -> Result<PrometheusHandle, metrics_exporter_prometheus::BuildError> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    // Durations are real histograms (buckets), so dashboards and alerts can
    // aggregate quantiles across replicas with histogram_quantile.
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), DURATION_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(SUBMIT_BATCH_SIZE.into()), BATCH_SIZE_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(WORKER_BATCH_SIZE.into()), BATCH_SIZE_BUCKETS)?
        .install_recorder()?;
    // With `install_recorder` the caller runs the recorder's upkeep (the
    // crate's docs say so): until it runs, or a scrape renders them,
    // histogram samples pile up in memory. The soak of 2026-12-06 saw the
    // worker, never scraped there, grow ~40 bytes a job (docs/chaos.md).
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "metrics upkeep thread not started: histograms drain only when scraped");
    }
    describe();
    let collector = PROCESS_COLLECTOR.get_or_init(metrics_process::Collector::default);
    collector.describe();
    collector.collect();
    metrics::gauge!(BUILD_INFO, "process" => process.as_str(), "version" => env!("CARGO_PKG_VERSION"))
        .set(1.0);
    match process {
        Process::Api => register_api(),
        Process::Worker => register_worker(),
        Process::Scheduler => register_scheduler(),
    }
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// The exposition text of `handle`, with the `process_*` families read now.
pub fn render(handle: &PrometheusHandle) -> String {
    if let Some(collector) = PROCESS_COLLECTOR.get() {
        collector.collect();
    }
    handle.render()
}

fn describe() {
    describe_counter!(HTTP_REQUESTS, "HTTP requests by route, method and status");
    describe_histogram!(HTTP_DURATION, "HTTP request latency by route");
    describe_counter!(JOBS_SUBMITTED, "Jobs accepted by the api (202)");
    describe_counter!(JOBS_FINISHED, "Attempts ended by a worker, by outcome");
    describe_histogram!(JOB_COMPUTE_SECONDS, "Wall time of the engine per attempt");
    describe_gauge!(JOBS_IN_FLIGHT, "Jobs this worker is computing now");
    describe_counter!(
        JOBS_RUN_THROUGH,
        "Jobs run through: computed before a claim, claim and outcome in one statement"
    );
    describe_counter!(
        WORKER_ACK_FRAMES,
        "Ack frames sent by the worker, by frame: single, multiple (acking a run)"
    );
    describe_gauge!(
        WORKER_POOL_SLOTS,
        "Compute slots of the worker's pool now (elastic between worker.concurrency_min and _max)"
    );
    describe_counter!(
        WORKER_POOL_RESIZES,
        "Changes of the worker's compute pool, by direction: grow, shrink"
    );
    describe_histogram!(
        WORKER_BATCH_SIZE,
        "Jobs per batched worker write (one statement), by write: claim, outcome"
    );
    describe_counter!(
        STALE_WRITES,
        "Guarded job writes that matched no row (duplicate or late): dropped"
    );
    describe_counter!(
        MESSAGES_REJECTED,
        "Messages a worker could not use (bad payload, newer schema), sent to the DLQ"
    );
    describe_counter!(OUTBOX_PUBLISHED, "Outbox rows confirmed by the broker");
    describe_counter!(
        SCHEDULED_JOBS_QUEUED,
        "Scheduled (delayed) jobs queued by the relay leader when their run_at came"
    );
    describe_counter!(OUTBOX_PUBLISH_FAILURES, "Outbox publish rounds that failed");
    describe_gauge!(OUTBOX_LAG, "Age of the oldest due, unsent outbox row");
    describe_histogram!(
        OUTBOX_CLAIM_SECONDS,
        "Time of the relay's fair claim per round (empty rounds included)"
    );
    describe_gauge!(
        QUEUE_READY,
        "Ready messages per class queue (autoscaling input)"
    );
    describe_gauge!(JOBS_RUNNING, "Running jobs per class (autoscaling input)");
    describe_gauge!(OLDEST_QUEUED, "Age of the oldest queued job");
    describe_gauge!(
        DESIRED_WORKERS,
        "Workers the backlog calls for, scale-down stabilised"
    );
    describe_gauge!(
        CLASS_DESIRED_WORKERS,
        "Workers one class's backlog calls for, by class (not stabilised)"
    );
    describe_gauge!(BUILD_INFO, "1, labelled with the running build's version");
    describe_counter!(
        LEASES_REAPED,
        "Running jobs whose lease expired, re-queued or failed by the reaper"
    );
    describe_counter!(
        DEAD_LETTERS,
        "Dead-lettered job messages consumed by the scheduler, by outcome"
    );
    describe_counter!(RETENTION_PRUNED, "Rows pruned or summarised by retention");
    describe_counter!(
        DEPENDENCY_SETTLED,
        "Waiting jobs whose parents finished: released to the queue, or cancelled with the parent named"
    );
    describe_counter!(
        SCHEDULE_TICKS,
        "Cron schedule ticks handled: a job submitted, skipped (overlap), missed (catch-up) or refused"
    );
    describe_counter!(
        BILLING_HOURS_ROLLED,
        "Tenant-hours of usage re-rolled into usage_hourly"
    );
    describe_counter!(
        BILLING_INVOICES_FINALISED,
        "Invoices finalised (numbered, immutable)"
    );
    describe_counter!(
        BILLING_ROUND_FAILURES,
        "Billing rounds (rollup or a tenant's invoices) that failed"
    );
    describe_counter!(
        STRIPE_EVENTS,
        "Stripe webhook events received, by result (applied, duplicate, rejected)"
    );
    describe_counter!(
        METER_EVENTS_SENT,
        "Stripe Billing Meter events accepted by Stripe"
    );
    describe_counter!(
        METER_EXPORT_FAILURES,
        "Stripe Billing Meter posts that failed (retried next round)"
    );
    describe_gauge!(DLQ_DEPTH, "Messages waiting in the dead-letter queue");
    describe_gauge!(
        DEPENDENCY_UP,
        "1 while the dependency's last readiness check passed (set at each /readyz)"
    );
    describe_counter!(RATE_LIMIT_HITS, "Requests refused with 429, by limit");
    describe_histogram!(
        SUBMIT_BATCH_SIZE,
        "Submits (single, re-run or bulk requests) per group-committed transaction"
    );
    describe_counter!(WEBHOOK_ATTEMPTS, "Webhook delivery attempts, by outcome");
    describe_histogram!(WEBHOOK_ATTEMPT_SECONDS, "Latency of one webhook attempt");
    describe_counter!(
        WEBHOOK_ENDPOINTS_DISABLED,
        "Webhook endpoints disabled by the scheduler (410 Gone)"
    );
    describe_counter!(
        AUTH_CACHE_HITS,
        "Requests authenticated from this process's cache, by credential"
    );
    describe_counter!(
        AUTH_DB_READS,
        "Credential lookups that read PostgreSQL (cache misses), by credential"
    );
    describe_counter!(
        AUTH_CACHE_RESETS,
        "Auth caches cleared because the LISTEN connection was lost or (re)made"
    );
    describe_counter!(
        JOB_CACHE_HITS,
        "Job reads saved by the job_done notification: finished jobs answered from it, and long-polls of jobs this process accepted waiting for it first"
    );
    describe_counter!(
        WEBHOOK_SSRF_REFUSED,
        "Webhook attempts refused because the destination is a private address"
    );
    describe_counter!(
        MAIL_MESSAGES,
        "Mail attempts by template and outcome: sent, retry (failed, tried again later), failed (for good)"
    );
    describe_histogram!(MAIL_SEND_SECONDS, "Latency of one SMTP attempt");
}

fn register_api() {
    metrics::counter!(JOBS_SUBMITTED).absolute(0);
    for credential in CREDENTIALS {
        metrics::counter!(AUTH_CACHE_HITS, "credential" => credential).absolute(0);
        metrics::counter!(AUTH_DB_READS, "credential" => credential).absolute(0);
    }
    metrics::counter!(AUTH_CACHE_RESETS).absolute(0);
    for path in JOB_CACHE_PATHS {
        metrics::counter!(JOB_CACHE_HITS, "path" => path).absolute(0);
    }
    for result in STRIPE_RESULTS {
        metrics::counter!(STRIPE_EVENTS, "result" => result).absolute(0);
    }
    for limit in RATE_LIMITS {
        metrics::counter!(RATE_LIMIT_HITS, "limit" => limit).absolute(0);
    }
    // A cancel is a guarded write too.
    metrics::counter!(STALE_WRITES, "transition" => "cancel").absolute(0);
}

fn register_worker() {
    for outcome in OUTCOMES {
        metrics::counter!(JOBS_FINISHED, "outcome" => outcome).absolute(0);
    }
    for transition in TRANSITIONS {
        metrics::counter!(STALE_WRITES, "transition" => transition).absolute(0);
    }
    metrics::counter!(JOBS_RUN_THROUGH).absolute(0);
    metrics::counter!(MESSAGES_REJECTED).absolute(0);
    metrics::gauge!(JOBS_IN_FLIGHT).set(0.0);
    for frame in ["single", "multiple"] {
        metrics::counter!(WORKER_ACK_FRAMES, "frame" => frame).absolute(0);
    }
}

fn register_scheduler() {
    metrics::counter!(BILLING_HOURS_ROLLED).absolute(0);
    metrics::counter!(BILLING_INVOICES_FINALISED).absolute(0);
    metrics::counter!(BILLING_ROUND_FAILURES).absolute(0);
    metrics::counter!(OUTBOX_PUBLISHED).absolute(0);
    metrics::counter!(SCHEDULED_JOBS_QUEUED).absolute(0);
    metrics::counter!(OUTBOX_PUBLISH_FAILURES).absolute(0);
    for outcome in REAP_OUTCOMES {
        metrics::counter!(LEASES_REAPED, "outcome" => outcome).absolute(0);
    }
    for outcome in DEAD_LETTER_OUTCOMES {
        metrics::counter!(DEAD_LETTERS, "outcome" => outcome).absolute(0);
    }
    for kind in RETENTION_KINDS {
        metrics::counter!(RETENTION_PRUNED, "kind" => kind).absolute(0);
    }
    for outcome in ["released", "cancelled"] {
        metrics::counter!(DEPENDENCY_SETTLED, "outcome" => outcome).absolute(0);
    }
    for outcome in SCHEDULE_OUTCOMES {
        metrics::counter!(SCHEDULE_TICKS, "outcome" => outcome).absolute(0);
    }
    for outcome in WEBHOOK_OUTCOMES {
        metrics::counter!(WEBHOOK_ATTEMPTS, "outcome" => outcome).absolute(0);
    }
    metrics::counter!(METER_EVENTS_SENT).absolute(0);
    metrics::counter!(METER_EXPORT_FAILURES).absolute(0);
    metrics::counter!(WEBHOOK_ENDPOINTS_DISABLED).absolute(0);
    metrics::counter!(WEBHOOK_SSRF_REFUSED).absolute(0);
    for template in crate::mail::Mail::TEMPLATES {
        for outcome in MAIL_OUTCOMES {
            metrics::counter!(MAIL_MESSAGES, "template" => template, "outcome" => outcome)
                .absolute(0);
        }
    }
    // The reaper's and the dead-letter consumer's guarded writes.
    for transition in ["fail", "retry"] {
        metrics::counter!(STALE_WRITES, "transition" => transition).absolute(0);
    }
    // The scaling gauges are not registered here: they appear with the
    // autoscaler's first round, so a scheduler that cannot compute them
    // shows none rather than a 0 that reads as "no workers needed".
}
