//! Readiness: can this process reach the servers it depends on? Used by
//! `/readyz` on every process. Liveness (`/healthz`) needs no checks.

#[cfg(feature = "queue")]
use crate::queue::Broker;
use serde::Serialize;
use sqlx::PgPool;
#[cfg(feature = "queue")]
use std::sync::Arc;
use std::time::Duration;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The dependencies of one process; `None` = not used by it. The broker
/// exists only with the `queue` feature (the api has none): build one with
/// `Dependencies::default()` and the `with_*` methods.
#[derive(Clone, Default)]
pub struct Dependencies {
    pub postgres: Option<PgPool>,
    #[cfg(feature = "queue")]
    pub broker: Option<Arc<Broker>>,
    pub redis: Option<redis::Client>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub checks: Vec<Check>,
}

impl Dependencies {
    pub fn with_postgres(mut self, pool: PgPool) -> Self {
        self.postgres = Some(pool);
        self
    }

    #[cfg(feature = "queue")]
    pub fn with_broker(mut self, broker: Arc<Broker>) -> Self {
        self.broker = Some(broker);
        self
    }

    pub fn with_redis(mut self, client: redis::Client) -> Self {
        self.redis = Some(client);
        self
    }

    pub async fn check(&self) -> Readiness {
        let mut checks = Vec::new();
        if let Some(pool) = &self.postgres {
            let r = timed(async {
                sqlx::query("SELECT 1")
                    .execute(pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
            .await;
            checks.push(check("postgres", r));
        }
        #[cfg(feature = "queue")]
        if let Some(broker) = &self.broker {
            // A process that lost the broker reconnects on its own; readiness
            // reports the gap meanwhile.
            let r = match broker.is_connected().await {
                true => Ok(()),
                false => Err("not connected".to_owned()),
            };
            checks.push(check("rabbitmq", r));
        }
        if let Some(client) = &self.redis {
            let r = timed(async {
                let mut conn = client
                    .get_multiplexed_async_connection()
                    .await
                    .map_err(|e| e.to_string())?;
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
            .await;
            checks.push(check("redis", r));
        }
        Readiness {
            ready: checks.iter().all(|c| c.ok),
            checks,
        }
    }
}

async fn timed(f: impl std::future::Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::time::timeout(CHECK_TIMEOUT, f)
        .await
        .unwrap_or_else(|_| Err("timed out".to_owned()))
}

fn check(name: &'static str, r: Result<(), String>) -> Check {
    Check {
        name,
        ok: r.is_ok(),
        error: r.err(),
    }
}
