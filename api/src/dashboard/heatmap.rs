//! A 2-D distance field (a stored `field` part, issue 22) drawn as an SVG
//! heat map: axis 0 to the right, axis 1 down, near the source dark blue,
//! far yellow, unreachable or blocked cells grey. Fields larger than
//! `MAX_SIDE` cells a side are shown in blocks (each block's mean over
//! its reachable cells), and each row's runs of one colour are one rect,
//! so the picture stays small whatever the field's size.
//!
//! Pure: the `.npy` bytes in, SVG text out.

use std::fmt::Write;

/// At most this many blocks a side.
pub const MAX_SIDE: usize = 96;
/// Colour steps from near to far.
const STEPS: usize = 12;
/// Side of one block in SVG units.
const CELL: usize = 6;

/// Why a part has no heat map.
#[derive(Debug, PartialEq, Eq)]
pub enum NoHeatMap {
    /// Not a `.npy` of 32-bit integers on two axes in Fortran order.
    NotA2dField,
}

/// The (sizes, values) of a 2-D `<i4` Fortran-order `.npy` file.
fn read(npy: &[u8]) -> Option<([usize; 2], Vec<i32>)> {
    let (header, data) = catalytic_shared::result_parts::npy_parts(npy)?;
    if !header.contains("'descr': '<i4'") || !header.contains("'fortran_order': True") {
        return None;
    }
    let shape = header.split("'shape': (").nth(1)?.split(')').next()?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse().ok())
        .collect::<Option<_>>()?;
    let [w, h] = dims[..] else { return None };
    if data.len() != w.checked_mul(h)?.checked_mul(4)? {
        return None;
    }
    let values = data
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Some(([w, h], values))
}

/// The SVG of a field's `.npy` bytes.
pub fn draw(npy: &[u8]) -> Result<String, NoHeatMap> {
    let ([w, h], values) = read(npy).ok_or(NoHeatMap::NotA2dField)?;
    let block = w.max(h).div_ceil(MAX_SIDE).max(1);
    let (cols, rows) = (w.div_ceil(block), h.div_ceil(block));
    // Each block's mean distance over its reachable cells (None: none).
    let mut means = vec![None; cols * rows];
    for (by, row) in means.chunks_mut(cols).enumerate() {
        for (bx, mean) in row.iter_mut().enumerate() {
            let (mut sum, mut n) = (0f64, 0u64);
            for y in by * block..((by + 1) * block).min(h) {
                for x in bx * block..((bx + 1) * block).min(w) {
                    let d = values[x + y * w];
                    if d >= 0 {
                        sum += f64::from(d);
                        n += 1;
                    }
                }
            }
            *mean = (n > 0).then(|| sum / n as f64);
        }
    }
    let far = means.iter().flatten().fold(0f64, |m, &d| m.max(d)).max(1.0);
    let colour =
        |mean: Option<f64>| mean.map(|d| ((d / far) * (STEPS - 1) as f64).round() as usize);
    let mut svg = String::new();
    let (width, height) = (cols * CELL, rows * CELL);
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img"><title>Distance from the source: dark blue near, yellow far, grey unreachable ({w} × {h} cells, blocks of {block})</title><rect width="{width}" height="{height}" fill="#9ca3af"/>"##
    );
    for (y, row) in means.chunks(cols).enumerate() {
        let mut x = 0;
        while x < cols {
            let step = colour(row[x]);
            let run = row[x..].iter().take_while(|&&m| colour(m) == step).count();
            if let Some(step) = step {
                let _ = write!(
                    svg,
                    r#"<rect x="{}" y="{}" width="{}" height="{CELL}" fill="{}"/>"#,
                    x * CELL,
                    y * CELL,
                    run * CELL,
                    shade(step)
                );
            }
            x += run;
        }
    }
    svg.push_str("</svg>");
    Ok(svg)
}

/// Step `i` of `STEPS` from dark blue to yellow (a viridis-like ramp).
fn shade(i: usize) -> &'static str {
    const RAMP: [&str; STEPS] = [
        "#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c", "#22a884", "#44bf70",
        "#7ad151", "#bddf26", "#e4e419", "#fde725",
    ];
    RAMP[i.min(STEPS - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalytic_shared::result_parts::{Packer, unpack};

    fn npy(w: u64, h: u64, values: impl IntoIterator<Item = i32>) -> Vec<u8> {
        let mut packer = Packer::npy("field", "<i4", &[w, h], true);
        let _ = packer.write_i32s(values);
        let packed = packer.finish().unwrap_or_else(|e| panic!("{e}"));
        let mut file = Vec::new();
        for (seq, frame) in packed.frames.iter().enumerate() {
            file.extend(unpack(frame, seq as u64, packed.length).unwrap_or_default());
        }
        file
    }

    #[test]
    fn a_small_field_is_one_rect_per_colour_run_and_unreachable_is_grey() {
        // 3 × 2: distances 0 1 2 / 1 -1 3.
        let svg = draw(&npy(3, 2, [0, 1, 2, 1, -1, 3])).unwrap_or_default();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
        // Row 0: three colours; row 1: two (the unreachable one is the grey ground).
        assert_eq!(svg.matches("<rect x=").count(), 5, "{svg}");
        assert!(
            svg.contains(&format!("fill=\"{}\"", shade(0))),
            "the source is the darkest"
        );
        assert!(
            svg.contains(&format!("fill=\"{}\"", shade(STEPS - 1))),
            "the farthest the lightest"
        );
    }

    #[test]
    fn a_large_field_is_drawn_in_blocks_with_merged_runs() {
        let (w, h) = (1000u64, 500u64);
        let svg = draw(&npy(w, h, (0..w * h).map(|i| (i % w) as i32))).unwrap_or_default();
        assert!(svg.contains("blocks of 11"), "{}", &svg[..300]);
        // Each row is the same 12 colour steps from left to right.
        let rows = (h as usize).div_ceil(11);
        assert!(
            svg.matches("<rect x=").count() <= rows * STEPS,
            "runs are merged"
        );
        assert!(svg.len() < 200_000, "{} bytes", svg.len());
    }

    #[test]
    fn anything_else_is_not_a_heat_map() {
        assert_eq!(draw(b"not npy"), Err(NoHeatMap::NotA2dField));
        let three_axes = {
            let mut packer = Packer::npy("field", "<i4", &[2, 2, 2], true);
            let _ = packer.write_i32s([0; 8]);
            let packed = packer.finish().unwrap_or_else(|e| panic!("{e}"));
            unpack(&packed.frames[0], 0, packed.length).unwrap_or_default()
        };
        assert_eq!(draw(&three_axes), Err(NoHeatMap::NotA2dField));
    }
}
