//! A 2-D shortest path drawn as an SVG picture of its grid: axis 0 runs to
//! the right, axis 1 down; blocked cells dark, the path's cells coloured
//! (start and end marked). The lattice is rebuilt from the job's stored
//! spec with the engine's own constructor, so the blocked cells drawn are
//! exactly the ones the engine saw (seeded blocking included).
//!
//! Pure: no I/O. Every path cell is one `rect.path`, so a test can count
//! them; runs of blocked cells in a row are merged into one rect to keep
//! large grids small.

use catalytic_shared::job::{JobSpec, Operation};
use catalytic_shared::tenant::Plan;
use maud::{Markup, html};

/// Grids with more cells than this are not drawn (the page would be huge).
pub const MAX_CELLS: u64 = 200 * 200;
/// Side of one cell in SVG units.
const CELL: u64 = 10;

/// Why a job has no picture.
#[derive(Debug, PartialEq, Eq)]
pub enum NoPicture {
    /// Not a 2-D shortest path, or no path in the result.
    NotAPath,
    TooLarge {
        cells: u64,
    },
}

/// The spec a request body makes. Validated as a submit is (the largest
/// plan's limits: the job was accepted already, this only reads it back).
fn spec_of(request: &serde_json::Value) -> Option<JobSpec> {
    let job = <crate::job_request::JobIn as serde::Deserialize>::deserialize(request).ok()?;
    job.into_spec(&Plan::Enterprise.limits(), None).ok()
}

/// The picture of a 2-D shortest-path job's result, from its request
/// (`JobOut::request`, the shape a submit takes) and result.
pub fn draw(request: &serde_json::Value, result: &serde_json::Value) -> Result<Markup, NoPicture> {
    let spec = spec_of(request).ok_or(NoPicture::NotAPath)?;
    let Operation::ShortestPath { start, end } = &spec.operation else {
        return Err(NoPicture::NotAPath);
    };
    let lattice = spec.lattice.build().map_err(|_| NoPicture::NotAPath)?;
    let [width, height] = *lattice.sizes() else {
        return Err(NoPicture::NotAPath);
    };
    let cells = lattice.vertex_count();
    if cells > MAX_CELLS {
        return Err(NoPicture::TooLarge { cells });
    }
    let path: Vec<[u64; 2]> = result
        .get("path")
        .and_then(|p| serde_json::from_value::<Vec<Vec<u64>>>(p.clone()).ok())
        .map(|p| {
            p.into_iter()
                .filter_map(|c| <[u64; 2]>::try_from(c).ok())
                .collect()
        })
        .unwrap_or_default();
    let (width, height) = (u64::from(width), u64::from(height));
    let blocked = blocked_runs(width, height, |x, y| lattice.is_blocked(x + y * width));
    let marker = |x: u64, y: u64| -> &'static str {
        let at = |c: &[u32]| c.len() == 2 && u64::from(c[0]) == x && u64::from(c[1]) == y;
        match (at(start), at(end)) {
            (true, _) => "path start",
            (_, true) => "path end",
            _ => "path",
        }
    };
    Ok(html! {
        svg.grid xmlns="http://www.w3.org/2000/svg" role="img"
            viewBox=(format!("0 0 {} {}", width * CELL, height * CELL))
            data-width=(width) data-height=(height)
            aria-label=(format!("{width}×{height} grid with a path of {} cells", path.len())) {
            defs {
                pattern #cell width=(CELL) height=(CELL) patternUnits="userSpaceOnUse" {
                    path d=(format!("M {CELL} 0 L 0 0 0 {CELL}")) fill="none" stroke="#d0d4da" stroke-width="0.5" {}
                }
            }
            rect.open x="0" y="0" width=(width * CELL) height=(height * CELL) fill="url(#cell)" {}
            @for (x, y, run) in &blocked {
                rect.blocked x=(x * CELL) y=(y * CELL) width=(run * CELL) height=(CELL) {}
            }
            @for [x, y] in &path {
                rect class=(marker(*x, *y)) x=(x * CELL) y=(y * CELL) width=(CELL) height=(CELL)
                    data-x=(x) data-y=(y) {}
            }
        }
    })
}

