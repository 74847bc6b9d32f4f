//! A broker handle shared by a process's tasks. It keeps one AMQP connection
//! and replaces it when it drops; tasks ask it for channels and, on error,
//! back off and ask again (the supervised reconnect of docs/adr/0001-processes.md).

use super::QueueError;
use crate::config::AmqpSettings;
use crate::reconnect::Backoff;
use crate::secret::Secret;
use lapin::tcp::OwnedTLSConfig;
use lapin::{Channel, Connection, ConnectionProperties};
use std::time::Duration;
use tokio::sync::Mutex;

/// How long the version probe waits for the broker's first frame.
const VERSION_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Broker {
    url: Secret<String>,
    /// For `amqps://`: a private CA to trust besides the compiled-in roots.
    tls: OwnedTLSConfig,
    /// The live connection, or None before the first connect and after a drop.
    connection: Mutex<Option<Connection>>,
    /// Shown in the connection list of the broker (`rabbitmqctl list_connections`).
    name: String,
    /// Why the last connect failed (cleared by a success), for `/readyz`.
    last_error: std::sync::Mutex<Option<String>>,
    /// The broker's version was read and is supported (checked once, at the
    /// first connection that works).
    version_ok: std::sync::atomic::AtomicBool,
}

impl Broker {
    /// A broker trusting only the compiled-in roots for `amqps://` (tests);
    /// the processes use [`Broker::from_settings`], which honours
    /// `amqp.tls_ca_file`.
    pub fn new(url: Secret<String>, name: &str) -> Self {
        Self {
            url,
            tls: OwnedTLSConfig::default(),
            connection: Mutex::new(None),
            name: name.to_owned(),
            last_error: std::sync::Mutex::new(None),
            version_ok: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The broker of `settings`, trusting `amqp.tls_ca_file` too when set.
    pub fn from_settings(settings: &AmqpSettings, name: &str) -> std::io::Result<Self> {
        let mut broker = Self::new(settings.url.clone(), name);
        if let Some(path) = &settings.tls_ca_file {
            let pem = crate::tls::read_ca_file(path)?;
            broker.tls.cert_chain = Some(String::from_utf8_lossy(&pem).into_owned());
        }
        Ok(broker)
    }

    /// `host:port` of the broker, for messages (never the credentials).
    pub fn server(&self) -> String {
        match self.url.expose().parse::<lapin::uri::AMQPUri>() {
            Ok(uri) => format!("{}:{}", uri.authority.host, uri.authority.port),
            Err(_) => "the broker in amqp.url".to_owned(),
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
        let conn = match self.connect().await {
            Ok(conn) => {
                self.remember(None);
                conn
            }
            Err(e) => {
                self.remember(Some(match &e {
                    QueueError::Untrusted { .. } => e.to_string(),
                    other => format!("RabbitMQ at {}: {other}", self.server()),
                }));
                return Err(e);
            }
        };
        let channel = conn.create_channel().await?;
        *guard = Some(conn);
        Ok(channel)
    }

    async fn connect(&self) -> Result<Connection, QueueError> {
        let properties =
            ConnectionProperties::default().with_connection_name(self.name.clone().into());
        let runtime = lapin::runtime::default_runtime()?;
        self.ensure_supported().await?;
        Connection::connect_with_config(self.url.expose(), properties, self.tls.clone(), runtime)
            .await
            .map_err(|e| match crate::tls::trust_failure(&e) {
                Some(reason) => QueueError::Untrusted {
                    server: self.server(),
                    reason,
                },
                None => e.into(),
            })
    }

    /// Refuses a broker older than `server_version::MIN_RABBITMQ` before
    /// connecting to it: the process then never serves (every connect fails
    /// with that message, in the log and `/readyz`) instead of failing on
    /// some declaration later. Checked until it succeeds once; a probe that
    /// fails otherwise (the broker is down, its certificate is not trusted)
    /// leaves the connect that follows to say why.
    async fn ensure_supported(&self) -> Result<(), QueueError> {
        use std::sync::atomic::Ordering;
        if self.version_ok.load(Ordering::Relaxed) {
            return Ok(());
        }
        // Bounded: a broker that accepts the socket and says nothing must
        // not hold up the connect that follows (it will say why itself).
        let probe = tokio::time::timeout(
            VERSION_PROBE_TIMEOUT,
            super::server_version::announced(self.url.expose(), &self.tls),
        )
        .await
        .unwrap_or_else(|_| {
            Err(QueueError::Protocol(
                "no connection.start in time".to_owned(),
            ))
        });
        match probe {
            Ok(version) => {
                super::server_version::check(&version)?;
                tracing::info!(version, server = %self.server(), "RabbitMQ supported");
                self.version_ok.store(true, Ordering::Relaxed);
            }
            Err(e) => tracing::debug!(error = %e, "could not read RabbitMQ's version"),
        }
        Ok(())
    }

    fn remember(&self, error: Option<String>) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = error;
        }
    }

    /// Why the last connect failed, while the broker is not connected.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|last| last.clone())
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
