//! Issue 5 on the api: cancel, `Idempotency-Key`, long-poll, list and
//! re-run, each checked against the rows it must (and must not) write.

use crate::harness::{TestApp, fields, problem, spawn_app};
use catalytic_shared::db::jobs::{self, Change, Guard, Transitioned};
use catalytic_shared::ids::{JobId, WorkerId};
use catalytic_shared::job::{Failure, JobState, Usage};
use catalytic_shared::tenant::Plan;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn body(size: u64) -> Value {
    json!({"lattice": {"dimensions": 2, "size": size}, "operation": "shortest_path",
           "params": {"start": [0, 0], "end": [1, 1]}})
}

async fn post(app: &TestApp, key: &str, path: &str) -> anyhow::Result<reqwest::Response> {
    Ok(app
        .http
        .post(format!("{}{path}", app.base))
        .bearer_auth(key)
        .send()
        .await?)
}

async fn get_json(app: &TestApp, path: &str) -> anyhow::Result<(u16, Value)> {
    let response = app
        .http
        .get(format!("{}{path}", app.base))
        .bearer_auth(&app.key)
        .send()
        .await?;
    Ok((response.status().as_u16(), response.json().await?))
}

async fn submit_id(app: &TestApp, body: &Value) -> anyhow::Result<String> {
    let response = app.submit(body).await?;
    anyhow::ensure!(response.status() == 202, "submit: {}", response.status());
    let accepted: Value = response.json().await?;
    Ok(accepted["id"].as_str().unwrap_or_default().to_owned())
}

async fn submit_with_key(
    app: &TestApp,
    key: &str,
    body: &Value,
) -> anyhow::Result<reqwest::Response> {
    Ok(app
        .http
        .post(format!("{}/v1/jobs", app.base))
        .bearer_auth(&app.key)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await?)
}

pub async fn transition(
    app: &TestApp,
    id: &str,
    from: JobState,
    change: Change,
) -> anyhow::Result<Transitioned> {
    let mut conn = app.db.pool.acquire().await?;
    let guard = Guard {
        job: id.parse::<JobId>()?,
        from,
        attempt: 1,
    };
    Ok(jobs::transition(&mut conn, guard, change).await?)
}

pub fn claim() -> Change {
    Change::Claim {
        worker: WorkerId::new(),
        lease: Duration::from_secs(30),
    }
}

/// (terminal transitions, webhook messages of `event`, usage events) of a job.
async fn effects(app: &TestApp, id: &str, event: &str) -> anyhow::Result<(i64, i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT
           (SELECT count(*) FROM job_transitions WHERE job_id = $1::uuid
              AND to_status IN ('succeeded', 'failed', 'cancelled')),
           (SELECT count(*) FROM webhook_messages WHERE job_id = $1::uuid AND event_type = $2),
           (SELECT count(*) FROM usage_events WHERE job_id = $1::uuid)",
    )
    .bind(id)
    .bind(event)
    .fetch_one(&app.db.pool)
    .await?)
}

async fn job_count(app: &TestApp) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&app.db.pool)
        .await?)
}

#[tokio::test]
async fn a_cancelled_queued_job_is_terminal_once_and_never_starts() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let id = submit_id(&app, &body(10)).await?;

    let response = post(&app, &app.key, &format!("/v1/jobs/{id}/cancel")).await?;
    assert_eq!(response.status(), 202);
    let job: Value = response.json().await?;
    assert_eq!(job["status"], "cancelled");
    assert!(job["finished_at"].is_string());

    let (status, again) =
        problem(post(&app, &app.key, &format!("/v1/jobs/{id}/cancel")).await?).await?;
    assert_eq!(status, 409);
    assert!(
        again["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("cancelled"),
        "the 409 names the state: {again}"
    );

    assert_eq!(effects(&app, &id, "job.cancelled").await?, (1, 1, 1));
    // A worker's guarded claim of the (late) message finds nothing to start.
    assert_eq!(
        transition(&app, &id, JobState::Queued, claim()).await?,
        Transitioned::Stale
    );
    let (_, fetched) = get_json(&app, &format!("/v1/jobs/{id}")).await?;
    assert_eq!(fetched["status"], "cancelled");
    app.teardown().await
}

