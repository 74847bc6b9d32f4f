//! The attempt log's writer: senders hand each attempt's record here and go
//! on to their next delivery; one task writes whatever has gathered in one
//! transaction (`db::webhook_deliveries::record_attempts`). So a send costs
//! no commit of its own, and an endpoint is free for its next event as soon
//! as its receiver has answered.
//!
//! Until its record is written a delivery stays claimed (its lease), so no
//! replica sends it again meanwhile. A record that cannot be written (three
//! tries) is logged and dropped: the delivery comes due after its lease and
//! is sent again, the documented at-least-once case.

use crate::db::webhook_deliveries::{self as store, AttemptRecord};
use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Records written per transaction at most.
const MAX_BATCH: usize = 500;
const TRIES: u32 = 3;

#[derive(Clone)]
pub struct Outcomes {
    queue: mpsc::UnboundedSender<(AttemptRecord, oneshot::Sender<()>)>,
}

impl Outcomes {
    /// Starts the writer; it ends when the last `Outcomes` is dropped, after
    /// writing what was queued.
    pub fn spawn(pool: PgPool) -> Self {
        let (queue, records) = mpsc::unbounded_channel();
        tokio::spawn(write(pool, records));
        Self { queue }
    }

    /// Queues a record; the receiver completes once it is written (or given up).
    pub fn record(&self, record: AttemptRecord) -> oneshot::Receiver<()> {
        let (done, written) = oneshot::channel();
        if self.queue.send((record, done)).is_err() {
            tracing::error!("the webhook attempt writer is gone; the delivery will be re-sent");
        }
        written
    }
}

async fn write(
    pool: PgPool,
    mut queue: mpsc::UnboundedReceiver<(AttemptRecord, oneshot::Sender<()>)>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (records, done): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        for tried in 1..=TRIES {
            match store::record_attempts(&pool, &records).await {
                Ok(()) => break,
                Err(e) if tried < TRIES => {
                    tracing::warn!(error = %e, records = records.len(), "writing webhook attempts failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(tried))).await;
                }
                Err(e) => tracing::error!(
                    error = %e,
                    records = records.len(),
                    "webhook attempts not written; their deliveries will be re-sent after the lease"
                ),
            }
        }
        for d in done {
            let _ = d.send(());
        }
    }
}
