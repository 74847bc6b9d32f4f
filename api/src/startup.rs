//! Building and running the api: `Application::build` binds the listener and
//! makes the pools and the router; `run_until_stopped` serves until the
//! shutdown token fires. Tests build the real application on port 0.

use crate::auth::ApiKeyHasher;
use crate::routes;
use anyhow::Context;
use catalytic_shared::Settings;
use catalytic_shared::db;
use catalytic_shared::health::Dependencies;
use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub api_keys: ApiKeyHasher,
    pub dependencies: Arc<Dependencies>,
    pub metrics: PrometheusHandle,
    pub settings: Arc<Settings>,
}

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
}

impl Application {
    /// Binds, connects and checks the schema; fails if the schema is behind.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let metrics =
            catalytic_shared::metrics::install().context("installing the metrics recorder")?;
        let pool = db::pool(&settings.database).context("configuring the database pool")?;
        db::wait_for_schema(&pool, Duration::from_secs(30))
            .await
            .context("checking the database schema")?;
        let redis = redis::Client::open(settings.redis.url.expose().as_str())
            .context("CATALYTIC_REDIS__URL")?;
        let dependencies = Arc::new(Dependencies {
            postgres: Some(pool.clone()),
            broker: None,
            redis: Some(redis),
        });
        let state = AppState {
            db: pool,
            api_keys: ApiKeyHasher::new(settings.api.api_key_secret.clone()),
            dependencies,
            metrics,
            settings: Arc::new(settings.clone()),
        };
        let listener = TcpListener::bind(settings.api.listen)
            .await
            .with_context(|| format!("binding {} (CATALYTIC_API__LISTEN)", settings.api.listen))?;
        Ok(Self {
            listener,
            router: routes::router(state),
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(addr = %self.listener.local_addr()?, "api listening");
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
            .context("serving http")
    }
}
