//! The validated shape of a lattice and the errors that reject a bad one.
//!
//! A [`Lattice`] is built once, through [`Lattice::new`] or [`Lattice::uniform`],
//! and cannot hold bad data afterwards: 1..=[`MAX_DIMENSIONS`] axes, each of
//! size at least [`MIN_SIZE`], and a vertex count that fits in a `u64`. The
//! mixed-radix strides are computed here, once, so that index arithmetic in
//! `index.rs` and the BFS in `bfs.rs` never recompute them.
//!
//! Wrap-around and blocked vertices (docs/adr/0002-lattices.md) are further validated fields,
//! added by [`Lattice::with_wrap`] and [`Lattice::with_blocked`]. A wrapped
//! axis joins its last position to its first (allowed only where the size is
//! at least 3, so that the two neighbours along it stay distinct). A blocked
//! vertex is simply not in the graph: it has no neighbours, nothing reaches
//! it, and a search from it reaches nothing. The seeded blocking rule and its
//! [`splitmix64`] live here too, because the api, the CPU engines and the GPU
//! must all compute it identically.

/// Most axes a lattice may have (docs/adr/0002-lattices.md).
pub const MAX_DIMENSIONS: usize = 10;

/// Smallest size of any axis (docs/adr/0002-lattices.md): a size-1 axis adds nothing but confusion.
pub const MIN_SIZE: u32 = 2;

/// Why a lattice or a coordinate was rejected. Each variant names the offending part.
///
/// Not `Eq`: [`LatticeError::Fraction`] carries the rejected `f64`, NaN included.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LatticeError {
    /// The number of axes is 0 or more than [`MAX_DIMENSIONS`].
    #[error("dimensions must be between 1 and 10, got {0}")]
    Dimensions(usize),
    /// An axis is smaller than [`MIN_SIZE`]; `axis` is the first such axis.
    #[error("size of axis {axis} must be at least 2, got {size}")]
    Size { axis: usize, size: u32 },
    /// The product of the sizes does not fit in a `u64`.
    #[error("vertex count overflows 64 bits")]
    TooLarge,
    /// A coordinate has the wrong number of components.
    #[error("coordinate has {got} components but the lattice has {expected} dimensions")]
    CoordinateLength { expected: usize, got: usize },
    /// A coordinate component lies outside its axis; `axis` is the first such component.
    #[error("component {axis} is {value}, outside 0..{size}")]
    CoordinateRange { axis: usize, value: u64, size: u32 },
    /// The wrap flags are not one per axis.
    #[error("wrap has {got} flags but the lattice has {expected} dimensions")]
    WrapLength { expected: usize, got: usize },
    /// An axis asks to wrap but is smaller than 3; `axis` is the first such axis.
    #[error("axis {axis} may wrap only if its size is at least 3, got {size}")]
    Wrap { axis: usize, size: u32 },
    /// An explicit blocked entry is not a vertex; `position` is its place in
    /// the list as given, the first such entry.
    #[error("blocked entry {position} is vertex {index}, outside the lattice")]
    BlockedIndex { position: usize, index: u64 },
    /// The seeded blocking fraction is NaN or outside `[0, 1]`.
    #[error("blocked fraction must be between 0 and 1, got {0}")]
    Fraction(f64),
}

/// Which vertices are blocked (removed from the graph), docs/adr/0002-lattices.md.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Blocked {
    /// Every vertex is open.
    #[default]
    None,
    /// These vertex indices; [`Lattice::with_blocked`] stores them sorted and deduplicated.
    Explicit(Vec<u64>),
    /// Vertex `i` is blocked iff `splitmix64(seed ^ i) < fraction × 2^64`.
    Seeded { fraction: f64, seed: u64 },
}

/// SplitMix64 (Steele, Lea and Flood, 2014) as published: the golden-gamma
/// increment followed by the standard finaliser. The seeded blocking rule
/// depends on this exact function; never change it.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seeded blocking rule in the form another executor (a GPU kernel)
/// evaluates per vertex with 64-bit integers only: vertex `v` is blocked iff
/// `all || splitmix64(seed ^ v) < below`. (The threshold `fraction × 2^64`
/// is 2^64 for a fraction of 1, which a `u64` cannot hold: that is `all`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeededRule {
    pub seed: u64,
    pub below: u64,
    pub all: bool,
}

impl SeededRule {
    /// Whether the rule blocks vertex `v` (`v` must be a vertex).
    pub fn blocks(&self, v: u64) -> bool {
        self.all || splitmix64(self.seed ^ v) < self.below
    }
}

