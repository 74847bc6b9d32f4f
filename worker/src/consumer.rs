//! Consumes the class queues with manual acks and bounded prefetch,
//! hands each delivery to the executor (at most `concurrency + prefetch`
//! taken ahead of their computes: see `consume`), and settles it only after
//! the executor returns. When the broker connection
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
use crate::settle::Settler;
use crate::weighted::Weighted;
use catalytic_shared::queue::{Broker, QueueError, Topology};
use catalytic_shared::tenant::QueueClass;
use lapin::options::{BasicConsumeOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub struct Consumer {
    pub broker: Arc<Broker>,
    pub topology: Topology,
    pub prefetch: u16,
    pub concurrency: usize,
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
        let slots = Arc::new(Semaphore::new(
            self.concurrency + usize::from(self.prefetch),
        ));
        while !shutdown.is_cancelled() {
            let Some(channel) = self.broker.channel_with_retry(&shutdown).await else {
                break;
            };
            match self
                .consume(&channel, &slots, &mut in_flight, &shutdown)
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
        slots: &Arc<Semaphore>,
        in_flight: &mut JoinSet<()>,
        shutdown: &CancellationToken,
    ) -> Result<(), QueueError> {
        self.topology.declare(channel).await?;
        channel
            .basic_qos(self.prefetch, BasicQosOptions::default())
            .await?;
        let mut consumers = Vec::new();
        for class in QueueClass::ALL {
            let consumer = channel
                .basic_consume(
                    self.topology.job_queue(class).into(),
                    "".into(),
                    BasicConsumeOptions::default(),
                    consume_arguments(class, self.gpu),
                )
                .await?;
            consumers.push((class, consumer));
        }
        tracing::info!(
            prefetch = self.prefetch,
            concurrency = self.concurrency,
            "consuming"
        );
        let mut deliveries = Weighted::new(consumers);
        // Delivery tags are per channel, and so is what a multiple ack covers.
        let settler = Arc::new(Settler::default());
        loop {
            // Take a permit before taking a delivery, so the class weighting
            // (`Weighted`) picks among the deliveries waiting while permits
            // are short.
            let permit = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                permit = slots.clone().acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => return Ok(()),
                },
            };
            let delivery = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                next = deliveries.next() => match next {
                    Some((_, Ok(delivery))) => delivery,
                    Some((_, Err(e))) => return Err(e.into()),
                    None => return Err(QueueError::Closed("consumer")),
                },
            };
            let executor = self.executor.clone();
            let shutdown = shutdown.clone();
            let settler = settler.clone();
            // The executor gives the permit back as soon as the compute is
            // done: recording the outcome and acking are database and broker
            // round trips, not CPU, and holding a slot through them capped
            // a worker at ~300 trivial jobs/s (issue 8). Deliveries in that
            // phase stay bounded by the prefetch (they are unacked).
            in_flight.spawn(async move {
                let settle = executor.handle(&delivery.data, permit, &shutdown).await;
                settler.settle(&delivery, settle).await;
            });
            // Reap finished tasks so the set does not grow without bound.
            while in_flight.try_join_next().is_some() {}
        }
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
