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

use crate::db::webhook_deliveries::ClaimedDelivery;
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

#[cfg(test)]
mod tests {
    use super::*;
    use catalytic_shared::ids::{TenantId, WebhookMessageId};

    fn queued(endpoint: EndpointId) -> (Queued, oneshot::Receiver<()>) {
        let (done, finished) = oneshot::channel();
        let delivery = ClaimedDelivery {
            id: Uuid::new_v4(),
            tenant_id: TenantId::new(),
            message_id: WebhookMessageId::new(),
            endpoint_id: endpoint,
            attempt: 1,
            payload: "{}".into(),
            url: "http://receiver.test/hook".into(),
            key_id: "local".into(),
            sealed: Vec::new(),
            previous: None,
            rate_limit_per_second: None,
            traceparent: None,
        };
        let leased_until = Instant::now();
        (
            Queued {
                delivery,
                leased_until,
                done,
            },
            finished,
        )
    }

    #[test]
    fn a_busy_endpoints_deliveries_join_its_senders_queue() {
        let senders = Senders::default();
        let (a, b) = (EndpointId::new(), EndpointId::new());
        let (first, _f1) = queued(a);
        let first_id = first.delivery.id;
        let (other, _f2) = queued(b);
        let mut started = senders.dispatch([first, other]);
        started.sort();
        let mut expected = vec![a, b];
        expected.sort();
        assert_eq!(started, expected, "one sender per new endpoint");

        let (second, _f3) = queued(a);
        let second_id = second.delivery.id;
        assert!(senders.dispatch([second]).is_empty(), "a joins its queue");

        let next = senders.next(a).map(|(q, left)| (q.delivery.id, left));
        assert_eq!(next, Some((first_id, 1)));
        let next = senders.next(a).map(|(q, left)| (q.delivery.id, left));
        assert_eq!(next, Some((second_id, 0)));
        assert!(
            senders.next(a).is_none(),
            "the queue is empty: a's sender ends"
        );
        let (third, _f4) = queued(a);
        assert_eq!(senders.dispatch([third]), vec![a], "a needs a new sender");
    }

    #[test]
    fn only_full_queues_are_left_out_of_claims() {
        let senders = Senders::default();
        assert!(senders.any_room());
        let (full, roomy) = (EndpointId::new(), EndpointId::new());
        let mut done = Vec::new();
        let batch: Vec<Queued> = (0..QUEUE_CAP)
            .map(|_| queued(full))
            .chain([queued(roomy)])
            .map(|(q, f)| {
                done.push(f);
                q
            })
            .collect();
        senders.dispatch(batch);
        assert_eq!(senders.saturated(), vec![full.as_uuid()]);
        assert!(senders.any_room(), "roomy can take more");
        let drained = senders.drain(roomy);
        assert_eq!(drained.len(), 1);
        assert!(senders.any_room(), "an empty queue has room");
        assert!(senders.next(roomy).is_none());
        assert!(!senders.any_room(), "every queue is full");
        drop(drained);
        assert!(
            done.last_mut()
                .is_some_and(|f| matches!(f.try_recv(), Err(oneshot::error::TryRecvError::Closed))),
            "a dropped claim completes its round's wait"
        );
    }
}
