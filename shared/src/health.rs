//! Readiness: can this process reach the servers it depends on? Used by
//! `/readyz` on every process. Liveness (`/healthz`) needs no checks.
//!
//! Only what a process cannot serve without makes it unready (issue 19):
//! PostgreSQL, the state of record, and the broker for the processes that
//! move jobs. Redis is a cache and a limiter that every caller already
//! works around (per-process limits, database reads), so its loss only
//! marks the answer `degraded` and sets `catalytic_dependency_up` to 0:
//! taking every api replica out of service for a cache outage would turn a
//! slower api into no api.

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
    /// Optional: its loss degrades, it does not make the process unready.
    pub redis: Option<redis::Client>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    /// Whether the process is unready without it.
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    /// Every required check passed.
    pub ready: bool,
    /// An optional check failed: serving, with less (no shared rate
    /// limits, no caches).
    pub degraded: bool,
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
            // Every error names the server: with TLS, "which server did not
            // trust us" is the first question.
            let server = crate::db::server_of(pool);
            let r = timed(async {
                sqlx::query("SELECT 1")
                    .execute(pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("PostgreSQL at {server}: {e}"))
            })
            .await;
            checks.push(check("postgres", true, r));
        }
        #[cfg(feature = "queue")]
        if let Some(broker) = &self.broker {
            // A process that lost the broker reconnects on its own; readiness
            // reports the gap meanwhile.
            let r = match broker.is_connected().await {
                true => Ok(()),
                false => Err(broker.last_error().unwrap_or_else(|| {
                    format!("not connected yet to RabbitMQ at {}", broker.server())
                })),
            };
            checks.push(check("rabbitmq", true, r));
        }
        if let Some(client) = &self.redis {
            let server = crate::tls::redis_server(client);
            let r = timed(async {
                let mut conn = client.get_multiplexed_async_connection().await?;
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .map(|_| ())
            })
            .await
            .map_err(|e| format!("Redis at {server}: {e}"));
            checks.push(check("redis", false, r));
        }
        for c in &checks {
            metrics::gauge!(crate::metrics::DEPENDENCY_UP, "dependency" => c.name)
                .set(f64::from(u8::from(c.ok)));
        }
        Readiness {
            ready: checks.iter().all(|c| c.ok || !c.required),
            degraded: checks.iter().any(|c| !c.ok && !c.required),
            checks,
        }
    }
}

async fn timed<E: std::fmt::Display>(
    f: impl std::future::Future<Output = Result<(), E>>,
) -> Result<(), String> {
    match tokio::time::timeout(CHECK_TIMEOUT, f).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err("timed out".to_owned()),
    }
}

fn check(name: &'static str, required: bool, r: Result<(), String>) -> Check {
    Check {
        name,
        ok: r.is_ok(),
        required,
        error: r.err(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::postgres::PgPoolOptions;

    /// Port 1 on loopback: nothing listens there, so both connections are
    /// refused for real.
    fn unreachable_postgres() -> Result<PgPool, sqlx::Error> {
        PgPoolOptions::new()
            .acquire_timeout(Duration::from_secs(1))
            .connect_lazy("postgres://postgres@127.0.0.1:1/none")
    }

    #[tokio::test]
    async fn redis_lost_degrades_and_postgres_lost_makes_unready() -> anyhow::Result<()> {
        let redis = redis::Client::open("redis://127.0.0.1:1")?;
        let only_redis = Dependencies::default()
            .with_redis(redis.clone())
            .check()
            .await;
        assert!(only_redis.ready && only_redis.degraded, "{only_redis:?}");
        assert_eq!(
            only_redis
                .checks
                .iter()
                .map(|c| (c.name, c.ok, c.required))
                .collect::<Vec<_>>(),
            [("redis", false, false)]
        );
        let both = Dependencies::default()
            .with_postgres(unreachable_postgres()?)
            .with_redis(redis)
            .check()
            .await;
        assert!(!both.ready && both.degraded, "{both:?}");
        Ok(())
    }
}
