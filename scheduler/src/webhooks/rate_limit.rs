//! An endpoint's `rate_limit_per_second`, held across every scheduler
//! replica: the next send slot of each endpoint lives in Redis, and each
//! send books one (a Lua script on Redis's clock, so replicas with skewed
//! clocks agree), then waits until its slot. Modelled on the api's GCRA
//! (`api/src/limits/rate.rs`) with no burst: slots are spaced by
//! 1 / limit, which is what a receiver that asked for N per second expects.
//!
//! Redis is a cache and limiter, never a dependency of delivery (design
//! §1): when it does not answer within `REDIS_TIMEOUT`, or none is
//! configured, the slot is booked per process instead (N replicas may then
//! together reach N × the limit until Redis is back).

use catalytic_shared::ids::EndpointId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

const REDIS_TIMEOUT: Duration = Duration::from_millis(50);

/// Books the slot: returns milliseconds until it (0 when it is now).
const SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
local interval = tonumber(ARGV[1])
local at = tonumber(redis.call('GET', KEYS[1]) or now)
if at < now then at = now end
local next = at + interval
redis.call('SET', KEYS[1], tostring(next), 'PX', math.ceil(next - now) + 1000)
return tostring(at - now)
"#;

pub struct RateLimiter {
    redis: Option<Shared>,
    /// Per-process next slots, when Redis is away.
    local: Mutex<HashMap<EndpointId, Instant>>,
}

struct Shared {
    conn: redis::aio::ConnectionManager,
    script: redis::Script,
    /// Keys are `<prefix>:whrl:<endpoint>`.
    prefix: String,
}

impl RateLimiter {
    /// Per process only.
    pub fn local() -> Self {
        Self {
            redis: None,
            local: Mutex::new(HashMap::new()),
        }
    }

    /// Shared through Redis by every replica using the same prefix.
    pub fn shared(conn: redis::aio::ConnectionManager, prefix: &str) -> Self {
        Self {
            redis: Some(Shared {
                conn,
                script: redis::Script::new(SCRIPT),
                prefix: prefix.to_owned(),
            }),
            local: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until the endpoint may be sent to, having booked that slot.
    pub async fn pace(&self, endpoint: EndpointId, per_second: Option<i32>) {
        let Some(per_second) = per_second.filter(|r| *r > 0) else {
            return;
        };
        let interval = Duration::from_secs_f64(1.0 / f64::from(per_second));
        let wait = match self.book_shared(endpoint, interval).await {
            Some(wait) => wait,
            None => self.book_local(endpoint, interval),
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    async fn book_shared(&self, endpoint: EndpointId, interval: Duration) -> Option<Duration> {
        let shared = self.redis.as_ref()?;
        let mut conn = shared.conn.clone();
        let mut invocation = shared
            .script
            .key(format!("{}:whrl:{endpoint}", shared.prefix));
        invocation.arg(interval.as_secs_f64() * 1e3);
        let call = invocation.invoke_async::<String>(&mut conn);
        match tokio::time::timeout(REDIS_TIMEOUT, call).await {
            Ok(Ok(ms)) => {
                let ms: f64 = ms.parse().unwrap_or(0.0);
                Some(Duration::from_secs_f64(ms.max(0.0) / 1e3))
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "webhook rate limit: redis failed; pacing per process");
                None
            }
            Err(_) => {
                tracing::warn!("webhook rate limit: redis timed out; pacing per process");
                None
            }
        }
    }

    fn book_local(&self, endpoint: EndpointId, interval: Duration) -> Duration {
        let now = Instant::now();
        let mut next = self
            .local
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let at = next.get(&endpoint).copied().unwrap_or(now).max(now);
        next.insert(endpoint, at + interval);
        at - now
    }
}
