//! Scheduler start-up: check the schema, serve probes, run the duties until
//! shutdown. Every duty is safe with several scheduler replicas (row locks
//! with SKIP LOCKED, guarded transitions).

use crate::billing::Billing;
use crate::dead_letters::DeadLetters;
use crate::dependencies::Dependencies;
use crate::leases::Reaper;
use crate::mail::Mailer;
use crate::relay::Relay;
use crate::retention::Retention;
use crate::schedules::Schedules;
use crate::webhooks::Webhooks;
use crate::webhooks::rate_limit::RateLimiter;
use anyhow::Context;
use catalytic_shared::queue::{Broker, Topology};
use catalytic_shared::{Settings, db, probe, shutdown};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Endpoint rate limits shared by the replicas through Redis (lazy: a
/// Redis that is down at start only loosens them to per process).
fn webhook_limiter(settings: &Settings) -> anyhow::Result<RateLimiter> {
    let client =
        catalytic_shared::tls::redis_client(&settings.redis).context("CATALYTIC_REDIS__URL")?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(250)))
        .set_response_timeout(Some(Duration::from_millis(250)))
        .set_number_of_retries(1);
    let conn = redis::aio::ConnectionManager::new_lazy_with_config(client, config)
        .context("configuring the redis connection (CATALYTIC_REDIS__URL)")?;
    Ok(RateLimiter::shared(conn, &settings.redis.prefix))
}

/// Connections the scheduler holds for good: the relay leader's session
/// and one LISTEN each for the relay, the dependency sweep, webhook
/// delivery and the mail sender (a `PgListener` keeps a pooled connection).
pub const HELD_CONNECTIONS: u32 = 5;
/// And at least this many more for the duties' statements.
const WORKING_CONNECTIONS: u32 = 2;
/// How long the duties get to stop at a safe point once shutdown begins,
/// and each close after them: within Kubernetes' default 30 s between
/// SIGTERM and SIGKILL (k8s/), and what a script stopping a scheduler
/// waits at most.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
const CLOSE_LIMIT: Duration = Duration::from_secs(5);

pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let needed = HELD_CONNECTIONS + WORKING_CONNECTIONS;
    anyhow::ensure!(
        settings.database.max_connections >= needed,
        "CATALYTIC_DATABASE__MAX_CONNECTIONS is {} but the scheduler needs at least {needed}: it holds {HELD_CONNECTIONS} (the relay's leader session and four LISTEN connections) and its duties need more to work",
        settings.database.max_connections
    );
    let metrics = catalytic_shared::metrics::install(catalytic_shared::metrics::Process::Scheduler)
        .context("installing the metrics recorder")?;
    let pool = db::pool(&settings.database).context("configuring the database pool")?;
    db::wait_for_schema(&pool, Duration::from_secs(30))
        .await
        .context("checking the database schema")?;
    let broker = Arc::new(
        Broker::from_settings(&settings.amqp, "catalytic-scheduler")
            .context("reading amqp.tls_ca_file")?,
    );
    let probes = probe::spawn_for(
        settings.scheduler.probe_listen,
        "CATALYTIC_SCHEDULER__PROBE_LISTEN",
        &pool,
        &broker,
        metrics,
        &shutdown,
    )
    .await?;

    let topology = Topology::new(&settings.amqp.prefix, settings.amqp.delivery_limit);
    let relay = Relay {
        pool: pool.clone(),
        broker: broker.clone(),
        topology: topology.clone(),
        batch: settings.scheduler.relay_batch,
        poll: Duration::from_millis(settings.scheduler.relay_poll_ms),
        replan_after: Duration::from_secs(settings.database.replan_after_secs),
        exit_after_publish: settings.faults.relay_exit_after_publish,
    };
    let reaper = Reaper {
        pool: pool.clone(),
        interval: Duration::from_millis(settings.scheduler.reaper_interval_ms),
        batch: 100,
    };
    let schedules = Schedules {
        pool: pool.clone(),
        poll: Duration::from_millis(settings.scheduler.schedules_poll_ms),
        batch: 100,
        exit_before_commit: settings.faults.schedules_exit_before_commit,
        hold_before_commit: Duration::from_millis(settings.faults.schedules_hold_before_commit_ms),
    };
    let dependencies = Dependencies {
        pool: pool.clone(),
        sweep: Duration::from_millis(settings.scheduler.dependencies_sweep_ms),
        batch: 500,
    };
    let dead_letters = DeadLetters {
        pool: pool.clone(),
        broker: broker.clone(),
        topology: topology.clone(),
        prefetch: settings.amqp.prefetch,
    };
    let retention = Retention {
        pool: pool.clone(),
        interval: Duration::from_secs(settings.scheduler.retention_interval_secs),
        results: Duration::from_secs(settings.scheduler.retention_results_secs),
        sent_outbox: Duration::from_secs(settings.scheduler.retention_sent_outbox_secs),
        jobs: Duration::from_secs(settings.scheduler.retention_jobs_secs),
        lockout_window: Duration::from_secs(settings.auth.lockout_window_secs),
        webhook_attempts: Duration::from_secs(settings.webhooks.attempt_retention_secs),
        mail_messages: Duration::from_secs(settings.mail.retention_secs),
    };
    // Each duty is its own task and logs its own errors; none ends before
    // shutdown, and one failing round never stops the others.
    let mut duties = tokio::task::JoinSet::new();
    duties.spawn(relay.run(shutdown.clone()));
    duties.spawn(reaper.run(shutdown.clone()));
    duties.spawn(schedules.run(shutdown.clone()));
    duties.spawn(dependencies.run(shutdown.clone()));
    duties.spawn(dead_letters.run(shutdown.clone()));
    duties.spawn(retention.run(shutdown.clone()));
    // Deleted tenants are erased within one retention interval of their due time.
    let erasure = crate::erasure::Erasure {
        pool: pool.clone(),
        interval: Duration::from_secs(settings.scheduler.retention_interval_secs),
    };
    duties.spawn(erasure.run(shutdown.clone()));
    let webhooks = Webhooks::new(
        pool.clone(),
        &settings.webhooks,
        webhook_limiter(&settings)?,
    )
    .context("configuring webhook delivery")?;
    duties.spawn(webhooks.run(shutdown.clone()));
    let billing = Billing::new(pool.clone(), &settings.billing).context("configuring billing")?;
    duties.spawn(billing.run(shutdown.clone()));
    let mailer = Mailer::new(pool.clone(), &settings.mail).context("configuring mail")?;
    duties.spawn(mailer.run(shutdown.clone()));
    let autoscaler = crate::autoscale::Autoscaler {
        pool: pool.clone(),
        broker: broker.clone(),
        topology: topology.clone(),
        policy: crate::autoscale::desired::Policy {
            target_per_worker: settings.autoscale.target_per_worker,
            min_workers: settings.autoscale.min_workers,
            max_workers: settings.autoscale.max_workers,
            scale_down_window: Duration::from_secs(
                settings.autoscale.scale_down_stabilization_secs,
            ),
        },
        interval: Duration::from_millis(settings.autoscale.interval_ms),
        stabiliser: Default::default(),
    };
    duties.spawn(autoscaler.run(shutdown.clone()));
    tracing::info!("scheduler running: relay, lease reaper, dead letters, retention");
    // A duty that panicked is gone: everything stops and the process exits
    // non-zero so the supervisor restarts a whole scheduler. Once stopping,
    // each duty and each close gets a bounded time.
    let joined = shutdown::join_within(&mut duties, &shutdown, SHUTDOWN_GRACE).await;
    shutdown::close_within("broker", CLOSE_LIMIT, broker.close()).await;
    shutdown::close_within("database pool", CLOSE_LIMIT, pool.close()).await;
    let _ = probes.await;
    tracing::info!(aborted = joined.aborted, "scheduler stopped");
    if joined.panicked {
        anyhow::bail!("a scheduler duty panicked");
    }
    Ok(())
}
