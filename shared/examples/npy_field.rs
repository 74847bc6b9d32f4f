//! Writes the distance field of a small blocked 3-D lattice as a result
//! part stores it (`catalytic_shared::result_parts`), unpacked to one
//! `.npy` file, for scripts/check-networkx.sh to open with numpy and
//! compare with its own BFS: the format and the axis order, checked by the
//! library users read it with. Usage: `npy_field OUT.npy`.

use catalytic_lattice::{Blocked, Lattice, Never, distances_with_field};
use catalytic_shared::result_parts::{Packer, unpack};
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).ok_or("usage: npy_field OUT.npy")?;
    let sizes = vec![7, 5, 4];
    let lattice = Lattice::new(sizes.clone())?.with_blocked(Blocked::Seeded {
        fraction: 0.2,
        seed: 11,
    })?;
    let source = (0..lattice.vertex_count())
        .find(|&v| !lattice.is_blocked(v))
        .ok_or("every vertex is blocked")?;
    let (_, field) = distances_with_field(&lattice, source, &Never).map_err(|e| format!("{e}"))?;
    let shape: Vec<u64> = sizes.iter().map(|&s| u64::from(s)).collect();
    let mut packer = Packer::npy("field", "<i4", &shape, true);
    packer.write_i32s(field.iter().map(|&d| i32::try_from(d).unwrap_or(-1)))?;
    let packed = packer.finish()?;
    let mut file = std::fs::File::create(out)?;
    for (seq, frame) in packed.frames.iter().enumerate() {
        file.write_all(&unpack(frame, seq as u64, packed.length)?)?;
    }
    // The source and the blocked vertices, for the checker's own BFS.
    let blocked: Vec<u64> = (0..lattice.vertex_count())
        .filter(|&v| lattice.is_blocked(v))
        .collect();
    println!(
        "{}",
        serde_json::json!({"sizes": sizes, "source": lattice.coord_of(source), "blocked": blocked})
    );
    Ok(())
}
