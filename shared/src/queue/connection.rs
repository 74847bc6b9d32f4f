//! A broker handle shared by a process's tasks. It keeps one AMQP connection
//! and replaces it when it drops; tasks ask it for channels and, on error,
//! back off and ask again (the supervised reconnect of docs/adr/0001-processes.md).

use super::QueueError;
use crate::reconnect::Backoff;
use crate::secret::Secret;
use lapin::{Channel, Connection, ConnectionProperties};
use std::time::Duration;
use tokio::sync::Mutex;

pub struct Broker {
    url: Secret<String>,
    /// The live connection, or None before the first connect and after a drop.
    connection: Mutex<Option<Connection>>,
    /// Shown in the connection list of the broker (`rabbitmqctl list_connections`).
    name: String,
}

impl Broker {
    pub fn new(url: Secret<String>, name: &str) -> Self {
        Self {
            url,
            connection: Mutex::new(None),
            name: name.to_owned(),
        }
    }

    /// A new channel on the live connection, connecting first if needed.
    pub async fn channel(&self) -> Result<Channel, QueueError> {
        let mut guard = self.connection.lock().await;
        if let Some(conn) = guard.as_ref()
            && conn.status().connected()
        {
            match conn.create_channel().await {
                Ok(channel) => return Ok(channel),
                Err(e) => {
                    tracing::warn!(error = %e, "channel on existing connection failed; reconnecting")
                }
            }
        }
        let properties =
            ConnectionProperties::default().with_connection_name(self.name.clone().into());
        let conn = Connection::connect(self.url.expose(), properties).await?;
        let channel = conn.create_channel().await?;
        *guard = Some(conn);
        Ok(channel)
    }

    /// Retries `channel()` with capped exponential backoff until it works or
    /// `shutdown` fires (then None).
    pub async fn channel_with_retry(
        &self,
        shutdown: &tokio_util::sync::CancellationToken,
    ) -> Option<Channel> {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        loop {
            let delay = match self.channel().await {
                Ok(channel) => return Some(channel),
                Err(e) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "broker unavailable");
                    delay
                }
            };
            if !Backoff::sleep(delay, shutdown).await {
                return None;
            }
        }
    }

    pub async fn is_connected(&self) -> bool {
        self.connection
            .lock()
            .await
            .as_ref()
            .is_some_and(|c| c.status().connected())
    }

    pub async fn close(&self) {
        if let Some(conn) = self.connection.lock().await.take() {
            let _ = conn.close(200, "shutdown".into()).await;
        }
    }
}
