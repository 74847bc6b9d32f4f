//! Tests of lattice validation, wrap, blocking and the seeded rule.

use super::*;

#[test]
fn accepts_one_to_ten_dimensions() -> Result<(), LatticeError> {
    for d in 1..=MAX_DIMENSIONS {
        let lattice = Lattice::uniform(d, 2)?;
        assert_eq!(lattice.dimensions(), d);
        assert_eq!(lattice.vertex_count(), 1u64 << d);
    }
    Ok(())
}

#[test]
fn rejects_zero_and_eleven_dimensions() {
    assert_eq!(Lattice::new(vec![]), Err(LatticeError::Dimensions(0)));
    assert_eq!(Lattice::uniform(0, 5), Err(LatticeError::Dimensions(0)));
    assert_eq!(Lattice::new(vec![2; 11]), Err(LatticeError::Dimensions(11)));
    assert_eq!(Lattice::uniform(11, 2), Err(LatticeError::Dimensions(11)));
}

#[test]
fn rejects_the_first_axis_smaller_than_two() {
    assert_eq!(
        Lattice::new(vec![3, 1, 0]),
        Err(LatticeError::Size { axis: 1, size: 1 })
    );
    assert_eq!(
        Lattice::uniform(3, 0),
        Err(LatticeError::Size { axis: 0, size: 0 })
    );
}

#[test]
fn dimension_check_comes_before_size_check() {
    assert_eq!(Lattice::new(vec![0; 11]), Err(LatticeError::Dimensions(11)));
}

#[test]
fn vertex_count_overflow_is_too_large() {
    // 84^10 < 2^64 < 85^10.
    assert!(Lattice::uniform(10, 84).is_ok());
    assert_eq!(Lattice::uniform(10, 85), Err(LatticeError::TooLarge));
    assert!(Lattice::new(vec![u32::MAX, u32::MAX]).is_ok());
    assert_eq!(
        Lattice::new(vec![u32::MAX, u32::MAX, 2]),
        Err(LatticeError::TooLarge)
    );
}

#[test]
fn strides_are_mixed_radix_with_axis_zero_least_significant() -> Result<(), LatticeError> {
    let lattice = Lattice::new(vec![3, 4, 5])?;
    assert_eq!(lattice.strides(), &[1, 3, 12]);
    assert_eq!(lattice.vertex_count(), 60);
    assert_eq!(lattice.sizes(), &[3, 4, 5]);
    Ok(())
}

#[test]
fn edge_count_matches_per_axis_formula() -> Result<(), LatticeError> {
    assert_eq!(Lattice::new(vec![5])?.edge_count(), 4);
    // 3x4: rows of 3 give 2 edges each * 4 rows, columns give 3 edges * 3 columns.
    assert_eq!(Lattice::new(vec![3, 4])?.edge_count(), 8 + 9);
    // Hypercube Q10: d * 2^(d-1).
    assert_eq!(Lattice::uniform(10, 2)?.edge_count(), 10 * 512);
    Ok(())
}

#[test]
fn edge_count_saturates_on_the_largest_lattices() -> Result<(), LatticeError> {
    assert_eq!(Lattice::uniform(10, 84)?.edge_count(), u64::MAX);
    Ok(())
}

#[test]
fn max_distance_is_corner_to_corner() -> Result<(), LatticeError> {
    assert_eq!(Lattice::new(vec![3, 4, 5])?.max_distance(), 2 + 3 + 4);
    assert_eq!(Lattice::uniform(10, 2)?.max_distance(), 10);
    Ok(())
}

#[test]
fn error_messages_name_the_offending_part() {
    assert_eq!(
        LatticeError::Size { axis: 2, size: 1 }.to_string(),
        "size of axis 2 must be at least 2, got 1"
    );
    assert_eq!(
        LatticeError::CoordinateRange {
            axis: 1,
            value: 7,
            size: 4
        }
        .to_string(),
        "component 1 is 7, outside 0..4"
    );
}

#[test]
fn splitmix64_matches_published_values() {
    assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
    // The reference generator's outputs for seed 0 are splitmix64(k * gamma).
    assert_eq!(splitmix64(0x9E37_79B9_7F4A_7C15), 0x6E78_9E6A_A1B9_65F4);
    assert_eq!(splitmix64(1), 0x910A_2DEC_8902_5CC1);
}

#[test]
fn wrap_needs_one_flag_per_axis() -> Result<(), LatticeError> {
    let lattice = Lattice::new(vec![3, 4])?;
    assert_eq!(
        lattice.clone().with_wrap(vec![true]),
        Err(LatticeError::WrapLength {
            expected: 2,
            got: 1
        })
    );
    assert_eq!(
        LatticeError::WrapLength {
            expected: 2,
            got: 1
        }
        .to_string(),
        "wrap has 1 flags but the lattice has 2 dimensions"
    );
    let wrapped = lattice.with_wrap(vec![true, false])?;
    assert_eq!(wrapped.wraps(), &[true, false]);
    Ok(())
}

#[test]
fn wrap_is_refused_on_a_size_two_axis() -> Result<(), LatticeError> {
    let lattice = Lattice::new(vec![3, 2, 2])?;
    assert_eq!(
        lattice.clone().with_wrap(vec![true, false, true]),
        Err(LatticeError::Wrap { axis: 2, size: 2 })
    );
    assert_eq!(
        LatticeError::Wrap { axis: 2, size: 2 }.to_string(),
        "axis 2 may wrap only if its size is at least 3, got 2"
    );
    assert!(lattice.with_wrap(vec![true, false, false]).is_ok());
    Ok(())
}

