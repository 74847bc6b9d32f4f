//! A fixed-size bitset over vertex indices: one bit per vertex, for the
//! component scan's visited and colour marks (docs/adr/0002-lattices.md counts every
//! per-vertex bit an engine holds, so these stay bits, not bytes).

use crate::bfs::slot;

/// `len` bits, all clear at first.
pub(crate) struct Bitset {
    /// Bit `i` is bit `i % 64` of word `i / 64`.
    words: Vec<u64>,
}

impl Bitset {
    pub(crate) fn new(len: u64) -> Self {
        Self {
            words: vec![0; slot(len.div_ceil(64))],
        }
    }

    /// Heap bytes a bitset of `len` bits holds, for estimates.
    pub(crate) fn bytes(len: u64) -> u64 {
        len.div_ceil(64).saturating_mul(8)
    }

    #[inline]
    pub(crate) fn get(&self, i: u64) -> bool {
        self.words
            .get(slot(i / 64))
            .is_some_and(|w| w >> (i % 64) & 1 == 1)
    }

    #[inline]
    pub(crate) fn set(&mut self, i: u64) {
        if let Some(w) = self.words.get_mut(slot(i / 64)) {
            *w |= 1 << (i % 64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_independent_and_out_of_range_is_clear() {
        let mut bits = Bitset::new(130);
        bits.set(0);
        bits.set(64);
        bits.set(129);
        bits.set(500);
        assert!(bits.get(0) && bits.get(64) && bits.get(129));
        assert!(!bits.get(1) && !bits.get(63) && !bits.get(128) && !bits.get(500));
        assert_eq!(Bitset::bytes(130), 24);
        assert_eq!(Bitset::bytes(0), 0);
    }
}
