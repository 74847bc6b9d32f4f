//! Transforms of a data field attached to a lattice (docs/adr/0002-lattices.md): `xor`,
//! `rotate` and `scale`, the seeded generator, and the checksum that proves
//! the catalytic variant gave its borrowed buffer back.
//!
//! The field holds one element per vertex, in vertex-index order (mixed radix,
//! axis 0 least significant), as `u8` or `f32`. This module owns validation of
//! a transform against a lattice and its data, the plain (out-of-place where
//! needed) [`apply`], and [`generate`]. The catalytic variant, which may only
//! use a caller's auxiliary buffer as scratch and must restore it, lives in
//! `catalytic.rs`; the quarter-turn geometry both share lives in `rotate.rs`.
//! Parsing wire JSON into a [`Transform`] and the body cap are the api's.
//!
//! Like the searches, a transform polls its caller's [`Cancel`]: every
//! [`POLL_INTERVAL`] elements (see [`in_chunks`]) it asks whether to stop and
//! reports the elements it handled through [`Cancel::advanced`], so the
//! reports of a whole run add up to the data's element count (issue 22:
//! the worker shows them against that count, in `elements`). A run has two
//! ways to fail: the outer `Result` is the transform's (refused, or aux not
//! restored), the inner one the caller's cancel.

mod catalytic;
mod rotate;
#[cfg(test)]
mod tests;

pub use catalytic::{CatalyticReport, apply_catalytic, aux_bytes_needed};

use crate::cancel::{Cancel, Cancelled, POLL_INTERVAL};
use crate::spec::{Lattice, splitmix64};
use rotate::QuarterTurns;
use std::ops::Range;

/// A data field: one element per vertex, in vertex-index order.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Data {
    U8(Vec<u8>),
    F32(Vec<f32>),
}

impl Data {
    /// Which element type the field holds.
    pub fn kind(&self) -> DataKind {
        match self {
            Data::U8(_) => DataKind::U8,
            Data::F32(_) => DataKind::F32,
        }
    }

    /// Number of elements (not bytes).
    pub fn len(&self) -> usize {
        match self {
            Data::U8(values) => values.len(),
            Data::F32(values) => values.len(),
        }
    }

    /// True when the field has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The element type of a [`Data`] field, for generation and aux sizing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    U8,
    F32,
}

impl DataKind {
    /// Bytes per element: 1 for `u8`, 4 for `f32`.
    pub fn element_bytes(self) -> u64 {
        match self {
            DataKind::U8 => 1,
            DataKind::F32 => 4,
        }
    }
}

/// One transform of a data field (docs/adr/0002-lattices.md).
#[derive(Debug, Clone, PartialEq)]
pub enum Transform {
    /// XOR with a byte key, cycled over the data's bytes (an `f32` element
    /// contributes its four little-endian bytes). Applying it twice is the identity.
    Xor { key: Vec<u8> },
    /// `quarter_turns` (mod 4) quarter turns in the plane of two distinct axes
    /// of equal size `m`; every other axis is untouched. One quarter turn moves
    /// the element at `(u, v)` (its components on `axes[0]`, `axes[1]`) to
    /// `(m-1-v, u)`: the positive direction of `axes[0]` turns into that of
    /// `axes[1]`. Swapping the two axes turns the other way.
    Rotate { axes: [usize; 2], quarter_turns: u8 },
    /// Multiply every `f32` element by a finite factor; `u8` data is refused.
    Scale { factor: f32 },
}

