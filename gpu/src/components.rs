//! Connected components on an executor of `kernels/components.cuh`: the
//! driver, written once for the GPU and the host build of the kernels.

use crate::GpuError;
use catalytic_lattice::{Cancel, ComponentSizeCount, Components, Lattice};
use std::collections::BTreeMap;

/// One executor of the component kernels, holding the labels.
pub(crate) trait ComponentsExec {
    /// One hook pass; whether it lowered any label.
    fn hook(&mut self) -> Result<bool, GpuError>;
    /// One shortcut pass; whether it moved any label.
    fn shortcut(&mut self) -> Result<bool, GpuError>;
    /// Per component (root): its size and its axis-0 contact bits (1: first
    /// slice, 2: last slice).
    fn roots(&mut self) -> Result<Vec<(u64, u64)>, GpuError>;
}

/// The kernels' lattice description: dims, then size, stride, wrap per axis.
pub(crate) fn query(lattice: &Lattice) -> Vec<u64> {
    let mut q = vec![lattice.dimensions() as u64];
    for ((&size, &stride), &wrap) in lattice
        .sizes()
        .iter()
        .zip(lattice.strides())
        .zip(lattice.wraps())
    {
        q.extend([u64::from(size), stride, u64::from(wrap)]);
    }
    q
}

/// One bit per vertex in index order, set when blocked; None when nothing is.
pub(crate) fn blocked_bits(lattice: &Lattice) -> Option<Vec<u64>> {
    if !lattice.has_blocking() {
        return None;
    }
    let n = lattice.vertex_count();
    let mut bits = vec![0u64; n.div_ceil(64) as usize];
    for (w, word) in bits.iter_mut().enumerate() {
        let base = w as u64 * 64;
        for b in 0..64u64.min(n - base) {
            if lattice.is_blocked(base + b) {
                *word |= 1 << b;
            }
        }
    }
    Some(bits)
}

/// Hooks and shortcuts until nothing changes, then tallies the roots.
pub(crate) fn run(
    exec: &mut dyn ComponentsExec,
    cancel: &dyn Cancel,
) -> Result<Components, GpuError> {
    loop {
        if cancel.should_stop() {
            return Err(GpuError::Cancelled);
        }
        let hooked = exec.hook()?;
        while exec.shortcut()? {
            if cancel.should_stop() {
                return Err(GpuError::Cancelled);
            }
        }
        if !hooked {
            break;
        }
    }
    let roots = exec.roots()?;
    let mut sizes = BTreeMap::<u64, u64>::new();
    for &(size, _) in &roots {
        *sizes.entry(size).or_default() += 1;
    }
    Ok(Components {
        count: roots.len() as u64,
        largest: roots.iter().map(|&(size, _)| size).max().unwrap_or(0),
        size_histogram: sizes
            .into_iter()
            .map(|(size, count)| ComponentSizeCount { size, count })
            .collect(),
        spans_axis0: roots.iter().any(|&(_, span)| span == 3),
    })
}
