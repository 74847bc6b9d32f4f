//! Revoked access tokens, and the Redis cache that revocations and lockouts
//! share. PostgreSQL is the state of record (docs/adr/0001-processes.md): a revocation is
//! committed there first (`db::accounts::revoke_session`), then copied to
//! Redis with the token's remaining lifetime. On each request a Redis hit
//! refuses the token without more work; a miss, a timeout or an unreachable
//! Redis leaves the decision to the PostgreSQL query the extractor runs
//! anyway (the user's role and plan, and the revocation, in one round trip).
//! So Redis losing its data or going down never lets a revoked token back in.

use catalytic_shared::ids::SessionId;
use redis::aio::ConnectionManager;
use std::time::Duration;

/// Redis used as a cache only: every call is bounded by a short timeout, and
/// every failure is logged and treated as a miss.
#[derive(Clone)]
pub struct AuthCache {
    redis: ConnectionManager,
    timeout: Duration,
    /// `redis.prefix`: every key starts with it.
    prefix: String,
}

impl AuthCache {
    pub fn new(redis: ConnectionManager, timeout: Duration, prefix: &str) -> Self {
        Self {
            redis,
            timeout,
            prefix: prefix.to_owned(),
        }
    }

    /// `{redis.prefix}:{rest}`.
    pub fn key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.prefix)
    }

    fn jti_key(&self, jti: uuid::Uuid) -> String {
        self.key(&format!("revoked:jti:{jti}"))
    }

    fn session_key(&self, session: SessionId) -> String {
        self.key(&format!("revoked:sid:{session}"))
    }

    /// Runs one cache command; None on error or timeout (logged: the one
    /// log-and-continue point for the auth cache).
    pub async fn best_effort<T: redis::FromRedisValue>(
        &self,
        what: &'static str,
        cmd: &redis::Cmd,
    ) -> Option<T> {
        let mut conn = self.redis.clone();
        match tokio::time::timeout(self.timeout, cmd.query_async::<T>(&mut conn)).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, what, "redis cache unavailable; PostgreSQL decides");
                None
            }
            Err(_) => {
                tracing::warn!(what, "redis cache timed out; PostgreSQL decides");
                None
            }
        }
    }

    /// True only when Redis says the token or its session is revoked.
    pub async fn known_revoked(&self, jti: uuid::Uuid, session: SessionId) -> bool {
        let mut cmd = redis::cmd("EXISTS");
        cmd.arg(self.jti_key(jti)).arg(self.session_key(session));
        self.best_effort::<u64>("revocation lookup", &cmd)
            .await
            .is_some_and(|n| n > 0)
    }

    /// Copies a revocation to the cache, for `ttl_secs` (the longest an
    /// access token it concerns can still be presented).
    pub async fn remember_revoked(
        &self,
        jti: Option<uuid::Uuid>,
        session: SessionId,
        ttl_secs: u64,
    ) {
        let ttl = ttl_secs.max(1);
        let mut pipe = redis::pipe();
        if let Some(jti) = jti {
            pipe.cmd("SET")
                .arg(self.jti_key(jti))
                .arg(1)
                .arg("EX")
                .arg(ttl)
                .ignore();
        }
        pipe.cmd("SET")
            .arg(self.session_key(session))
            .arg(1)
            .arg("EX")
            .arg(ttl)
            .ignore();
        let mut conn = self.redis.clone();
        match tokio::time::timeout(self.timeout, pipe.query_async::<()>(&mut conn)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "caching a revocation failed; PostgreSQL has it")
            }
            Err(_) => tracing::warn!("caching a revocation timed out; PostgreSQL has it"),
        }
    }
}
