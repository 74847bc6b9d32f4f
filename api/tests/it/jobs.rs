use crate::harness::{fields, problem, spawn_app};
use catalytic_shared::tenant::Plan;
use serde_json::{Value, json};

fn job(lattice: Value, start: Value, end: Value) -> Value {
    json!({"lattice": lattice, "operation": "shortest_path", "params": {"start": start, "end": end}})
}

#[tokio::test]
async fn a_submit_is_202_with_location_and_stores_job_and_outbox_row_together() -> anyhow::Result<()>
{
    let app = spawn_app().await?;
    let response = app
        .submit(&job(
            json!({"dimensions": 2, "size": 10}),
            json!([0, 0]),
            json!([9, 9]),
        ))
        .await?;
    assert_eq!(response.status(), 202);
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: Value = response.json().await?;
    let id = body["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(location, format!("/v1/jobs/{id}"));
    assert_eq!(body["status"], "queued");

    let (jobs, outbox): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM jobs WHERE id = $1::uuid),
                (SELECT count(*) FROM job_outbox WHERE job_id = $1::uuid AND sent_at IS NULL AND attempt = 1)",
    )
    .bind(&id)
    .fetch_one(&app.db.pool)
    .await?;
    assert_eq!(
        (jobs, outbox),
        (1, 1),
        "the job row and its outbox row commit together"
    );

    let fetched: Value = app.get_job_as(&app.key, &id).await?.json().await?;
    assert_eq!(fetched["status"], "queued");
    assert_eq!(fetched["attempt"], 1);
    assert_eq!(fetched["max_attempts"], Plan::Free.limits().attempts);
    assert_eq!(fetched["request"]["lattice"]["size"], json!([10, 10]));
    assert!(fetched["result"].is_null());
    app.teardown().await
}

#[tokio::test]
async fn bad_input_is_a_4xx_problem_naming_the_field_never_a_500() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let ok = json!([0, 0]);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "dimensions 0",
            job(json!({"dimensions": 0, "size": 4}), ok.clone(), ok.clone()),
            "lattice.dimensions",
        ),
        (
            "dimensions 11",
            job(json!({"dimensions": 11, "size": 4}), ok.clone(), ok.clone()),
            "lattice.dimensions",
        ),
        (
            "size 1",
            job(json!({"dimensions": 2, "size": 1}), ok.clone(), ok.clone()),
            "lattice.size",
        ),
        (
            "negative size",
            job(json!({"dimensions": 2, "size": -3}), ok.clone(), ok.clone()),
            "lattice.size",
        ),
        (
            "size 1 on one axis",
            job(json!({"size": [5, 1]}), ok.clone(), ok.clone()),
            "lattice.size[1]",
        ),
        (
            "coordinate too big",
            job(
                json!({"dimensions": 2, "size": 4}),
                json!([0, 4]),
                ok.clone(),
            ),
            "params.start[1]",
        ),
        (
            "negative coordinate",
            job(
                json!({"dimensions": 2, "size": 4}),
                ok.clone(),
                json!([-1, 0]),
            ),
            "params.end[0]",
        ),
        (
            "coordinate too short",
            job(json!({"dimensions": 2, "size": 4}), json!([0]), ok.clone()),
            "params.start",
        ),
        (
            "coordinate too long",
            job(
                json!({"dimensions": 2, "size": 4}),
                ok.clone(),
                json!([0, 0, 0]),
            ),
            "params.end",
        ),
        (
            "coordinate not integer",
            job(
                json!({"dimensions": 2, "size": 4}),
                json!([0.5, 0]),
                ok.clone(),
            ),
            "params.start[0]",
        ),
        (
            "over the vertex cap",
            job(
                json!({"dimensions": 3, "size": 101}),
                json!([0, 0, 0]),
                json!([0, 0, 0]),
            ),
            "lattice",
        ),
        (
            "far over the cap",
            job(
                json!({"dimensions": 10, "size": 100}),
                json!(vec![0; 10]),
                json!(vec![0; 10]),
            ),
            "lattice",
        ),
        (
            "unknown operation",
            json!({"lattice": {"dimensions": 2, "size": 4}, "operation": "teleport"}),
            "operation",
        ),
        (
            "missing params",
            json!({"lattice": {"dimensions": 2, "size": 4}, "operation": "shortest_path"}),
            "params.start",
        ),
        (
            "missing lattice",
            json!({"operation": "shortest_path"}),
            "lattice",
        ),
        (
            "unknown field",
            json!({"lattice": {"dimensions": 2, "size": 4}, "operation": "shortest_path", "extra": 1}),
            "extra",
        ),
        (
            "wrong type",
            json!({"lattice": {"dimensions": "two", "size": 4}, "operation": "shortest_path"}),
            "lattice.dimensions",
        ),
    ];
    for (case, body, field) in cases {
        let (status, problem) = problem(app.submit(&body).await?).await?;
        assert_eq!(status, 422, "{case}: {problem}");
        assert!(
            fields(&problem).contains(&field.to_owned()),
            "{case}: expected field {field}, got {problem}"
        );
    }

    let (status, body) = problem(
        app.submit_raw("application/json", b"{\"lattice\": ".to_vec())
            .await?,
    )
    .await?;
    assert_eq!(status, 400, "malformed JSON: {body}");
    let (status, _) = problem(app.submit_raw("text/plain", b"{}".to_vec()).await?).await?;
    assert_eq!(status, 415);
    let huge = vec![b' '; app.settings.api.max_body_bytes + 1];
    let (status, body) = problem(app.submit_raw("application/json", huge).await?).await?;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains(&app.settings.api.max_body_bytes.to_string())
    );

    let (accepted,): (i64,) = sqlx::query_as("SELECT count(*) FROM jobs")
        .fetch_one(&app.db.pool)
        .await?;
    assert_eq!(accepted, 0, "no refused request left a job behind");
    app.teardown().await
}