#[test]
fn new_lattices_do_not_wrap_or_block() -> Result<(), LatticeError> {
    let lattice = Lattice::new(vec![3, 4])?;
    assert_eq!(lattice.wraps(), &[false, false]);
    assert_eq!(lattice.blocked(), &Blocked::None);
    assert_eq!(lattice.open_vertex_count(), 12);
    assert!(!lattice.is_blocked(0));
    Ok(())
}

#[test]
fn explicit_blocked_is_sorted_deduplicated_and_counted() -> Result<(), LatticeError> {
    let lattice = Lattice::new(vec![3, 4])?.with_blocked(Blocked::Explicit(vec![7, 2, 7, 11]))?;
    assert_eq!(lattice.blocked(), &Blocked::Explicit(vec![2, 7, 11]));
    assert_eq!(lattice.open_vertex_count(), 9);
    assert!(lattice.is_blocked(7));
    assert!(!lattice.is_blocked(8));
    assert!(!lattice.is_blocked(12));
    Ok(())
}

#[test]
fn explicit_blocked_out_of_range_names_its_position() -> Result<(), LatticeError> {
    let lattice = Lattice::new(vec![3, 4])?;
    assert_eq!(
        lattice.with_blocked(Blocked::Explicit(vec![1, 12, 99])),
        Err(LatticeError::BlockedIndex {
            position: 1,
            index: 12
        })
    );
    assert_eq!(
        LatticeError::BlockedIndex {
            position: 1,
            index: 12
        }
        .to_string(),
        "blocked entry 1 is vertex 12, outside the lattice"
    );
    Ok(())
}

#[test]
fn fraction_must_be_in_zero_one() -> Result<(), LatticeError> {
    let lattice = Lattice::new(vec![3, 4])?;
    for bad in [-0.1, 1.000_001, f64::INFINITY] {
        assert_eq!(
            lattice.clone().with_blocked(Blocked::Seeded {
                fraction: bad,
                seed: 1
            }),
            Err(LatticeError::Fraction(bad))
        );
    }
    let nan = lattice.with_blocked(Blocked::Seeded {
        fraction: f64::NAN,
        seed: 1,
    });
    assert!(matches!(nan, Err(LatticeError::Fraction(f)) if f.is_nan()));
    assert_eq!(
        LatticeError::Fraction(1.5).to_string(),
        "blocked fraction must be between 0 and 1, got 1.5"
    );
    Ok(())
}

#[test]
fn seeded_fraction_zero_blocks_nothing_and_one_blocks_everything() -> Result<(), LatticeError> {
    let lattice = Lattice::uniform(2, 30)?;
    for seed in [0, 1, u64::MAX] {
        let none = lattice.clone().with_blocked(Blocked::Seeded {
            fraction: 0.0,
            seed,
        })?;
        assert_eq!(none.open_vertex_count(), 900);
        assert!(!none.has_blocking());
        let all = lattice.clone().with_blocked(Blocked::Seeded {
            fraction: 1.0,
            seed,
        })?;
        assert_eq!(all.open_vertex_count(), 0);
        assert!((0..900).all(|v| all.is_blocked(v)));
    }
    Ok(())
}

#[test]
fn seeded_rule_is_splitmix_below_the_threshold() -> Result<(), LatticeError> {
    let lattice = Lattice::uniform(2, 50)?.with_blocked(Blocked::Seeded {
        fraction: 0.25,
        seed: 42,
    })?;
    for v in 0..2500u64 {
        assert_eq!(
            lattice.is_blocked(v),
            splitmix64(42 ^ v) < 1u64 << 62,
            "{v}"
        );
    }
    let open = lattice.open_vertex_count();
    assert!((1700..2050).contains(&open), "{open}");
    Ok(())
}

#[test]
fn threshold_is_exact_for_tiny_and_whole_fractions() {
    assert_eq!(seeded_threshold(0.0), 0);
    assert_eq!(seeded_threshold(1.0), 1u128 << 64);
    assert_eq!(seeded_threshold(0.5), 1u128 << 63);
    // 2^-70 × 2^64 = 1/64: only h = 0 is below it.
    assert_eq!(seeded_threshold(2f64.powi(-70)), 1);
    assert_eq!(seeded_threshold(f64::MIN_POSITIVE), 1);
}

#[test]
fn edge_count_and_open_diameter_honour_wrap() -> Result<(), LatticeError> {
    let lattice = Lattice::new(vec![3, 4])?.with_wrap(vec![true, true])?;
    assert_eq!(lattice.edge_count(), 24);
    assert_eq!(lattice.open_diameter(), 1 + 2);
    assert_eq!(Lattice::new(vec![3, 4])?.open_diameter(), 2 + 3);
    Ok(())
}

#[test]
fn seeded_rule_blocks_exactly_what_the_lattice_blocks() -> Result<(), LatticeError> {
    for fraction in [0.0, 2f64.powi(-70), 0.2, 0.5, 0.999, 1.0] {
        let lattice =
            Lattice::uniform(2, 40)?.with_blocked(Blocked::Seeded { fraction, seed: 9 })?;
        match lattice.seeded_rule() {
            None => assert!(!lattice.has_blocking(), "{fraction}"),
            Some(rule) => {
                assert_eq!(rule.all, fraction == 1.0, "{fraction}");
                for v in 0..lattice.vertex_count() {
                    assert_eq!(rule.blocks(v), lattice.is_blocked(v), "{fraction} {v}");
                }
            }
        }
    }
    let listed = Lattice::uniform(2, 4)?.with_blocked(Blocked::Explicit(vec![3]))?;
    assert_eq!(listed.seeded_rule(), None);
    Ok(())
}
