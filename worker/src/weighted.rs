//! Weighted choice among the class queues: when a compute slot frees, the
//! next delivery comes from the classes in `WEIGHTED_ORDER` (gpu and high
//! three times, standard twice, low once per cycle), skipping classes with
//! nothing ready. A class with a backlog gets its share; none can starve another,
//! because every class appears in the cycle and an idle worker takes
//! whatever arrives first.

use catalytic_shared::tenant::QueueClass;
use futures::{FutureExt, Stream, StreamExt};

/// One cycle of the schedule.
pub const WEIGHTED_ORDER: [QueueClass; 9] = [
    QueueClass::Gpu,
    QueueClass::High,
    QueueClass::Standard,
    QueueClass::Gpu,
    QueueClass::High,
    QueueClass::Low,
    QueueClass::Gpu,
    QueueClass::High,
    QueueClass::Standard,
];

/// The class streams and where the schedule stands.
pub struct Weighted<S> {
    streams: Vec<(QueueClass, S)>,
    cursor: usize,
}

impl<S: Stream + Unpin> Weighted<S> {
    pub fn new(streams: Vec<(QueueClass, S)>) -> Self {
        Self { streams, cursor: 0 }
    }

    /// The streams, for a caller that drains them to their ends.
    pub fn into_streams(self) -> Vec<S> {
        self.streams.into_iter().map(|(_, s)| s).collect()
    }

    /// The next item by weight; `None` when a stream has ended (the
    /// channel closed: the caller reconnects).
    pub async fn next(&mut self) -> Option<(QueueClass, S::Item)> {
        for step in 0..WEIGHTED_ORDER.len() {
            let class = WEIGHTED_ORDER[(self.cursor + step) % WEIGHTED_ORDER.len()];
            let Some((_, stream)) = self.streams.iter_mut().find(|(c, _)| *c == class) else {
                continue;
            };
            // Polling `next()` once and dropping it loses nothing: a stream's
            // `next` future holds no item until it completes.
            if let Some(ready) = stream.next().now_or_never() {
                self.cursor = (self.cursor + step + 1) % WEIGHTED_ORDER.len();
                return ready.map(|item| (class, item));
            }
        }
        // Nothing ready: wait for whichever class delivers first.
        let waits = self.streams.iter_mut().map(|(class, s)| {
            let class = *class;
            s.next().map(move |item| item.map(|i| (class, i)))
        });
        let (first, _, _) = futures::future::select_all(waits).await;
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn backlogged_classes_share_slots_by_weight() {
        let backlog = |n: usize| futures::stream::iter(vec![0u8; n]);
        let mut weighted = Weighted::new(vec![
            (QueueClass::Low, backlog(100)),
            (QueueClass::Standard, backlog(100)),
            (QueueClass::High, backlog(100)),
        ]);
        let mut taken = Vec::new();
        for _ in 0..60 {
            if let Some((class, _)) = weighted.next().await {
                taken.push(class);
            }
        }
        let count = |c: QueueClass| taken.iter().filter(|t| **t == c).count();
        assert_eq!(
            (
                count(QueueClass::High),
                count(QueueClass::Standard),
                count(QueueClass::Low)
            ),
            (30, 20, 10)
        );
    }

    #[tokio::test]
    async fn a_gpu_worker_serves_the_gpu_class_as_often_as_high() {
        let backlog = |n: usize| futures::stream::iter(vec![0u8; n]);
        let mut weighted = Weighted::new(
            QueueClass::ALL
                .into_iter()
                .map(|class| (class, backlog(100)))
                .collect(),
        );
        let mut taken = Vec::new();
        for _ in 0..90 {
            if let Some((class, _)) = weighted.next().await {
                taken.push(class);
            }
        }
        let count = |c: QueueClass| taken.iter().filter(|t| **t == c).count();
        assert_eq!(
            QueueClass::ALL.map(count),
            // low, standard, high, gpu
            [10, 20, 30, 30]
        );
    }

    #[tokio::test]
    async fn an_idle_class_gives_its_turns_away_and_none_starves() {
        let mut weighted = Weighted::new(vec![
            (QueueClass::Low, futures::stream::iter(vec![1u8; 3])),
            (QueueClass::High, futures::stream::iter(vec![2u8; 100])),
        ]);
        let mut taken = Vec::new();
        for _ in 0..12 {
            if let Some((class, _)) = weighted.next().await {
                taken.push(class);
            }
        }
        // With standard idle, low gets 1 slot in 4: all 3 within 12.
        assert_eq!(taken.iter().filter(|c| **c == QueueClass::Low).count(), 3);
    }
}
