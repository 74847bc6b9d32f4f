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

    /// LISTENs if it does not already (before a round, so a row committed
    /// during the round is not missed); on failure the duty polls.
    pub async fn listen(&mut self) {
        if self.listener.is_some() {
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
