//! How many workers the backlog calls for (docs/adr/0005-scheduler.md): a pure function, and
//! a scale-down stabiliser so a brief lull does not shed workers that the
//! next burst needs (the HPA's behaviour: scale up at once, down only to
//! the highest recommendation of the stabilisation window).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Backlog one worker is expected to carry.
    pub target_per_worker: u64,
    pub min_workers: u32,
    pub max_workers: u32,
    pub scale_down_window: Duration,
}

/// clamp(ceil(backlog / target), min, max).
pub fn desired(backlog: u64, policy: &Policy) -> u32 {
    let target = policy.target_per_worker.max(1);
    let raw = backlog.div_ceil(target);
    let raw = u32::try_from(raw).unwrap_or(u32::MAX);
    raw.clamp(
        policy.min_workers,
        policy.max_workers.max(policy.min_workers),
    )
}

/// Remembers recent recommendations; answers the highest of the window.
#[derive(Debug, Default)]
pub struct Stabiliser {
    recent: VecDeque<(Instant, u32)>,
}

impl Stabiliser {
    pub fn recommend(&mut self, now: Instant, raw: u32, window: Duration) -> u32 {
        self.recent.push_back((now, raw));
        while let Some((at, _)) = self.recent.front() {
            if now.duration_since(*at) > window {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        self.recent.iter().map(|(_, r)| *r).max().unwrap_or(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        target_per_worker: 10,
        min_workers: 1,
        max_workers: 20,
        scale_down_window: Duration::from_secs(300),
    };

    #[test]
    fn desired_is_the_clamped_ceiling() {
        assert_eq!(desired(0, &POLICY), 1, "never below min");
        assert_eq!(desired(10, &POLICY), 1);
        assert_eq!(desired(11, &POLICY), 2);
        assert_eq!(desired(95, &POLICY), 10);
        assert_eq!(desired(1_000_000, &POLICY), 20, "never above max");
    }

    #[test]
    fn scale_up_is_immediate_and_scale_down_waits_for_the_window() {
        let mut s = Stabiliser::default();
        let t0 = Instant::now();
        let window = Duration::from_secs(60);
        assert_eq!(s.recommend(t0, 2, window), 2);
        assert_eq!(
            s.recommend(t0 + Duration::from_secs(1), 8, window),
            8,
            "up at once"
        );
        assert_eq!(
            s.recommend(t0 + Duration::from_secs(30), 1, window),
            8,
            "down waits"
        );
        assert_eq!(
            s.recommend(t0 + Duration::from_secs(62), 1, window),
            1,
            "window passed"
        );
    }
}
