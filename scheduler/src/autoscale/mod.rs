//! The autoscaling signal (docs/adr/0005-scheduler.md): backlog per class = ready messages
//! (an AMQP passive declare: no management plugin needed) + running jobs
//! (PostgreSQL; unacked counts would need the plugin); the oldest queued
//! job's age; desired workers from the backlog, scale-down stabilised.
//! Exported as gauges (KEDA's Prometheus trigger or an HPA on external
//! metrics) and stored for `GET /v1/admin/scaling`.

pub mod desired;

use anyhow::Context;
use catalytic_shared::db::{self, scaling::SignalRow};
use catalytic_shared::metrics as m;
use catalytic_shared::queue::{Broker, Topology};
use catalytic_shared::tenant::QueueClass;
use desired::{Policy, Stabiliser, desired};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

pub struct Autoscaler {
    pub pool: PgPool,
    pub broker: Arc<Broker>,
    pub topology: Topology,
    pub policy: Policy,
    pub interval: Duration,
    /// Recent recommendations for the scale-down window.
    pub stabiliser: Mutex<Stabiliser>,
}

/// What one round computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub backlog: u64,
    pub raw_desired: u32,
    pub desired: u32,
    pub classes: Vec<SignalRow>,
}

impl Autoscaler {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(self.interval);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            if let Err(e) = self.run_once().await {
                tracing::warn!(error = format!("{e:#}"), "autoscaling signal round failed");
            }
        }
        tracing::info!("autoscaler stopped");
    }

    pub async fn run_once(&self) -> anyhow::Result<Signal> {
        let channel = self.broker.channel().await.context("broker channel")?;
        // Declared here too (idempotent, a few round trips per interval):
        // the passive reads below fail on a queue nobody declared yet, and
        // at start the autoscaler's first round can come before the relay's
        // or a worker's declaration, leaving the scaling gauges unset until
        // the next interval.
        self.topology
            .declare(&channel)
            .await
            .context("declaring the topology")?;
        let loads = db::scaling::running_and_oldest(&self.pool).await?;
        let mut classes = Vec::new();
        let mut backlog = 0u64;
        for class in QueueClass::ALL {
            let ready = self
                .topology
                .ready_messages(&channel, &self.topology.job_queue(class))
                .await?;
            let load = loads.iter().find(|l| l.class == class.as_str());
            let running_jobs = load.map_or(0, |l| l.running);
            // Each class its own: a backlog of low jobs says nothing about
            // how long high ones wait (issue 18).
            let oldest = load.map_or(0.0, |l| l.oldest_queued_secs.max(0.0));
            let class_backlog = u64::from(ready) + u64::try_from(running_jobs).unwrap_or(0);
            backlog += class_backlog;
            metrics::gauge!(m::QUEUE_READY, "class" => class.as_str()).set(f64::from(ready));
            metrics::gauge!(m::JOBS_RUNNING, "class" => class.as_str()).set(running_jobs as f64);
            let class_desired = desired(class_backlog, &self.policy);
            metrics::gauge!(m::CLASS_DESIRED_WORKERS, "class" => class.as_str())
                .set(f64::from(class_desired));
            classes.push(SignalRow {
                class: class.as_str().to_owned(),
                ready_messages: i64::from(ready),
                running_jobs,
                oldest_queued_secs: oldest,
                desired_workers: i32::try_from(class_desired).unwrap_or(i32::MAX),
                computed_at: chrono::Utc::now(),
            });
        }
        // Not scaling input, but read on the same channel: what waits in the DLQ.
        let dead = self
            .topology
            .ready_messages(&channel, &self.topology.dead_letter_queue())
            .await?;
        metrics::gauge!(m::DLQ_DEPTH).set(f64::from(dead));
        let _ = channel.close(200, "signal read".into()).await;
        let raw_desired = desired(backlog, &self.policy);
        let stabilised = self.stabiliser.lock().await.recommend(
            Instant::now(),
            raw_desired,
            self.policy.scale_down_window,
        );
        let oldest = classes
            .iter()
            .map(|c| c.oldest_queued_secs)
            .fold(0.0, f64::max);
        metrics::gauge!(m::OLDEST_QUEUED).set(oldest);
        metrics::gauge!(m::DESIRED_WORKERS).set(f64::from(stabilised));
        let all = SignalRow {
            class: "all".to_owned(),
            ready_messages: classes.iter().map(|c| c.ready_messages).sum(),
            running_jobs: classes.iter().map(|c| c.running_jobs).sum(),
            oldest_queued_secs: oldest,
            desired_workers: i32::try_from(stabilised).unwrap_or(i32::MAX),
            computed_at: chrono::Utc::now(),
        };
        for row in classes.iter().chain(std::iter::once(&all)) {
            db::scaling::store(&self.pool, row).await?;
        }
        Ok(Signal {
            backlog,
            raw_desired,
            desired: stabilised,
            classes,
        })
    }
}