#[tokio::test]
async fn cancelling_a_running_job_notifies_workers_after_commit() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let id = submit_id(&app, &body(10)).await?;
    assert!(matches!(
        transition(&app, &id, JobState::Queued, claim()).await?,
        Transitioned::Applied(_)
    ));
    let mut listener = sqlx::postgres::PgListener::connect(&app.db.url).await?;
    listener.listen("job_cancel").await?;

    let response = post(&app, &app.key, &format!("/v1/jobs/{id}/cancel")).await?;
    assert_eq!(response.status(), 202);
    let job: Value = response.json().await?;
    assert_eq!(job["status"], "cancelled");

    let heard = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await??;
    assert_eq!(heard.payload(), id);
    assert_eq!(effects(&app, &id, "job.cancelled").await?, (1, 1, 1));
    // The worker's own outcome, arriving late, is stale: nothing written twice.
    let late = Change::Succeed {
        result: json!({}),
        usage: Usage::default(),
    };
    assert_eq!(
        transition(&app, &id, JobState::Running, late).await?,
        Transitioned::Stale
    );
    assert_eq!(effects(&app, &id, "job.cancelled").await?, (1, 1, 1));
    app.teardown().await
}

#[tokio::test]
async fn another_tenants_job_cannot_be_cancelled_or_rerun() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let id = submit_id(&app, &body(10)).await?;
    let other = app.new_tenant_key(Plan::Free).await?;
    for path in [
        format!("/v1/jobs/{id}/cancel"),
        format!("/v1/jobs/{id}/rerun"),
        "/v1/jobs/not-a-uuid/cancel".to_owned(),
    ] {
        let (status, _) = problem(post(&app, &other, &path).await?).await?;
        assert_eq!(status, 404, "{path}");
    }
    let (_, fetched) = get_json(&app, &format!("/v1/jobs/{id}")).await?;
    assert_eq!(fetched["status"], "queued");
    app.teardown().await
}

#[tokio::test]
async fn an_idempotent_resubmit_answers_the_same_job_and_another_body_is_409() -> anyhow::Result<()>
{
    let app = spawn_app().await?;
    let first = submit_with_key(&app, "order-42", &body(10)).await?;
    assert_eq!(first.status(), 202);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await?;

    // The same body with its keys in another order is the same request.
    let reordered: Value = serde_json::from_str(
        r#"{"params": {"end": [1, 1], "start": [0, 0]}, "operation": "shortest_path",
            "lattice": {"size": 10, "dimensions": 2}}"#,
    )?;
    let again = submit_with_key(&app, "order-42", &reordered).await?;
    assert_eq!(again.status(), 202);
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let again: Value = again.json().await?;
    assert_eq!(again["id"], first["id"]);

    let (status, conflict) = problem(submit_with_key(&app, "order-42", &body(11)).await?).await?;
    assert_eq!(status, 409);
    assert!(
        conflict["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Idempotency-Key")
    );

    for bad in ["has space", &"k".repeat(256), "tab\tkey"] {
        let (status, p) = problem(submit_with_key(&app, bad, &body(10)).await?).await?;
        assert_eq!(status, 422, "{bad:?}");
        assert_eq!(fields(&p), vec!["Idempotency-Key"]);
    }
    assert_eq!(job_count(&app).await?, 1, "one job for one key");
    app.teardown().await
}

#[tokio::test]
async fn concurrent_submits_with_one_key_create_one_job() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    for round in 0..5 {
        let key = format!("race-{round}");
        let same = body(10);
        let (a, b) = tokio::join!(
            submit_with_key(&app, &key, &same),
            submit_with_key(&app, &key, &same)
        );
        let (a, b) = (a?, b?);
        assert_eq!((a.status().as_u16(), b.status().as_u16()), (202, 202));
        let (a, b): (Value, Value) = (a.json().await?, b.json().await?);
        assert_eq!(a["id"], b["id"], "round {round}");
    }
    assert_eq!(job_count(&app).await?, 5);
    app.teardown().await
}

