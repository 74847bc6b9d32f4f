use super::lattice::{BlockedIn, MAX_EXPLICIT_BLOCKED};
use super::*;
use catalytic_shared::job::{BlockedDef, Operation, TransformKind};
use catalytic_shared::tenant::Plan;
use serde_json::{Value, json};

fn submit_on(plan: Plan, body: Value) -> Result<JobSpec, ApiError> {
    let job: JobIn = crate::json::parse(body.to_string().as_bytes())?;
    job.into_spec(&plan.limits(), None)
}

fn submit(body: Value) -> Result<JobSpec, ApiError> {
    submit_on(Plan::Free, body)
}

fn field(body: Value) -> String {
    match submit(body) {
        Err(e) => e.invalid_fields(),
        other => format!("not a validation error: {other:?}"),
    }
}

fn job(lattice: Value, start: Value, end: Value) -> Value {
    json!({"lattice": lattice, "operation": "shortest_path", "params": {"start": start, "end": end}})
}

fn op(lattice: Value, operation: &str, params: Value) -> Value {
    json!({"lattice": lattice, "operation": operation, "params": params})
}

#[test]
fn a_valid_request_becomes_a_spec() -> Result<(), ApiError> {
    let spec = submit(job(
        json!({"dimensions": 2, "size": 10}),
        json!([0, 1]),
        json!([9, 9]),
    ))?;
    assert_eq!(spec.lattice.sizes, vec![10, 10]);
    assert_eq!(
        spec.operation,
        Operation::ShortestPath {
            start: vec![0, 1],
            end: vec![9, 9]
        }
    );
    let spec = submit(job(
        json!({"size": [3, 4, 5], "wrap": [true, true, false]}),
        json!([0, 0, 0]),
        json!([2, 3, 4]),
    ))?;
    assert_eq!(spec.lattice.sizes, vec![3, 4, 5]);
    assert_eq!(spec.lattice.wrap, vec![true, true, false]);
    let spec = submit(job(
        json!({"dimensions": 2, "size": 4, "blocked": [[1, 1], [2, 2]]}),
        json!([0, 0]),
        json!([3, 3]),
    ))?;
    assert_eq!(
        spec.lattice.blocked,
        BlockedDef::Explicit {
            indices: vec![5, 10]
        }
    );
    Ok(())
}

#[test]
fn each_bad_lattice_field_is_named() {
    let ok = json!([0, 0]);
    let cases = [
        (json!({"dimensions": 0, "size": 4}), "lattice.dimensions"),
        (json!({"dimensions": 11, "size": 4}), "lattice.dimensions"),
        (json!({"dimensions": 2, "size": 1}), "lattice.size"),
        (json!({"size": [4, 1]}), "lattice.size[1]"),
        (
            json!({"dimensions": 3, "size": [4, 4]}),
            "lattice.dimensions",
        ),
        (
            json!({"dimensions": 2, "size": 2, "wrap": true}),
            "lattice.wrap",
        ),
        (
            json!({"size": [3, 2], "wrap": [true, true]}),
            "lattice.wrap[1]",
        ),
        (json!({"size": [3, 3], "wrap": [true]}), "lattice.wrap"),
        (
            json!({"dimensions": 2, "size": 4, "blocked": [[0, 4]]}),
            "lattice.blocked[0][1]",
        ),
        (
            json!({"dimensions": 2, "size": 4, "blocked": {"fraction": 1.5, "seed": 1}}),
            "lattice.blocked.fraction",
        ),
    ];
    for (lattice, expected) in cases {
        assert_eq!(
            field(job(lattice.clone(), ok.clone(), json!([1, 1]))),
            expected,
            "{lattice}"
        );
    }
}

