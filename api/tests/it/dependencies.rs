//! Job dependencies through the API (issue 21): `depends_on` stores the job
//! `waiting`; a bulk submit names earlier items by index, so a graph is
//! one request; parents must be the tenant's and exist first (no cycle can
//! be written); every bad field is named.

use crate::harness::{fields, problem, spawn_app};
use crate::job_batches::bulk;
use catalytic_shared::tenant::Plan;
use serde_json::{Value, json};

fn job(extra: Value) -> Value {
    let mut body = json!({"lattice": {"dimensions": 2, "size": 6}, "operation": "shortest_path",
                          "params": {"start": [0, 0], "end": [5, 5]}});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

#[tokio::test]
async fn a_child_waits_for_its_parents_and_a_graph_is_one_bulk_request() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let key = app.new_tenant_key(Plan::Enterprise).await?;
    let parent: Value = app.submit_as(&key, &job(json!({}))).await?.json().await?;
    let response = app
        .submit_as(
            &key,
            &job(json!({"depends_on": [parent["id"]], "on_parent_failure": "run"})),
        )
        .await?;
    assert_eq!(response.status(), 202);
    let child: Value = response.json().await?;
    assert_eq!(child["status"], "waiting", "{child}");
    let read: Value = app
        .get_job_as(&key, child["id"].as_str().unwrap_or_default())
        .await?
        .json()
        .await?;
    assert_eq!(read["status"], "waiting");
    assert_eq!(read["depends_on"], json!([parent["id"]]), "{read}");
    let parent_read: Value = app
        .get_job_as(&key, parent["id"].as_str().unwrap_or_default())
        .await?
        .json()
        .await?;
    assert!(
        parent_read.get("depends_on").is_none(),
        "no parents, no key: {parent_read}"
    );

    // A diamond in one request: 0 → {1, 2} → 3.
    let graph = json!({"jobs": [
        job(json!({})),
        job(json!({"depends_on": [0]})),
        job(json!({"depends_on": [0, parent["id"]]})),
        job(json!({"depends_on": [1, 2]})),
    ]});
    let answer: Value = bulk(&app, &key, &graph, None).await?.json().await?;
    let statuses: Vec<&str> = answer["results"]
        .as_array()
        .map(|r| r.iter().filter_map(|i| i["status"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        statuses,
        ["queued", "waiting", "waiting", "waiting"],
        "{answer}"
    );
    let edges: Vec<(String, String)> = sqlx::query_as(
        "SELECT child_id::text, parent_id::text FROM job_dependencies ORDER BY child_id, parent_id",
    )
    .fetch_all(&app.db.pool)
    .await?;
    let id = |i: usize| {
        answer["results"][i]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let parent_id = parent["id"].as_str().unwrap_or_default().to_owned();
    let mut expected = vec![
        (
            child["id"].as_str().unwrap_or_default().to_owned(),
            parent_id.clone(),
        ),
        (id(1), id(0)),
        (id(2), id(0)),
        (id(2), parent_id),
        (id(3), id(1)),
        (id(3), id(2)),
    ];
    expected.sort();
    assert_eq!(edges, expected);

    // A waiting job can be cancelled like any unfinished one.
    let cancel = app
        .http
        .post(format!("{}/v1/jobs/{}/cancel", app.base, id(3)))
        .bearer_auth(&key)
        .send()
        .await?;
    assert_eq!(cancel.status(), 202);
    // Finished, it is answered from its notification (or read): its
    // parents either way, in id order.
    let mut parents = vec![id(1), id(2)];
    parents.sort();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let done: Value = app.get_job_as(&key, &id(3)).await?.json().await?;
        assert_eq!(done["depends_on"], json!(parents), "{done}");
        if done["status"] == "cancelled" {
            break;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "never cancelled: {done}"
        );
    }
    let listed: Value = app
        .http
        .get(format!("{}/v1/jobs?status=waiting", app.base))
        .bearer_auth(&key)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(3),
        "{listed}"
    );
    app.teardown().await
}

#[tokio::test]
async fn bad_dependencies_are_refused_naming_the_field() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let key = app.new_tenant_key(Plan::Enterprise).await?;
    let stranger = app.new_tenant_key(Plan::Enterprise).await?;
    let theirs: Value = app
        .submit_as(&stranger, &job(json!({})))
        .await?
        .json()
        .await?;
    let mine: Value = app.submit_as(&key, &job(json!({}))).await?.json().await?;
    let many: Vec<String> = (0..101).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let cases = [
        (
            json!({"depends_on": [uuid::Uuid::now_v7()]}),
            "depends_on[0]",
        ),
        (
            json!({"depends_on": [mine["id"], theirs["id"]]}),
            "depends_on[1]",
        ),
        (json!({"depends_on": [0]}), "depends_on[0]"),
        (
            json!({"depends_on": [mine["id"], mine["id"]]}),
            "depends_on[1]",
        ),
        (json!({"depends_on": []}), "depends_on"),
        (json!({"depends_on": many}), "depends_on"),
        (
            json!({"depends_on": [mine["id"]], "delay_secs": 60}),
            "depends_on",
        ),
        (
            json!({"depends_on": [mine["id"]], "on_parent_failure": "maybe"}),
            "on_parent_failure",
        ),
        (json!({"on_parent_failure": "run"}), "on_parent_failure"),
        (json!({"depends_on": ["not a job"]}), "depends_on[0]"),
    ];
    for (extra, field) in cases {
        let (status, body) = problem(app.submit_as(&key, &job(extra.clone())).await?).await?;
        assert_eq!(status, 422, "{extra}: {body}");
        assert_eq!(fields(&body), [field], "{extra}: {body}");
    }
    // In a bulk submit: only earlier items, and only accepted ones.
    let graph = json!({"jobs": [
        job(json!({"depends_on": [1]})),
        job(json!({"params": {"start": [0, 0], "end": [9, 9]}})),
        job(json!({"depends_on": [1]})),
        job(json!({"depends_on": [3]})),
    ]});
    let answer: Value = bulk(&app, &key, &graph, None).await?.json().await?;
    for (i, field) in [
        (0, "jobs[0].depends_on[0]"),
        (1, "jobs[1].params.end[0]"),
        (2, "jobs[2].depends_on[0]"),
        (3, "jobs[3].depends_on[0]"),
    ] {
        assert_eq!(fields(&answer["results"][i]["error"]), [field], "{answer}");
    }
    app.teardown().await
}

