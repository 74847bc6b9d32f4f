//! Group commit: the requests that concurrent callers make while a round
//! trip is in flight are served together by the next one.
//!
//! On this machine a PostgreSQL round trip costs ~200 µs of CPU all sides
//! included (docs/benchmarks.md, "End-to-end load"), so a job's price was
//! its count of round trips. A `GroupCommit` takes that price per batch: a
//! caller hands in one request and awaits its own answer; a flusher takes
//! the first waiting request and every other one already waiting (up to
//! `max_batch`), runs the batch handler once, and answers each caller.
//!
//! A lone request is never held back: there is no timer, a flusher starts
//! as soon as a request is waiting and a flusher is free. Batches form only
//! while every flusher is busy, i.e. exactly when the round trips are the
//! bottleneck. `flushers` bounds the round trips in flight (and so the
//! connections the batches hold).
//!
//! The handler answers every request of its batch, in order: a failure of
//! the whole round trip is the handler's to map onto each request (the
//! `Response` type is usually a `Result`).
//!
//! Lanes (`spawn_lanes`, `call_in`): requests that would contend inside the
//! database (the submits of one tenant take that tenant's lock) go to one
//! lane by their key, and each lane has one flusher, so two flushers never
//! hold batches that wait on each other's locks. With one shared queue,
//! the flusher that locked tenants {1, 2, 3} made the one that needed
//! {2, 5} wait for its whole transaction, and the waits chained.

use std::future::Future;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

type Queue<Req, Resp> = mpsc::Sender<(Req, oneshot::Sender<Resp>)>;

/// A handle to the flushers; cheap to clone.
pub struct GroupCommit<Req, Resp> {
    /// One queue per lane (one lane for `spawn`).
    lanes: Arc<[Queue<Req, Resp>]>,
}

impl<Req, Resp> Clone for GroupCommit<Req, Resp> {
    fn clone(&self) -> Self {
        Self {
            lanes: self.lanes.clone(),
        }
    }
}

/// The flushers are gone (the runtime is shutting down), or the handler
/// answered fewer requests than it was given.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the group commit's flushers stopped before answering")]
pub struct Stopped;

impl<Req, Resp> GroupCommit<Req, Resp>
where
    Req: Send + 'static,
    Resp: Send + 'static,
{
    /// Spawns `flushers` tasks that serve batches of at most `max_batch`
    /// requests with `handler`. They stop when every handle is dropped.
    pub fn spawn<H, Fut>(flushers: usize, max_batch: usize, handler: H) -> Self
    where
        H: Fn(Vec<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<Resp>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        Self {
            lanes: Arc::new([lane(flushers, max_batch, &handler)]),
        }
    }

    /// Spawns `lanes` lanes of one flusher each; `call_in(key, …)` queues a
    /// request in lane `key % lanes`.
    pub fn spawn_lanes<H, Fut>(lanes: usize, max_batch: usize, handler: H) -> Self
    where
        H: Fn(Vec<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<Resp>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        Self {
            lanes: (0..lanes.max(1))
                .map(|_| lane(1, max_batch, &handler))
                .collect(),
        }
    }

    /// Hands `request` to the next batch and waits for its answer.
    pub async fn call(&self, request: Req) -> Result<Resp, Stopped> {
        self.call_in(0, request).await
    }

    /// [`GroupCommit::call`] in the lane of `key`: requests with one key are
    /// never in two flushers' batches at once.
    pub async fn call_in(&self, key: u64, request: Req) -> Result<Resp, Stopped> {
        let lanes = self.lanes.len() as u64;
        let queue = &self.lanes[usize::try_from(key % lanes.max(1)).unwrap_or(0)];
        let (answer, response) = oneshot::channel();
        queue.send((request, answer)).await.map_err(|_| Stopped)?;
        response.await.map_err(|_| Stopped)
    }
}

