//! Consumes the class queues with manual acks and bounded prefetch,
//! hands each delivery to the executor (at most `concurrency + prefetch`
//! taken ahead of their computes: see `consume`), and settles it only after
//! the executor returns. The prefetch follows the jobs' compute time
//! (`prefetch.rs`): when it should change, the class consumers are cancelled,
//! what the broker had already sent them is handled as usual, and they
//! consume again under the new `basic.qos` (RabbitMQ applies a prefetch to
//! the consumers started after it). When the broker connection
//! drops it reconnects and consumes again; unacked deliveries of the old
//! channel are redelivered by the broker, and the executor's guarded claim
//! makes any of them that already took effect a no-op.
//!
//! The GPU class queue is consumed by every worker, at a consumer priority
//! (`x-priority`) that is higher on GPU workers: RabbitMQ hands its messages
//! to a GPU worker while one has room in its prefetch, and to CPU workers
//! only when none has (none registered, or all busy). No registry polling,
//! no consumer churn, and nothing strands in the queue if the GPU workers go.

use crate::executor::Executor;
use crate::prefetch::{ComputeTimes, PrefetchPolicy};
use crate::settle::Settler;
use crate::weighted::Weighted;
use catalytic_shared::metrics as m;
use catalytic_shared::queue::{Broker, QueueError, Topology, trace_headers};
use catalytic_shared::tenant::QueueClass;
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How often the consumer compares its prefetch with the target: at most
/// one re-consume per period, whatever the jobs do.
const RETUNE_EVERY: Duration = Duration::from_secs(1);

pub struct Consumer {
    pub broker: Arc<Broker>,
    pub topology: Topology,
    /// The prefetch's bounds and budget (`prefetch.rs`).
    pub prefetch: PrefetchPolicy,
    /// The jobs' compute time, recorded by the executor.
    pub compute_times: Arc<ComputeTimes>,
    pub grace: Duration,
    pub executor: Arc<Executor>,
    /// Whether this worker computes on a GPU (its priority on the GPU queue).
    pub gpu: bool,
}

/// Consumer priority on the GPU class queue: GPU workers first.
const GPU_QUEUE_PRIORITY_GPU_WORKER: i32 = 10;
const GPU_QUEUE_PRIORITY_CPU_WORKER: i32 = 0;

/// The `basic.consume` arguments for `class` on a worker with or without a GPU.
pub fn consume_arguments(class: QueueClass, gpu: bool) -> FieldTable {
    let mut arguments = FieldTable::default();
    if class == QueueClass::Gpu {
        let priority = match gpu {
            true => GPU_QUEUE_PRIORITY_GPU_WORKER,
            false => GPU_QUEUE_PRIORITY_CPU_WORKER,
        };
        arguments.insert("x-priority".into(), AMQPValue::LongInt(priority));
    }
    arguments
}

impl Consumer {
    /// Runs until `shutdown`, then drains (see `drain`).
    pub async fn run(self, shutdown: CancellationToken) {
        let mut in_flight = JoinSet::new();
        // Deliveries taken and not yet computed: the compute slots, plus a
        // prefetch's worth claimed ahead of them so that their claims share
        // a statement (the executor's group commit). The broker has handed
        // this worker those deliveries already; taking them early claims
        // them sooner but moves no work away from other workers.
        let mut slots = Slots::new(self.executor.compute.size(), self.prefetch.floor);
        while !shutdown.is_cancelled() {
            let Some(channel) = self.broker.channel_with_retry(&shutdown).await else {
                break;
            };
            match self
                .consume(&channel, &mut slots, &mut in_flight, &shutdown)
                .await
            {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "consuming stopped; reconnecting");
                    tokio::select! {
                        () = shutdown.cancelled() => {}
                        () = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
            }
        }
        self.drain(in_flight).await;
    }