/// Blocked cells as horizontal runs `(x, y, length)`.
fn blocked_runs(
    width: u64,
    height: u64,
    blocked: impl Fn(u64, u64) -> bool,
) -> Vec<(u64, u64, u64)> {
    let mut runs = Vec::new();
    for y in 0..height {
        let mut x = 0;
        while x < width {
            if blocked(x, y) {
                let from = x;
                while x < width && blocked(x, y) {
                    x += 1;
                }
                runs.push((from, y, x - from));
            } else {
                x += 1;
            }
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(blocked: serde_json::Value) -> serde_json::Value {
        json!({"lattice": {"size": [4, 3], "blocked": blocked},
               "operation": "shortest_path", "params": {"start": [0, 0], "end": [3, 2]}})
    }

    #[test]
    fn every_path_cell_is_one_rect_and_blocked_runs_merge() -> Result<(), NoPicture> {
        // Vertices 1, 2 and 5 (axis 0 least significant).
        let req = request(json!([[1, 0], [2, 0], [1, 1]]));
        let result = json!({"path": [[0,0],[0,1],[0,2],[1,2],[2,2],[3,2]]});
        let svg = draw(&req, &result)?.into_string();
        assert_eq!(svg.matches("class=\"path").count(), 6, "{svg}");
        assert_eq!(svg.matches("class=\"path start\"").count(), 1);
        assert_eq!(svg.matches("class=\"path end\"").count(), 1);
        // Indices 1 and 2 are one run in row 0; index 5 is (1, 1).
        assert_eq!(svg.matches("class=\"blocked\"").count(), 2, "{svg}");
        assert!(svg.contains(r#"x="10" y="0" width="20""#), "{svg}");
        assert!(svg.contains(r#"viewBox="0 0 40 30""#));
        Ok(())
    }

    #[test]
    fn seeded_blocking_is_drawn_as_the_engine_sees_it() -> anyhow::Result<()> {
        let req = request(json!({"fraction": 0.3, "seed": 7}));
        let spec = spec_of(&req).ok_or_else(|| anyhow::anyhow!("not a valid request: {req}"))?;
        let lattice = spec.lattice.build()?;
        let expected = (0..12).filter(|&v| lattice.is_blocked(v)).count();
        assert!(expected > 0, "seed 7 blocks some of 12 cells at 30 %");
        let svg = draw(&req, &json!({"path": []})).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let runs = blocked_runs(4, 3, |x, y| lattice.is_blocked(x + y * 4));
        assert_eq!(runs.iter().map(|r| r.2).sum::<u64>() as usize, expected);
        assert_eq!(
            svg.into_string().matches("class=\"blocked\"").count(),
            runs.len()
        );
        Ok(())
    }

    #[test]
    fn other_jobs_and_huge_grids_get_no_picture() {
        let three_d = json!({"lattice": {"size": [3, 3, 3]}, "operation": "shortest_path",
                             "params": {"start": [0,0,0], "end": [2,2,2]}});
        assert_eq!(draw(&three_d, &json!({})).err(), Some(NoPicture::NotAPath));
        let other = json!({"lattice": {"size": [3, 3]}, "operation": "analyze"});
        assert_eq!(draw(&other, &json!({})).err(), Some(NoPicture::NotAPath));
        let huge = json!({"lattice": {"size": [1000, 1000]}, "operation": "shortest_path",
                          "params": {"start": [0,0], "end": [1,1]}});
        assert_eq!(
            draw(&huge, &json!({})).err(),
            Some(NoPicture::TooLarge { cells: 1_000_000 })
        );
    }
}
