//! What a run measured: counters, errors by kind, and latency quantiles
//! (nearest rank over every sample, kept in a Vec: a run holds at most a few
//! hundred thousand samples, so exact quantiles cost a sort and no crate).

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// Quantiles of one latency, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Quantiles {
    pub count: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// At most `points` samples of a sorted latency series, evenly spaced in
/// rank, in milliseconds: the CDF the plot draws.
pub fn cdf_points(sorted: &[Duration], points: usize) -> Vec<f64> {
    let n = sorted.len();
    let m = points.min(n);
    (1..=m)
        .map(|k| sorted[(k * n).div_ceil(m) - 1].as_secs_f64() * 1e3)
        .collect()
}

impl Quantiles {
    pub fn of(samples: &mut [Duration]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            // Nearest rank: the smallest sample with at least q of them at or below it.
            let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            samples[rank - 1].as_secs_f64() * 1e3
        };
        Self {
            count: samples.len(),
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `open rate=200/s` or `closed clients=64`.
    pub mode: String,
    pub mix: String,
    pub tenants: usize,
    /// The generation window asked for.
    pub duration_s: f64,
    /// Submits sent.
    pub submitted: u64,
    /// Submits answered 202.
    pub accepted: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// Accepted jobs not seen terminal before the drain deadline.
    pub unfinished: u64,
    /// Submit and follow errors by kind (`submit http 429 queued_jobs`, `follow transport timeout`).
    pub errors: BTreeMap<String, u64>,
    /// 202 answered, from the request being sent.
    pub submit_ms: Quantiles,
    /// Terminal state seen by the long-poll, from the submit being sent.
    pub end_to_end_ms: Quantiles,
    /// Accepted submits per second of the generation window.
    pub accepted_per_s: f64,
    /// Jobs seen terminal per second, from the first submit to the last terminal.
    pub completed_per_s: f64,
    /// Wall time from the first submit to the last terminal.
    pub elapsed_s: f64,
    /// Submit latency CDF, up to 200 points (ms, ascending).
    pub submit_cdf_ms: Vec<f64>,
    /// Submit → terminal CDF, up to 200 points (ms, ascending).
    pub end_to_end_cdf_ms: Vec<f64>,
    /// `--compare`: this machine's ceilings, measured in the same run.
    pub ceilings: Option<crate::compare::Ceilings>,
}

impl Report {
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let q = |q: &Quantiles| {
            format!(
                "p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms  (n={})",
                q.p50, q.p95, q.p99, q.max, q.count
            )
        };
        let _ = writeln!(
            out,
            "mode {}  mix {}  tenants {}  window {:.1} s",
            self.mode, self.mix, self.tenants, self.duration_s
        );
        let _ = writeln!(
            out,
            "submitted {}  accepted {}  succeeded {}  failed {}  cancelled {}  unfinished {}",
            self.submitted,
            self.accepted,
            self.succeeded,
            self.failed,
            self.cancelled,
            self.unfinished
        );
        let _ = writeln!(out, "submit latency       {}", q(&self.submit_ms));
        let _ = writeln!(out, "submit -> terminal   {}", q(&self.end_to_end_ms));
        let _ = writeln!(
            out,
            "throughput: accepted {:.0} jobs/s, completed {:.0} jobs/s over {:.2} s",
            self.accepted_per_s, self.completed_per_s, self.elapsed_s
        );
        if let Some(c) = &self.ceilings {
            let _ = writeln!(
                out,
                "ceilings (same run): broker round trip {:.0} msg/s, PostgreSQL lifecycle {:.0} jobs/s; completed = {:.2} and {:.2} of them",
                c.broker_round_trip_per_s,
                c.postgres_lifecycle_per_s,
                self.completed_per_s / c.broker_round_trip_per_s.max(1e-9),
                self.completed_per_s / c.postgres_lifecycle_per_s.max(1e-9),
            );
        }
        match self.errors.is_empty() {
            true => {
                let _ = writeln!(out, "errors: none");
            }
            false => {
                let _ = writeln!(out, "errors: {}", self.error_count());
                for (kind, n) in &self.errors {
                    let _ = writeln!(out, "  {kind}: {n}");
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let mut samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        samples.reverse();
        let q = Quantiles::of(&mut samples);
        assert_eq!(
            (q.count, q.p50, q.p95, q.p99, q.max),
            (100, 50.0, 95.0, 99.0, 100.0)
        );
    }

    #[test]
    fn cdf_points_keep_the_ends_and_thin_the_middle() {
        let samples: Vec<Duration> = (1..=1000).map(Duration::from_millis).collect();
        let points = cdf_points(&samples, 200);
        assert_eq!(points.len(), 200);
        assert_eq!((points[0], points[199]), (5.0, 1000.0));
        assert!(points.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(cdf_points(&samples[..3], 200), vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn one_sample_is_every_quantile_and_none_is_zero() {
        let q = Quantiles::of(&mut [Duration::from_micros(1500)]);
        assert_eq!((q.p50, q.max), (1.5, 1.5));
        assert_eq!(Quantiles::of(&mut []), Quantiles::default());
    }
}
