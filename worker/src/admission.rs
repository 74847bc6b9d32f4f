//! Memory admission (docs/adr/0002-lattices.md): a job's memory estimate is reserved before
//! it computes, and a worker runs jobs only while the sum fits its budget.
//! A job that fits but not now waits (its lease heartbeats on); one larger
//! than the whole budget can never run here and fails with the figures.

use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

const MIB: u64 = 1024 * 1024;

/// The worker's memory budget, counted in MiB permits.
pub struct Admission {
    budget_mib: u32,
    slots: Arc<Semaphore>,
}

/// Memory held for a running job; released on drop.
pub struct Admitted(#[allow(dead_code)] OwnedSemaphorePermit);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    #[error("the job needs about {needed_mib} MiB; this worker's budget is {budget_mib} MiB")]
    TooLarge { needed_mib: u64, budget_mib: u32 },
    #[error("cancelled while waiting for memory")]
    Cancelled,
}

impl Admission {
    pub fn new(budget_bytes: u64) -> Self {
        let budget_mib = u32::try_from((budget_bytes / MIB).max(1)).unwrap_or(u32::MAX >> 4);
        Self {
            budget_mib,
            slots: Arc::new(Semaphore::new(budget_mib as usize)),
        }
    }

    pub fn budget_mib(&self) -> u32 {
        self.budget_mib
    }

    /// Reserves `bytes` (rounded up to whole MiB), waiting while other jobs
    /// hold the budget, unless `cancel` fires first.
    pub async fn admit(
        &self,
        bytes: u64,
        cancel: &CancellationToken,
    ) -> Result<Admitted, AdmitError> {
        let needed_mib = bytes.div_ceil(MIB).max(1);
        let Some(permits) = u32::try_from(needed_mib)
            .ok()
            .filter(|m| *m <= self.budget_mib)
        else {
            return Err(AdmitError::TooLarge {
                needed_mib,
                budget_mib: self.budget_mib,
            });
        };
        tokio::select! {
            permit = self.slots.clone().acquire_many_owned(permits) => {
                permit.map(Admitted).map_err(|_| AdmitError::Cancelled)
            }
            () = cancel.cancelled() => Err(AdmitError::Cancelled),
        }
    }
}

/// The default budget: three quarters of the machine's memory (MemTotal),
/// leaving room for the process itself and the page cache; 4 GiB if unknown.
pub fn default_budget_bytes() -> u64 {
    let total_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        });
    total_kib.map_or(4 * 1024 * MIB, |kib| kib * 1024 / 4 * 3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn jobs_wait_for_memory_and_oversized_ones_are_refused() -> Result<(), AdmitError> {
        let admission = Admission::new(100 * MIB);
        let never = CancellationToken::new();
        let first = admission.admit(60 * MIB, &never).await?;
        // 60 + 60 > 100: the second waits until the first is done.
        let second =
            tokio::time::timeout(Duration::from_millis(50), admission.admit(60 * MIB, &never))
                .await;
        assert!(second.is_err(), "admitted beyond the budget");
        drop(first);
        let _second =
            tokio::time::timeout(Duration::from_secs(5), admission.admit(60 * MIB, &never))
                .await
                .map_err(|_| AdmitError::Cancelled)??;
        assert_eq!(
            admission.admit(101 * MIB, &never).await.err(),
            Some(AdmitError::TooLarge {
                needed_mib: 101,
                budget_mib: 100
            })
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_cancel_stops_the_wait() {
        let admission = Admission::new(10 * MIB);
        let never = CancellationToken::new();
        let _all = admission.admit(10 * MIB, &never).await;
        let cancel = CancellationToken::new();
        cancel.cancel();
        assert_eq!(
            admission.admit(MIB, &cancel).await.err(),
            Some(AdmitError::Cancelled)
        );
    }

    #[test]
    fn the_default_budget_is_positive() {
        assert!(default_budget_bytes() > 0);
    }
}
