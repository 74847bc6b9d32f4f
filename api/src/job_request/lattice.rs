//! The lattice part of a request (`LatticeIn`), used by job submits and by
//! the lattice resources, and its one conversion into a stored
//! `LatticeDef` plus the engine's `Lattice`. Every refusal names the field.

use crate::error::{ApiError, FieldError};
use catalytic_lattice::{Lattice, LatticeError, MAX_DIMENSIONS};
use catalytic_shared::job::{BlockedDef, LatticeDef};
use serde::Deserialize;
use utoipa::ToSchema;

/// Explicitly blocked coordinates a lattice may list (the body cap bounds
/// them too); larger obstacle sets use the seeded rule.
pub const MAX_EXPLICIT_BLOCKED: usize = 100_000;

/// A lattice: `dimensions` axes of `size` points, optionally wrapping
/// around and with blocked vertices.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LatticeIn {
    /// 1..=10. Optional when `size` is an array (then it must match its length).
    pub dimensions: Option<i64>,
    /// One integer ≥ 2 for every axis, or one per axis (axis 0 first).
    pub size: SizeIn,
    /// `true` wraps every axis; or one flag per axis. Only axes of size ≥ 3 may wrap.
    #[serde(default)]
    pub wrap: Option<WrapIn>,
    /// Blocked vertices: a list of coordinates, or `{"fraction": f, "seed": s}`
    /// (vertex i blocked iff splitmix64(seed XOR i) < f·2^64).
    #[serde(default)]
    pub blocked: Option<BlockedIn>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum SizeIn {
    Uniform(i64),
    PerAxis(Vec<i64>),
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum WrapIn {
    All(bool),
    PerAxis(Vec<bool>),
}

/// Deserialised by hand (`BlockedVisitor`), not as an untagged enum:
/// serde buffers an untagged value whole before trying its variants, so a
/// 9 MB list of 1.7 million coordinates took 8 s of CPU before the cap
/// refused it (issue 18), and a mismatch answered with serde's internals.
/// The visitor sees a list or an object from the first token and stops at
/// the caps while parsing.
#[derive(Debug, Clone, ToSchema)]
#[serde(untagged)]
pub enum BlockedIn {
    Coordinates(Vec<Vec<i64>>),
    Seeded { fraction: f64, seed: u64 },
}

impl<'de> Deserialize<'de> for BlockedIn {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BlockedVisitor)
    }
}

struct BlockedVisitor;

impl<'de> serde::de::Visitor<'de> for BlockedVisitor {
    type Value = BlockedIn;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(r#"a list of coordinates, or {"fraction": f, "seed": s}"#)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<BlockedIn, A::Error> {
        let mut coords = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(Coordinate(c)) = seq.next_element()? {
            if coords.len() == MAX_EXPLICIT_BLOCKED {
                return Err(serde::de::Error::custom(format!(
                    "lists more than {MAX_EXPLICIT_BLOCKED} vertices (use {{fraction, seed}} for more)"
                )));
            }
            coords.push(c);
        }
        Ok(BlockedIn::Coordinates(coords))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<BlockedIn, A::Error> {
        use serde::de::Error;
        let (mut fraction, mut seed) = (None, None);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "fraction" if fraction.is_none() => fraction = Some(map.next_value::<f64>()?),
                "seed" if seed.is_none() => seed = Some(map.next_value::<u64>()?),
                "fraction" | "seed" => {
                    return Err(A::Error::custom(format!("duplicate field `{key}`")));
                }
                other => return Err(A::Error::unknown_field(other, &["fraction", "seed"])),
            }
        }
        Ok(BlockedIn::Seeded {
            fraction: fraction.ok_or_else(|| A::Error::missing_field("fraction"))?,
            seed: seed.ok_or_else(|| A::Error::missing_field("seed"))?,
        })
    }
}

/// One blocked vertex's coordinates, refused while parsing past
/// `MAX_DIMENSIONS` entries (a lattice has no more axes).
struct Coordinate(Vec<i64>);

impl<'de> Deserialize<'de> for Coordinate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CoordinateVisitor;
        impl<'de> serde::de::Visitor<'de> for CoordinateVisitor {
            type Value = Coordinate;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a coordinate: a list of integers, one per axis")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Coordinate, A::Error> {
                let mut axes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_DIMENSIONS));
                while let Some(x) = seq.next_element::<i64>()? {
                    if axes.len() == MAX_DIMENSIONS {
                        return Err(serde::de::Error::custom(format!(
                            "has more than {MAX_DIMENSIONS} axes"
                        )));
                    }
                    axes.push(x);
                }
                Ok(Coordinate(axes))
            }
        }
        deserializer.deserialize_seq(CoordinateVisitor)
    }
}

/// A validated lattice: what is stored, and the engine's view of it.
pub struct ValidLattice {
    pub def: LatticeDef,
    pub lattice: Lattice,
}

