//! Unique jobs (issue 21): a submit with `unique_for_secs` holds its
//! uniqueness key (its `unique_key`, or a digest of the request) for that
//! long, and a submit of the same tenant and key in the window stores
//! nothing and is answered the job holding it (200, `existing: true`).

use crate::harness::{TestApp, fields, problem, spawn_app};
use crate::job_batches::{bulk, jobs_of};
use catalytic_shared::tenant::Plan;
use serde_json::{Value, json};

fn job(end: i64, unique: Value) -> Value {
    let mut body = json!({"lattice": {"dimensions": 2, "size": 8}, "operation": "shortest_path",
                          "params": {"start": [0, 0], "end": [end, end]}});
    if let (Some(body), Some(unique)) = (body.as_object_mut(), unique.as_object()) {
        body.extend(unique.clone());
    }
    body
}

/// Submits as `key`; answers the status and the body.
async fn submit(app: &TestApp, key: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
    let response = app.submit_as(key, body).await?;
    Ok((response.status().as_u16(), response.json().await?))
}

#[tokio::test]
async fn a_second_submit_in_the_window_is_answered_the_first_job() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let key = app.new_tenant_key(Plan::Enterprise).await?;
    let by_request = json!({"unique_for_secs": 600});

    // By the request's digest: the same computation is answered the first
    // job, another one is stored.
    let (status, first) = submit(&app, &key, &job(7, by_request.clone())).await?;
    assert_eq!(status, 202, "{first}");
    assert!(first.get("existing").is_none(), "{first}");
    let (status, again) = submit(&app, &key, &job(7, by_request.clone())).await?;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["existing"], true);
    assert_eq!(again["status"], "queued");
    assert_eq!(
        again["location"],
        format!("/v1/jobs/{}", first["id"].as_str().unwrap_or(""))
    );
    let (status, other) = submit(&app, &key, &job(6, by_request.clone())).await?;
    assert_eq!(status, 202, "another request: {other}");
    assert_ne!(other["id"], first["id"]);
    // Without unique_for_secs nothing is held or looked up.
    let (status, plain) = submit(&app, &key, &job(7, json!({}))).await?;
    assert_eq!(status, 202);
    assert_ne!(plain["id"], first["id"]);

    // A named key: other requests are answered the holder, whatever they ask.
    let named = json!({"unique_key": "nightly-report", "unique_for_secs": 600});
    let (status, holder) = submit(&app, &key, &job(5, named.clone())).await?;
    assert_eq!(status, 202);
    let (status, again) = submit(&app, &key, &job(4, named.clone())).await?;
    assert_eq!((status, &again["id"]), (200, &holder["id"]));

    // Another tenant's key space is its own.
    let stranger = app.new_tenant_key(Plan::Enterprise).await?;
    let (status, theirs) = submit(&app, &stranger, &job(4, named.clone())).await?;
    assert_eq!(status, 202, "another tenant: {theirs}");
    assert_ne!(theirs["id"], holder["id"]);

    // The answer follows the holder's state: cancelled, it is still the answer.
    let cancel = app
        .http
        .post(format!(
            "{}/v1/jobs/{}/cancel",
            app.base,
            holder["id"].as_str().unwrap_or("")
        ))
        .bearer_auth(&key)
        .send()
        .await?;
    assert_eq!(cancel.status(), 202);
    let (status, again) = submit(&app, &key, &job(5, named.clone())).await?;
    assert_eq!((status, &again["status"]), (200, &json!("cancelled")));

    // An expired hold is taken over by the next submit of the key.
    sqlx::query("UPDATE job_unique_keys SET expires_at = now() - interval '1 second' WHERE key = 'nightly-report'")
        .execute(&app.db.pool)
        .await?;
    let (status, next) = submit(&app, &key, &job(5, named.clone())).await?;
    assert_eq!(status, 202, "after the window: {next}");
    assert_ne!(next["id"], holder["id"]);
    let (status, again) = submit(&app, &key, &job(3, named)).await?;
    assert_eq!(
        (status, &again["id"]),
        (200, &next["id"]),
        "the new job holds the key"
    );
    assert_eq!(jobs_of(&app).await?, 6);
    app.teardown().await
}