#[tokio::test]
async fn a_keyed_job_waits_for_a_slot_and_bad_keys_are_named() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let key = app.new_tenant_key(Plan::Enterprise).await?;
    let keyed = job(json!({"concurrency_key": "nightly-export", "max_concurrency": 3}));
    let answer: Value = app.submit_as(&key, &keyed).await?.json().await?;
    assert_eq!(answer["status"], "waiting", "{answer}");
    let (k, max): (String, i32) =
        sqlx::query_as("SELECT concurrency_key, max_concurrency FROM jobs WHERE id = $1::uuid")
            .bind(answer["id"].as_str().unwrap_or_default())
            .fetch_one(&app.db.pool)
            .await?;
    assert_eq!((k.as_str(), max), ("nightly-export", 3));
    let one: Value = app
        .submit_as(&key, &job(json!({"concurrency_key": "solo"})))
        .await?
        .json()
        .await?;
    let max: i32 = sqlx::query_scalar("SELECT max_concurrency FROM jobs WHERE id = $1::uuid")
        .bind(one["id"].as_str().unwrap_or_default())
        .fetch_one(&app.db.pool)
        .await?;
    assert_eq!(max, 1, "one at a time by default");

    let parent = answer["id"].clone();
    let cases = [
        (json!({"max_concurrency": 2}), "max_concurrency"),
        (
            json!({"concurrency_key": "k", "max_concurrency": 0}),
            "max_concurrency",
        ),
        (
            json!({"concurrency_key": "k", "max_concurrency": 1001}),
            "max_concurrency",
        ),
        (json!({"concurrency_key": ""}), "concurrency_key"),
    ];
    for (extra, field) in cases {
        let (status, body) = problem(app.submit_as(&key, &job(extra.clone())).await?).await?;
        assert_eq!(status, 422, "{extra}: {body}");
        assert_eq!(fields(&body), [field], "{extra}: {body}");
    }
    // With parents too: it waits for them, then for a slot.
    let both = job(json!({"concurrency_key": "k", "depends_on": [parent]}));
    let answer: Value = app.submit_as(&key, &both).await?.json().await?;
    assert_eq!(answer["status"], "waiting", "{answer}");
    // With a time: scheduled until then, then it waits for a slot.
    let later = job(json!({"concurrency_key": "k", "delay_secs": 60}));
    let answer: Value = app.submit_as(&key, &later).await?.json().await?;
    assert_eq!(answer["status"], "scheduled", "{answer}");
    app.teardown().await
}

/// `"data": {"from": "parent"}` needs exactly one parent, and nothing else
/// for the data; a schedule's template cannot take it.
#[tokio::test]
async fn data_from_the_parent_needs_one_parent() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let transform = |data: Value| {
        json!({"lattice": {"dimensions": 2, "size": 4}, "operation": "transform",
               "params": {"transform": "scale", "factor": 2.0, "data": data}})
    };
    let from_parent = json!({"type": "f32", "from": "parent"});
    let accepted: Value = app
        .submit(&transform(json!({"type": "f32", "seed": 1})))
        .await?
        .json()
        .await?;
    let parent = accepted["id"].as_str().unwrap_or_default().to_owned();
    let with = |data: Value, extra: Value| {
        let mut body = transform(data);
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        body
    };
    let cases = [
        (with(from_parent.clone(), json!({})), "params.data.from"),
        (
            with(
                from_parent.clone(),
                json!({"depends_on": [parent, parent.clone()]}),
            ),
            "depends_on[1]",
        ),
        (
            with(
                json!({"type": "f32", "from": "parent", "seed": 3}),
                json!({"depends_on": [parent]}),
            ),
            "params.data.from",
        ),
        (
            with(
                json!({"type": "f32", "from": "sibling"}),
                json!({"depends_on": [parent]}),
            ),
            "params.data.from",
        ),
    ];
    for (body, field) in cases {
        let (status, refused) = problem(app.submit(&body).await?).await?;
        assert_eq!(status, 422, "{body}: {refused}");
        assert_eq!(
            fields(&refused),
            vec![field.to_owned()],
            "{body}: {refused}"
        );
    }
    let ok = app
        .submit(&with(from_parent.clone(), json!({"depends_on": [parent]})))
        .await?;
    assert_eq!(ok.status(), 202);
    let shown: Value = ok.json().await?;
    let child: Value = app
        .get_job_as(&app.key, shown["id"].as_str().unwrap_or_default())
        .await?
        .json()
        .await?;
    assert_eq!(
        child["request"]["params"]["data"], from_parent,
        "echoed as sent"
    );
    app.teardown().await
}
