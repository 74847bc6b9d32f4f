//! Retry timing: how long a re-queued job waits before its next attempt
//! (docs/adr/0001-processes.md: exponential, ±20 % jitter, base 1 s, cap 5 min), and whether
//! an attempt may be retried at all. The delay becomes the `run_at` of the
//! job's next outbox row, so it survives restarts.
//!
//! Not `backon`: its jitter adds 0–100 % (never subtracts) and its backoff is
//! an iterator that holds the attempt count itself, while ours lives in the
//! job row. A pure function of the attempt is simpler to test and to reason
//! about across processes.

use std::time::Duration;

/// The delay after the first failed attempt.
pub const BASE: Duration = Duration::from_secs(1);
/// No retry waits longer than this.
pub const CAP: Duration = Duration::from_secs(300);
/// ± this fraction of the nominal delay, so jobs that failed together (a
/// worker crash takes several) do not come back together.
pub const JITTER: f64 = 0.2;

/// The wait before the attempt after `failed_attempt` (1-based): 1 s, 2 s,
/// 4 s, … capped at 5 min, each ±20 %.
pub fn backoff(failed_attempt: i32) -> Duration {
    backoff_with(failed_attempt, rand::random::<f64>())
}

/// `backoff` with the jitter draw given: `unit` in [0, 1) maps to
/// [-20 %, +20 %). The result never exceeds `CAP`.
pub fn backoff_with(failed_attempt: i32, unit: f64) -> Duration {
    let doublings = failed_attempt.saturating_sub(1).clamp(0, 30);
    let nominal = BASE
        .saturating_mul(1u32 << doublings)
        .min(CAP)
        .as_secs_f64();
    let factor = 1.0 + JITTER * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
    Duration::from_secs_f64((nominal * factor).min(CAP.as_secs_f64()))
}

/// Whether a job that just ended `attempt` of `max_attempts` gets another.
pub fn may_retry(attempt: i32, max_attempts: i32) -> bool {
    attempt < max_attempts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_one_second() {
        assert_eq!(backoff_with(1, 0.5), Duration::from_secs(1));
        assert_eq!(backoff_with(2, 0.5), Duration::from_secs(2));
        assert_eq!(backoff_with(4, 0.5), Duration::from_secs(8));
    }

    #[test]
    fn jitter_is_plus_or_minus_twenty_percent() {
        assert_eq!(backoff_with(3, 0.0), Duration::from_secs_f64(3.2));
        assert_eq!(backoff_with(3, 1.0), Duration::from_secs_f64(4.8));
        for attempt in 1..12 {
            let d = backoff(attempt).as_secs_f64();
            let nominal = backoff_with(attempt, 0.5).as_secs_f64();
            assert!(
                d >= nominal * 0.8 - 1e-9 && d <= nominal * 1.2 + 1e-9,
                "{attempt}: {d}"
            );
        }
    }

    #[test]
    fn never_exceeds_the_cap_even_for_absurd_attempts() {
        for attempt in [10, 31, 1000, i32::MAX] {
            assert!(backoff_with(attempt, 1.0) <= CAP);
            assert!(backoff_with(attempt, 0.0) >= CAP.mul_f64(0.8) - Duration::from_millis(1));
        }
        assert_eq!(
            backoff_with(0, 0.5),
            BASE,
            "attempt 0 is treated as the first"
        );
        assert_eq!(backoff_with(-5, 0.5), BASE);
    }

    #[test]
    fn retries_while_attempts_remain() {
        assert!(may_retry(1, 3));
        assert!(may_retry(2, 3));
        assert!(!may_retry(3, 3));
        assert!(!may_retry(4, 3));
    }
}