/// The exact integer form of `fraction × 2^64` for the rule `h < fraction × 2^64`
/// with an integer `h`: the real product rounded up (`h < r` iff `h < ceil(r)`).
/// Multiplying by a power of two and `ceil` are exact in `f64`, so this is the
/// real comparison, not a rounded one; `fraction == 1.0` gives `2^64`, which
/// every `u64` is below. A fraction outside `[0, 1]` is clamped (validation
/// rejects it before it gets here).
fn seeded_threshold(fraction: f64) -> u128 {
    const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
    let scaled = (fraction.clamp(0.0, 1.0) * TWO_POW_64).ceil();
    // `as` saturates and maps NaN to 0; the value is an integer in [0, 2^64].
    scaled as u128
}

/// A validated lattice: 1..=10 axes, each size >= 2, vertex count fits u64 (checked multiplication).
///
/// Vertices are numbered in mixed radix with axis 0 least significant, so the
/// vertex at coordinate `c` has index `sum(c[a] * strides[a])`.
#[derive(Debug, Clone, PartialEq)]
pub struct Lattice {
    /// Size of each axis, each at least [`MIN_SIZE`]; its length is the dimension count.
    sizes: Vec<u32>,
    /// `strides[a]` is the product of the sizes of axes `0..a`; strictly increasing.
    strides: Vec<u64>,
    /// Product of all sizes; known to fit in a `u64`.
    vertex_count: u64,
    /// One flag per axis; true only where the size is at least 3.
    wrap: Vec<bool>,
    /// The blocked vertices; an explicit list is sorted, deduplicated and in range.
    blocked: Blocked,
    /// For [`Blocked::Seeded`]: vertex `i` is blocked iff `splitmix64(seed ^ i) < threshold`.
    /// Zero otherwise.
    threshold: u128,
}

/// A lattice's seeded fraction is never NaN (validated), so `==` is an equivalence.
impl Eq for Lattice {}

impl Lattice {
    /// Validates `sizes` (one per axis) and precomputes strides and the vertex count.
    ///
    /// Checks, in order: the number of axes, each axis size, then the product.
    pub fn new(sizes: Vec<u32>) -> Result<Self, LatticeError> {
        if sizes.is_empty() || sizes.len() > MAX_DIMENSIONS {
            return Err(LatticeError::Dimensions(sizes.len()));
        }
        if let Some((axis, &size)) = sizes.iter().enumerate().find(|&(_, &s)| s < MIN_SIZE) {
            return Err(LatticeError::Size { axis, size });
        }
        let mut strides = Vec::with_capacity(sizes.len());
        let mut product: u64 = 1;
        for &size in &sizes {
            strides.push(product);
            product = product
                .checked_mul(u64::from(size))
                .ok_or(LatticeError::TooLarge)?;
        }
        let wrap = vec![false; sizes.len()];
        Ok(Self {
            sizes,
            strides,
            vertex_count: product,
            wrap,
            blocked: Blocked::None,
            threshold: 0,
        })
    }

    /// Sets which axes wrap around: one flag per axis, a wrapped axis must
    /// have size at least 3. Replaces any earlier flags.
    pub fn with_wrap(mut self, wrap: Vec<bool>) -> Result<Self, LatticeError> {
        if wrap.len() != self.dimensions() {
            return Err(LatticeError::WrapLength {
                expected: self.dimensions(),
                got: wrap.len(),
            });
        }
        if let Some((axis, &size)) = self
            .sizes
            .iter()
            .zip(&wrap)
            .enumerate()
            .find_map(|(axis, (size, &w))| (w && *size < 3).then_some((axis, size)))
        {
            return Err(LatticeError::Wrap { axis, size });
        }
        self.wrap = wrap;
        Ok(self)
    }

    /// Sets the blocked vertices, replacing any earlier set. Explicit indices
    /// must be below the vertex count (stored sorted and deduplicated); a
    /// seeded fraction must lie in `[0, 1]`.
    pub fn with_blocked(mut self, blocked: Blocked) -> Result<Self, LatticeError> {
        let n = self.vertex_count;
        self.threshold = 0;
        self.blocked = match blocked {
            Blocked::None => Blocked::None,
            Blocked::Explicit(mut indices) => {
                if let Some((position, &index)) = indices.iter().enumerate().find(|&(_, &i)| i >= n)
                {
                    return Err(LatticeError::BlockedIndex { position, index });
                }
                indices.sort_unstable();
                indices.dedup();
                Blocked::Explicit(indices)
            }
            Blocked::Seeded { fraction, seed } => {
                if !(0.0..=1.0).contains(&fraction) {
                    return Err(LatticeError::Fraction(fraction));
                }
                self.threshold = seeded_threshold(fraction);
                Blocked::Seeded { fraction, seed }
            }
        };
        Ok(self)
    }

    /// Whether each axis wraps around, axis 0 first.
    pub fn wraps(&self) -> &[bool] {
        &self.wrap
    }

    /// The blocked vertices as validated (an explicit list is sorted and deduplicated).
    pub fn blocked(&self) -> &Blocked {
        &self.blocked
    }