/// Why a transform was refused. Each message names the offending parameter
/// (`data`, `key`, `axes`, `factor` or `aux`); [`TransformError::field`] returns it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransformError {
    /// The data does not have one element per vertex.
    #[error("data has {got} elements but the lattice has {expected} vertices")]
    DataLength { expected: u64, got: u64 },
    /// An xor key must have at least one byte.
    #[error("key must not be empty")]
    EmptyKey,
    /// A rotation axis is not an axis of the lattice.
    #[error("axes: axis {axis} is outside the lattice's {dimensions} dimensions")]
    RotateAxis { axis: usize, dimensions: usize },
    /// A rotation needs two different axes.
    #[error("axes must name two different axes")]
    RotateSameAxis,
    /// A quarter turn only maps the lattice onto itself when both axes have the same size.
    #[error("axes {axes:?} have sizes {sizes:?}; a rotation needs equal sizes")]
    RotateUnequalSizes { axes: [usize; 2], sizes: [u32; 2] },
    /// Scaling is defined on `f32` data only.
    #[error("factor applies to f32 data only, but data is u8")]
    ScaleNeedsF32,
    /// The scale factor is NaN or infinite.
    #[error("factor must be finite")]
    NotFinite,
    /// The auxiliary buffer is smaller than [`aux_bytes_needed`].
    #[error("aux has {got} bytes but the transform needs {needed}")]
    AuxTooSmall { needed: u64, got: u64 },
    /// The catalytic run did not give the auxiliary buffer back unchanged: a
    /// bug, never the caller's fault. Data and aux are then unspecified.
    #[error("aux was not restored: checksum {before:#018x} before, {after:#018x} after")]
    RestoreFailed { before: u64, after: u64 },
}

impl TransformError {
    /// The request field the error is about, for the api's problem details.
    pub fn field(&self) -> &'static str {
        match self {
            TransformError::DataLength { .. } | TransformError::ScaleNeedsF32 => "data",
            TransformError::EmptyKey => "key",
            TransformError::RotateAxis { .. }
            | TransformError::RotateSameAxis
            | TransformError::RotateUnequalSizes { .. } => "axes",
            TransformError::NotFinite => "factor",
            TransformError::AuxTooSmall { .. } | TransformError::RestoreFailed { .. } => "aux",
        }
    }
}

/// A transform checked against a lattice and a data kind, ready to run.
enum Checked<'a> {
    Xor(&'a [u8]),
    Rotate(QuarterTurns),
    Scale(f32),
}

/// Checks, in order: the data length, the transform's own parameters (key,
/// axes, factor), then that the data kind suits the transform.
fn check<'a>(
    lattice: &Lattice,
    kind: DataKind,
    len: usize,
    transform: &'a Transform,
) -> Result<Checked<'a>, TransformError> {
    let got = len as u64;
    if got != lattice.vertex_count() {
        return Err(TransformError::DataLength {
            expected: lattice.vertex_count(),
            got,
        });
    }
    match transform {
        Transform::Xor { key } if key.is_empty() => Err(TransformError::EmptyKey),
        Transform::Xor { key } => Ok(Checked::Xor(key)),
        Transform::Rotate {
            axes,
            quarter_turns,
        } => QuarterTurns::new(lattice, *axes, *quarter_turns).map(Checked::Rotate),
        Transform::Scale { factor } if !factor.is_finite() => Err(TransformError::NotFinite),
        Transform::Scale { .. } if kind == DataKind::U8 => Err(TransformError::ScaleNeedsF32),
        Transform::Scale { factor } => Ok(Checked::Scale(*factor)),
    }
}

/// Applies `transform` to `data` and returns the result, or `Ok(Err(Cancelled))`
/// when `cancel` stopped it first (module docs for the polls and progress).
///
/// Xor and scale work in place on the owned data; rotate is a permutation and
/// writes into a second buffer of the same size (the cost the catalytic
/// variant avoids).
pub fn apply(
    lattice: &Lattice,
    data: Data,
    transform: &Transform,
    cancel: &dyn Cancel,
) -> Result<Result<Data, Cancelled>, TransformError> {
    let checked = check(lattice, data.kind(), data.len(), transform)?;
    let mut data = data;
    let ran = match checked {
        Checked::Xor(key) => xor_in_place(&mut data, key, cancel),
        Checked::Scale(factor) => scale_in_place(&mut data, factor, cancel),
        Checked::Rotate(turns) => return Ok(rotate_out_of_place(&data, &turns, cancel)),
    };
    Ok(ran.map(|()| data))
}

/// Runs `step` over `0..len` in consecutive ranges of [`POLL_INTERVAL`]
/// elements (the last one shorter): before each range it asks `cancel`
/// whether to stop, after it reports the range's length through
/// [`Cancel::advanced`]. A run to the end reports exactly `len`. Stopping
/// only between ranges leaves every step whole, which the catalytic rotate
/// needs to give its aux back.
pub(super) fn in_chunks(
    len: usize,
    cancel: &dyn Cancel,
    mut step: impl FnMut(Range<usize>),
) -> Result<(), Cancelled> {
    let chunk = POLL_INTERVAL as usize;
    for from in (0..len).step_by(chunk) {
        if cancel.should_stop() {
            return Err(Cancelled);
        }
        let to = len.min(from + chunk);
        step(from..to);
        cancel.advanced((to - from) as u64);
    }
    Ok(())
}

