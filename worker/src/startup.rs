//! Worker start-up and shutdown, in the order of docs/adr/0001-processes.md: connect and
//! check the schema, register in the fleet, serve probes, consume; on
//! shutdown stop consuming, drain within the grace period, mark the fleet
//! row stopped, close connections.

use crate::admission::Admission;
use crate::consumer::Consumer;
use crate::executor::{Batching, Executor, Writes};
use crate::heartbeat;
use anyhow::Context;
use catalytic_shared::ids::WorkerId;
use catalytic_shared::queue::{Broker, Topology};
use catalytic_shared::{Settings, db, probe, shutdown};
use std::sync::Arc;
use std::sync::atomic::AtomicI32;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long each close gets once the worker stops (its connections' peers
/// may be gone).
const CLOSE_LIMIT: Duration = Duration::from_secs(5);

pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let metrics = catalytic_shared::metrics::install(catalytic_shared::metrics::Process::Worker)
        .context("installing the metrics recorder")?;
    // Every statement of the worker is a batch by id or a row by key: one
    // generic plan serves them all (db::Planning::Once).
    let pool = db::pool_with(&settings.database, db::Planning::Once)
        .context("configuring the database pool")?;
    db::wait_for_schema(&pool, Duration::from_secs(30))
        .await
        .context("checking the database schema")?;

    let device = crate::device::Device::open(
        settings.worker.device,
        settings.worker.gpu_min_vertices,
        catalytic_gpu::Tuning {
            thin_max_tiles: settings.worker.gpu_thin_max_tiles,
            ..Default::default()
        },
    )?;
    let worker = WorkerId::new();
    let (pool_min, concurrency) = settings.worker_pool_bounds();
    let compute = Arc::new(crate::pool::Pool::new(pool_min, concurrency));
    let host = hostname();
    let broker = Arc::new(
        Broker::from_settings(&settings.amqp, &format!("catalytic-worker {worker}"))
            .context("reading amqp.tls_ca_file")?,
    );
    let probes = probe::spawn_for(
        settings.worker.probe_listen,
        "CATALYTIC_WORKER__PROBE_LISTEN",
        &pool,
        &broker,
        metrics,
        &shutdown,
    )
    .await?;

    db::workers::register(
        &pool,
        worker,
        &host,
        &device.record(),
        i32::try_from(concurrency).unwrap_or(i32::MAX),
    )
    .await
    .context("registering the worker")?;
    tracing::info!(worker_id = %worker, host, concurrency, pool_min, device = device.record().kind, "worker registered");

    // Cancels: LISTEN on a pool of its own (the listener keeps its connection).
    let cancels = crate::cancel::Registry::default();
    let listen_pool = db::pool(&catalytic_shared::config::DatabaseSettings {
        max_connections: 1,
        ..settings.database.clone()
    })
    .context("configuring the cancel listener's pool")?;
    let cancel_listener = tokio::spawn(crate::cancel::listen(
        listen_pool.clone(),
        cancels.clone(),
        shutdown.clone(),
    ));

    let in_flight = Arc::new(AtomicI32::new(0));
    let heartbeat_every = Duration::from_secs(settings.worker.heartbeat_secs);
    let fleet = tokio::spawn(heartbeat::fleet(
        pool.clone(),
        worker,
        in_flight.clone(),
        heartbeat_every,
        shutdown.clone(),
    ));
    let admission = Admission::new(match settings.worker.memory_budget_mb {
        0 => crate::admission::default_budget_bytes(),
        mb => mb.saturating_mul(1024 * 1024),
    });
    tracing::info!(
        memory_budget_mib = admission.budget_mib(),
        "memory admission"
    );
    let compute_times = Arc::new(crate::prefetch::ComputeTimes::default());
    let consumer = Consumer {
        broker: broker.clone(),
        topology: Topology::new(&settings.amqp.prefix, settings.amqp.delivery_limit),
        prefetch: crate::prefetch::PrefetchPolicy {
            floor: settings.amqp.prefetch,
            max: settings.worker.prefetch_max,
            wait: Duration::from_millis(settings.worker.prefetch_wait_ms),
            concurrency,
        },
        compute_times: compute_times.clone(),
        grace: Duration::from_secs(settings.worker.shutdown_grace_secs),
        executor: Arc::new(Executor {
            pool: pool.clone(),
            worker,
            lease: settings.lease(),
            heartbeat_every,
            progress_every: Duration::from_millis(settings.worker.progress_every_ms),
            in_flight,
            cancels,
            admission: Arc::new(admission),
            device: device.clone(),
            compute: compute.clone(),
            compute_times,
            run_through_max: Duration::from_millis(settings.worker.run_through_max_ms),
            writes: Writes::spawn(
                pool.clone(),
                worker,
                settings.lease(),
                Batching {
                    claim_flushers: settings.worker.claim_flushers,
                    outcome_flushers: settings.worker.outcome_flushers,
                    batch_max: settings.worker.batch_max,
                },
            ),
        }),
        gpu: device.is_gpu(),
    };
    let pool_adjuster = tokio::spawn(crate::pool::adjust(
        compute,
        crate::pool::Tuning {
            every: Duration::from_millis(settings.worker.pool_adjust_ms),
            idle_for: Duration::from_secs(settings.worker.pool_idle_secs),
            min_idle_cores: settings.worker.pool_min_idle_cores,
        },
        shutdown.clone(),
    ));
    consumer.run(shutdown.clone()).await;

    let _ = pool_adjuster.await;
    let _ = fleet.await;
    let _ = cancel_listener.await;
    // Each close is bounded: one waiting on a peer that will never answer
    // must not keep a stopping worker up (catalytic_shared::shutdown).
    shutdown::close_within("listen pool", CLOSE_LIMIT, listen_pool.close()).await;
    if let Err(e) = db::workers::stopped(&pool, worker).await {
        tracing::warn!(error = %e, "could not mark the worker stopped");
    }
    shutdown::close_within("broker", CLOSE_LIMIT, broker.close()).await;
    shutdown::close_within("database pool", CLOSE_LIMIT, pool.close()).await;
    let _ = probes.await;
    tracing::info!("worker stopped");
    Ok(())
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}
