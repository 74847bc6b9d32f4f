//! The compute pool: how many jobs compute at once (issue 22). Fixed at
//! `worker.concurrency` by default; with `worker.concurrency_max` set it
//! grows and shrinks between `worker.concurrency_min` and that, as Celery's
//! `--autoscale MAX,MIN` does:
//!
//! - it **grows** by one slot when a claimed job is waiting for a slot and
//!   the host has idle CPU, at least `worker.pool_min_idle_cores` (half a
//!   core) over the last interval (`/proc/stat`): more slots on busy cores
//!   would only slice them thinner;
//! - it **shrinks** by one slot when slots have stood unused for
//!   `worker.pool_idle_secs`, taking a free permit (a computing job is
//!   never disturbed);
//!
//! every `worker.pool_adjust_ms`. Each change is logged with its reason and
//! counted (`catalytic_worker_pool_resizes_total{direction}`); the size is
//! `catalytic_worker_pool_slots`. The consumer's prefetch follows the size
//! (`prefetch.rs` sizes it per slot; the consumer re-reads it every second).

use catalytic_shared::metrics as m;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// The compute slots and their bounds.
#[derive(Debug)]
pub struct Pool {
    slots: Arc<Semaphore>,
    size: AtomicUsize,
    min: usize,
    max: usize,
    /// Claimed jobs waiting for a slot now.
    waiting: AtomicUsize,
}

impl Pool {
    /// A pool of `min` slots that may grow to `max` (equal: fixed).
    pub fn new(min: usize, max: usize) -> Self {
        let min = min.max(1);
        Self {
            slots: Arc::new(Semaphore::new(min)),
            size: AtomicUsize::new(min),
            min,
            max: max.max(min),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Slots now.
    pub fn size(&self) -> usize {
        self.size.load(Ordering::Relaxed)
    }

    pub fn elastic(&self) -> bool {
        self.max > self.min
    }

    /// A slot to compute in, counted as waiting until it is had; None when
    /// `cancel` fires first.
    pub async fn acquire(&self, cancel: &CancellationToken) -> Option<OwnedSemaphorePermit> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let slot = tokio::select! {
            slot = self.slots.clone().acquire_owned() => slot.ok(),
            () = cancel.cancelled() => None,
        };
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        slot
    }

    /// Slots free now.
    fn free(&self) -> usize {
        self.slots.available_permits()
    }

    fn grow(&self) {
        self.slots.add_permits(1);
        self.size.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes one free slot away; false when none is free.
    fn shrink(&self) -> bool {
        match self.slots.try_acquire() {
            Ok(permit) => {
                permit.forget();
                self.size.fetch_sub(1, Ordering::Relaxed);
                true
            }
            Err(_) => false,
        }
    }
}

/// What the pool should do, from one interval's look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Grow,
    Shrink,
    Stay,
}

/// One look: `waiting` jobs for a slot, `free` slots now, `idle_cores`
/// of the host idle over the interval (None: unknown), how many looks in a
/// row slots stood free (`looks`: so far, needed to shrink), and the idle
/// cores growing needs (0: none).
pub fn decide(
    pool: (usize, usize, usize),
    waiting: usize,
    free: usize,
    idle_cores: Option<f64>,
    looks: (u32, u32),
    min_idle_cores: f64,
) -> Decision {
    let (size, min, max) = pool;
    let (spare_looks, idle_looks) = looks;
    let idle_enough =
        min_idle_cores <= 0.0 || idle_cores.is_some_and(|idle| idle >= min_idle_cores);
    if waiting > 0 && size < max && idle_enough {
        return Decision::Grow;
    }
    if waiting == 0 && free > 0 && size > min && spare_looks >= idle_looks {
        return Decision::Shrink;
    }
    Decision::Stay
}

/// Host CPU time from `/proc/stat`: (idle, total) jiffies, all cores.
fn cpu_times() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
    Some((idle, fields.iter().take(8).sum()))
}

/// When and how the pool changes (`worker.pool_*`).
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// How often it is looked at.
    pub every: Duration,
    /// How long slots stand unused before one goes.
    pub idle_for: Duration,
    /// Idle host CPU (in cores) a slot is added on; 0: whenever a job waits.
    pub min_idle_cores: f64,
}