    /// Whether vertex `v` is blocked: O(1) for seeded, O(log k) for an explicit
    /// list of k. An index outside the lattice is not a vertex and reads false.
    #[inline]
    pub fn is_blocked(&self, v: u64) -> bool {
        match &self.blocked {
            Blocked::None => false,
            Blocked::Explicit(indices) => indices.binary_search(&v).is_ok(),
            Blocked::Seeded { seed, .. } => {
                v < self.vertex_count && u128::from(splitmix64(seed ^ v)) < self.threshold
            }
        }
    }

    /// The seeded rule when blocking is seeded and can block anything (a
    /// zero fraction gives None, like [`Lattice::has_blocking`]).
    pub fn seeded_rule(&self) -> Option<SeededRule> {
        match self.blocked {
            Blocked::Seeded { seed, .. } if self.threshold > 0 => Some(SeededRule {
                seed,
                below: u64::try_from(self.threshold).unwrap_or(u64::MAX),
                all: self.threshold > u128::from(u64::MAX),
            }),
            _ => None,
        }
    }

    /// Whether any vertex can be blocked: false for no blocking, an empty
    /// list and a zero fraction, so callers may take the open-lattice shortcuts.
    pub fn has_blocking(&self) -> bool {
        match &self.blocked {
            Blocked::None => false,
            Blocked::Explicit(indices) => !indices.is_empty(),
            Blocked::Seeded { .. } => self.threshold > 0,
        }
    }

    /// Number of vertices that are not blocked. O(1) except for seeded
    /// blocking, which scans every vertex.
    pub fn open_vertex_count(&self) -> u64 {
        match &self.blocked {
            Blocked::None => self.vertex_count,
            // Sorted, deduplicated and in range, so the length counts distinct vertices.
            Blocked::Explicit(indices) => self.vertex_count - indices.len() as u64,
            Blocked::Seeded { .. } => (0..self.vertex_count)
                .filter(|&v| !self.is_blocked(v))
                .count() as u64,
        }
    }

    /// An upper bound on the open vertex count, in O(1): exact unless the
    /// blocking is seeded, where it is the vertex count.
    pub(crate) fn open_vertex_bound(&self) -> u64 {
        match &self.blocked {
            Blocked::Seeded { .. } => self.vertex_count,
            _ => self.open_vertex_count(),
        }
    }

    /// A lattice with `dimensions` axes, all of size `size`.
    pub fn uniform(dimensions: usize, size: u32) -> Result<Self, LatticeError> {
        if dimensions == 0 || dimensions > MAX_DIMENSIONS {
            return Err(LatticeError::Dimensions(dimensions));
        }
        Self::new(vec![size; dimensions])
    }

    /// Number of axes, 1..=[`MAX_DIMENSIONS`].
    pub fn dimensions(&self) -> usize {
        self.sizes.len()
    }

    /// Size of each axis, axis 0 first.
    pub fn sizes(&self) -> &[u32] {
        &self.sizes
    }

    /// Mixed-radix place value of each axis: `strides()[0] == 1`, strictly increasing.
    pub fn strides(&self) -> &[u64] {
        &self.strides
    }

    /// Number of vertices (product of the sizes).
    pub fn vertex_count(&self) -> u64 {
        self.vertex_count
    }

    /// Number of undirected edges ignoring blocking (an upper bound when
    /// vertices are blocked): along axis `a` there are `(size_a - 1) * n / size_a`,
    /// or `n` when it wraps.
    ///
    /// Each term is at most the vertex count, but their sum over ten axes can
    /// exceed `u64::MAX` on the largest lattices; it saturates there.
    pub fn edge_count(&self) -> u64 {
        self.sizes
            .iter()
            .zip(&self.wrap)
            .map(|(&size, &wrap)| {
                let size = u64::from(size);
                let per_line = if wrap { size } else { size - 1 };
                per_line * (self.vertex_count / size)
            })
            .fold(0u64, u64::saturating_add)
    }

    /// Largest graph distance between two vertices: `sum(size_a - 1)`, the
    /// distance between opposite corners. Without wrap or blocking this is the
    /// diameter and the longest possible shortest path, in edges.
    ///
    /// Wrap shortens the diameter; blocking can lengthen distances beyond it.
    pub fn max_distance(&self) -> u64 {
        self.sizes.iter().map(|&s| u64::from(s) - 1).sum()
    }

    /// Diameter of the lattice with its wrap but without blocking (docs/adr/0002-lattices.md,
    /// closed form): `size - 1` per open axis plus `floor(size / 2)` per
    /// wrapped axis, since distances add up axis by axis.
    pub(crate) fn open_diameter(&self) -> u64 {
        self.sizes
            .iter()
            .zip(&self.wrap)
            .map(|(&s, &wrap)| {
                if wrap {
                    u64::from(s) / 2
                } else {
                    u64::from(s) - 1
                }
            })
            .sum()
    }
}

#[cfg(test)]
mod tests;
