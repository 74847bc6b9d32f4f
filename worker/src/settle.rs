//! Settling the deliveries of one channel, several acks in one frame where
//! that is safe (issue 17).
//!
//! A `basic.ack` with `multiple` acknowledges every unacknowledged delivery
//! of the channel up to its tag, whichever consumer it came from, including
//! one still sitting unread in a consumer's buffer. So one is sent only for
//! a run of tags that leaves nothing behind: delivery tags are numbered 1,
//! 2, 3, … per channel, and a multiple ack is sent up to tag T only when
//! every tag below T is already settled on the wire or is itself committed
//! and waiting for its ack (`ready`). Any other committed delivery (one with
//! an unsettled tag below it: a job still computing, or a delivery not yet
//! taken) is acked on its own at once, as before, so no ack waits for a
//! slow job. Rejects and nacks are always single.
//!
//! Frames go out one settlement at a time (`sending`), each awaited, so a
//! multiple ack can never overtake the single reject of a tag below it, and
//! no tag is acked twice. Acks form runs when outcomes commit together (a
//! batch of the executor's outcome writes answers its callers at once):
//! whoever takes `sending` first acks what the others made ready meanwhile.
//! Nothing is acked before its outcome commits: a tag becomes ready only
//! when its delivery's executor returned.

use crate::executor::Settle;
use lapin::Acker;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicRejectOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};

/// The settlements of one channel's deliveries.
pub struct Settler {
    state: Mutex<AckState<Acker>>,
    sending: tokio::sync::Mutex<()>,
}

impl Default for Settler {
    fn default() -> Self {
        Self {
            state: Mutex::new(AckState::default()),
            sending: tokio::sync::Mutex::new(()),
        }
    }
}

impl Settler {
    /// Settles `delivery` as the executor decided; failures are logged (the
    /// channel is gone: the broker redelivers, and the guarded claim makes
    /// a redelivery of a job that took effect a no-op).
    pub async fn settle(&self, delivery: &Delivery, settle: Settle) {
        let tag = delivery.delivery_tag;
        if settle == Settle::Ack {
            self.state().ready.insert(tag, delivery.acker.clone());
        }
        let _sending = self.sending.lock().await;
        let frames = match settle {
            Settle::Ack => self.state().take_acks(),
            Settle::DeadLetter | Settle::Requeue => Vec::new(),
        };
        for (acker, multiple) in frames {
            let frame = if multiple { "multiple" } else { "single" };
            metrics::counter!(catalytic_shared::metrics::WORKER_ACK_FRAMES, "frame" => frame)
                .increment(1);
            match acker.ack(BasicAckOptions { multiple }).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(
                    delivery_tag = tag,
                    multiple,
                    "could not ack: the channel is gone"
                ),
                Err(e) => tracing::warn!(error = %e, delivery_tag = tag, multiple, "could not ack"),
            }
        }
        let refused = match settle {
            Settle::Ack => return,
            Settle::DeadLetter => {
                delivery
                    .acker
                    .reject(BasicRejectOptions { requeue: false })
                    .await
            }
            Settle::Requeue => {
                delivery
                    .acker
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..Default::default()
                    })
                    .await
            }
        };
        if let Err(e) = refused {
            tracing::warn!(error = %e, delivery_tag = tag, ?settle, "could not settle delivery");
        }
        // Sent (or the channel is gone): a multiple ack may now pass it.
        self.state().settled(tag);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, AckState<Acker>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Which tags of a channel are settled, and which wait for their ack.
/// Generic over the acker so the rule is tested without a broker.
#[derive(Debug)]
struct AckState<A> {
    /// Every tag below this is settled on the wire (tags start at 1).
    settled_below: u64,
    /// Settled tags at or above `settled_below` (there is a gap below them).
    settled: BTreeSet<u64>,
    /// Committed deliveries whose ack is not yet sent.
    ready: BTreeMap<u64, A>,
}

impl<A> Default for AckState<A> {
    fn default() -> Self {
        Self {
            settled_below: 1,
            settled: BTreeSet::new(),
            ready: BTreeMap::new(),
        }
    }
}

impl<A> AckState<A> {
    /// The ack frames for every ready tag, as (acker of the frame's tag,
    /// multiple), and marks them settled. The ready tags that continue the
    /// settled prefix without a gap go in one multiple ack (a single one if
    /// there is just one); every other ready tag gets a single ack.
    fn take_acks(&mut self) -> Vec<(A, bool)> {
        let mut run = Vec::new();
        let mut tag = self.settled_below;
        while self.ready.contains_key(&tag) || self.settled.contains(&tag) {
            if self.ready.contains_key(&tag) {
                run.push(tag);
            }
            tag += 1;
        }
        let mut frames = Vec::new();
        if let Some(&last) = run.last()
            && let Some(acker) = self.ready.remove(&last)
        {
            for covered in &run {
                self.ready.remove(covered);
                self.settled.insert(*covered);
            }
            frames.push((acker, run.len() > 1));
        }
        for (tag, acker) in std::mem::take(&mut self.ready) {
            self.settled.insert(tag);
            frames.push((acker, false));
        }
        self.advance();
        frames
    }

    /// `tag` was settled on its own (a reject or a nack).
    fn settled(&mut self, tag: u64) {
        self.settled.insert(tag);
        self.advance();
    }

    fn advance(&mut self) {
        while self.settled.remove(&self.settled_below) {
            self.settled_below += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(state: &mut AckState<u64>, tags: &[u64]) {
        for &t in tags {
            state.ready.insert(t, t);
        }
    }

    #[test]
    fn a_run_from_the_settled_prefix_is_one_multiple_ack() {
        let mut s = AckState::default();
        ready(&mut s, &[1, 2, 3]);
        assert_eq!(s.take_acks(), vec![(3, true)]);
        assert_eq!(s.settled_below, 4);
        ready(&mut s, &[4]);
        assert_eq!(s.take_acks(), vec![(4, false)], "one tag: a single ack");
    }

    #[test]
    fn nothing_unsettled_below_a_multiple_ack_is_covered() {
        let mut s = AckState::default();
        // Tag 1 is computing (or not yet taken from its consumer's buffer):
        // 2 and 3 are acked on their own, at once.
        ready(&mut s, &[2, 3]);
        assert_eq!(s.take_acks(), vec![(2, false), (3, false)]);
        assert_eq!(s.settled_below, 1);
        // 1 ends; 4 and 5 are ready too: the run 1..=5 passes the settled
        // 2 and 3, one multiple ack at 5 covers exactly 1, 4 and 5.
        ready(&mut s, &[1, 4, 5]);
        assert_eq!(s.take_acks(), vec![(5, true)]);
        assert_eq!(s.settled_below, 6);
        assert!(s.settled.is_empty());
    }

    #[test]
    fn a_reject_below_holds_the_run_until_it_is_sent() {
        let mut s = AckState::default();
        // 1 is being rejected (not yet sent): 2 and 3 go singly.
        ready(&mut s, &[2, 3]);
        assert_eq!(s.take_acks(), vec![(2, false), (3, false)]);
        s.settled(1);
        assert_eq!(s.settled_below, 4);
        ready(&mut s, &[4, 5, 7]);
        assert_eq!(s.take_acks(), vec![(5, true), (7, false)]);
        assert_eq!(s.settled_below, 6);
    }
}
