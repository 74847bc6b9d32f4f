//! Which deliveries this process is sending, per endpoint. The database
//! side is `db::webhook_deliveries::{fan_out, claim_due}` (FOR UPDATE SKIP
//! LOCKED, a lease per claim); this side keeps, per endpoint with a sending
//! task, the queue of deliveries claimed for it and not yet sent.
//!
//! A claim does not skip the endpoints this process is sending to: their
//! newly claimed deliveries join the running sender's queue (one attempt
//! in flight per endpoint, so one slow endpoint holds one permit, never the
//! others'). Only endpoints whose queue is full ([`QUEUE_CAP`]) are left out
//! of claims, so a slow endpoint's backlog is not leased away in bulk. A
//! claim's LIMIT then stops an index walk early instead of wading through
//! every busy endpoint's due rows. Rate limits are `rate_limit`'s.

use catalytic_shared::db::webhook_deliveries::ClaimedDelivery;
use catalytic_shared::ids::EndpointId;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;
use tokio::sync::oneshot;
use uuid::Uuid;

/// Deliveries queued per endpoint before claims leave it out. A claim may
/// add up to one batch past it (the cap is checked before the claim), so an
/// endpoint holds at most `QUEUE_CAP + batch` leased deliveries.
pub const QUEUE_CAP: usize = 32;
/// A sender whose queue drops to this asks the loop for more.
pub const LOW_WATER: usize = 8;

/// One claimed delivery waiting for its endpoint's sender.
pub struct Queued {
    pub delivery: ClaimedDelivery,
    /// The claim's lease ends here (measured from just before the claim
    /// was sent, so never later than the database's).
    pub leased_until: Instant,
    /// Completed once the attempt is logged, or the claim given back
    /// (dropped: `Round::finished` waits on it).
    pub done: oneshot::Sender<()>,
}

#[derive(Default)]
pub struct Senders {
    /// Endpoints with a sending task in this process, and what it has left.
    queues: Mutex<HashMap<EndpointId, VecDeque<Queued>>>,
}

impl Senders {
    /// Endpoints whose queue is full: claims leave them out.
    pub fn saturated(&self) -> Vec<Uuid> {
        self.queues
            .lock()
            .map(|q| {
                q.iter()
                    .filter(|(_, queue)| queue.len() >= QUEUE_CAP)
                    .map(|(e, _)| e.as_uuid())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Queues claimed deliveries behind their endpoint's sender; returns the
    /// endpoints that had none (the caller starts one for each).
    pub fn dispatch(&self, claimed: impl IntoIterator<Item = Queued>) -> Vec<EndpointId> {
        let mut started = Vec::new();
        let Ok(mut queues) = self.queues.lock() else {
            return started;
        };
        for queued in claimed {
            match queues.entry(queued.delivery.endpoint_id) {
                Entry::Occupied(mut e) => e.get_mut().push_back(queued),
                Entry::Vacant(e) => {
                    started.push(*e.key());
                    e.insert(VecDeque::from([queued]));
                }
            }
        }
        started
    }

    /// The endpoint's next delivery and how many are left after it. None
    /// when its queue is empty: the endpoint is no longer busy, and its
    /// sender must end (under the same lock, so no delivery is queued
    /// behind a sender that has ended).
    pub fn next(&self, endpoint: EndpointId) -> Option<(Queued, usize)> {
        let mut queues = self.queues.lock().ok()?;
        let queue = queues.get_mut(&endpoint)?;
        match queue.pop_front() {
            Some(next) => Some((next, queue.len())),
            None => {
                queues.remove(&endpoint);
                None
            }
        }
    }

    /// Everything still queued for the endpoint (it was disabled).
    pub fn drain(&self, endpoint: EndpointId) -> Vec<Queued> {
        self.queues
            .lock()
            .ok()
            .and_then(|mut q| q.get_mut(&endpoint).map(|queue| queue.drain(..).collect()))
            .unwrap_or_default()
    }
    /// Whether some endpoint's queue has room (or none is busy): a claim
    /// could take more. When every queue is full a full claim does not go
    /// again at once; a sender running low rings the loop.
    pub fn any_room(&self) -> bool {
        self.queues
            .lock()
            .map(|q| q.is_empty() || q.values().any(|queue| queue.len() < QUEUE_CAP))
            .unwrap_or(true)
    }

}
