//! Cron schedules through the API (issue 21): create with the next ticks,
//! list, get, pause, resume, trigger now (recorded as manual), history,
//! delete; every bad field named; another tenant's schedule is 404; the
//! plan caps how many.

use crate::harness::{call, fields, problem, spawn_app};
use catalytic_shared::tenant::Plan;
use serde_json::{Value, json};

fn body(name: &str) -> Value {
    json!({"name": name, "cron": "30 2 * * *", "timezone": "Europe/Paris",
           "job": {"lattice": {"dimensions": 2, "size": 8}, "operation": "shortest_path",
                   "params": {"start": [0, 0], "end": [7, 7]}},
           "overlap": "skip", "catch_up": "one"})
}

#[tokio::test]
async fn a_schedule_is_created_paused_resumed_triggered_and_deleted() -> anyhow::Result<()> {
    use reqwest::Method;
    let app = spawn_app().await?;
    let key = app.new_tenant_key(Plan::Professional).await?;
    let (status, created) = call(
        &app,
        &key,
        Method::POST,
        "/v1/schedules",
        Some(&body("nightly")),
    )
    .await?;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let ticks: Vec<chrono::DateTime<chrono::Utc>> =
        serde_json::from_value(created["next_fire_times"].clone())?;
    assert_eq!(ticks.len(), 5, "{created}");
    assert!(ticks.windows(2).all(|w| w[0] < w[1]), "{ticks:?}");
    assert!(ticks[0] > chrono::Utc::now());
    // 02:30 in Paris is 00:30 or 01:30 UTC (or 01:00 on the spring-forward day).
    assert!(
        ticks
            .iter()
            .all(|t| t.format("%H:%M").to_string() != "02:30"),
        "read in its zone: {ticks:?}"
    );
    assert_eq!(
        created["job"]["operation"], "shortest_path",
        "the template as sent"
    );
    assert_eq!(
        (created["overlap"].as_str(), created["catch_up"].as_str()),
        (Some("skip"), Some("one"))
    );

    let (status, listed) = call(&app, &key, Method::GET, "/v1/schedules", None).await?;
    assert_eq!(status, 200);
    assert_eq!(listed["items"][0]["id"], created["id"]);
    let path = format!("/v1/schedules/{id}");
    let (status, got) = call(&app, &key, Method::GET, &path, None).await?;
    assert_eq!((status, &got["name"]), (200, &json!("nightly")));

    let (status, paused) = call(&app, &key, Method::POST, &format!("{path}/pause"), None).await?;
    assert_eq!((status, &paused["paused"]), (200, &json!(true)));
    assert_eq!(
        paused["next_fire_times"],
        json!([]),
        "no ticks while paused"
    );
    let (status, resumed) = call(&app, &key, Method::POST, &format!("{path}/resume"), None).await?;
    assert_eq!((status, &resumed["paused"]), (200, &json!(false)));
    let next: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(resumed["next_fire_times"][0].clone())?;
    assert!(
        next > chrono::Utc::now(),
        "resumed from the next tick after now: {resumed}"
    );

    let (status, triggered) =
        call(&app, &key, Method::POST, &format!("{path}/trigger"), None).await?;
    assert_eq!(status, 202, "{triggered}");
    let job = triggered["id"].as_str().unwrap_or_default().to_owned();
    let (status, stored) = call(&app, &key, Method::GET, &format!("/v1/jobs/{job}"), None).await?;
    assert_eq!((status, &stored["status"]), (200, &json!("queued")));
    assert_eq!(stored["request"]["params"]["end"], json!([7, 7]));
    let (status, runs) = call(
        &app,
        &key,
        Method::GET,
        &format!("{path}/runs?limit=5"),
        None,
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(runs["items"][0]["manual"], true, "{runs}");
    assert_eq!(runs["items"][0]["outcome"], "submitted");
    assert_eq!(runs["items"][0]["job_id"].as_str(), Some(job.as_str()));

    // Another tenant sees none of it.
    let stranger = app.new_tenant_key(Plan::Professional).await?;
    for (method, p) in [
        (Method::GET, path.clone()),
        (Method::POST, format!("{path}/trigger")),
        (Method::DELETE, path.clone()),
        (Method::GET, format!("{path}/runs")),
    ] {
        let (status, _) = call(&app, &stranger, method, &p, None).await?;
        assert_eq!(status, 404, "{p}");
    }

    let (status, _) = call(&app, &key, Method::DELETE, &path, None).await?;
    assert_eq!(status, 204);
    let (status, _) = call(&app, &key, Method::GET, &path, None).await?;
    assert_eq!(status, 404);
    let (status, stored) = call(&app, &key, Method::GET, &format!("/v1/jobs/{job}"), None).await?;
    assert_eq!(status, 200, "its jobs stay: {stored}");
    app.teardown().await
}

#[tokio::test]
async fn bad_schedules_are_refused_naming_the_field() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let with = |field: &str, value: Value| {
        let mut b = body("s");
        b[field] = value;
        b
    };
    let mut job_with_run_at = body("s");
    job_with_run_at["job"]["run_at"] = json!("2030-01-01T00:00:00Z");
    let mut job_with_ttl = body("s");
    job_with_ttl["job"]["result_ttl_secs"] = json!(3600);
    let mut job_with_key = body("s");
    job_with_key["job"]["concurrency_key"] = json!("k");
    let mut job_out_of_range = body("s");
    job_out_of_range["job"]["params"]["end"] = json!([9, 9]);
    let cases = [
        (with("cron", json!("* * *")), "cron"),
        (with("cron", json!("*/30 * * * * *")), "cron"),
        (with("cron", json!("61 * * * *")), "cron"),
        (with("timezone", json!("Mars/Olympus")), "timezone"),
        (with("overlap", json!("sometimes")), "overlap"),
        (with("catch_up", json!("most")), "catch_up"),
        (with("name", json!("")), "name"),
        (job_with_run_at, "job.run_at"),
        (job_with_ttl, "job.result_ttl_secs"),
        (job_with_key, "job.concurrency_key"),
        (job_out_of_range, "job.params.end[0]"),
    ];
    for (bad, field) in cases {
        let response = app
            .http
            .post(format!("{}/v1/schedules", app.base))
            .bearer_auth(&app.key)
            .json(&bad)
            .send()
            .await?;
        let (status, problem) = problem(response).await?;
        assert_eq!(status, 422, "{field}: {problem}");
        assert!(
            fields(&problem).contains(&field.to_owned()),
            "{field}: {problem}"
        );
    }
    // A name is the tenant's once; the free plan keeps five.
    for i in 0..5 {
        let (status, created) = call(
            &app,
            &app.key,
            reqwest::Method::POST,
            "/v1/schedules",
            Some(&body(&format!("s{i}"))),
        )
        .await?;
        assert_eq!(status, 201, "{created}");
    }
    let (status, _) = call(
        &app,
        &app.key,
        reqwest::Method::POST,
        "/v1/schedules",
        Some(&body("s0")),
    )
    .await?;
    assert_eq!(status, 402, "over the cap before the name is checked");
    let (status, listed) =
        call(&app, &app.key, reqwest::Method::GET, "/v1/schedules", None).await?;
    assert_eq!(
        (status, listed["items"].as_array().map(Vec::len)),
        (200, Some(5))
    );
    let key = app.new_tenant_key(Plan::Professional).await?;
    for expected in [201, 409] {
        let (status, _) = call(
            &app,
            &key,
            reqwest::Method::POST,
            "/v1/schedules",
            Some(&body("same")),
        )
        .await?;
        assert_eq!(status, expected, "a second schedule of one name is 409");
    }
    app.teardown().await
}

