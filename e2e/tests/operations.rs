//! Issue 3 end to end: every operation travels the real binaries, on
//! lattices with wrap-around and blocked vertices, and a stored lattice.

use catalytic_e2e::{Binary, Client, Env, wait_ready};
use serde_json::{Value, json};
use std::time::Duration;

const FINISH: Duration = Duration::from_secs(60);

async fn run(client: &Client, body: Value) -> anyhow::Result<Value> {
    let id = client.submit(&body).await?;
    let job = client.wait_terminal(&id, FINISH).await?;
    anyhow::ensure!(job["status"] == "succeeded", "{body} → {job}");
    Ok(job["result"].clone())
}

#[tokio::test]
async fn every_operation_computes_through_the_fleet() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let key = env.bootstrap("starter")?;
    let _api = env.spawn(Binary::Api, &[])?;
    let _worker = env.spawn(Binary::Worker, &[])?;
    let _scheduler = env.spawn(Binary::Scheduler, &[])?;
    wait_ready(
        &format!("{}/readyz", env.api_url()),
        Duration::from_secs(30),
    )
    .await?;
    let client = Client::new(env.api_url(), key);

    // Distances on a 5x5 torus: the farthest vertex is 2 + 2 away.
    let torus = json!({"dimensions": 2, "size": 5, "wrap": true});
    let d = run(
        &client,
        json!({"lattice": torus, "operation": "distances", "params": {"source": [0, 0]}}),
    )
    .await?;
    assert_eq!(
        (d["reachable"].clone(), d["eccentricity"].clone()),
        (json!(25), json!(4))
    );
    assert_eq!(d["histogram"], json!([1, 4, 8, 8, 4]));
    assert_eq!(d["field"].as_array().map(Vec::len), Some(25));

    // A radius-1 ball in the middle of an open 3-D grid: itself and 6 neighbours.
    let ball = run(
        &client,
        json!({"lattice": {"dimensions": 3, "size": 5}, "operation": "neighbors",
                                    "params": {"center": [2, 2, 2], "radius": 1}}),
    )
    .await?;
    assert_eq!(ball["count"], 7);
    assert_eq!(ball["by_distance"], json!([1, 6]));

    // A wall across axis 0 splits a 4x3 grid in two; one component spans axis 0... none does.
    let walled = json!({"size": [4, 3], "blocked": [[1, 0], [1, 1], [1, 2]]});
    let c = run(
        &client,
        json!({"lattice": walled, "operation": "components"}),
    )
    .await?;
    assert_eq!(
        (
            c["count"].clone(),
            c["largest"].clone(),
            c["spans_axis0"].clone()
        ),
        (json!(2), json!(6), json!(false))
    );

    // Analyze an open 4x4 grid: diameter 6 in closed form, bipartite, no triangles.
    let a = run(
        &client,
        json!({"lattice": {"dimensions": 2, "size": 4}, "operation": "analyze"}),
    )
    .await?;
    assert_eq!(
        (a["vertices"].clone(), a["edges"].clone()),
        (json!(16), json!(24))
    );
    assert_eq!(a["diameter"]["value"], 6);
    assert_eq!(a["diameter"]["method"], "closed_form");
    assert_eq!(a["bipartite"], true);
    assert_eq!(a["clustering_coefficient"], 0.0);

    // A batch: each pair's path length is the Manhattan distance.
    let b = run(&client, json!({"lattice": {"dimensions": 2, "size": 10}, "operation": "batch",
        "params": {"pairs": [{"start": [0, 0], "end": [9, 9]}, {"start": [3, 4], "end": [3, 4]}, {"start": [9, 0], "end": [0, 9]}]}})).await?;
    let lengths: Vec<Value> = b["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["length"].clone())
        .collect();
    assert_eq!(lengths, vec![json!(18), json!(0), json!(18)]);

    // A catalytic rotation returns the borrowed buffer bit for bit.
    let t = run(&client, json!({"lattice": {"dimensions": 2, "size": 8}, "operation": "transform",
        "params": {"transform": "rotate", "axes": [0, 1], "quarter_turns": 1, "data": {"type": "u8", "seed": 4},
                   "catalytic": true, "aux": {"seed": 11}}})).await?;
    assert_eq!(t["catalytic"]["restored"], true, "{t}");
    assert_eq!(
        t["catalytic"]["aux_checksum_before"],
        t["catalytic"]["aux_checksum_after"]
    );

    // Four quarter turns bring the data back: same checksum in as out.
    let full = run(&client, json!({"lattice": {"dimensions": 2, "size": 8}, "operation": "transform",
        "params": {"transform": "rotate", "axes": [0, 1], "quarter_turns": 4, "data": {"type": "f32", "seed": 4}}})).await?;
    assert_eq!(full["checksum_before"], full["checksum_after"]);

    // A stored lattice by id.
    let created: Value = client
        .http
        .post(format!("{}/v1/lattices", client.base))
        .bearer_auth(&client.key)
        .json(&json!({"name": "ring", "dimensions": 1, "size": 10, "wrap": true}))
        .send()
        .await?
        .json()
        .await?;
    let p = run(
        &client,
        json!({"lattice_id": created["id"], "operation": "shortest_path",
                                 "params": {"start": [0], "end": [8]}}),
    )
    .await?;
    assert_eq!(p["length"], 2, "around the ring: 0 → 9 → 8");
    assert_eq!(p["path"], json!([[0], [9], [8]]));
    env.teardown().await
}