#[tokio::test]
async fn a_long_poll_answers_as_soon_as_the_job_finishes() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let id = submit_id(&app, &body(10)).await?;
    let started = Instant::now();
    let finish = async {
        // Let the poll start waiting first; its answer does not depend on it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        transition(&app, &id, JobState::Queued, claim()).await?;
        let succeed = Change::Succeed {
            result: json!({"reachable": true}),
            usage: Usage::default(),
        };
        transition(&app, &id, JobState::Running, succeed).await
    };
    let path = format!("/v1/jobs/{id}?wait=30");
    let (polled, finished) = tokio::join!(get_json(&app, &path), finish);
    assert!(matches!(finished?, Transitioned::Applied(_)));
    let (status, job) = polled?;
    assert_eq!(status, 200);
    assert_eq!(job["status"], "succeeded");
    // The finish comes at ~300 ms; the re-read backstop is at 1 s, so an
    // answer before 900 ms can only come from the job_done notification.
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "answered on the notification, not the backstop or the deadline: {:?}",
        started.elapsed()
    );
    app.teardown().await
}

#[tokio::test]
async fn a_long_poll_answers_the_unfinished_job_at_its_deadline() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let id = submit_id(&app, &body(10)).await?;
    let started = Instant::now();
    let (status, job) = get_json(&app, &format!("/v1/jobs/{id}?wait=1")).await?;
    assert_eq!((status, job["status"].as_str()), (200, Some("queued")));
    assert!(started.elapsed() >= Duration::from_millis(900));

    for bad in ["61", "-1", "soon"] {
        let response = app
            .http
            .get(format!("{}/v1/jobs/{id}?wait={bad}", app.base))
            .bearer_auth(&app.key)
            .send()
            .await?;
        let (status, p) = problem(response).await?;
        assert_eq!(status, 422, "{bad}");
        assert_eq!(fields(&p), vec!["wait"]);
    }
    app.teardown().await
}

#[tokio::test]
async fn jobs_are_listed_newest_first_by_status_and_page() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let mut ids = Vec::new();
    for size in 10..14 {
        ids.push(submit_id(&app, &body(size)).await?);
    }
    let cancelled = post(&app, &app.key, &format!("/v1/jobs/{}/cancel", ids[1])).await?;
    assert_eq!(cancelled.status(), 202);

    let (status, page) = get_json(&app, "/v1/jobs?limit=3").await?;
    assert_eq!(status, 200);
    let listed: Vec<&str> = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|j| j["id"].as_str())
        .collect();
    assert_eq!(listed, vec![&*ids[3], &*ids[2], &*ids[1]], "newest first");
    let cursor = page["next_cursor"].as_str().unwrap_or_default().to_owned();
    assert_eq!(cursor, ids[1]);
    let (_, rest) = get_json(&app, &format!("/v1/jobs?limit=3&cursor={cursor}")).await?;
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(rest["items"][0]["id"], ids[0]);
    assert!(rest["next_cursor"].is_null());

    let (_, only) = get_json(&app, "/v1/jobs?status=cancelled").await?;
    assert_eq!(only["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(only["items"][0]["id"], ids[1]);
    let (_, queued) = get_json(&app, "/v1/jobs?status=queued").await?;
    assert_eq!(queued["items"].as_array().map(Vec::len), Some(3));

    let other = app.new_tenant_key(Plan::Free).await?;
    let theirs: Value = app
        .http
        .get(format!("{}/v1/jobs", app.base))
        .bearer_auth(&other)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        theirs["items"],
        json!([]),
        "tenants see only their own jobs"
    );

    for (query, field) in [
        ("status=done", "status"),
        ("limit=0", "limit"),
        ("cursor=x", "cursor"),
    ] {
        let response = app
            .http
            .get(format!("{}/v1/jobs?{query}", app.base))
            .bearer_auth(&app.key)
            .send()
            .await?;
        let (status, p) = problem(response).await?;
        assert_eq!(status, 422, "{query}");
        assert_eq!(fields(&p), vec![field]);
    }
    app.teardown().await
}