#[tokio::test]
async fn jobs_are_listed_and_cancelled_by_schedule_and_by_concurrency_key() -> anyhow::Result<()> {
    use reqwest::Method;
    let app = spawn_app().await?;
    let key = app.new_tenant_key(Plan::Professional).await?;
    let (_, created) = call(&app, &key, Method::POST, "/v1/schedules", Some(&body("s"))).await?;
    let schedule = created["id"].as_str().unwrap_or_default().to_owned();
    let (_, triggered) = call(
        &app,
        &key,
        Method::POST,
        &format!("/v1/schedules/{schedule}/trigger"),
        None,
    )
    .await?;
    let mut keyed = body("s")["job"].clone();
    keyed["concurrency_key"] = json!("exports");
    let (status, held) = call(&app, &key, Method::POST, "/v1/jobs", Some(&keyed)).await?;
    assert_eq!(status, 202, "{held}");
    let (_, plain) = call(
        &app,
        &key,
        Method::POST,
        "/v1/jobs",
        Some(&body("s")["job"]),
    )
    .await?;
    assert!(plain["id"].is_string(), "{plain}");

    let (_, by_schedule) = call(
        &app,
        &key,
        Method::GET,
        &format!("/v1/jobs?schedule={schedule}"),
        None,
    )
    .await?;
    let ids = |page: &Value| -> Vec<Value> {
        page["items"]
            .as_array()
            .map(|i| i.iter().map(|j| j["id"].clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(
        ids(&by_schedule),
        [triggered["id"].clone()],
        "{by_schedule}"
    );
    let (_, by_key) = call(
        &app,
        &key,
        Method::GET,
        "/v1/jobs?concurrency_key=exports",
        None,
    )
    .await?;
    assert_eq!(ids(&by_key), [held["id"].clone()], "{by_key}");
    let (status, bad) = call(&app, &key, Method::GET, "/v1/jobs?schedule=nope", None).await?;
    assert_eq!(status, 422, "{bad}");

    let (status, cancelled) = call(
        &app,
        &key,
        Method::POST,
        "/v1/jobs/cancel",
        Some(&json!({"concurrency_key": "exports"})),
    )
    .await?;
    assert_eq!(
        (status, &cancelled["cancelled"]),
        (200, &json!(1)),
        "{cancelled}"
    );
    let (_, cancelled) = call(
        &app,
        &key,
        Method::POST,
        "/v1/jobs/cancel",
        Some(&json!({"schedule": schedule})),
    )
    .await?;
    assert_eq!(cancelled["cancelled"], 1, "{cancelled}");
    let (_, left) = call(&app, &key, Method::GET, "/v1/jobs?status=queued", None).await?;
    assert_eq!(
        ids(&left),
        [plain["id"].clone()],
        "only the unfiltered job is left: {left}"
    );
    app.teardown().await
}