impl LatticeIn {
    /// Validates; `field` is where this lattice sits in the body (`lattice`).
    pub fn validate(&self, field: &str) -> Result<ValidLattice, ApiError> {
        let sizes = sizes(self, field)?;
        let shape = Lattice::new(sizes.clone()).map_err(|e| lattice_error(e, field, self))?;
        let wrap = match &self.wrap {
            None | Some(WrapIn::All(false)) => Vec::new(),
            Some(WrapIn::All(true)) => vec![true; sizes.len()],
            Some(WrapIn::PerAxis(flags)) => flags.clone(),
        };
        let blocked = match &self.blocked {
            None => BlockedDef::None,
            Some(BlockedIn::Seeded { fraction, seed }) => BlockedDef::Seeded {
                fraction: *fraction,
                seed: *seed,
            },
            Some(BlockedIn::Coordinates(coords)) => {
                // At most MAX_EXPLICIT_BLOCKED: BlockedIn's parse stops there.
                let mut indices = Vec::with_capacity(coords.len());
                for (i, c) in coords.iter().enumerate() {
                    indices.push(index_of(&shape, c, &format!("{field}.blocked[{i}]"))?);
                }
                BlockedDef::Explicit { indices }
            }
        };
        let def = LatticeDef {
            sizes,
            wrap,
            blocked,
        };
        let lattice = def.build().map_err(|e| lattice_error(e, field, self))?;
        Ok(ValidLattice { def, lattice })
    }
}

fn sizes(lattice: &LatticeIn, field: &str) -> Result<Vec<u32>, ApiError> {
    let max = MAX_DIMENSIONS as i64;
    let in_range_dims = |d: i64| (1..=max).contains(&d);
    let raw: Vec<(String, i64)> = match &lattice.size {
        SizeIn::Uniform(size) => {
            let d = lattice.dimensions.ok_or_else(|| {
                ApiError::field(
                    format!("{field}.dimensions"),
                    "required when size is one integer",
                )
            })?;
            if !in_range_dims(d) {
                return Err(ApiError::field(
                    format!("{field}.dimensions"),
                    format!("must be between 1 and {max}, got {d}"),
                ));
            }
            (0..d).map(|_| (format!("{field}.size"), *size)).collect()
        }
        SizeIn::PerAxis(sizes) => {
            let d = sizes.len() as i64;
            if !in_range_dims(d) {
                return Err(ApiError::field(
                    format!("{field}.size"),
                    format!("must list between 1 and {max} sizes, got {d}"),
                ));
            }
            if let Some(dims) = lattice.dimensions
                && dims != d
            {
                return Err(ApiError::field(
                    format!("{field}.dimensions"),
                    format!("is {dims} but size lists {d} axes"),
                ));
            }
            sizes
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("{field}.size[{i}]"), *s))
                .collect()
        }
    };
    let mut errors: Vec<FieldError> = Vec::new();
    let mut out = Vec::with_capacity(raw.len());
    for (name, size) in raw {
        match u32::try_from(size) {
            Ok(s) if s >= catalytic_lattice::MIN_SIZE => out.push(s),
            _ => {
                if !errors.iter().any(|e| e.field == name) {
                    errors.push(FieldError::new(
                        name,
                        format!("must be an integer between 2 and {}, got {size}", u32::MAX),
                    ));
                }
            }
        }
    }
    match errors.is_empty() {
        true => Ok(out),
        false => Err(ApiError::Validation(errors)),
    }
}

fn lattice_error(e: LatticeError, field: &str, input: &LatticeIn) -> ApiError {
    let at = |sub: &str| format!("{field}.{sub}");
    match e {
        LatticeError::Dimensions(_) => ApiError::field(at("dimensions"), e.to_string()),
        LatticeError::Size { axis, .. } => match input.size {
            SizeIn::Uniform(_) => ApiError::field(at("size"), e.to_string()),
            SizeIn::PerAxis(_) => ApiError::field(format!("{field}.size[{axis}]"), e.to_string()),
        },
        LatticeError::TooLarge => {
            ApiError::field(field.to_owned(), "the vertex count overflows 64 bits")
        }
        LatticeError::WrapLength { .. } => ApiError::field(at("wrap"), e.to_string()),
        LatticeError::Wrap { axis, .. } => match input.wrap {
            Some(WrapIn::PerAxis(_)) => {
                ApiError::field(format!("{field}.wrap[{axis}]"), e.to_string())
            }
            _ => ApiError::field(at("wrap"), e.to_string()),
        },
        LatticeError::BlockedIndex { position, .. } => {
            ApiError::field(format!("{field}.blocked[{position}]"), e.to_string())
        }
        LatticeError::Fraction(_) => ApiError::field(at("blocked.fraction"), e.to_string()),
        other => ApiError::field(field.to_owned(), other.to_string()),
    }
}

/// A coordinate from the body → a vertex index, or a 422 naming `field`
/// (wrong length) or `field[axis]` (out of range).
pub fn index_of(lattice: &Lattice, coord: &[i64], field: &str) -> Result<u64, ApiError> {
    if coord.len() != lattice.dimensions() {
        return Err(ApiError::field(
            field.to_owned(),
            format!(
                "has {} components but the lattice has {} dimensions",
                coord.len(),
                lattice.dimensions()
            ),
        ));
    }
    let mut checked = Vec::with_capacity(coord.len());
    for (axis, (&value, &size)) in coord.iter().zip(lattice.sizes()).enumerate() {
        match u64::try_from(value) {
            Ok(v) if v < u64::from(size) => checked.push(v),
            _ => {
                return Err(ApiError::field(
                    format!("{field}[{axis}]"),
                    format!("must be between 0 and {}, got {value}", size - 1),
                ));
            }
        }
    }
    lattice
        .index_of(&checked)
        .map_err(|e| ApiError::field(field.to_owned(), e.to_string()))
}
