//! When to try a failed delivery again (docs/adr/0005-scheduler.md): 5 s, 5 min, 30 min,
//! 2 h, 5 h, 10 h, 10 h after the first attempt's failure and each later
//! one, ±20 % jitter, times `webhooks.schedule_scale` (tests compress it).
//! A `Retry-After` is honoured but clamped to [the scheduled delay, 2 × it]:
//! a receiver can slow us down, not stall a delivery or speed it up.

use rand::RngExt;
use std::time::Duration;

const DELAYS_SECS: [u64; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];
const JITTER: f64 = 0.2;

#[derive(Debug, Clone)]
pub struct Schedule {
    delays: Vec<Duration>,
}

impl Schedule {
    pub fn new(scale: f64) -> Self {
        Self {
            delays: DELAYS_SECS
                .iter()
                .map(|&s| Duration::from_secs_f64(s as f64 * scale))
                .collect(),
        }
    }

    /// Attempts a delivery gets at most: the first and one per delay.
    pub fn max_attempts(&self) -> i32 {
        self.delays.len() as i32 + 1
    }

    /// The delay after attempt `attempt` (1-based) failed, or None when it
    /// was the last.
    pub fn next_delay(&self, attempt: i32, retry_after: Option<Duration>) -> Option<Duration> {
        let base = *self.delays.get(usize::try_from(attempt - 1).ok()?)?;
        let factor = 1.0 + rand::rng().random_range(-JITTER..=JITTER);
        let delay = base.mul_f64(factor);
        Some(match retry_after {
            Some(wanted) => wanted.clamp(delay, delay * 2),
            None => delay,
        })
    }
}

/// `Retry-After` in seconds (the HTTP-date form is ignored).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_follow_the_schedule_within_the_jitter() {
        let schedule = Schedule::new(1.0);
        for (attempt, secs) in (1..).zip(DELAYS_SECS) {
            let delay = schedule.next_delay(attempt, None).map(|d| d.as_secs_f64());
            let secs = secs as f64;
            assert!(
                delay.is_some_and(|d| d >= secs * 0.8 && d <= secs * 1.2),
                "attempt {attempt}: {delay:?}"
            );
        }
        assert_eq!(schedule.next_delay(8, None), None);
        assert_eq!(schedule.next_delay(0, None), None);
        assert_eq!(schedule.max_attempts(), 8);
    }

    #[test]
    fn retry_after_is_clamped_to_one_to_two_delays() {
        let schedule = Schedule::new(1.0);
        let short = schedule.next_delay(1, Some(Duration::from_secs(1)));
        assert!(short.is_some_and(|d| d >= Duration::from_secs(4)));
        let long = schedule.next_delay(1, Some(Duration::from_secs(3_600)));
        assert!(long.is_some_and(|d| d <= Duration::from_secs(12)));
        let inside = schedule.next_delay(2, Some(Duration::from_secs(400)));
        assert_eq!(inside, Some(Duration::from_secs(400)));
    }

    #[test]
    fn scale_compresses_the_schedule() {
        let delay = Schedule::new(0.001).next_delay(2, None);
        assert!(delay.is_some_and(|d| d <= Duration::from_millis(360)));
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