#[tokio::test]
async fn unknown_malformed_and_other_tenants_job_ids_are_404() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let response = app
        .submit(&job(
            json!({"dimensions": 1, "size": 5}),
            json!([0]),
            json!([4]),
        ))
        .await?;
    let id = response.json::<Value>().await?["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let other = app.new_tenant_key(Plan::Starter).await?;
    for (case, key, job_id) in [
        ("another tenant's job", other.as_str(), id.as_str()),
        (
            "unknown id",
            app.key.as_str(),
            "01a21317-7c9d-71ac-a0d4-ab1ce41bfe66",
        ),
        ("malformed id", app.key.as_str(), "not-a-job"),
    ] {
        let (status, body) = problem(app.get_job_as(key, job_id).await?).await?;
        assert_eq!(status, 404, "{case}: {body}");
    }
    assert_eq!(
        app.get_job_as(&app.key, &id).await?.status(),
        200,
        "the owner still sees it"
    );
    app.teardown().await
}

#[tokio::test]
async fn requests_without_a_valid_api_key_are_401() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let body = job(json!({"dimensions": 1, "size": 5}), json!([0]), json!([4]));
    let forged = format!("clc_{}", "0".repeat(64));
    for key in ["", "clc_anything", forged.as_str()] {
        let (status, _) = problem(app.submit_as(key, &body).await?).await?;
        assert_eq!(status, 401, "key {key:?}");
    }
    let (status, _) = problem(
        app.http
            .post(format!("{}/v1/jobs", app.base))
            .json(&body)
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, 401, "no Authorization header");
    app.teardown().await
}

#[tokio::test]
async fn the_vertex_cap_follows_the_tenants_plan() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    // 101^3 > 10^6 (free) but < 10^7 (starter).
    let body = job(
        json!({"dimensions": 3, "size": 101}),
        json!([0, 0, 0]),
        json!([100, 100, 100]),
    );
    assert_eq!(app.submit(&body).await?.status(), 422);
    let starter = app.new_tenant_key(Plan::Starter).await?;
    assert_eq!(app.submit_as(&starter, &body).await?.status(), 202);
    app.teardown().await
}

/// A small shortest path, an analyze, and the path delayed by 10 minutes.
fn three_kinds() -> (Value, Value, Value) {
    let path = job(
        json!({"dimensions": 2, "size": 4}),
        json!([0, 0]),
        json!([3, 3]),
    );
    let analyze = json!({"lattice": {"dimensions": 2, "size": 4}, "operation": "analyze"});
    let mut later = path.clone();
    later["delay_secs"] = json!(600);
    (path, analyze, later)
}

