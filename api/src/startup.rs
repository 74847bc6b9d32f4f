//! Building and running the api: `Application::build` binds the listener and
//! makes the pools and the router; `run_until_stopped` serves until the
//! shutdown token fires. Tests build the real application on port 0.
//! `AppState` itself is in `state`, which imports no route: the routes
//! and pages that take it do not import this module, which imports them.

use crate::auth::{ApiKeyHasher, AuthCache, JwtKeys};
use crate::limits::rate::RateLimiter;
use crate::routes;
use crate::state::AppState;
use anyhow::Context;
use catalytic_shared::Settings;
use catalytic_shared::db;
use catalytic_shared::health::Dependencies;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    /// `api.probe_listen`: `/metrics`, `/healthz`, `/readyz`, not public.
    probe_listener: TcpListener,
    probe_router: axum::Router,
    /// Stops the background tasks (the LISTEN connection) when serving ends.
    background: CancellationToken,
}

impl Application {
    /// Binds, connects and checks the schema; fails if the schema is behind.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let metrics = catalytic_shared::metrics::install(catalytic_shared::metrics::Process::Api)
            .context("installing the metrics recorder")?;
        let pool = db::pool(&settings.database).context("configuring the database pool")?;
        db::wait_for_schema(&pool, Duration::from_secs(30))
            .await
            .context("checking the database schema")?;
        let redis =
            catalytic_shared::tls::redis_client(&settings.redis).context("CATALYTIC_REDIS__URL")?;
        let cache_timeout = Duration::from_millis(settings.auth.cache_timeout_ms);
        let redis_config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(cache_timeout.max(Duration::from_millis(250))))
            .set_response_timeout(Some(cache_timeout.max(Duration::from_millis(250))))
            .set_number_of_retries(1);
        let redis_manager =
            redis::aio::ConnectionManager::new_lazy_with_config(redis.clone(), redis_config)
                .context("configuring the redis connection (CATALYTIC_REDIS__URL)")?;
        let dependencies = Arc::new(
            Dependencies::default()
                .with_postgres(pool.clone())
                .with_redis(redis),
        );
        let background = CancellationToken::new();
        let job_events = crate::job_events::JobEvents::new(
            settings.api.job_cache_entries,
            Duration::from_secs(settings.api.job_cache_ttl_secs),
        );
        let principals = Arc::new(crate::auth::principals::Principals::new(
            settings.auth.principal_cache_entries,
            Duration::from_secs(settings.auth.principal_cache_ttl_secs),
        ));
        crate::notifications::spawn(
            pool.clone(),
            background.clone(),
            job_events.clone(),
            Arc::clone(&principals),
        );
        // The flushers' own connections, one each, planning their three
        // fixed statements once (db::Planning::Once).
        let submit_pool = db::pool_with(
            &catalytic_shared::config::DatabaseSettings {
                max_connections: u32::try_from(settings.api.submit_flushers).unwrap_or(u32::MAX),
                ..settings.database.clone()
            },
            db::Planning::Once,
        )
        .context("configuring the submit pool")?;
        let submits = crate::submit_batch::spawn(
            submit_pool,
            settings.api.submit_flushers,
            settings.api.submit_batch_max,
        );
        let state = AppState {
            job_events,
            principals,
            submits,
            last_used: Default::default(),
            db: pool,
            api_keys: ApiKeyHasher::new(settings.api.api_key_secret.clone()),
            jwt: Arc::new(JwtKeys::new(&settings.auth).context("the JWT keys")?),
            auth_cache: AuthCache::new(
                redis_manager.clone(),
                cache_timeout,
                &settings.redis.prefix,
            ),
            rate_limiter: Arc::new(RateLimiter::new(
                Some(redis_manager.clone()),
                &settings.redis.prefix,
            )),
            redis: redis_manager,
            trusted_proxies: Arc::new(crate::limits::client_ip::TrustedProxies::new(
                settings.api.trusted_proxy_networks().map_err(|entry| {
                    anyhow::anyhow!("api.trusted_proxies: {entry:?} is not a CIDR")
                })?,
            )),
            dependencies,
            checkout: crate::checkout::Checkout::from_settings(&settings.billing)?.map(Arc::new),
            metrics,
            settings: Arc::new(settings.clone()),
        };
        let listener = TcpListener::bind(settings.api.listen)
            .await
            .with_context(|| format!("binding {} (CATALYTIC_API__LISTEN)", settings.api.listen))?;
        let probe_listener = TcpListener::bind(settings.api.probe_listen)
            .await
            .with_context(|| {
                format!(
                    "binding {} (CATALYTIC_API__PROBE_LISTEN)",
                    settings.api.probe_listen
                )
            })?;
        let probe_router =
            catalytic_shared::probe::router(state.dependencies.clone(), state.metrics.clone());
        Ok(Self {
            listener,
            router: routes::router(state),
            probe_listener,
            probe_router,
            background,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// The port of `/metrics` and the probes.
    pub fn probe_port(&self) -> u16 {
        self.probe_listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(
            addr = %self.listener.local_addr()?,
            probe_addr = %self.probe_listener.local_addr()?,
            "api listening"
        );
        let probes = tokio::spawn(catalytic_shared::probe::serve(
            self.probe_listener,
            self.probe_router,
            shutdown.clone(),
        ));
        // Connect info: the peer address is the per-IP rate limit's key.
        let service = self
            .router
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let served = axum::serve(self.listener, service)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
            .context("serving http");
        self.background.cancel();
        match probes.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "serving the probes failed"),
            Err(e) => tracing::warn!(error = %e, "the probe server task failed"),
            Ok(Ok(())) => {}
        }
        served
    }
}
