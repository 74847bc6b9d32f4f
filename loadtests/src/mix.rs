//! Job sizes and the mix. A mix is a weighted list; job `i` takes the
//! size at `i` modulo the expanded list, so a run is reproducible.

use serde_json::{Value, json};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    /// 1-D size 2 shortest path: the pipeline's cost, no compute.
    Trivial,
    /// 2-D 100² (10⁴ vertices) shortest path corner to corner.
    Small,
    /// 3-D 100³ (10⁶ vertices) shortest path corner to corner.
    Medium,
}

impl Size {
    pub fn body(self) -> Value {
        let (dimensions, size, end) = match self {
            Size::Trivial => (1, 2, vec![1]),
            Size::Small => (2, 100, vec![99, 99]),
            Size::Medium => (3, 100, vec![99, 99, 99]),
        };
        json!({
            "lattice": {"dimensions": dimensions, "size": size},
            "operation": "shortest_path",
            "params": {"start": vec![0; end.len()], "end": end},
        })
    }
}

impl FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "trivial" => Ok(Size::Trivial),
            "small" => Ok(Size::Small),
            "medium" => Ok(Size::Medium),
            _ => Err(format!("unknown size {s:?}: one of trivial, small, medium")),
        }
    }
}

/// `trivial`, or `trivial=8,small=1,medium=1` (weights 1–1000).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    spec: String,
    schedule: Vec<Size>,
}

impl Mix {
    /// The size of job number `i`.
    pub fn pick(&self, i: u64) -> Size {
        let len = self.schedule.len() as u64;
        // `schedule` is never empty (checked in `from_str`).
        self.schedule[(i % len.max(1)) as usize]
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spec)
    }
}

impl FromStr for Mix {
    type Err = String;
    fn from_str(spec: &str) -> Result<Self, String> {
        let mut weights: Vec<(Size, i64)> = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = match part.split_once('=') {
                Some((name, weight)) => (
                    name,
                    weight
                        .parse::<i64>()
                        .ok()
                        .filter(|w| (1..=1000).contains(w))
                        .ok_or_else(|| format!("weight of {name:?} must be 1-1000"))?,
                ),
                None => (part, 1),
            };
            weights.push((name.parse()?, weight));
        }
        let total: i64 = weights.iter().map(|(_, w)| w).sum();
        if total == 0 {
            return Err("the mix is empty".to_owned());
        }
        // Smooth weighted round robin, so a short run still sees every size
        // spread out instead of each size in a block.
        let mut current = vec![0i64; weights.len()];
        let mut schedule = Vec::new();
        for _ in 0..total {
            for (c, (_, w)) in current.iter_mut().zip(&weights) {
                *c += w;
            }
            let best = (0..weights.len())
                .max_by_key(|&i| (current[i], std::cmp::Reverse(i)))
                .unwrap_or(0);
            current[best] -= total;
            schedule.push(weights[best].0);
        }
        Ok(Self {
            spec: spec.to_owned(),
            schedule,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_weighted_mix_keeps_its_proportions() -> Result<(), String> {
        let mix: Mix = "trivial=8,small=1,medium=1".parse()?;
        let picks: Vec<Size> = (0..1000).map(|i| mix.pick(i)).collect();
        let count = |s| picks.iter().filter(|p| **p == s).count();
        assert_eq!(count(Size::Trivial), 800);
        assert_eq!(count(Size::Small), 100);
        assert_eq!(count(Size::Medium), 100);
        // The first ten jobs already hold every size.
        assert!(picks[..10].contains(&Size::Medium) && picks[..10].contains(&Size::Small));
        Ok(())
    }

    #[test]
    fn bad_mixes_are_refused_with_a_reason() {
        for bad in ["", "huge", "trivial=0", "trivial=x", "small=1001"] {
            assert!(bad.parse::<Mix>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bodies_run_corner_to_corner() {
        let body = Size::Medium.body();
        assert_eq!(body["params"]["end"], json!([99, 99, 99]));
        assert_eq!(body["params"]["start"], json!([0, 0, 0]));
        assert_eq!(Size::Trivial.body()["lattice"]["size"], 2);
    }
}
