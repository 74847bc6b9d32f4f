//! Tests of the transforms and of the catalytic variant's restore proof.

use std::cell::Cell;
use std::error::Error;

use proptest::prelude::*;

use super::catalytic::{borrow, give_back, transform_in_place};
use super::*;
use crate::cancel::{Cancel, Cancelled, Never, POLL_INTERVAL};
use crate::spec::Lattice;

type TestResult = Result<(), Box<dyn Error>>;

/// [`apply_catalytic`] with a broken restore: the run's pieces as
/// `apply_catalytic` chains them, with the first aux element used left off
/// by a nonzero value between the transform and the proof, as a skipped
/// restoring XOR of a nonzero element leaves it. Nothing is broken when no
/// aux was used (no restoring step exists to skip).
fn apply_catalytic_with_fault(
    lattice: &Lattice,
    data: &mut Data,
    aux: &mut [u8],
    transform: &Transform,
) -> Result<Result<CatalyticReport, Cancelled>, TransformError> {
    let (checked, before) = borrow(lattice, data, aux, transform)?;
    let used = match transform_in_place(checked, data, aux, &Never) {
        Ok(used) => used,
        Err(cancelled) => return Ok(Err(cancelled)),
    };
    if used > 0 {
        aux[0] ^= 0x5a;
    }
    give_back(aux, before, used).map(Ok)
}

/// A cancel source that counts the progress reported to it and stops once
/// it has been asked `stop_at` times (never, for `u32::MAX`).
struct Counting {
    advanced: Cell<u64>,
    reports: Cell<u32>,
    asked: Cell<u32>,
    stop_at: u32,
}

impl Counting {
    fn stopping_at(stop_at: u32) -> Self {
        Self {
            advanced: Cell::new(0),
            reports: Cell::new(0),
            asked: Cell::new(0),
            stop_at,
        }
    }
}

impl Cancel for Counting {
    fn should_stop(&self) -> bool {
        self.asked.set(self.asked.get() + 1);
        self.asked.get() >= self.stop_at
    }

    fn advanced(&self, vertices: u64) {
        self.advanced.set(self.advanced.get() + vertices);
        self.reports.set(self.reports.get() + 1);
    }
}

fn rotate(axes: [usize; 2], quarter_turns: u8) -> Transform {
    Transform::Rotate {
        axes,
        quarter_turns,
    }
}

fn iota(lattice: &Lattice) -> Data {
    Data::U8((0..lattice.vertex_count()).map(|i| i as u8).collect())
}

