//! Cooperative cancellation for long computations.
//!
//! The engine is synchronous and knows nothing of tokio, so the caller hands
//! in a [`Cancel`] (the worker wraps its per-job `CancellationToken` in a
//! closure) and the engine polls it at safe points, returning [`Cancelled`]
//! instead of a partial result. What to do about the cancellation (ack,
//! requeue, record the outcome) is left to the caller.

/// Cooperative cancellation: the engine calls `should_stop()` at least every ~2^16 vertex expansions.
///
/// Implementations should be cheap (an atomic load); it is polled from the hot loop.
pub trait Cancel {
    /// True once the computation should give up.
    fn should_stop(&self) -> bool;

    /// Progress (issue 22): `vertices` more vertices were expanded since the
    /// last call. Called at the same points as `should_stop` (every
    /// [`POLL_INTERVAL`] expansions, or once a level by the fast engine), so
    /// it costs nothing measurable; by default it is ignored. The sum is
    /// what a job's progress reports against its estimate.
    fn advanced(&self, vertices: u64) {
        let _ = vertices;
    }
}

/// The hot loops' poll: at every `POLL_INTERVAL`-th step, reports the
/// interval's expansions to `cancel` and asks whether to stop.
#[inline]
pub(crate) fn poll<C: Cancel + ?Sized>(cancel: &C, steps: u64) -> bool {
    if !steps.is_multiple_of(POLL_INTERVAL) {
        return false;
    }
    if steps > 0 {
        cancel.advanced(POLL_INTERVAL);
    }
    cancel.should_stop()
}

/// Never cancels: for tests, estimates and callers that cannot be interrupted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Never;

impl Cancel for Never {
    fn should_stop(&self) -> bool {
        false
    }
}

/// Any `Fn() -> bool` is a cancel source, e.g. `|| token.is_cancelled()`.
impl<F: Fn() -> bool> Cancel for F {
    fn should_stop(&self) -> bool {
        self()
    }
}

/// The computation stopped because its [`Cancel`] asked it to; no result was produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("computation cancelled")]
pub struct Cancelled;

/// How many vertex expansions run between two polls; a power of two so the
/// check is a mask.
pub(crate) const POLL_INTERVAL: u64 = 1 << 16;

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn never_does_not_stop() {
        assert!(!Never.should_stop());
    }

    #[test]
    fn closures_are_cancel_sources() {
        let calls = Cell::new(0u32);
        let cancel = || {
            calls.set(calls.get() + 1);
            calls.get() >= 2
        };
        let dyn_cancel: &dyn Cancel = &cancel;
        assert!(!dyn_cancel.should_stop());
        assert!(dyn_cancel.should_stop());
        assert_eq!(calls.get(), 2);
    }

    #[test]
    fn the_poll_reports_each_interval_once_and_asks_only_then() {
        struct Counting {
            advanced: Cell<u64>,
            asked: Cell<u32>,
        }
        impl Cancel for Counting {
            fn should_stop(&self) -> bool {
                self.asked.set(self.asked.get() + 1);
                false
            }
            fn advanced(&self, vertices: u64) {
                self.advanced.set(self.advanced.get() + vertices);
            }
        }
        let counting = Counting {
            advanced: Cell::new(0),
            asked: Cell::new(0),
        };
        for step in 0..=3 * POLL_INTERVAL {
            assert!(!poll(&counting, step));
        }
        assert_eq!(counting.asked.get(), 4, "at 0 and at each interval");
        assert_eq!(counting.advanced.get(), 3 * POLL_INTERVAL);
        // Closures and `Never` ignore progress.
        Never.advanced(5);
        (|| false).advanced(5);
    }

    #[test]
    fn cancelled_displays_a_reason() {
        assert_eq!(Cancelled.to_string(), "computation cancelled");
    }
}