/// XOR with the key cycled over the data's bytes; f32 elements as little-endian bytes.
fn xor_in_place(data: &mut Data, key: &[u8], cancel: &dyn Cancel) -> Result<(), Cancelled> {
    // One cycle across all chunks: the key position carries over. Each
    // chunk works on a local copy, written back after it: one the closure
    // only borrowed stayed in memory and cost ~10% of an f32 xor.
    let mut carried = key.iter().cycle();
    match data {
        Data::U8(values) => in_chunks(values.len(), cancel, |range| {
            let mut key = carried.clone();
            for (value, k) in values[range].iter_mut().zip(&mut key) {
                *value ^= k;
            }
            carried = key;
        }),
        Data::F32(values) => in_chunks(values.len(), cancel, |range| {
            let mut key = carried.clone();
            for value in &mut values[range] {
                let mut bytes = value.to_le_bytes();
                for (byte, k) in bytes.iter_mut().zip(&mut key) {
                    *byte ^= k;
                }
                *value = f32::from_le_bytes(bytes);
            }
            carried = key;
        }),
    }
}

/// Multiplies every f32 element; `check` has already refused u8 data.
fn scale_in_place(data: &mut Data, factor: f32, cancel: &dyn Cancel) -> Result<(), Cancelled> {
    match data {
        Data::F32(values) => in_chunks(values.len(), cancel, |range| {
            for value in &mut values[range] {
                *value *= factor;
            }
        }),
        Data::U8(_) => Ok(()),
    }
}

/// The field rotated into a fresh buffer.
fn rotate_out_of_place(
    data: &Data,
    turns: &QuarterTurns,
    cancel: &dyn Cancel,
) -> Result<Data, Cancelled> {
    Ok(match data {
        Data::U8(values) => Data::U8(rotated(values, turns, cancel)?),
        Data::F32(values) => Data::F32(rotated(values, turns, cancel)?),
    })
}

/// The element at index `i` lands at `turns.image(i)` in a fresh buffer.
fn rotated<T: Copy>(
    values: &[T],
    turns: &QuarterTurns,
    cancel: &dyn Cancel,
) -> Result<Vec<T>, Cancelled> {
    let mut out = values.to_vec();
    in_chunks(values.len(), cancel, |range| {
        for (i, &value) in (range.start as u64..).zip(&values[range]) {
            // Images are vertex indices of this lattice, below `values.len()`.
            out[turns.image(i) as usize] = value;
        }
    })?;
    Ok(out)
}

/// A data field of `kind` for `lattice`, determined by `seed` alone.
///
/// Word `k` of the stream is `splitmix64(seed + k·0x9E3779B97F4A7C15)`. A `u8`
/// field takes the stream's little-endian bytes in order; an `f32` field takes
/// the top 24 bits of word `i` as a value in `[0, 1)`. The caller bounds the
/// vertex count (the field is allocated whole).
pub fn generate(lattice: &Lattice, kind: DataKind, seed: u64) -> Data {
    let n = lattice.vertex_count() as usize;
    let words = (0u64..).map(|k| splitmix64(seed.wrapping_add(k.wrapping_mul(GOLDEN_GAMMA))));
    match kind {
        DataKind::U8 => Data::U8(words.flat_map(u64::to_le_bytes).take(n).collect()),
        DataKind::F32 => Data::F32(
            words
                .take(n)
                // 24 bits fit an f32 mantissa exactly, so the value is below 1.
                .map(|word| (word >> 40) as f32 / (1u32 << 24) as f32)
                .collect(),
        ),
    }
}

/// The golden-ratio increment of splitmix64.
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// 64-bit FNV-1a of `bytes`: offset basis `0xcbf29ce484222325`, prime
/// `0x100000001b3`, each byte XORed in before the multiply. Not
/// cryptographic: it detects accidental change (a failed restore), not tampering.
pub fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