/// Adjusts `pool` as `tuning` says until `shutdown`. Does nothing for a
/// fixed pool.
pub async fn adjust(pool: Arc<Pool>, tuning: Tuning, shutdown: CancellationToken) {
    let Tuning {
        every,
        idle_for,
        min_idle_cores,
    } = tuning;
    if !pool.elastic() {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let idle_looks = (idle_for.as_secs_f64() / every.as_secs_f64().max(1e-3)).ceil() as u32;
    metrics::gauge!(m::WORKER_POOL_SLOTS).set(pool.size() as f64);
    let mut tick = tokio::time::interval(every);
    let mut last = cpu_times();
    let mut spare_looks = 0u32;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = cpu_times();
        let idle_cores = match (last, now) {
            (Some((i0, t0)), Some((i1, t1))) if t1 > t0 => {
                Some((i1.saturating_sub(i0)) as f64 / (t1 - t0) as f64 * cores)
            }
            _ => None,
        };
        last = now;
        let (waiting, free) = (pool.waiting.load(Ordering::Relaxed), pool.free());
        spare_looks = if free > 0 && waiting == 0 {
            spare_looks + 1
        } else {
            0
        };
        let decision = decide(
            (pool.size(), pool.min, pool.max),
            waiting,
            free,
            idle_cores,
            (spare_looks, idle_looks),
            min_idle_cores,
        );
        let changed = match decision {
            Decision::Grow => {
                pool.grow();
                true
            }
            Decision::Shrink => pool.shrink(),
            Decision::Stay => false,
        };
        if changed {
            let direction = match decision {
                Decision::Grow => "grow",
                _ => "shrink",
            };
            spare_looks = 0;
            metrics::counter!(m::WORKER_POOL_RESIZES, "direction" => direction).increment(1);
            metrics::gauge!(m::WORKER_POOL_SLOTS).set(pool.size() as f64);
            tracing::info!(
                direction,
                slots = pool.size(),
                waiting,
                free,
                idle_cores = idle_cores.unwrap_or(-1.0),
                "compute pool resized"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_grows_for_waiting_work_on_idle_cores_and_shrinks_after_idle_looks() {
        let bounds = (2, 1, 4);
        let look =
            |waiting, free, idle, spare| decide(bounds, waiting, free, idle, (spare, 30), 0.5);
        assert_eq!(look(3, 0, Some(1.2), 0), Decision::Grow);
        assert_eq!(look(3, 0, Some(0.1), 0), Decision::Stay, "cores busy");
        assert_eq!(look(3, 0, None, 0), Decision::Stay, "CPU unknown");
        assert_eq!(
            decide(bounds, 3, 0, Some(0.1), (0, 30), 0.0),
            Decision::Grow,
            "no idle CPU asked for"
        );
        assert_eq!(
            decide((4, 1, 4), 3, 0, Some(2.0), (0, 30), 0.5),
            Decision::Stay,
            "at max"
        );
        assert_eq!(look(0, 1, Some(2.0), 29), Decision::Stay, "not idle long");
        assert_eq!(look(0, 1, Some(2.0), 30), Decision::Shrink);
        assert_eq!(
            decide((1, 1, 4), 0, 1, Some(2.0), (99, 30), 0.5),
            Decision::Stay,
            "at min"
        );
    }

    #[tokio::test]
    async fn slots_are_added_and_only_free_ones_taken_away() {
        let pool = Pool::new(1, 3);
        let cancel = CancellationToken::new();
        let busy = pool.acquire(&cancel).await;
        assert!(busy.is_some());
        assert!(!pool.shrink(), "the one slot is computing");
        pool.grow();
        assert_eq!((pool.size(), pool.free()), (2, 1));
        assert!(pool.shrink());
        assert_eq!((pool.size(), pool.free()), (1, 0));
        drop(busy);
        assert_eq!(pool.free(), 1);
        assert!(
            cpu_times().is_some_and(|(idle, total)| idle <= total),
            "Linux"
        );
    }
}
