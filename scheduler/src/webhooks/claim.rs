//! Which deliveries this process takes next. The database side is
//! `db::webhook_deliveries::{fan_out, claim_due}` (FOR UPDATE SKIP LOCKED, a lease
//! per claim); this side remembers which endpoints this process is sending
//! to now, so a round never claims for them (one attempt in flight per
//! endpoint, so one slow endpoint holds one permit, never the others'). Rate
//! limits are `rate_limit`'s.

use catalytic_shared::db::webhook_deliveries::ClaimedDelivery;
use catalytic_shared::ids::EndpointId;
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use uuid::Uuid;

#[derive(Default)]
pub struct BusyEndpoints {
    /// Endpoints with a sending task in this process.
    busy: Mutex<HashSet<EndpointId>>,
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
}