/// The data's bytes, little-endian: compares f32 fields bit for bit, NaNs included.
fn bytes(data: &Data) -> Vec<u8> {
    match data {
        Data::U8(values) => values.clone(),
        Data::F32(values) => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

#[test]
fn checksum_is_fnv1a_64() {
    assert_eq!(checksum(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(checksum(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(checksum(b"foobar"), 0x8594_4171_f739_67e8);
}

#[test]
fn xor_twice_is_the_identity() -> TestResult {
    let lattice = Lattice::new(vec![3, 5])?;
    let key = Transform::Xor {
        key: vec![0x5a, 0x01, 0xff],
    };
    for kind in [DataKind::U8, DataKind::F32] {
        let data = generate(&lattice, kind, 7);
        let once = apply(&lattice, data.clone(), &key, &Never)??;
        assert_ne!(bytes(&once), bytes(&data));
        let twice = apply(&lattice, once, &key, &Never)??;
        assert_eq!(bytes(&twice), bytes(&data));
    }
    Ok(())
}

#[test]
fn xor_cycles_the_key_over_f32_little_endian_bytes() -> TestResult {
    let lattice = Lattice::new(vec![2])?;
    let data = Data::F32(vec![f32::from_bits(0), f32::from_bits(0x0403_0201)]);
    let out = apply(
        &lattice,
        data,
        &Transform::Xor { key: vec![1, 2, 3] },
        &Never,
    )??;
    // Bytes 0..8 meet key bytes 1,2,3,1,2,3,1,2.
    assert_eq!(bytes(&out), vec![1, 2, 3, 1, 3, 1, 2, 6]);
    Ok(())
}

#[test]
fn rotating_a_3x3_quarter_turn_matches_the_hand_worked_grid() -> TestResult {
    let lattice = Lattice::new(vec![3, 3])?;
    // Rows are axis 1 (v), columns axis 0 (u); (u, v) moves to (2 - v, u).
    //   0 1 2      6 3 0
    //   3 4 5  ->  7 4 1
    //   6 7 8      8 5 2
    let out = apply(&lattice, iota(&lattice), &rotate([0, 1], 1), &Never)??;
    assert_eq!(out, Data::U8(vec![6, 3, 0, 7, 4, 1, 8, 5, 2]));
    let half = apply(&lattice, iota(&lattice), &rotate([0, 1], 2), &Never)??;
    assert_eq!(half, Data::U8(vec![8, 7, 6, 5, 4, 3, 2, 1, 0]));
    let back = apply(&lattice, iota(&lattice), &rotate([1, 0], 1), &Never)??;
    assert_eq!(back, Data::U8(vec![2, 5, 8, 1, 4, 7, 0, 3, 6]));
    Ok(())
}

#[test]
fn four_quarter_turns_and_one_then_three_are_the_identity() -> TestResult {
    let lattice = Lattice::new(vec![4, 3, 4])?;
    let data = generate(&lattice, DataKind::F32, 3);
    let mut four = data.clone();
    for _ in 0..4 {
        four = apply(&lattice, four, &rotate([0, 2], 1), &Never)??;
    }
    assert_eq!(bytes(&four), bytes(&data));
    let one = apply(&lattice, data.clone(), &rotate([2, 0], 1), &Never)??;
    assert_ne!(bytes(&one), bytes(&data));
    let three = apply(&lattice, one, &rotate([2, 0], 3), &Never)??;
    assert_eq!(bytes(&three), bytes(&data));
    assert_eq!(
        apply(&lattice, data.clone(), &rotate([0, 2], 4), &Never)??,
        data,
        "turns are taken mod 4"
    );
    assert_eq!(
        apply(&lattice, data.clone(), &rotate([0, 2], 5), &Never)??,
        apply(&lattice, data, &rotate([0, 2], 1), &Never)??
    );
    Ok(())
}

#[test]
fn rotating_two_axes_of_a_3d_lattice_leaves_the_third_alone() -> TestResult {
    let lattice = Lattice::new(vec![3, 2, 3])?;
    let out = apply(&lattice, iota(&lattice), &rotate([0, 2], 1), &Never)??;
    let Data::U8(out) = out else {
        return Err("rotate changed the data kind".into());
    };
    for i in 0..lattice.vertex_count() {
        let c = lattice.coord_of(i);
        let target = lattice.index_of(&[u64::from(2 - c[2]), u64::from(c[1]), u64::from(c[0])])?;
        assert_eq!(out[target as usize], i as u8, "vertex {c:?}");
    }
    Ok(())
}

#[test]
fn scale_multiplies_each_value() -> TestResult {
    let lattice = Lattice::new(vec![2, 2])?;
    let data = Data::F32(vec![1.0, -2.5, 0.0, 1e3]);
    let out = apply(&lattice, data, &Transform::Scale { factor: -2.0 }, &Never)??;
    assert_eq!(out, Data::F32(vec![-2.0, 5.0, -0.0, -2e3]));
    Ok(())
}

#[test]
fn catalytic_xor_and_scale_leave_aux_untouched() -> TestResult {
    let lattice = Lattice::new(vec![4, 4])?;
    let aux_before: Vec<u8> = (0..=255).collect();
    for transform in [
        Transform::Xor { key: vec![9, 8] },
        Transform::Scale { factor: 0.5 },
    ] {
        assert_eq!(aux_bytes_needed(&lattice, DataKind::F32, &transform), 0);
        let mut data = generate(&lattice, DataKind::F32, 11);
        let expected = apply(&lattice, data.clone(), &transform, &Never)??;
        let mut aux = aux_before.clone();
        let report = apply_catalytic(&lattice, &mut data, &mut aux, &transform, &Never)??;
        assert_eq!(bytes(&data), bytes(&expected));
        assert_eq!(aux, aux_before);
        assert_eq!(report.aux_bytes_used, 0);
        assert_eq!(report.aux_checksum_before, checksum(&aux_before));
        assert!(report.restored);
    }
    Ok(())
}

#[test]
fn catalytic_rotate_borrows_one_element_per_moving_orbit() -> TestResult {
    // A 5x5 plane: the centre is fixed, 24 vertices move; times 2 planes.
    let lattice = Lattice::new(vec![5, 2, 5])?;
    for (turns, orbits) in [(0, 0), (1, 12), (2, 24), (3, 12)] {
        let transform = rotate([0, 2], turns);
        let needed = aux_bytes_needed(&lattice, DataKind::F32, &transform);
        assert_eq!(needed, orbits * 4, "{turns} turns");
        let mut data = generate(&lattice, DataKind::F32, 5);
        let mut aux = vec![0xa5; needed as usize];
        let report = apply_catalytic(&lattice, &mut data, &mut aux, &transform, &Never)??;
        assert_eq!(report.aux_bytes_used, needed);
        assert_eq!(report.extra_bytes, 0);
        assert_eq!(aux, vec![0xa5; needed as usize]);
    }
    Ok(())
}

#[test]
fn a_skipped_restore_step_is_caught_by_the_checksum() -> TestResult {
    let lattice = Lattice::new(vec![3, 3])?;
    // Nonzero values, so skipping `r ^= d` always leaves a trace in aux.
    let mut data = Data::U8((1..=9).collect());
    let mut aux = vec![0x3c; 64];
    let before = checksum(&aux);
    let result = apply_catalytic_with_fault(&lattice, &mut data, &mut aux, &rotate([0, 1], 1));
    let Err(TransformError::RestoreFailed {
        before: reported,
        after,
    }) = result
    else {
        return Err(format!("expected RestoreFailed, got {result:?}").into());
    };
    assert_eq!(reported, before);
    assert_ne!(after, before);
    assert_eq!(after, checksum(&aux));
    Ok(())
}

/// Issue 22: every transform reports its elements through `advanced`, one
/// report per poll, adding up to the element count (here two polls: one
/// full interval and the rest).
#[test]
fn a_transforms_progress_adds_up_to_its_elements() -> TestResult {
    let lattice = Lattice::new(vec![300, 300])?;
    let n = lattice.vertex_count();
    assert!(n > POLL_INTERVAL && n % POLL_INTERVAL != 0);
    let transforms = [
        Transform::Xor { key: vec![3, 1] },
        Transform::Scale { factor: 1.5 },
        rotate([0, 1], 1),
        rotate([1, 0], 2),
    ];
    for transform in &transforms {
        let plain = Counting::stopping_at(u32::MAX);
        let data = generate(&lattice, DataKind::F32, 2);
        let expected = apply(&lattice, data.clone(), transform, &plain)??;
        let catalytic = Counting::stopping_at(u32::MAX);
        let mut data = data;
        let mut aux = vec![7; aux_bytes_needed(&lattice, DataKind::F32, transform) as usize];
        apply_catalytic(&lattice, &mut data, &mut aux, transform, &catalytic)??;
        assert_eq!(bytes(&data), bytes(&expected), "{transform:?}");
        for counting in [plain, catalytic] {
            assert_eq!(counting.advanced.get(), n, "{transform:?}");
            assert_eq!((counting.reports.get(), counting.asked.get()), (2, 2));
        }
    }
    Ok(())
}

/// The key's position carries over from one poll's elements to the next
/// (a key of 3 bytes does not divide the 2^16 elements of an interval).
#[test]
fn xor_keeps_its_key_position_across_polls() -> TestResult {
    let lattice = Lattice::new(vec![300, 300])?;
    let key = vec![1, 2, 4];
    let Data::U8(out) = apply(
        &lattice,
        iota(&lattice),
        &Transform::Xor { key: key.clone() },
        &Never,
    )??
    else {
        return Err("wrong kind".into());
    };
    let expected: Vec<u8> = (0..lattice.vertex_count() as usize)
        .map(|i| i as u8 ^ key[i % 3])
        .collect();
    assert!(out == expected);
    Ok(())
}

/// A cancel stops a transform at its next poll; a cancelled catalytic
/// rotate has still given every borrowed aux byte back.
#[test]
fn a_cancelled_transform_stops_at_its_next_poll_and_restores_aux() -> TestResult {
    let lattice = Lattice::new(vec![300, 300])?;
    let transform = rotate([0, 1], 1);
    let stops = Counting::stopping_at(2);
    let ran = apply(&lattice, iota(&lattice), &transform, &stops)?;
    assert_eq!(ran, Err(Cancelled));
    assert_eq!(stops.advanced.get(), POLL_INTERVAL, "one interval done");
    let mut data = iota(&lattice);
    let aux_before: Vec<u8> = (0..aux_bytes_needed(&lattice, DataKind::U8, &transform))
        .map(|i| (i % 251) as u8)
        .collect();
    let mut aux = aux_before.clone();
    let stops = Counting::stopping_at(2);
    let ran = apply_catalytic(&lattice, &mut data, &mut aux, &transform, &stops)?;
    assert_eq!(ran, Err(Cancelled));
    assert_eq!(aux, aux_before, "aux given back");
    assert_ne!(data, iota(&lattice), "the data was left part-way");
    Ok(())
}

#[test]
fn every_error_names_its_parameter() -> TestResult {
    let square = Lattice::new(vec![2, 2, 3])?;
    let u8_data = || Data::U8(vec![0; 12]);
    let f32_data = || Data::F32(vec![0.0; 12]);
    let cases = [
        (
            apply(&square, Data::U8(vec![0; 5]), &rotate([0, 1], 1), &Never),
            TransformError::DataLength {
                expected: 12,
                got: 5,
            },
            "data",
        ),
        (
            apply(&square, u8_data(), &Transform::Xor { key: vec![] }, &Never),
            TransformError::EmptyKey,
            "key",
        ),
        (
            apply(&square, u8_data(), &rotate([0, 3], 1), &Never),
            TransformError::RotateAxis {
                axis: 3,
                dimensions: 3,
            },
            "axes",
        ),
        (
            apply(&square, u8_data(), &rotate([1, 1], 1), &Never),
            TransformError::RotateSameAxis,
            "axes",
        ),
        (
            apply(&square, u8_data(), &rotate([1, 2], 1), &Never),
            TransformError::RotateUnequalSizes {
                axes: [1, 2],
                sizes: [2, 3],
            },
            "axes",
        ),
        (
            apply(
                &square,
                u8_data(),
                &Transform::Scale { factor: 2.0 },
                &Never,
            ),
            TransformError::ScaleNeedsF32,
            "data",
        ),
        (
            apply(
                &square,
                f32_data(),
                &Transform::Scale { factor: f32::NAN },
                &Never,
            ),
            TransformError::NotFinite,
            "factor",
        ),
        (
            apply(
                &square,
                f32_data(),
                &Transform::Scale {
                    factor: f32::INFINITY,
                },
                &Never,
            ),
            TransformError::NotFinite,
            "factor",
        ),
        (
            apply_catalytic(
                &square,
                &mut f32_data(),
                &mut [0; 11],
                &rotate([0, 1], 1),
                &Never,
            )
            .map(|_| Ok(f32_data())),
            TransformError::AuxTooSmall {
                needed: 12,
                got: 11,
            },
            "aux",
        ),
    ];
    for (result, expected, field) in cases {
        assert_eq!(result, Err(expected.clone()));
        assert_eq!(expected.field(), field);
        assert!(expected.to_string().contains(field), "{expected}");
    }
    let failed = TransformError::RestoreFailed {
        before: 1,
        after: 2,
    };
    assert_eq!(failed.field(), "aux");
    assert!(failed.to_string().contains("aux"));
    Ok(())
}

#[test]
fn generate_is_deterministic_per_seed_and_differs_across_seeds() -> TestResult {
    let lattice = Lattice::new(vec![7, 5])?;
    for kind in [DataKind::U8, DataKind::F32] {
        let a = generate(&lattice, kind, 42);
        assert_eq!(a.kind(), kind);
        assert_eq!(a.len(), 35);
        assert_eq!(bytes(&a), bytes(&generate(&lattice, kind, 42)));
        assert_ne!(bytes(&a), bytes(&generate(&lattice, kind, 43)));
    }
    let Data::F32(values) = generate(&lattice, DataKind::F32, 1) else {
        return Err("wrong kind".into());
    };
    assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
    // Pins the stream: splitmix64 of state 0 is a published test value.
    assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
    Ok(())
}

/// A lattice of 2..=4 axes (sizes 2..=5), two distinct axes made equal, and turns.
fn rotation() -> impl Strategy<Value = (Vec<u32>, [usize; 2], u8)> {
    prop::collection::vec(2u32..=5, 2..=4)
        .prop_flat_map(|sizes| {
            let d = sizes.len();
            (Just(sizes), 0..d, 1..d, any::<u8>())
        })
        .prop_map(|(mut sizes, a, offset, turns)| {
            let b = (a + offset) % sizes.len();
            sizes[b] = sizes[a];
            (sizes, [a, b], turns)
        })
}

/// Any transform that is valid on f32 data of such a lattice.
fn transform() -> impl Strategy<Value = (Vec<u32>, Transform)> {
    prop_oneof![
        rotation().prop_map(|(sizes, axes, turns)| (sizes, rotate(axes, turns))),
        (
            prop::collection::vec(2u32..=5, 1..=4),
            prop::collection::vec(any::<u8>(), 1..=7)
        )
            .prop_map(|(sizes, key)| (sizes, Transform::Xor { key })),
        (prop::collection::vec(2u32..=5, 1..=4), -1e6f32..1e6)
            .prop_map(|(sizes, factor)| (sizes, Transform::Scale { factor })),
    ]
}

proptest! {
    #[test]
    fn rotate_matches_a_coordinate_reference((sizes, [a, b], turns) in rotation()) {
        let lattice = Lattice::new(sizes)?;
        let Data::U8(out) = apply(&lattice, iota(&lattice), &rotate([a, b], turns), &Never)?? else {
            return Err(TestCaseError::fail("wrong kind"));
        };
        let m = u64::from(lattice.sizes()[a]);
        for i in 0..lattice.vertex_count() {
            let mut c: Vec<u64> = lattice.coord_of(i).into_iter().map(u64::from).collect();
            for _ in 0..turns % 4 {
                (c[a], c[b]) = (m - 1 - c[b], c[a]);
            }
            prop_assert_eq!(out[lattice.index_of(&c)? as usize], i as u8);
        }
    }

    #[test]
    fn catalytic_equals_apply_and_restores_aux(
        (sizes, transform) in transform(),
        raw in prop::collection::vec(any::<u8>(), 4 * 625),
        aux_raw in prop::collection::vec(any::<u8>(), 4 * 625 + 8),
        slack in 0usize..=8,
        as_f32 in any::<bool>(),
    ) {
        let lattice = Lattice::new(sizes)?;
        let n = lattice.vertex_count() as usize;
        let mut data = if as_f32 || matches!(transform, Transform::Scale { .. }) {
            // Raw bit patterns: NaN payloads must survive too.
            Data::F32(raw.chunks_exact(4).take(n).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        } else {
            Data::U8(raw[..n].to_vec())
        };
        let needed = aux_bytes_needed(&lattice, data.kind(), &transform) as usize;
        let original_aux = aux_raw[..needed + slack].to_vec();
        let mut aux = original_aux.clone();
        let expected = apply(&lattice, data.clone(), &transform, &Never)??;
        let report = apply_catalytic(&lattice, &mut data, &mut aux, &transform, &Never)??;
        prop_assert_eq!(bytes(&data), bytes(&expected));
        prop_assert_eq!(&aux, &original_aux);
        prop_assert!(report.restored);
        prop_assert_eq!(report.aux_checksum_before, checksum(&original_aux));
        prop_assert_eq!(report.aux_checksum_after, report.aux_checksum_before);
        prop_assert_eq!(report.aux_bytes_used, needed as u64);
        prop_assert_eq!(report.extra_bytes, 0);
    }

    #[test]
    fn a_faulty_restore_never_passes((sizes, axes, turns) in rotation(), fill in any::<u8>()) {
        let lattice = Lattice::new(sizes)?;
        let transform = rotate(axes, turns);
        // Nonzero values, so skipping `r ^= d` always leaves a trace in aux.
        let mut data = Data::U8((0..lattice.vertex_count()).map(|i| (i % 255 + 1) as u8).collect());
        let mut aux = vec![fill; aux_bytes_needed(&lattice, DataKind::U8, &transform) as usize];
        let result = apply_catalytic_with_fault(&lattice, &mut data, &mut aux, &transform);
        if turns % 4 == 0 {
            // Nothing moves, so no restoring step exists to skip.
            prop_assert!(result.is_ok());
        } else {
            let failed = matches!(result, Err(TransformError::RestoreFailed { before, after }) if before != after);
            prop_assert!(failed, "{:?}", result);
        }
    }
}
