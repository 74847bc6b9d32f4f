//! Which deliveries this process takes next. The database side is
//! `db::webhook_deliveries::{fan_out, claim_due}` (FOR UPDATE SKIP LOCKED, a lease
//! per claim); this side remembers which endpoints this process is sending
//! to now, so a round never claims for them (one attempt in flight per
//! endpoint, so one slow endpoint holds one permit, never the others'), and
//! when each rate-limited endpoint may be sent to next.

use catalytic_shared::db::webhook_deliveries::ClaimedDelivery;
use catalytic_shared::ids::EndpointId;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use tokio::time::Instant;
use uuid::Uuid;

#[derive(Default)]
pub struct BusyEndpoints {
    /// Endpoints with a sending task in this process.
    busy: Mutex<HashSet<EndpointId>>,
    /// Earliest next send per rate-limited endpoint.
    next_send: Mutex<HashMap<EndpointId, Instant>>,
}

impl BusyEndpoints {
    pub fn snapshot(&self) -> Vec<Uuid> {
        self.busy
            .lock()
            .map(|b| b.iter().map(|e| e.as_uuid()).collect())
            .unwrap_or_default()
    }

    /// Marks the endpoints of a claimed batch busy; returns the batch
    /// grouped by endpoint, in claim order.
    pub fn take(
        &self,
        claimed: Vec<ClaimedDelivery>,
    ) -> BTreeMap<EndpointId, Vec<ClaimedDelivery>> {
        let mut groups: BTreeMap<EndpointId, Vec<ClaimedDelivery>> = BTreeMap::new();
        for delivery in claimed {
            groups
                .entry(delivery.endpoint_id)
                .or_default()
                .push(delivery);
        }
        if let Ok(mut busy) = self.busy.lock() {
            busy.extend(groups.keys().copied());
        }
        groups
    }

    pub fn release(&self, endpoint: EndpointId) {
        if let Ok(mut busy) = self.busy.lock() {
            busy.remove(&endpoint);
        }
    }

    /// Waits until the endpoint's rate limit allows a send, and books the
    /// next slot. Enforced per scheduler process.
    pub async fn pace(&self, endpoint: EndpointId, per_second: Option<i32>) {
        let Some(per_second) = per_second.filter(|r| *r > 0) else {
            return;
        };
        let interval = std::time::Duration::from_secs_f64(1.0 / f64::from(per_second));
        let now = Instant::now();
        let at = match self.next_send.lock() {
            Ok(mut next) => {
                let at = next.get(&endpoint).copied().unwrap_or(now).max(now);
                next.insert(endpoint, at + interval);
                at
            }
            Err(_) => now,
        };
        tokio::time::sleep_until(at).await;
    }
}
