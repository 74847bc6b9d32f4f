//! The catalytic variant (docs/adr/0002-lattices.md): transform the
//! data in place using a borrowed auxiliary buffer, which already holds
//! someone else's bytes, as the only scratch memory, and give it back
//! bit-for-bit through reversible XOR steps, never by copying it away.
//!
//! The buffer is checksummed (FNV-1a, [`checksum`]) before and after; a
//! difference is reported as [`TransformError::RestoreFailed`], so a restore
//! bug cannot pass silently. The result is bit-identical to [`apply`](super::apply).
//!
//! Xor and scale are element-wise and run in place with no scratch at all:
//! the buffer is checksummed but not touched. Rotate is a permutation; done
//! out of place it needs a second data-sized buffer. Here each orbit of the
//! permutation is instead cycled through one borrowed aux element, see
//! [`rotate_through_aux`] for the algebra.
//!
//! A cancel stops the run between two orbits (the polls of
//! [`in_chunks`](super::in_chunks)), each of which has already handed its aux
//! element back, so a cancelled run restores aux too and is checked the same
//! way; only the data is left part-way.

use super::rotate::QuarterTurns;
use super::{Checked, Data, DataKind, Transform, TransformError, check, checksum};
use super::{in_chunks, scale_in_place, xor_in_place};
use crate::cancel::{Cancel, Cancelled};
use crate::spec::Lattice;

/// What a catalytic run did with the borrowed buffer, the proof that it was restored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CatalyticReport {
    /// FNV-1a checksum of the whole aux buffer before the run.
    pub aux_checksum_before: u64,
    /// FNV-1a checksum of the whole aux buffer after the run; equal when restored.
    pub aux_checksum_after: u64,
    /// The two checksums agree (always true in a report: a mismatch is an error).
    pub restored: bool,
    /// Distinct aux bytes the run wrote to (and restored): a prefix of the buffer.
    pub aux_bytes_used: u64,
    /// Heap bytes allocated beyond data and aux. Zero: orbit positions live in
    /// a four-element stack array, images come from stride arithmetic and the
    /// checksum streams, so no transform allocates.
    pub extra_bytes: u64,
}

/// Heap bytes a catalytic run allocates besides data and aux (see [`CatalyticReport::extra_bytes`]).
const EXTRA_HEAP_BYTES: u64 = 0;

/// Aux bytes [`apply_catalytic`] needs for `transform` on a `kind` field of `lattice`.
///
/// Xor and scale need none. Rotate needs one element per orbit that moves: a
/// quarter of the data for a quarter turn, half for a half turn, none for a
/// whole turn (less the fixed centres when the plane size is odd). A rotation
/// `apply_catalytic` would refuse (bad axes) needs 0: it fails before aux is read.
pub fn aux_bytes_needed(lattice: &Lattice, kind: DataKind, transform: &Transform) -> u64 {
    match transform {
        Transform::Rotate {
            axes,
            quarter_turns,
        } => QuarterTurns::new(lattice, *axes, *quarter_turns)
            .map(|turns| turns.moving_orbits(lattice.vertex_count()) * kind.element_bytes())
            .unwrap_or(0),
        Transform::Xor { .. } | Transform::Scale { .. } => 0,
    }
}

/// Transforms `data` in place exactly as [`apply`](super::apply) would, with
/// `aux` as the only scratch memory, and proves `aux` was restored.
///
/// Checks as `apply` does, then that `aux` holds at least [`aux_bytes_needed`]
/// bytes (it may be larger; the checksum covers all of it). On
/// [`TransformError::RestoreFailed`] data and aux are unspecified. When
/// `cancel` stops it, the answer is `Ok(Err(Cancelled))` once the checksum
/// has shown aux restored (module docs), with the data part-way.
pub fn apply_catalytic(
    lattice: &Lattice,
    data: &mut Data,
    aux: &mut [u8],
    transform: &Transform,
    cancel: &dyn Cancel,
) -> Result<Result<CatalyticReport, Cancelled>, TransformError> {
    let (checked, before) = borrow(lattice, data, aux, transform)?;
    match transform_in_place(checked, data, aux, cancel) {
        Ok(aux_bytes_used) => give_back(aux, before, aux_bytes_used).map(Ok),
        Err(Cancelled) => give_back(aux, before, 0).map(|_| Err(Cancelled)),
    }
}

/// The checks of [`apply_catalytic`] (as `apply`'s, then the aux size), and
/// the aux checksum before anything is touched.
pub(super) fn borrow<'t>(
    lattice: &Lattice,
    data: &Data,
    aux: &[u8],
    transform: &'t Transform,
) -> Result<(Checked<'t>, u64), TransformError> {
    let checked = check(lattice, data.kind(), data.len(), transform)?;
    let needed = aux_bytes_needed(lattice, data.kind(), transform);
    let got = aux.len() as u64;
    if got < needed {
        return Err(TransformError::AuxTooSmall { needed, got });
    }
    Ok((checked, checksum(aux)))
}

/// The transform itself, with `aux` as the only scratch; returns the aux
/// bytes used.
pub(super) fn transform_in_place(
    checked: Checked<'_>,
    data: &mut Data,
    aux: &mut [u8],
    cancel: &dyn Cancel,
) -> Result<u64, Cancelled> {
    match checked {
        Checked::Xor(key) => xor_in_place(data, key, cancel).map(|()| 0),
        Checked::Scale(factor) => scale_in_place(data, factor, cancel).map(|()| 0),
        Checked::Rotate(turns) => match data {
            Data::U8(values) => rotate_through_aux(values, aux, &turns, cancel),
            Data::F32(values) => rotate_through_aux(values, aux, &turns, cancel),
        },
    }
}

