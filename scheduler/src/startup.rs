//! Scheduler start-up: check the schema, serve probes, run the duties until
//! shutdown. Every duty is safe with several scheduler replicas (row locks
//! with SKIP LOCKED, guarded transitions).

use crate::relay::Relay;
use anyhow::Context;
use catalytic_shared::health::Dependencies;
use catalytic_shared::queue::{Broker, Topology};
use catalytic_shared::{Settings, db, probe};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let metrics =
        catalytic_shared::metrics::install().context("installing the metrics recorder")?;
    let pool = db::pool(&settings.database).context("configuring the database pool")?;
    db::wait_for_schema(&pool, Duration::from_secs(30))
        .await
        .context("checking the database schema")?;
    let broker = Arc::new(Broker::new(
        settings.amqp.url.clone(),
        "catalytic-scheduler",
    ));
    let dependencies = Arc::new(Dependencies {
        postgres: Some(pool.clone()),
        broker: Some(broker.clone()),
        redis: None,
    });
    let listener = tokio::net::TcpListener::bind(settings.scheduler.probe_listen)
        .await
        .with_context(|| {
            format!(
                "binding {} (CATALYTIC_SCHEDULER__PROBE_LISTEN)",
                settings.scheduler.probe_listen
            )
        })?;
    let probes = tokio::spawn(probe::serve(
        listener,
        probe::router(dependencies, metrics),
        shutdown.clone(),
    ));

    let relay = Relay {
        pool: pool.clone(),
        broker: broker.clone(),
        topology: Topology::new(&settings.amqp.prefix, settings.amqp.delivery_limit),
        batch: settings.scheduler.relay_batch,
        poll: Duration::from_millis(settings.scheduler.relay_poll_ms),
        exit_after_publish: settings.faults.relay_exit_after_publish,
    };
    tracing::info!("scheduler running: outbox relay");
    relay.run(shutdown.clone()).await;

    broker.close().await;
    pool.close().await;
    let _ = probes.await;
    tracing::info!("scheduler stopped");
    Ok(())
}
