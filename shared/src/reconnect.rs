//! The one retry policy for reconnecting to a server and re-trying a write
//! (issue 19): exponential from a first delay to a cap, with jitter, on
//! backon. Jitter matters for a fleet: after a broker or database restart
//! every worker and api replica reconnects at once, and without it they
//! would keep arriving in lockstep.
//!
//! A loop that recovers (a listener that connected again) calls
//! [`Backoff::reset`], so the next outage starts from the first delay
//! again instead of from wherever the last one ended.

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct Backoff {
    builder: ExponentialBuilder,
    delays: ExponentialBackoff,
    cap: Duration,
}

impl Backoff {
    /// Delays `first`, `2 × first`, … up to `cap`, each plus a random
    /// jitter of up to itself (so a delay lies in `[d, 2d)`), forever.
    pub fn new(first: Duration, cap: Duration) -> Self {
        let builder = ExponentialBuilder::default()
            .with_min_delay(first)
            .with_max_delay(cap)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times();
        Backoff {
            delays: builder.build(),
            builder,
            cap,
        }
    }

    /// The delay before the next try.
    pub fn next_delay(&mut self) -> Duration {
        // Without max times or a total delay the iterator never ends; the
        // cap is the answer all the same if it ever did.
        self.delays.next().unwrap_or(self.cap)
    }

    /// Back to the first delay: the connection or the write worked.
    pub fn reset(&mut self) {
        self.delays = self.builder.build();
    }

    /// Sleeps `delay` unless `shutdown` fires first; false when it did.
    pub async fn sleep(delay: Duration, shutdown: &CancellationToken) -> bool {
        tokio::select! {
            () = shutdown.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_to_the_cap_with_jitter_and_reset_to_the_first() {
        let first = Duration::from_millis(100);
        let cap = Duration::from_millis(800);
        let mut backoff = Backoff::new(first, cap);
        let delays: Vec<Duration> = (0..8).map(|_| backoff.next_delay()).collect();
        let bases = [100, 200, 400, 800, 800, 800, 800, 800].map(Duration::from_millis);
        for (delay, base) in delays.iter().zip(bases) {
            assert!(*delay >= base && *delay < base * 2, "{delays:?}");
        }
        // Jittered: eight delays drawn at random are not all their base.
        assert!(delays.iter().zip(bases).any(|(d, b)| *d != b), "{delays:?}");
        backoff.reset();
        let again = backoff.next_delay();
        assert!(again >= first && again < first * 2, "{again:?}");
    }

    #[tokio::test]
    async fn sleep_ends_early_on_shutdown() {
        let shutdown = CancellationToken::new();
        shutdown.cancel();
        assert!(!Backoff::sleep(Duration::from_secs(3600), &shutdown).await);
        assert!(Backoff::sleep(Duration::ZERO, &CancellationToken::new()).await);
    }
}