/// One queue and its `flushers` flushers.
fn lane<Req, Resp, H, Fut>(flushers: usize, max_batch: usize, handler: &Arc<H>) -> Queue<Req, Resp>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    H: Fn(Vec<Req>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<Resp>> + Send + 'static,
{
    let max_batch = max_batch.max(1);
    // Room for a few batches per flusher: a caller beyond that waits to
    // hand its request in, which is the backpressure we want.
    let (requests, receiver) = mpsc::channel(max_batch * flushers.max(1) * 4);
    let receiver = Arc::new(Mutex::new(receiver));
    for _ in 0..flushers.max(1) {
        let receiver = receiver.clone();
        let handler = handler.clone();
        tokio::spawn(async move {
            while let Some(batch) = next_batch(&receiver, max_batch).await {
                let (requests, answers): (Vec<Req>, Vec<oneshot::Sender<Resp>>) =
                    batch.into_iter().unzip();
                let responses = handler(requests).await;
                // A caller that stopped waiting dropped its receiver:
                // its request was still handled, and nobody is told.
                for (answer, response) in answers.into_iter().zip(responses) {
                    let _ = answer.send(response);
                }
            }
        });
    }
    requests
}

/// The first waiting request (waiting for one if none is), and every other
/// one already waiting, up to `max_batch`. The lock is held only while
/// taking, so another flusher can take the next batch while this one runs.
async fn next_batch<T>(receiver: &Mutex<mpsc::Receiver<T>>, max_batch: usize) -> Option<Vec<T>> {
    let mut receiver = receiver.lock().await;
    let first = receiver.recv().await?;
    let mut batch = Vec::with_capacity(max_batch.min(64));
    batch.push(first);
    while batch.len() < max_batch {
        match receiver.try_recv() {
            Ok(next) => batch.push(next),
            Err(_) => break,
        }
    }
    Some(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Notify;

    #[tokio::test]
    async fn a_lone_request_is_answered_without_waiting_for_company() {
        let commit = GroupCommit::spawn(1, 100, |xs: Vec<u32>| async move {
            xs.into_iter().map(|x| x * 2).collect::<Vec<_>>()
        });
        assert_eq!(commit.call(21).await, Ok(42));
    }

    #[tokio::test]
    async fn requests_made_while_a_flush_runs_share_the_next_one() {
        let batches = Arc::new(std::sync::Mutex::new(Vec::new()));
        let release = Arc::new(Notify::new());
        let handler = {
            let batches = batches.clone();
            let release = release.clone();
            move |xs: Vec<u32>| {
                let batches = batches.clone();
                let release = release.clone();
                async move {
                    let first_batch = batches.lock().map(|b| b.is_empty()).unwrap_or(false);
                    if let Ok(mut b) = batches.lock() {
                        b.push(xs.clone());
                    }
                    if first_batch {
                        // Hold the only flusher until the others queued up.
                        release.notified().await;
                    }
                    xs
                }
            }
        };
        let commit = GroupCommit::spawn(1, 100, handler);
        let first = tokio::spawn({
            let commit = commit.clone();
            async move { commit.call(0).await }
        });
        // Wait (with a deadline) until the first flush is running.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while batches.lock().map(|b| b.is_empty()).unwrap_or(true) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "first flush never ran"
            );
            tokio::task::yield_now().await;
        }
        let rest: Vec<_> = (1..=10u32)
            .map(|i| {
                let commit = commit.clone();
                tokio::spawn(async move { commit.call(i).await })
            })
            .collect();
        // Every other request is queued before the flusher is released.
        while commit.lanes[0].capacity() > commit.lanes[0].max_capacity() - 10 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "requests never queued"
            );
            tokio::task::yield_now().await;
        }
        release.notify_one();
        assert_eq!(first.await.ok(), Some(Ok(0)));
        for (i, r) in rest.into_iter().enumerate() {
            assert_eq!(r.await.ok(), Some(Ok(i as u32 + 1)));
        }
        let batches = batches.lock().map(|b| b.clone()).unwrap_or_default();
        assert_eq!(batches, vec![vec![0], (1..=10).collect::<Vec<_>>()]);
    }

    #[tokio::test]
    async fn batches_are_bounded_and_flushers_run_at_once() {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let largest = Arc::new(AtomicUsize::new(0));
        let handler = {
            let (running, most, largest) = (running.clone(), most.clone(), largest.clone());
            move |xs: Vec<u32>| {
                let (running, most, largest) = (running.clone(), most.clone(), largest.clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    largest.fetch_max(xs.len(), Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    xs
                }
            }
        };
        let commit = GroupCommit::spawn(3, 8, handler);
        let calls: Vec<_> = (0..200u32)
            .map(|i| {
                let commit = commit.clone();
                tokio::spawn(async move { commit.call(i).await })
            })
            .collect();
        for (i, call) in calls.into_iter().enumerate() {
            assert_eq!(call.await.ok(), Some(Ok(i as u32)));
        }
        assert!(largest.load(Ordering::SeqCst) <= 8);
        assert!(most.load(Ordering::SeqCst) <= 3);
        assert!(
            most.load(Ordering::SeqCst) >= 2,
            "flushers never overlapped"
        );
    }

    #[tokio::test]
    async fn a_key_stays_in_its_lane_and_lanes_run_at_once() {
        // Per key, how many batches holding it run right now, and the most.
        let running: Arc<std::sync::Mutex<HashMap<u64, usize>>> = Arc::default();
        let overlap = Arc::new(AtomicUsize::new(0));
        let lanes_at_once = Arc::new(AtomicUsize::new(0));
        let busy = Arc::new(AtomicUsize::new(0));
        let handler = {
            let (running, overlap, lanes_at_once, busy) = (
                running.clone(),
                overlap.clone(),
                lanes_at_once.clone(),
                busy.clone(),
            );
            move |keys: Vec<u64>| {
                let (running, overlap, lanes_at_once, busy) = (
                    running.clone(),
                    overlap.clone(),
                    lanes_at_once.clone(),
                    busy.clone(),
                );
                async move {
                    let mut distinct = keys.clone();
                    distinct.sort_unstable();
                    distinct.dedup();
                    if let Ok(mut r) = running.lock() {
                        for k in &distinct {
                            let n = r.entry(*k).or_default();
                            *n += 1;
                            overlap.fetch_max(*n, Ordering::SeqCst);
                        }
                    }
                    lanes_at_once
                        .fetch_max(busy.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
                    busy.fetch_sub(1, Ordering::SeqCst);
                    if let Ok(mut r) = running.lock() {
                        for k in &distinct {
                            *r.entry(*k).or_default() -= 1;
                        }
                    }
                    keys
                }
            }
        };
        let commit = GroupCommit::spawn_lanes(4, 8, handler);
        let calls: Vec<_> = (0..400u64)
            .map(|i| {
                let commit = commit.clone();
                let key = i % 13;
                tokio::spawn(async move { commit.call_in(key, key).await })
            })
            .collect();
        for (i, call) in calls.into_iter().enumerate() {
            assert_eq!(call.await.ok(), Some(Ok(i as u64 % 13)));
        }
        assert_eq!(
            overlap.load(Ordering::SeqCst),
            1,
            "a key was in two batches at once"
        );
        assert!(
            lanes_at_once.load(Ordering::SeqCst) >= 2,
            "lanes never overlapped"
        );
    }
}
