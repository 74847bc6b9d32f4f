//! `AppState`, what every handler can reach. It lives apart from
//! `startup` (which builds it and the router) so that a handler, an
//! extractor or a dashboard page can name it without importing the routes:
//! this module imports no route and no page, only the pieces it holds.

use crate::auth::api_key::ApiKeyHasher;
use crate::auth::jwt::JwtKeys;
use crate::auth::last_used::LastUsed;
use crate::auth::principals::Principals;
use crate::auth::revocation::AuthCache;
use crate::job_events::JobEvents;
use crate::limits::rate::RateLimiter;
use crate::submit_batch::SubmitBatcher;
use catalytic_shared::Settings;
use catalytic_shared::health::Dependencies;
use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;
use std::sync::Arc;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    /// When this process last stamped each API key's last use.
    pub last_used: LastUsed,
    /// Terminal-state notifications and finished rows, for long-polls and GETs.
    pub job_events: JobEvents,
    /// Who each credential is, cached in this process; kept current by
    /// `catalytic_auth` notifications.
    pub principals: Arc<Principals>,
    pub api_keys: ApiKeyHasher,
    /// Signs and verifies access tokens (every configured kid).
    pub jwt: Arc<JwtKeys>,
    /// Redis as a cache of revocations and lockouts (never the state of record).
    pub auth_cache: AuthCache,
    /// A lazily connecting, reconnecting Redis connection, shared by every
    /// cache and limiter; its calls fail fast while Redis is down.
    pub redis: redis::aio::ConnectionManager,
    /// Rate limits: GCRA in Redis, per process when Redis is away.
    pub rate_limiter: Arc<RateLimiter>,
    /// Whose forwarding headers name the client of a request.
    pub trusted_proxies: Arc<crate::limits::client_ip::TrustedProxies>,
    /// Every submit goes through it: concurrent submits share a transaction.
    pub submits: SubmitBatcher,
    pub dependencies: Arc<Dependencies>,
    /// Stripe Checkout and the Customer Portal; `None` while
    /// `billing.checkout_api_key` is unset (the billing routes answer 404).
    pub checkout: Option<Arc<crate::checkout::Checkout>>,
    pub metrics: PrometheusHandle,
    pub settings: Arc<Settings>,
}