#[tokio::test]
async fn a_failed_job_is_rerun_as_a_new_job_linked_to_the_original() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let id = submit_id(&app, &body(12)).await?;
    let (status, p) = problem(post(&app, &app.key, &format!("/v1/jobs/{id}/rerun")).await?).await?;
    assert_eq!(status, 409, "a queued job is not re-run");
    assert!(p["detail"].as_str().unwrap_or_default().contains("queued"));

    let fail = Change::Fail {
        error: Failure::Engine {
            message: "boom".into(),
            attempt: 1,
        },
        usage: Usage::default(),
    };
    assert!(matches!(
        transition(&app, &id, JobState::Queued, fail).await?,
        Transitioned::Applied(_)
    ));
    let (_, failed) = get_json(&app, "/v1/jobs?status=failed").await?;
    assert_eq!(failed["items"][0]["id"], id);

    let response = post(&app, &app.key, &format!("/v1/jobs/{id}/rerun")).await?;
    assert_eq!(response.status(), 202);
    let rerun: Value = response.json().await?;
    assert_eq!(rerun["rerun_of"], id);
    assert_eq!(rerun["status"], "queued");
    let new_id = rerun["id"].as_str().unwrap_or_default().to_owned();
    assert_ne!(new_id, id);

    let (_, original) = get_json(&app, &format!("/v1/jobs/{id}")).await?;
    let (_, copy) = get_json(&app, &format!("/v1/jobs/{new_id}")).await?;
    assert_eq!(copy["status"], "queued");
    assert_eq!(copy["attempt"], 1);
    assert_eq!(copy["request"], original["request"]);
    let outbox: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM job_outbox WHERE job_id = $1::uuid AND sent_at IS NULL",
    )
    .bind(&new_id)
    .fetch_one(&app.db.pool)
    .await?;
    assert_eq!(outbox, 1, "the re-run is enqueued like a submit");
    app.teardown().await
}

/// Issue 22: a running job shows the progress its worker last reported
/// (`db::progress::report`, guarded by state and attempt), in GET and in
/// the list; a finished job shows none.
#[tokio::test]
async fn a_running_job_shows_its_progress_and_a_finished_one_none() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let id = submit_id(&app, &body(4)).await?;
    let job = id.parse::<JobId>()?;
    let report = |attempt, done| {
        catalytic_shared::db::progress::report(&app.db.pool, job, attempt, done, 1_000, "vertices")
    };
    // Queued: a report is refused (nothing runs), and none shows.
    assert!(!report(1, 5).await?, "not running yet");
    let (_, shown) = get_json(&app, &format!("/v1/jobs/{id}")).await?;
    assert!(shown.get("progress").is_none(), "{shown}");

    assert!(matches!(
        transition(&app, &id, JobState::Queued, claim()).await?,
        Transitioned::Applied(_)
    ));
    assert!(!report(2, 250).await?, "another attempt's");
    assert!(report(1, 250).await?);
    assert!(report(1, 400).await?, "a later report replaces it");
    let (_, shown) = get_json(&app, &format!("/v1/jobs/{id}")).await?;
    assert_eq!(shown["progress"]["done"], 400, "{shown}");
    assert_eq!(shown["progress"]["total"], 1_000, "{shown}");
    assert_eq!(shown["progress"]["unit"], "vertices", "{shown}");
    assert!(shown["progress"]["updated_at"].is_string(), "{shown}");
    // More done than the estimate is shown as all of it.
    assert!(report(1, 5_000).await?);
    let (_, listed) = get_json(&app, "/v1/jobs?status=running").await?;
    assert_eq!(listed["items"][0]["progress"]["done"], 1_000, "{listed}");

    let done = Change::Succeed {
        result: json!({"length": 2}),
        usage: Usage::default(),
    };
    assert!(matches!(
        transition(&app, &id, JobState::Running, done).await?,
        Transitioned::Applied(_)
    ));
    assert!(!report(1, 900).await?, "finished: refused");
    let (_, shown) = get_json(&app, &format!("/v1/jobs/{id}")).await?;
    assert_eq!(shown["status"], "succeeded");
    assert!(shown.get("progress").is_none(), "{shown}");
    app.teardown().await
}