#[tokio::test]
async fn the_job_list_filters_by_states_operation_and_creation_time_and_refuses_unknown_filters()
-> anyhow::Result<()> {
    let app = spawn_app().await?;
    let (path, analyze, later) = three_kinds();
    for body in [&path, &path, &analyze, &later] {
        assert_eq!(app.submit(body).await?.status(), 202);
    }
    let list = |query: String| {
        app.http
            .get(format!("{}/v1/jobs?{query}", app.base))
            .bearer_auth(&app.key)
            .send()
    };
    let count = |page: &Value| page["items"].as_array().map_or(0, Vec::len);
    let soon = (chrono::Utc::now() + chrono::TimeDelta::minutes(1)).to_rfc3339();
    let soon = soon.replace('+', "%2B");
    for (query, expected) in [
        ("operation=analyze".to_owned(), 1),
        ("operation=shortest_path&status=queued".to_owned(), 2),
        ("status=queued,scheduled".to_owned(), 4),
        ("status=scheduled".to_owned(), 1),
        (format!("created_after={soon}"), 0),
        (format!("created_before={soon}&operation=shortest_path"), 3),
    ] {
        let response = list(query.clone()).await?;
        assert_eq!(response.status(), 200, "{query}");
        let page: Value = response.json().await?;
        assert_eq!(count(&page), expected, "{query}: {page}");
    }
    for (query, field) in [
        ("operation=teleport", "operation"),
        ("opration=analyze", "opration"),
        ("status=queued,lost", "status"),
        ("limit=ten", "limit"),
        ("created_after=yesterday", "created_after"),
    ] {
        let (status, body) = problem(list(query.to_owned()).await?).await?;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(fields(&body), vec![field.to_owned()], "{query}: {body}");
    }
    app.teardown().await
}

#[tokio::test]
async fn a_bulk_cancel_stops_every_matching_unfinished_job_in_batches() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let (_, analyze, later) = three_kinds();
    for body in [&later, &later, &analyze] {
        assert_eq!(app.submit(body).await?.status(), 202);
    }
    // Many more queued jobs than one statement's batch of 500, straight into
    // the table (HTTP submits would only exercise the rate limit).
    sqlx::query(
        "INSERT INTO jobs (id, tenant_id, status, operation, spec, queue_class, max_attempts)
         SELECT gen_random_uuid(), t.id, 'queued', 'shortest_path', '{}'::jsonb, 'low', 3
         FROM tenants t, generate_series(1, 1201) WHERE t.name = 'tenant-a'",
    )
    .execute(&app.db.pool)
    .await?;
    let cancel = |body: Value| {
        app.http
            .post(format!("{}/v1/jobs/cancel", app.base))
            .bearer_auth(&app.key)
            .json(&body)
            .send()
    };
    let counts = || async {
        sqlx::query_as::<_, (String, i64)>(
            "SELECT status::text, count(*) FROM jobs GROUP BY 1 ORDER BY 1",
        )
        .fetch_all(&app.db.pool)
        .await
    };

    let answer: Value = cancel(json!({"status": ["scheduled"]}))
        .await?
        .json()
        .await?;
    assert_eq!(answer, json!({"cancelled": 2, "more": false}));
    let answer: Value = cancel(json!({"operation": "analyze"}))
        .await?
        .json()
        .await?;
    assert_eq!(answer, json!({"cancelled": 1, "more": false}));
    assert_eq!(
        counts().await?,
        vec![("cancelled".to_owned(), 3), ("queued".to_owned(), 1201)]
    );
    // Everything left, across three batches; nothing is cancelled twice.
    let answer: Value = cancel(json!({})).await?.json().await?;
    assert_eq!(answer, json!({"cancelled": 1201, "more": false}));
    assert_eq!(counts().await?, vec![("cancelled".to_owned(), 1204)]);
    let answer: Value = cancel(json!({})).await?.json().await?;
    assert_eq!(answer, json!({"cancelled": 0, "more": false}));
    // Each cancelled job has its webhook message, as a single cancel does.
    let messages: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM webhook_messages WHERE event_type = 'job.cancelled'",
    )
    .fetch_one(&app.db.pool)
    .await?;
    assert_eq!(messages, 1204);

    for (body, field) in [
        (json!({"status": ["succeeded"]}), "status[0]"),
        (json!({"status": ["queued", "lost"]}), "status[1]"),
        (json!({"operation": "teleport"}), "operation"),
        (json!({"created_after": "yesterday"}), "created_after"),
        (json!({"everything": true}), "everything"),
    ] {
        let (status, problem_body) = problem(cancel(body.clone()).await?).await?;
        assert_eq!(status, 422, "{body}: {problem_body}");
        assert_eq!(
            fields(&problem_body),
            vec![field.to_owned()],
            "{body}: {problem_body}"
        );
    }
    app.teardown().await
}
