//! How a duty that works off a table waits between rounds: a PostgreSQL
//! notification from the table's insert trigger wakes it at once, and a poll
//! interval bounds the wait when the notification is lost or the LISTEN
//! connection is down (it is made again before the next round). Used by the
//! outbox relay (`job_outbox`) and the mail sender (`catalytic_mail`).

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct Wakeup {
    pool: PgPool,
    channel: &'static str,
    poll: Duration,
    listener: Option<PgListener>,
}

impl Wakeup {
    pub fn new(pool: PgPool, channel: &'static str, poll: Duration) -> Self {
        Self {
            pool,
            channel,
            poll,
            listener: None,
        }
    }

    /// Call before each round. LISTENs if it does not already (so a row
    /// committed during the round is not missed; on failure the duty
    /// polls), and takes the notifications that already arrived: this
    /// round serves them (`take_arrived`).
    pub async fn listen(&mut self) {
        if self.listener.is_some() {
            self.take_arrived().await;
            return;
        }
        let result = async {
            let mut listener = PgListener::connect_with(&self.pool).await?;
            listener.listen(self.channel).await?;
            Ok::<_, sqlx::Error>(listener)
        }
        .await;
        self.listener = result
            .map_err(|e| tracing::warn!(error = %e, channel = self.channel, "LISTEN failed; polling only"))
            .ok();
    }

    /// Takes, without waiting, every notification that has already arrived.
    /// `listen` calls it before each round: a notification is sent only after its
    /// transaction committed, so the round's statements (a snapshot taken
    /// after this) see every row these announced. Left in the buffer, they
    /// would wake the next round for rows this one already took: under a
    /// closed-loop load, most relay claims came back empty that way
    /// (docs/benchmarks.md, "The outbox keeps only what is to publish").
    pub async fn take_arrived(&mut self) -> usize {
        let Some(listener) = self.listener.as_mut() else {
            return 0;
        };
        let mut taken = 0;
        // A zero timeout polls the receive once: a notification already in
        // the socket is read, an empty socket ends the loop. A lost
        // connection ends it too: `wait` reconnects.
        while let Ok(Ok(Some(_))) = tokio::time::timeout(Duration::ZERO, listener.try_recv()).await
        {
            taken += 1;
        }
        taken
    }

    /// Sleeps until a notification (taking every one already buffered: one
    /// round serves them all), the poll interval, or shutdown.
    pub async fn wait(&mut self, shutdown: &CancellationToken) {
        let listener = &mut self.listener;
        let notified = async {
            let Some(l) = listener.as_mut() else {
                return std::future::pending::<bool>().await;
            };
            match l.recv().await {
                Ok(_) => {
                    while l.next_buffered().is_some() {}
                    false
                }
                Err(_) => true,
            }
        };
        let lost = tokio::select! {
            () = shutdown.cancelled() => false,
            () = tokio::time::sleep(self.poll) => false,
            lost = notified => lost,
        };
        if lost {
            // Reconnect before the next round.
            *listener = None;
        }
    }
}
