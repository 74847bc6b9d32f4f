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
    fn cancelled_displays_a_reason() {
        assert_eq!(Cancelled.to_string(), "computation cancelled");
    }
}
