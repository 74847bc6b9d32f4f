//! Rate limits (issue 4): GCRA in Redis, so every api process shares one
//! budget per key, with a per-process GCRA as the fallback when Redis does
//! not answer within `REDIS_TIMEOUT` (docs/adr/0001-processes.md: Redis is a cache; losing it
//! loosens limits to per-process, it never refuses or loses a request).
//!
//! GCRA keeps one number per key, the theoretical arrival time (TAT). A
//! request is allowed when `TAT - burst·T <= now`, and moves TAT by T
//! (T = period / limit). Redis runs it as one Lua script on its own clock,
//! so api processes with skewed clocks agree.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const REDIS_TIMEOUT: Duration = Duration::from_millis(50);

/// A limit: `limit` requests per `period`, with bursts up to `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub limit: u32,
    pub period: Duration,
}

impl Rate {
    pub const fn per_minute(limit: u32) -> Self {
        Self {
            limit,
            period: Duration::from_secs(60),
        }
    }

    fn emission_ms(&self) -> f64 {
        self.period.as_secs_f64() * 1e3 / f64::from(self.limit.max(1))
    }
}

/// The verdict, with what the `RateLimit-*` headers report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the budget is full again.
    pub reset_secs: u64,
    /// Seconds to wait before retrying (0 when allowed).
    pub retry_after_secs: u64,
}

const SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
local emission = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3] or '1')
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat + cost * emission - burst * emission
if allow_at > now then
  return {0, tostring(tat - now), tostring(allow_at - now)}
end
local new_tat = tat + cost * emission
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil(new_tat - now) + 1)
return {1, tostring(new_tat - now), '0'}
"#;

pub struct RateLimiter {
    redis: Option<redis::aio::ConnectionManager>,
    script: redis::Script,
    /// Keys in Redis start with this (tests use a fresh one each).
    prefix: String,
    /// Per-process TATs (ms since `epoch`) for when Redis is away.
    local: Mutex<HashMap<String, f64>>,
    epoch: Instant,
}

impl RateLimiter {
    pub fn new(redis: Option<redis::aio::ConnectionManager>, prefix: &str) -> Self {
        Self {
            redis,
            script: redis::Script::new(SCRIPT),
            prefix: prefix.to_owned(),
            local: Mutex::new(HashMap::new()),
            epoch: Instant::now(),
        }
    }

    /// Checks and spends one request of `key`'s budget.
    pub async fn check(&self, key: &str, rate: Rate) -> Decision {
        self.check_n(key, rate, 1).await
    }

    /// Checks and spends `cost` requests of `key`'s budget at once, or none
    /// when they do not all fit (a bulk submit counts each of its jobs).
    /// A cost above `rate.limit` never fits.
    pub async fn check_n(&self, key: &str, rate: Rate, cost: u32) -> Decision {
        if let Some(conn) = &self.redis {
            let mut conn = conn.clone();
            let mut invocation = self.script.key(format!("{}:rl:{key}", self.prefix));
            invocation.arg(rate.emission_ms()).arg(rate.limit).arg(cost);
            let call = invocation.invoke_async::<(i64, String, String)>(&mut conn);
            match tokio::time::timeout(REDIS_TIMEOUT, call).await {
                Ok(Ok((allowed, until_full, retry))) => {
                    let until_full: f64 = until_full.parse().unwrap_or(0.0);
                    let retry: f64 = retry.parse().unwrap_or(0.0);
                    return decision(rate, allowed == 1, until_full, retry);
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "rate limit: redis failed; using the per-process limiter")
                }
                Err(_) => {
                    tracing::warn!("rate limit: redis timed out; using the per-process limiter")
                }
            }
        }
        self.check_local(key, rate, cost)
    }

    fn check_local(&self, key: &str, rate: Rate, cost: u32) -> Decision {
        let now = self.epoch.elapsed().as_secs_f64() * 1e3;
        let emission = rate.emission_ms();
        let burst = f64::from(rate.limit);
        let mut tats = self
            .local
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let tat = tats.get(key).copied().unwrap_or(now).max(now);
        let cost = f64::from(cost);
        let allow_at = tat + cost * emission - burst * emission;
        if allow_at > now {
            return decision(rate, false, tat - now, allow_at - now);
        }
        let new_tat = tat + cost * emission;
        tats.insert(key.to_owned(), new_tat);
        // Keep the map bounded: forget keys whose budget is full again.
        if tats.len() > 100_000 {
            tats.retain(|_, t| *t > now);
        }
        decision(rate, true, new_tat - now, 0.0)
    }
}

fn decision(rate: Rate, allowed: bool, until_full_ms: f64, retry_ms: f64) -> Decision {
    let emission = rate.emission_ms();
    let used = (until_full_ms / emission).ceil();
    let remaining = (f64::from(rate.limit) - used).max(0.0) as u32;
    Decision {
        allowed,
        limit: rate.limit,
        remaining,
        reset_secs: (until_full_ms / 1e3).ceil() as u64,
        retry_after_secs: (retry_ms / 1e3).ceil() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_local_limiter_allows_the_burst_then_refuses() {
        let limiter = RateLimiter::new(None, "t");
        let rate = Rate::per_minute(3);
        let decisions: Vec<Decision> = [(); 4]
            .iter()
            .map(|_| limiter.check_local("k", rate, 1))
            .collect();
        assert!(decisions[..3].iter().all(|d| d.allowed));
        assert_eq!(
            decisions.iter().map(|d| d.remaining).collect::<Vec<_>>()[..3],
            [2, 1, 0]
        );
        assert!(!decisions[3].allowed);
        assert!(
            decisions[3].retry_after_secs >= 19 && decisions[3].retry_after_secs <= 20,
            "{:?}",
            decisions[3]
        );
        assert!(
            limiter.check_local("other", rate, 1).allowed,
            "keys are independent"
        );
    }

    #[tokio::test]
    async fn a_cost_spends_that_many_requests_or_none() {
        let limiter = RateLimiter::new(None, "t");
        let rate = Rate::per_minute(10);
        assert!(limiter.check_local("k", rate, 7).allowed);
        let refused = limiter.check_local("k", rate, 4);
        assert!(!refused.allowed, "7 + 4 > 10");
        assert_eq!(refused.remaining, 3, "a refusal spends nothing");
        assert!(limiter.check_local("k", rate, 3).allowed);
        assert!(!limiter.check_local("big", rate, 11).allowed);
    }
}