#[tokio::test]
async fn concurrent_submits_of_one_key_store_one_job() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let key = app.new_tenant_key(Plan::Enterprise).await?;
    let body = job(7, json!({"unique_key": "once", "unique_for_secs": 60}));
    let mut submits = tokio::task::JoinSet::new();
    for _ in 0..24 {
        let (http, url) = (app.http.clone(), format!("{}/v1/jobs", app.base));
        let (key, body) = (key.clone(), body.clone());
        submits.spawn(async move {
            let response = http.post(url).bearer_auth(key).json(&body).send().await?;
            anyhow::Ok((response.status().as_u16(), response.json::<Value>().await?))
        });
    }
    let mut ids = std::collections::HashSet::new();
    let mut stored = 0;
    while let Some(answer) = submits.join_next().await {
        let (status, body) = answer??;
        match status {
            202 => stored += 1,
            200 => assert_eq!(body["existing"], true),
            other => anyhow::bail!("status {other}: {body}"),
        }
        ids.insert(body["id"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(stored, 1, "exactly one submit stored a job");
    assert_eq!(ids.len(), 1, "every answer names that job: {ids:?}");
    assert_eq!(jobs_of(&app).await?, 1);
    app.teardown().await
}

#[tokio::test]
async fn a_bulk_submit_answers_held_keys_item_by_item() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let key = app.new_tenant_key(Plan::Enterprise).await?;
    let k = json!({"unique_key": "k", "unique_for_secs": 60});
    let body = json!({"jobs": [job(7, k.clone()), job(6, k.clone()), job(5, json!({}))]});
    let response = bulk(&app, &key, &body, None).await?;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await?;
    let results = &answer["results"];
    assert_eq!(answer["accepted"], 3, "{answer}");
    assert!(results[0].get("existing").is_none(), "{answer}");
    assert_eq!(
        results[1]["existing"], true,
        "a later item of the batch: {answer}"
    );
    assert_eq!(results[1]["id"], results[0]["id"]);
    assert_ne!(results[2]["id"], results[0]["id"]);
    assert_eq!(jobs_of(&app).await?, 2);

    // A later request: the held key answers from the stored hold.
    let body = json!({"jobs": [job(4, k)]});
    let answer: Value = bulk(&app, &key, &body, None).await?.json().await?;
    assert_eq!(answer["results"][0]["existing"], true, "{answer}");
    assert_eq!(answer["results"][0]["id"], results[0]["id"]);
    assert_eq!(jobs_of(&app).await?, 2);
    app.teardown().await
}

#[tokio::test]
async fn bad_uniqueness_is_a_422_naming_the_field() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let cases = [
        (json!({"unique_key": "k"}), "unique_for_secs"),
        (json!({"unique_for_secs": 0}), "unique_for_secs"),
        (json!({"unique_for_secs": 604_801}), "unique_for_secs"),
        (json!({"unique_for_secs": -1}), "unique_for_secs"),
        (
            json!({"unique_for_secs": 10, "unique_key": ""}),
            "unique_key",
        ),
        (
            json!({"unique_for_secs": 10, "unique_key": "a\u{7}b"}),
            "unique_key",
        ),
        (
            json!({"unique_for_secs": 10, "unique_key": "x".repeat(256)}),
            "unique_key",
        ),
    ];
    for (unique, field) in cases {
        let (status, body) = problem(app.submit(&job(7, unique.clone())).await?).await?;
        assert_eq!(status, 422, "{unique}: {body}");
        assert_eq!(fields(&body), [field], "{unique}: {body}");
    }
    // In a bulk submit the field is named within its item.
    let body = json!({"jobs": [job(7, json!({})), job(7, json!({"unique_key": "k"}))]});
    let answer: Value = bulk(&app, &app.key, &body, None).await?.json().await?;
    assert_eq!(
        fields(&answer["results"][1]["error"]),
        ["jobs[1].unique_for_secs"],
        "{answer}"
    );
    assert_eq!(jobs_of(&app).await?, 1);
    app.teardown().await
}
