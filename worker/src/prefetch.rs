//! The prefetch a worker asks the broker for, chosen from how long its jobs
//! compute (issue 17).
//!
//! A delivery the broker hands this worker waits behind the compute slots,
//! out of reach of every other worker, so the prefetch is the work a worker
//! may hoard. For heavy jobs it must stay small (`amqp.prefetch`, the
//! floor): another worker could have started them. For trivial jobs a small
//! prefetch is what caps the fleet: each delivery's claim, outcome and ack
//! are round trips, and with 4 in flight the worker's batches hold one job
//! each (the closed loop did 221 jobs/s at prefetch 4 and ~600 at 64 in
//! one sitting, docs/benchmarks.md).
//!
//! So the worker sizes it by Little's law: a delivery may wait behind at
//! most `worker.prefetch_wait_ms` of compute per slot, i.e. a prefetch of
//! concurrency × wait ÷ (a job's compute time), rounded down to a power of
//! two and kept between the floor and `worker.prefetch_max`. The estimate
//! of a job's compute time is a moving average (each job moves it 1/16 of
//! the way): scheduling noise on a busy host (a trivial compute that took
//! 5 ms once) barely moves it, while one heavy job is far enough above it
//! to bring the prefetch to the floor on its first completion (a 1 s job
//! after trivial ones: 62 ms). A first version that jumped to every slower
//! sample held the closed loop at prefetch 8–16 on noise alone.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The running estimate of one job's compute time, shared by the executor
/// (which records each compute) and the consumer (which reads it).
#[derive(Debug, Default)]
pub struct ComputeTimes {
    /// Microseconds; 0 until the first compute.
    micros: AtomicU64,
}

/// The estimate closes 1/SMOOTHING of its gap to each sample.
const SMOOTHING: u64 = 16;

impl ComputeTimes {
    /// Records one compute: the estimate moves 1/16 of the way to it (the
    /// first one sets it).
    pub fn record(&self, elapsed: Duration) {
        let sample = u64::try_from(elapsed.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        // fetch_update retries on a concurrent record; the closure never
        // refuses, so the result is always Ok.
        let _ = self
            .micros
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |current| {
                Some(match current {
                    0 => sample,
                    c if sample >= c => c + (sample - c).div_ceil(SMOOTHING),
                    c => c - (c - sample).div_ceil(SMOOTHING),
                })
            });
    }

    /// The estimate, or None before the first compute.
    pub fn estimate(&self) -> Option<Duration> {
        match self.micros.load(Ordering::Relaxed) {
            0 => None,
            us => Some(Duration::from_micros(us)),
        }
    }
}

/// The bounds and budget of the adaptive prefetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefetchPolicy {
    /// `amqp.prefetch`: what a worker starts with, and never goes below.
    pub floor: u16,
    /// `worker.prefetch_max`; equal to the floor turns adapting off.
    pub max: u16,
    /// `worker.prefetch_wait_ms`: compute a delivery may wait behind, per slot.
    pub wait: Duration,
    /// Compute slots.
    pub concurrency: usize,
}

impl PrefetchPolicy {
    /// The prefetch for a job compute time of `estimate` (None: no job
    /// computed yet, the floor).
    pub fn target(&self, estimate: Option<Duration>) -> u16 {
        let Some(estimate) = estimate else {
            return self.floor;
        };
        let per_job = estimate.as_secs_f64().max(1e-6);
        let raw = self.concurrency as f64 * self.wait.as_secs_f64() / per_job;
        // Largest power of two not above `raw` (at least 1), so the
        // prefetch changes in doublings and a steady load does not flap.
        let mut pow = 1u32;
        while f64::from(pow) * 2.0 <= raw && pow < u32::from(u16::MAX) {
            pow *= 2;
        }
        let pow = u16::try_from(pow).unwrap_or(u16::MAX);
        pow.clamp(self.floor, self.max.max(self.floor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PrefetchPolicy {
        PrefetchPolicy {
            floor: 4,
            max: 64,
            wait: Duration::from_millis(20),
            concurrency: 2,
        }
    }

    #[test]
    fn trivial_jobs_get_the_ceiling_heavy_ones_the_floor() {
        let p = policy();
        assert_eq!(p.target(None), 4, "nothing computed yet");
        assert_eq!(p.target(Some(Duration::from_micros(50))), 64);
        // 2 slots × 20 ms ÷ 2 ms = 20 → 16.
        assert_eq!(p.target(Some(Duration::from_millis(2))), 16);
        assert_eq!(p.target(Some(Duration::from_millis(10))), 4);
        assert_eq!(p.target(Some(Duration::from_secs(3))), 4);
    }

    #[test]
    fn a_ceiling_at_the_floor_turns_adapting_off() {
        let p = PrefetchPolicy { max: 4, ..policy() };
        assert_eq!(p.target(Some(Duration::from_micros(1))), 4);
        let p = PrefetchPolicy { max: 2, ..policy() };
        assert_eq!(p.target(Some(Duration::from_micros(1))), 4);
    }

    #[test]
    fn one_heavy_job_brings_the_floor_and_noise_does_not() {
        let p = policy();
        let times = ComputeTimes::default();
        assert_eq!(times.estimate(), None);
        for _ in 0..10 {
            times.record(Duration::from_micros(100));
        }
        assert_eq!(times.estimate(), Some(Duration::from_micros(100)));
        assert_eq!(p.target(times.estimate()), 64);
        // A trivial compute preempted for 5 ms: still the ceiling.
        times.record(Duration::from_millis(5));
        assert_eq!(p.target(times.estimate()), 64, "{:?}", times.estimate());
        // One 1 s job: the floor at once.
        times.record(Duration::from_secs(1));
        assert!(times.estimate() > Some(Duration::from_millis(60)));
        assert_eq!(p.target(times.estimate()), 4, "one heavy job: the floor");
        // Fast jobs bring it back over a few dozen.
        for _ in 0..150 {
            times.record(Duration::from_micros(100));
        }
        assert_eq!(p.target(times.estimate()), 64, "{:?}", times.estimate());
    }
}
