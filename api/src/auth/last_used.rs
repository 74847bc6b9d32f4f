//! Recording an API key's last use without a database write per request:
//! each api process stamps a key at most once per `EVERY`, remembering when
//! it last did (the SQL keeps its own once-a-minute guard across processes).

use catalytic_shared::db;
use catalytic_shared::ids::ApiKeyId;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_secs(60);

#[derive(Clone, Default)]
pub struct LastUsed {
    stamped: Arc<Mutex<HashMap<ApiKeyId, Instant>>>,
}

impl LastUsed {
    /// Stamps `key` in the background when this process has not for a minute.
    pub fn record(&self, pool: &PgPool, key: ApiKeyId) {
        if !self.due(key, Instant::now()) {
            return;
        }
        let pool = pool.clone();
        // Best effort: a failed stamp must not fail the request.
        tokio::spawn(async move {
            if let Err(e) = db::tenants::touch_api_key(&pool, key).await {
                tracing::debug!(error = %e, "could not record the API key's last use");
            }
        });
    }

    fn due(&self, key: ApiKeyId, now: Instant) -> bool {
        let mut stamped = self.stamped.lock().unwrap_or_else(|p| p.into_inner());
        match stamped.get(&key) {
            Some(at) if now.duration_since(*at) < EVERY => false,
            _ => {
                stamped.insert(key, now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_due_once_a_minute() {
        let last = LastUsed::default();
        let key = ApiKeyId::new();
        let t0 = Instant::now();
        assert!(last.due(key, t0));
        assert!(!last.due(key, t0 + Duration::from_secs(30)));
        assert!(last.due(ApiKeyId::new(), t0), "keys are independent");
        assert!(last.due(key, t0 + Duration::from_secs(61)));
    }
}
