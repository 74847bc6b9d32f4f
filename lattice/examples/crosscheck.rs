//! Runs the engine's operations on cases read from stdin and prints the
//! results, for `lattice/tests/networkx/compare.py` to check against networkx
//! (`scripts/check-networkx.sh`). Plain text both ways, so the crate needs no
//! JSON dependency.
//!
//! Input: one case per line, whitespace-separated `key=value` fields:
//!
//! ```text
//! sizes=3,4 wrap=1,0 blocked=none source=0 radius=2 pairs=0:5,3:7
//! blocked=explicit:1,4,7   blocked=explicit:   blocked=seeded:0.25:12345
//! ```
//!
//! Output: for each case a `case K` line, then one line per result (see
//! `report`); floats in Rust's shortest round-trip form. Blank lines and
//! lines starting with `#` are skipped.

use std::error::Error;
use std::io::{self, BufRead, Write};

use catalytic_lattice::{
    Blocked, Lattice, Never, analyze, components, distances, neighbors, shortest_path,
    shortest_paths,
};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

struct Case {
    lattice: Lattice,
    source: u64,
    radius: u32,
    pairs: Vec<(u64, u64)>,
}

fn list<T: std::str::FromStr>(text: &str) -> Result<Vec<T>>
where
    T::Err: Error + 'static,
{
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| Ok(s.parse()?))
        .collect()
}

fn parse(line: &str) -> Result<Case> {
    let (mut sizes, mut wrap, mut blocked) = (None, None, Blocked::None);
    let (mut source, mut radius, mut pairs) = (0, 0, Vec::new());
    for field in line.split_whitespace() {
        let (key, value) = field.split_once('=').ok_or("field without '='")?;
        match key {
            "sizes" => sizes = Some(list::<u32>(value)?),
            "wrap" => wrap = Some(list::<u8>(value)?.into_iter().map(|w| w == 1).collect()),
            "blocked" => {
                blocked = match value.split_once(':') {
                    None if value == "none" => Blocked::None,
                    Some(("explicit", rest)) => Blocked::Explicit(list(rest)?),
                    Some(("seeded", rest)) => {
                        let (fraction, seed) =
                            rest.split_once(':').ok_or("seeded needs fraction:seed")?;
                        Blocked::Seeded {
                            fraction: fraction.parse()?,
                            seed: seed.parse()?,
                        }
                    }
                    _ => return Err(format!("bad blocked {value}").into()),
                }
            }
            "source" => source = value.parse()?,
            "radius" => radius = value.parse()?,
            "pairs" => {
                for pair in value.split(',').filter(|s| !s.is_empty()) {
                    let (a, b) = pair.split_once(':').ok_or("pair needs start:end")?;
                    pairs.push((a.parse()?, b.parse()?));
                }
            }
            other => return Err(format!("unknown field {other}").into()),
        }
    }
    let mut lattice = Lattice::new(sizes.ok_or("sizes missing")?)?;
    if let Some(wrap) = wrap {
        lattice = lattice.with_wrap(wrap)?;
    }
    Ok(Case {
        lattice: lattice.with_blocked(blocked)?,
        source,
        radius,
        pairs,
    })
}

fn join<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    let text: Vec<String> = items.into_iter().map(|x| x.to_string()).collect();
    if text.is_empty() {
        "-".into()
    } else {
        text.join(",")
    }
}

/// One line per result:
/// `open N` · `distances REACHABLE ECCENTRICITY HISTOGRAM` ·
/// `ball RADIUS COUNT BY_DISTANCE` · `path START END LENGTH|-1 VISITED INDICES` ·
/// `components COUNT LARGEST SIZE:COUNT,... SPANS` ·
/// `analyze VERTICES EDGES DIAMETER METHOD CONNECTED CLUSTERING DENSITY BIPARTITE DEGREE_HISTOGRAM` ·
/// `centrality CLOSENESS_MIN,MAX,MEAN BETWEENNESS_MIN,MAX,MEAN` (or `centrality -`).
fn report(case: &Case, out: &mut impl Write) -> Result<()> {
    let lattice = &case.lattice;
    writeln!(out, "open {}", lattice.open_vertex_count())?;
    let d = distances(lattice, case.source, &Never)?;
    writeln!(
        out,
        "distances {} {} {}",
        d.reachable,
        d.eccentricity,
        join(&d.histogram)
    )?;
    let ball = neighbors(lattice, case.source, case.radius, &Never)?;
    writeln!(
        out,
        "ball {} {} {}",
        ball.radius,
        ball.count,
        join(&ball.by_distance)
    )?;
    let batch = shortest_paths(lattice, &case.pairs, &Never)?;
    for (&(start, end), batched) in case.pairs.iter().zip(&batch) {
        if *batched != shortest_path(lattice, start, end, &Never)? {
            return Err(format!("batch and single path differ for {start}:{end}").into());
        }
        match batched {
            None => writeln!(out, "path {start} {end} -1 0 -")?,
            Some(p) => {
                let indices = p.path.iter().map(|c| {
                    let c: Vec<u64> = c.iter().map(|&x| u64::from(x)).collect();
                    lattice.index_of(&c)
                });
                let indices: Vec<u64> = indices.collect::<std::result::Result<_, _>>()?;
                writeln!(
                    out,
                    "path {start} {end} {} {} {}",
                    p.length,
                    p.vertices_visited,
                    join(indices)
                )?;
            }
        }
    }
    let c = components(lattice, &Never)?;
    let sizes = c
        .size_histogram
        .iter()
        .map(|e| format!("{}:{}", e.size, e.count));
    writeln!(
        out,
        "components {} {} {} {}",
        c.count,
        c.largest,
        join(sizes),
        u8::from(c.spans_axis0)
    )?;
    let a = analyze(lattice, &Never)?;
    let method = match a.diameter.method {
        catalytic_lattice::DiameterMethod::ClosedForm => "closed_form",
        catalytic_lattice::DiameterMethod::Exact => "exact",
        catalytic_lattice::DiameterMethod::DoubleSweepLowerBound => "double_sweep_lower_bound",
    };
    writeln!(
        out,
        "analyze {} {} {} {} {} {:?} {:?} {} {}",
        a.vertices,
        a.edges,
        a.diameter.value,
        method,
        u8::from(a.diameter.connected),
        a.clustering_coefficient,
        a.density,
        u8::from(a.bipartite),
        join(&a.degree.histogram)
    )?;
    match (a.closeness, a.betweenness) {
        (Some(c), Some(b)) => writeln!(
            out,
            "centrality {:?},{:?},{:?} {:?},{:?},{:?}",
            c.min, c.max, c.mean, b.min, b.max, b.mean
        )?,
        _ => writeln!(out, "centrality -")?,
    }
    Ok(())
}

fn main() -> Result<()> {
    let stdin = io::stdin();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut k = 0;
    for line in stdin.lock().lines() {
        let line = line?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let case = parse(line).map_err(|e| format!("case {k}: {e}"))?;
        writeln!(out, "case {k}")?;
        report(&case, &mut out)?;
        k += 1;
    }
    Ok(())
}