#[test]
fn each_bad_parameter_is_named() {
    let l = json!({"dimensions": 2, "size": 4});
    let ok = json!([0, 0]);
    assert_eq!(
        field(job(l.clone(), json!([0, 4]), ok.clone())),
        "params.start[1]"
    );
    assert_eq!(
        field(job(l.clone(), ok.clone(), json!([-1, 0]))),
        "params.end[0]"
    );
    assert_eq!(
        field(job(l.clone(), json!([0]), ok.clone())),
        "params.start"
    );
    assert_eq!(
        field(json!({"lattice": l, "operation": "shortest_path", "params": {"start": [0, 0]}})),
        "params.end"
    );
    assert_eq!(
        field(json!({"lattice": l, "operation": "teleport"})),
        "operation"
    );
    assert_eq!(field(json!({"operation": "components"})), "lattice");
    // A blocked start or end.
    let blocked = json!({"dimensions": 2, "size": 4, "blocked": [[0, 0]]});
    assert_eq!(
        field(job(blocked.clone(), json!([0, 0]), json!([3, 3]))),
        "params.start"
    );
    assert_eq!(
        field(op(blocked, "distances", json!({"source": [0, 0]}))),
        "params.source"
    );
    // Radius larger than any distance in the lattice (6 on 4x4).
    assert_eq!(
        field(op(
            l.clone(),
            "neighbors",
            json!({"center": [1, 1], "radius": 7})
        )),
        "params.radius"
    );
    assert!(
        submit(op(
            l.clone(),
            "neighbors",
            json!({"center": [1, 1], "radius": 6})
        ))
        .is_ok()
    );
    assert_eq!(
        field(op(l.clone(), "components", json!({"x": 1}))),
        "params.x"
    );
    assert_eq!(
        field(op(l.clone(), "batch", json!({"pairs": []}))),
        "params.pairs"
    );
    assert_eq!(
        field(op(
            l.clone(),
            "batch",
            json!({"pairs": [{"start": [0, 0], "end": [3, 3]}, {"start": [0, 9], "end": [1, 1]}]})
        )),
        "params.pairs[1].start[1]"
    );
}

