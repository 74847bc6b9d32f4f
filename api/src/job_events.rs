//! Terminal-state notifications for long-polls. Every terminal transition
//! runs `NOTIFY job_done, '<job id>'` in its transaction (delivered at
//! commit); one LISTEN connection per api process fans them out to the
//! waiting requests through a broadcast channel. A missed notification only
//! costs latency: waiters also re-read the row every `BACKSTOP`.

use catalytic_shared::ids::JobId;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// How often a waiter re-reads its job even without a notification.
pub const BACKSTOP: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct JobEvents {
    sender: broadcast::Sender<JobId>,
}

impl JobEvents {
    /// Starts the listener task; it reconnects until `shutdown`.
    pub fn spawn(pool: PgPool, shutdown: CancellationToken) -> Self {
        let (sender, _) = broadcast::channel(4096);
        let events = Self { sender };
        let forward = events.sender.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            while !shutdown.is_cancelled() {
                match listen(&pool, &forward, &shutdown).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN job_done failed; long-polls fall back to re-reading")
                    }
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        });
        events
    }

    pub fn subscribe(&self) -> broadcast::Receiver<JobId> {
        self.sender.subscribe()
    }
}

async fn listen(
    pool: &PgPool,
    forward: &broadcast::Sender<JobId>,
    shutdown: &CancellationToken,
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen("job_done").await?;
    loop {
        let notification = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            n = listener.recv() => n?,
        };
        if let Ok(id) = notification.payload().parse::<JobId>() {
            // No receivers is fine: nobody is waiting.
            let _ = forward.send(id);
        }
    }
}
