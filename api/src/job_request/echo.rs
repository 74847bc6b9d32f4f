//! A stored `JobSpec` back in the shape a submit takes, so the `request` a
//! job shows can be submitted again as it is (issue 18: it was the stored
//! form, `{"sizes": …, "blocked": {"kind": "explicit", "indices": […]}}`,
//! which the api refused). The inverse of `lattice.rs` and `params.rs`:
//! sizes as `size`, blocked vertex indices as coordinates, a transform's
//! kind and data as their request fields. A test submits every
//! operation's echo again and gets the same spec.

use catalytic_shared::job::{
    AuxSpec, BlockedDef, DataSpec, JobSpec, LatticeDef, Operation, TransformKind, TransformSpec,
};
use serde_json::{Map, Value, json};

/// `spec` as a submit's body (`lattice`, `operation`, `params`).
pub fn echo(spec: &JobSpec) -> Value {
    let (operation, params) = operation(&spec.operation);
    json!({
        "lattice": lattice(&spec.lattice),
        "operation": operation,
        "params": params,
    })
}

/// A stored lattice definition as a request's `lattice` (or a lattice
/// resource's `definition`).
pub fn lattice(def: &LatticeDef) -> Value {
    let mut out = Map::new();
    out.insert("size".into(), json!(def.sizes));
    if !def.wrap.is_empty() {
        out.insert("wrap".into(), json!(def.wrap));
    }
    match &def.blocked {
        BlockedDef::None => {}
        BlockedDef::Seeded { fraction, seed } => {
            out.insert(
                "blocked".into(),
                json!({"fraction": fraction, "seed": seed}),
            );
        }
        BlockedDef::Explicit { indices } => {
            // The stored definition was built from valid coordinates, so
            // the lattice builds; the indices are its vertices.
            let coords: Vec<Vec<u32>> = match catalytic_lattice::Lattice::new(def.sizes.clone()) {
                Ok(shape) => indices.iter().map(|&i| shape.coord_of(i)).collect(),
                Err(_) => Vec::new(),
            };
            out.insert("blocked".into(), json!(coords));
        }
    }
    Value::Object(out)
}

fn operation(op: &Operation) -> (&'static str, Value) {
    match op {
        Operation::ShortestPath { start, end } => {
            ("shortest_path", json!({"start": start, "end": end}))
        }
        Operation::Distances { source } => ("distances", json!({"source": source})),
        Operation::Neighbors { center, radius } => {
            ("neighbors", json!({"center": center, "radius": radius}))
        }
        Operation::Components {} => ("components", json!({})),
        Operation::Analyze {} => ("analyze", json!({})),
        Operation::Batch { pairs } => ("batch", json!({"pairs": pairs})),
        Operation::Transform(t) => ("transform", transform(t)),
    }
}

fn transform(t: &TransformSpec) -> Value {
    let mut out = Map::new();
    match &t.transform {
        TransformKind::Xor { key } => {
            out.insert("transform".into(), json!("xor"));
            out.insert("key".into(), json!(key));
        }
        TransformKind::Rotate {
            axes,
            quarter_turns,
        } => {
            out.insert("transform".into(), json!("rotate"));
            out.insert("axes".into(), json!(axes));
            out.insert("quarter_turns".into(), json!(quarter_turns));
        }
        TransformKind::Scale { factor } => {
            out.insert("transform".into(), json!("scale"));
            out.insert("factor".into(), json!(factor));
        }
    }
    let data = match &t.data {
        DataSpec::U8 { values } => json!({"type": "u8", "values": values}),
        DataSpec::F32 { values } => json!({"type": "f32", "values": values}),
        DataSpec::SeededU8 { seed } => json!({"type": "u8", "seed": seed}),
        DataSpec::SeededF32 { seed } => json!({"type": "f32", "seed": seed}),
        DataSpec::ParentU8 => json!({"type": "u8", "from": "parent"}),
        DataSpec::ParentF32 => json!({"type": "f32", "from": "parent"}),
    };
    out.insert("data".into(), data);
    if t.catalytic {
        out.insert("catalytic".into(), json!(true));
    }
    match &t.aux {
        None => {}
        Some(AuxSpec::Bytes { values }) => {
            out.insert("aux".into(), json!({"values": values}));
        }
        Some(AuxSpec::Seeded { seed }) => {
            out.insert("aux".into(), json!({"seed": seed}));
        }
    }
    Value::Object(out)
}