#[test]
fn transforms_are_checked_against_the_lattice() -> Result<(), ApiError> {
    let square = json!({"dimensions": 2, "size": 3});
    let spec = submit(op(
        square.clone(),
        "transform",
        json!({"transform": "rotate", "axes": [0, 1], "quarter_turns": 5, "data": {"type": "u8", "seed": 1}, "catalytic": true}),
    ))?;
    let Operation::Transform(t) = spec.operation else {
        return Err(ApiError::field("test", "not a transform"));
    };
    assert_eq!(
        t.transform,
        TransformKind::Rotate {
            axes: [0, 1],
            quarter_turns: 1
        }
    );
    assert!(t.catalytic && t.aux.is_some());

    let oblong = json!({"size": [3, 4]});
    let cases = [
        (
            op(
                oblong.clone(),
                "transform",
                json!({"transform": "rotate", "axes": [0, 1], "data": {"type": "u8", "seed": 1}}),
            ),
            "params.axes",
        ),
        (
            op(
                square.clone(),
                "transform",
                json!({"transform": "rotate", "axes": [0, 0], "data": {"type": "u8", "seed": 1}}),
            ),
            "params.axes",
        ),
        (
            op(
                square.clone(),
                "transform",
                json!({"transform": "rotate", "axes": [0, 2], "data": {"type": "u8", "seed": 1}}),
            ),
            "params.axes",
        ),
        (
            op(
                square.clone(),
                "transform",
                json!({"transform": "xor", "key": [], "data": {"type": "u8", "seed": 1}}),
            ),
            "params.key",
        ),
        (
            op(
                square.clone(),
                "transform",
                json!({"transform": "xor", "key": [1], "data": {"type": "u8", "values": [1, 2, 3]}}),
            ),
            "params.data.values",
        ),
        (
            op(
                square.clone(),
                "transform",
                json!({"transform": "xor", "key": [1], "data": {"type": "u8", "values": [0, 1, 2, 3, 4, 5, 6, 7, 256]}}),
            ),
            "params.data.values[8]",
        ),
        (
            op(
                square.clone(),
                "transform",
                json!({"transform": "scale", "factor": 2.0, "data": {"type": "u8", "seed": 1}}),
            ),
            "params.data.type",
        ),
        (
            op(
                square.clone(),
                "transform",
                json!({"transform": "scale", "data": {"type": "f32", "seed": 1}}),
            ),
            "params.factor",
        ),
        (
            op(
                square.clone(),
                "transform",
                json!({"transform": "spin", "data": {"type": "f32", "seed": 1}}),
            ),
            "params.transform",
        ),
        (
            op(
                square.clone(),
                "transform",
                json!({"transform": "xor", "key": [1], "data": {"type": "u16", "seed": 1}}),
            ),
            "params.data.type",
        ),
        (
            op(
                square.clone(),
                "transform",
                json!({"transform": "xor", "key": [1], "data": {"type": "u8", "seed": 1}, "aux": {"seed": 2}}),
            ),
            "params.aux",
        ),
        (
            op(
                square,
                "transform",
                json!({"transform": "rotate", "axes": [0, 1], "data": {"type": "u8", "seed": 1}, "catalytic": true, "aux": {"values": [1]}}),
            ),
            "params.aux.values",
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(field(body.clone()), expected, "{body}");
    }
    Ok(())
}

#[test]
fn the_plan_caps_vertices_and_estimated_time() {
    // Free allows 10^6 vertices: 1000 x 1000 is at the cap, 1001 x 1000 over it.
    assert!(
        submit(job(
            json!({"size": [1000, 1000]}),
            json!([0, 0]),
            json!([1, 1])
        ))
        .is_ok()
    );
    assert_eq!(
        field(job(
            json!({"size": [1001, 1000]}),
            json!([0, 0]),
            json!([1, 1])
        )),
        "lattice"
    );
    assert_eq!(
        field(job(
            json!({"dimensions": 10, "size": 100}),
            json!(vec![0; 10]),
            json!(vec![0; 10])
        )),
        "lattice"
    );
    // An exact diameter on 10^5 blocked vertices is ~10^10 visits: over the free plan's 10 s.
    let big = json!({"size": [400, 250], "blocked": {"fraction": 0.1, "seed": 1}});
    assert_eq!(field(op(big.clone(), "analyze", json!({}))), "operation");
    assert!(submit_on(Plan::Enterprise, op(big, "analyze", json!({}))).is_ok());
}

/// The message of the first validation error of a submit of `body`.
fn message(body: Value) -> String {
    match submit(body) {
        Err(ApiError::Validation(errors)) => errors
            .first()
            .map(|e| format!("{}: {}", e.field, e.message))
            .unwrap_or_default(),
        other => format!("not a validation error: {other:?}"),
    }
}

#[test]
fn blocked_lists_stop_at_their_caps_while_parsing() {
    // Issue 18: 1.7 M coordinates were parsed whole (8 s of CPU) before the
    // 100,000 cap refused them. The parse now stops at the cap.
    let many: Vec<[i64; 2]> = (0..=MAX_EXPLICIT_BLOCKED as i64)
        .map(|i| [i % 4, 0])
        .collect();
    let too_many = job(
        json!({"dimensions": 2, "size": 4, "blocked": many}),
        json!([0, 1]),
        json!([3, 3]),
    );
    let refused = message(too_many);
    assert!(
        refused.starts_with("lattice.blocked: ") && refused.contains("more than 100000"),
        "{refused}"
    );
    // A coordinate longer than any lattice has axes stops there too.
    let long: Vec<i64> = vec![0; 11];
    let refused = message(job(
        json!({"dimensions": 2, "size": 4, "blocked": [long]}),
        json!([0, 1]),
        json!([3, 3]),
    ));
    assert!(refused.starts_with("lattice.blocked[0]: "), "{refused}");
    assert!(refused.contains("more than 10 axes"), "{refused}");
}

#[test]
fn blocked_refusals_name_the_field_without_serde_internals() {
    for (blocked, expected) in [
        (json!("all"), "lattice.blocked"),
        (json!({"fraction": 0.1}), "lattice.blocked.seed"),
        (
            json!({"fraction": 0.1, "seed": 1, "extra": 2}),
            "lattice.blocked",
        ),
        (json!([[0, "x"]]), "lattice.blocked[0][1]"),
    ] {
        let refused = message(job(
            json!({"dimensions": 2, "size": 4, "blocked": blocked}),
            json!([0, 1]),
            json!([3, 3]),
        ));
        assert!(
            refused.starts_with(&format!("{expected}: ")),
            "{blocked}: {refused}"
        );
        assert!(
            !refused.contains("untagged") && !refused.contains("BlockedIn"),
            "{refused}"
        );
    }
    // The seeded rule still parses, in any key order.
    let parsed: Result<LatticeIn, ApiError> =
        crate::json::parse(br#"{"size": 4, "blocked": {"seed": 7, "fraction": 0.25}}"#);
    assert!(
        matches!(
            parsed,
            Ok(LatticeIn {
                blocked: Some(BlockedIn::Seeded { seed: 7, fraction }),
                ..
            }) if fraction == 0.25
        ),
        "{parsed:?}"
    );
}

/// Issue 18: a job's echoed `request` is a body a submit takes, and it
/// makes the same spec, for every operation and lattice form.
#[test]
fn every_echoed_request_submits_again_as_the_same_spec() -> Result<(), ApiError> {
    let blocked = json!({"size": [4, 5], "wrap": [true, false], "blocked": [[1, 1], [2, 3]]});
    let seeded = json!({"size": 6, "dimensions": 2, "blocked": {"fraction": 0.1, "seed": 3}});
    let cases = [
        op(
            blocked.clone(),
            "shortest_path",
            json!({"start": [0, 0], "end": [3, 4]}),
        ),
        op(seeded.clone(), "distances", json!({"source": [0, 0]})),
        op(
            blocked.clone(),
            "neighbors",
            json!({"center": [0, 0], "radius": 2}),
        ),
        op(blocked.clone(), "components", json!({})),
        op(seeded.clone(), "analyze", json!({})),
        op(
            blocked.clone(),
            "batch",
            json!({"pairs": [{"start": [0, 0], "end": [3, 4]}, {"start": [0, 1], "end": [0, 2]}]}),
        ),
        op(
            json!({"size": [2, 2]}),
            "transform",
            json!({"transform": "xor", "key": [1, 2], "data": {"type": "u8", "values": [1, 2, 3, 4]}}),
        ),
        op(
            json!({"size": [3, 3]}),
            "transform",
            json!({"transform": "rotate", "axes": [0, 1], "quarter_turns": 3,
                   "data": {"type": "u8", "seed": 9}, "catalytic": true, "aux": {"seed": 4}}),
        ),
        op(
            json!({"size": [2, 2]}),
            "transform",
            json!({"transform": "scale", "factor": 0.1,
                   "data": {"type": "f32", "values": [0.5, 1.5, 2.5, 3.5]},
                   "catalytic": true, "aux": {"values": [7, 7, 7]}}),
        ),
        op(
            json!({"size": [2, 2]}),
            "transform",
            json!({"transform": "scale", "factor": 2.0, "data": {"type": "f32", "seed": 2}}),
        ),
    ];
    for body in cases {
        let spec = submit_on(Plan::Enterprise, body.clone())?;
        let echoed = super::echo::echo(&spec);
        let again = submit_on(Plan::Enterprise, echoed.clone());
        assert!(
            matches!(&again, Ok(s) if *s == spec),
            "{body}\n echoed as {echoed}\n gave {again:?}"
        );
    }
    Ok(())
}

fn run_at(plan: Plan, body: Value) -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
    let now = chrono::DateTime::parse_from_rfc3339("2026-12-06T12:00:00Z")
        .map(|t| t.to_utc())
        .map_err(|e| e.to_string())?;
    let job: JobIn =
        crate::json::parse(body.to_string().as_bytes()).map_err(|e| format!("{e:?}"))?;
    job.run_at(&plan.limits(), now).map_err(|e| match e {
        ApiError::Validation(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join(","),
        other => format!("not a validation error: {other:?}"),
    })
}

#[test]
fn run_at_and_delay_name_the_start_within_the_horizon() {
    let base = job(json!({"dimensions": 1, "size": 3}), json!([0]), json!([2]));
    let with = |extra: Value| {
        let mut body = base.clone();
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    };
    assert_eq!(run_at(Plan::Free, base.clone()), Ok(None));
    let in_a_minute = run_at(Plan::Free, with(json!({"delay_secs": 60})));
    assert_eq!(
        in_a_minute.map(|t| t.map(|t| t.to_rfc3339())),
        Ok(Some("2026-12-06T12:01:00+00:00".to_owned()))
    );
    assert_eq!(
        run_at(Plan::Free, with(json!({"run_at": "2026-12-06T13:00:00Z"})))
            .map(|t| t.map(|t| t.to_rfc3339())),
        Ok(Some("2026-12-06T13:00:00+00:00".to_owned()))
    );
    // Now, or a moment ago (clocks differ), runs at once.
    assert_eq!(run_at(Plan::Free, with(json!({"delay_secs": 0}))), Ok(None));
    assert_eq!(
        run_at(Plan::Free, with(json!({"run_at": "2026-12-06T11:59:58Z"}))),
        Ok(None)
    );
    let refused = |plan, extra| run_at(plan, with(extra)).err().unwrap_or_default();
    assert!(refused(Plan::Free, json!({"run_at": "2026-12-06T11:00:00Z"})).starts_with("run_at: "));
    assert!(refused(Plan::Free, json!({"delay_secs": -1})).starts_with("delay_secs: "));
    assert!(
        refused(
            Plan::Free,
            json!({"delay_secs": 1, "run_at": "2026-12-06T13:00:00Z"})
        )
        .starts_with("delay_secs: ")
    );
    // The free plan looks a day ahead, enterprise a year.
    let two_days = json!({"delay_secs": 2 * 86_400});
    assert!(refused(Plan::Free, two_days.clone()).contains("at most 1 days"));
    assert!(run_at(Plan::Enterprise, with(two_days)).is_ok_and(|t| t.is_some()));
    assert!(refused(Plan::Free, json!({"run_at": "tomorrow"})).contains("run_at"));
}