    async fn consume(
        &self,
        channel: &lapin::Channel,
        slots: &mut Slots,
        in_flight: &mut JoinSet<()>,
        shutdown: &CancellationToken,
    ) -> Result<(), QueueError> {
        self.topology.declare(channel).await?;
        // Delivery tags are per channel, and so is what a multiple ack covers.
        let settler = Arc::new(Settler::default());
        let mut retune = tokio::time::interval(RETUNE_EVERY);
        retune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // The prefetch follows the compute pool's size (pool.rs) and the
            // jobs' compute time (prefetch.rs); both are looked at again
            // every `RETUNE_EVERY`.
            let concurrency = self.executor.compute.size();
            let prefetch = self.prefetch_for(concurrency);
            slots.resize(concurrency, prefetch);
            let (mut deliveries, tags) = self.subscribe(channel, prefetch, concurrency).await?;
            loop {
                // Take a permit before taking a delivery, so the class weighting
                // (`Weighted`) picks among the deliveries waiting while permits
                // are short.
                let Some(permit) = slots.take(shutdown).await else {
                    return Ok(());
                };
                let delivery = tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    _ = retune.tick() => {
                        let size = self.executor.compute.size();
                        let target = self.prefetch_for(size);
                        if target == prefetch && size == concurrency {
                            continue;
                        }
                        tracing::info!(from = prefetch, to = target, slots = size, "prefetch changes");
                        break;
                    }
                    next = deliveries.next() => match next {
                        Some((_, Ok(delivery))) => delivery,
                        Some((_, Err(e))) => return Err(e.into()),
                        None => return Err(QueueError::Closed("consumer")),
                    },
                };
                self.dispatch(delivery, permit, &settler, in_flight, shutdown);
            }
            // Re-consume under the new prefetch. What the broker already
            // sent the old consumers is theirs until acked: handled like
            // any delivery, until each stream ends at its cancel-ok.
            for tag in tags {
                channel
                    .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
                    .await?;
            }
            let mut rest = futures::stream::select_all(deliveries.into_streams());
            while let Some(next) = rest.next().await {
                let delivery = next?;
                let Some(permit) = slots.take(shutdown).await else {
                    return Ok(());
                };
                self.dispatch(delivery, permit, &settler, in_flight, shutdown);
            }
        }
    }

    /// `basic.qos` of `prefetch`, then a consumer on every class queue;
    /// returns them weighted, with their consumer tags.
    /// The prefetch for `concurrency` slots at the jobs' compute time now.
    fn prefetch_for(&self, concurrency: usize) -> u16 {
        PrefetchPolicy {
            concurrency,
            ..self.prefetch
        }
        .target(self.compute_times.estimate())
    }

    async fn subscribe(
        &self,
        channel: &lapin::Channel,
        prefetch: u16,
        concurrency: usize,
    ) -> Result<(Weighted<lapin::Consumer>, Vec<String>), QueueError> {
        channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await?;
        let mut consumers = Vec::new();
        let mut tags = Vec::new();
        for class in QueueClass::ALL {
            let consumer = channel
                .basic_consume(
                    self.topology.job_queue(class).into(),
                    "".into(),
                    BasicConsumeOptions::default(),
                    consume_arguments(class, self.gpu),
                )
                .await?;
            tags.push(consumer.tag().to_string());
            consumers.push((class, consumer));
        }
        metrics::gauge!(m::WORKER_PREFETCH).set(f64::from(prefetch));
        tracing::info!(prefetch, concurrency, "consuming");
        Ok((Weighted::new(consumers), tags))
    }

    /// Hands a taken delivery to the executor and settles it after.
    fn dispatch(
        &self,
        delivery: Delivery,
        permit: OwnedSemaphorePermit,
        settler: &Arc<Settler>,
        in_flight: &mut JoinSet<()>,
        shutdown: &CancellationToken,
    ) {
        let executor = self.executor.clone();
        let shutdown = shutdown.clone();
        let settler = settler.clone();
        // The executor gives the permit back as soon as the compute is
        // done: recording the outcome and acking are database and broker
        // round trips, not CPU, and holding a slot through them capped
        // a worker at ~300 trivial jobs/s (issue 8). Deliveries in that
        // phase stay bounded by the prefetch (they are unacked).
        in_flight.spawn(async move {
            let trace = trace_headers::decode(delivery.properties.headers().as_ref());
            let settle = executor
                .handle(&delivery.data, trace, permit, &shutdown)
                .await;
            settler.settle(&delivery, settle).await;
        });
        // Reap finished tasks so the set does not grow without bound.
        while in_flight.try_join_next().is_some() {}
    }

    /// Shutdown: consuming has stopped; in-flight jobs get the grace period
    /// (their lease heartbeats keep running), then whatever is left is
    /// abandoned unacked, so the broker redelivers it.
    async fn drain(&self, mut in_flight: JoinSet<()>) {
        while in_flight.try_join_next().is_some() {}
        let pending = in_flight.len();
        if pending > 0 {
            tracing::info!(
                pending,
                grace_secs = self.grace.as_secs(),
                "draining in-flight jobs"
            );
        }
        let drained = tokio::time::timeout(self.grace, async {
            while in_flight.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                left = in_flight.len(),
                "grace period over; abandoning the rest to redelivery"
            );
            in_flight.abort_all();
        }
    }
}

/// The permits to take a delivery: compute slots plus the prefetch, resized
/// with the prefetch.
struct Slots {
    permits: Arc<Semaphore>,
    size: usize,
}

impl Slots {
    fn new(concurrency: usize, prefetch: u16) -> Self {
        let size = concurrency + usize::from(prefetch);
        Self {
            permits: Arc::new(Semaphore::new(size)),
            size,
        }
    }

    /// A permit to take one delivery; None once shutting down.
    async fn take(&self, shutdown: &CancellationToken) -> Option<OwnedSemaphorePermit> {
        tokio::select! {
            () = shutdown.cancelled() => None,
            permit = self.permits.clone().acquire_owned() => permit.ok(),
        }
    }

    /// Grows at once; shrinks as permits come back (a task waits for them
    /// and forgets them), so deliveries already taken are not disturbed.
    fn resize(&mut self, concurrency: usize, prefetch: u16) {
        let size = concurrency + usize::from(prefetch);
        if size > self.size {
            self.permits.add_permits(size - self.size);
        } else if size < self.size {
            let permits = self.permits.clone();
            let surplus = u32::try_from(self.size - size).unwrap_or(u32::MAX);
            tokio::spawn(async move {
                if let Ok(taken) = permits.acquire_many_owned(surplus).await {
                    taken.forget();
                }
            });
        }
        self.size = size;
    }
}