/// The proof: `aux` checksums as it did `before` the run, else
/// [`TransformError::RestoreFailed`].
pub(super) fn give_back(
    aux: &[u8],
    before: u64,
    aux_bytes_used: u64,
) -> Result<CatalyticReport, TransformError> {
    let after = checksum(aux);
    if after != before {
        return Err(TransformError::RestoreFailed { before, after });
    }
    Ok(CatalyticReport {
        aux_checksum_before: before,
        aux_checksum_after: after,
        restored: true,
        aux_bytes_used,
        extra_bytes: EXTRA_HEAP_BYTES,
    })
}

/// A data element seen as the bits XORed with aux (little-endian in aux).
trait Element: Copy {
    const BYTES: usize;
    fn to_word(self) -> u32;
    fn from_word(word: u32) -> Self;
}

impl Element for u8 {
    const BYTES: usize = 1;
    fn to_word(self) -> u32 {
        u32::from(self)
    }
    fn from_word(word: u32) -> Self {
        // Only XORs of u8 values reach here, so the high bits are zero.
        word as u8
    }
}

impl Element for f32 {
    const BYTES: usize = 4;
    // Bit patterns, not values: XOR is on the bits, and to_bits/from_bits are
    // exact, NaN payloads included, so the result matches `apply`'s moves.
    fn to_word(self) -> u32 {
        self.to_bits()
    }
    fn from_word(word: u32) -> Self {
        f32::from_bits(word)
    }
}

/// Rotates `values` in place, cycling each moving orbit through one aux
/// element; returns the aux bytes used. `aux` holds at least one element per
/// moving orbit (checked by the caller). Polls `cancel` between orbits, every
/// [`POLL_INTERVAL`](crate::cancel::POLL_INTERVAL) orbit starts scanned.
///
/// Why not whole-buffer passes like `aux ^= P(data); data ^= aux; ...`: each
/// such pass is a block shear `[[1, f(P)], [0, 1]]` or `[[1, 0], [g(P), 1]]`
/// on the pair (data, aux) over the commutative ring GF(2)[P], so any product
/// of them has determinant 1, while the goal `(x, a) -> (P x, a)` is
/// `diag(P, 1)` with determinant `P`. Those passes can swap data and aux or
/// leave aux permuted, never restore it. Working orbit by orbit breaks the
/// commutativity.
///
/// An orbit `c0 -> c1 -> ... -> c(L-1) -> c0` of `P` (L = 2 or 4) holds values
/// `x0..x(L-1)`; the goal is `x(k-1)` at `c(k)` and `x(L-1)` at `c0`. Let `r`
/// be the orbit's aux element holding someone else's `α`. `swap(d, r)` is
/// three XORs, `r ^= d; d ^= r; r ^= d`: with `d = x, r = α` that gives
/// `r = α^x`, then `d = x^α^x = α`, then `r = α^x^α = x`, a swap using no other
/// memory. Now swap `r` with `c0, c1, ..., c(L-1)` and `c0` again:
///
/// ```text
/// swap c0:  r = x0,      c0 = α
/// swap c1:  r = x1,      c1 = x0
/// ...       r = x(k),    c(k) = x(k-1)
/// swap c0:  r = α,       c0 = x(L-1)
/// ```
///
/// Every step XORs one data element with one aux element, so each is its own
/// inverse and the joint contents of data and aux are only ever permuted;
/// the last swap hands `α` back. Orbit `j` (counted in order of its smallest
/// vertex index) uses aux element `j`, so the aux used is a prefix.
fn rotate_through_aux<T: Element>(
    values: &mut [T],
    aux: &mut [u8],
    turns: &QuarterTurns,
    cancel: &dyn Cancel,
) -> Result<u64, Cancelled> {
    let mut orbit_count = 0u64;
    in_chunks(values.len(), cancel, |range| {
        for start in range.start as u64..range.end as u64 {
            let Some((orbit, len)) = led_orbit(start, turns) else {
                continue;
            };
            let slot = orbit_count as usize * T::BYTES;
            let register = &mut aux[slot..slot + T::BYTES];
            let chain = orbit[..len].iter().chain(&orbit[..1]);
            for &position in chain {
                let element = &mut values[position as usize];
                // swap(d, r) = `r ^= d; d ^= r; r ^= d`.
                xor_into_aux(register, element.to_word());
                *element = T::from_word(element.to_word() ^ aux_word(register));
                xor_into_aux(register, element.to_word());
            }
            orbit_count += 1;
        }
    })?;
    Ok(orbit_count * T::BYTES as u64)
}

/// The orbit of `start` and its length, when it moves and `start` is its
/// smallest vertex (so each moving orbit is cycled once, from its leader).
fn led_orbit(start: u64, turns: &QuarterTurns) -> Option<([u64; 4], usize)> {
    let mut orbit = [start; 4];
    let mut len = 1;
    let mut next = turns.image(start);
    let mut leads = true;
    while next != start {
        // Orbits of a quarter-turn rotation have 1, 2 or 4 elements.
        orbit[len] = next;
        len += 1;
        leads &= start < next;
        next = turns.image(next);
    }
    (len > 1 && leads).then_some((orbit, len))
}

/// `r ^= word`, on the register's little-endian bytes.
fn xor_into_aux(register: &mut [u8], word: u32) {
    for (byte, from) in register.iter_mut().zip(word.to_le_bytes()) {
        *byte ^= from;
    }
}

/// The register's little-endian bytes as a word.
fn aux_word(register: &[u8]) -> u32 {
    let mut bytes = [0u8; 4];
    bytes[..register.len()].copy_from_slice(register);
    u32::from_le_bytes(bytes)
}
