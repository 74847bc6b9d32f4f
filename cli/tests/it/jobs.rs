//! Jobs through the CLI: a user logs in, makes a key, submits a shortest
//! path, watches it to success and reads a path that is right; a queued job
//! is cancelled.

use crate::harness::{Cli, Fleet};
use serde_json::{Value, json};

/// Each step of a path moves by one along one axis.
fn is_lattice_walk(path: &[Value]) -> bool {
    path.windows(2)
        .all(|pair| match (pair[0].as_array(), pair[1].as_array()) {
            (Some(a), Some(b)) if a.len() == b.len() => {
                let moved: i64 = a
                    .iter()
                    .zip(b)
                    .map(|(x, y)| (x.as_i64().unwrap_or(0) - y.as_i64().unwrap_or(0)).abs())
                    .sum();
                moved == 1
            }
            _ => false,
        })
}

#[tokio::test]
async fn a_user_logs_in_makes_a_key_and_watches_a_shortest_path_to_a_right_result()
-> anyhow::Result<()> {
    let cli = Cli::start(Fleet::Full).await?;
    cli.register_and_login("ada@example.com").await?;

    let me = cli.json("whoami", &[])?;
    assert_eq!(me["role"], "owner", "{me}");

    let created = cli.json("api-keys create --name ci", &[])?;
    let key = created["key"].as_str().unwrap_or_default().to_owned();
    assert!(key.starts_with("clc_"), "{created}");
    let listed = cli.json("api-keys list", &[])?;
    assert_eq!(listed["items"][0]["id"], created["id"], "{listed}");
    assert!(
        !listed.to_string().contains(&key),
        "a list never shows the secret"
    );

    // The key from the environment, as a program would use it.
    let with_key = [("CATALYTIC_API_KEY", key.as_str())];
    let submitted = cli.json(
        "jobs submit --operation shortest_path --size 12,9 --start 1,2 --end 10,7",
        &with_key,
    )?;
    let id = submitted["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(submitted["status"], "queued", "{submitted}");

    let watched = cli.run_with(&["jobs", "watch", &id, "--timeout", "120"], &with_key, "")?;
    assert_eq!(watched.code, Some(0), "{watched:?}");
    assert!(watched.stdout.contains("succeeded"), "{watched:?}");
    assert!(
        watched.stderr.contains(&format!("job {id}: succeeded")),
        "the live state is told on stderr: {watched:?}"
    );

    let result = cli.json(&format!("jobs result {id}"), &with_key)?;
    let manhattan = (10 - 1) + (7 - 2);
    assert_eq!(result["reachable"], true, "{result}");
    assert_eq!(result["length"], manhattan, "{result}");
    let path = result["path"].as_array().cloned().unwrap_or_default();
    assert_eq!(path.len(), manhattan + 1, "{result}");
    assert_eq!(path.first(), Some(&json!([1, 2])));
    assert_eq!(path.last(), Some(&json!([10, 7])));
    assert!(is_lattice_walk(&path), "{result}");

    let table = cli
        .run_with(&["jobs", "result", &id], &with_key, "")?
        .ok()?;
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.starts_with("length") && l.ends_with("14")),
        "{table:?}"
    );

    let succeeded = cli.json("jobs list --status succeeded", &with_key)?;
    assert_eq!(succeeded["items"][0]["id"], id.as_str(), "{succeeded}");

    // A job from a file, submitted and watched in one command.
    let file = cli.config.with_file_name("job.json");
    std::fs::write(
        &file,
        r#"{"lattice": {"size": [5, 5], "wrap": true}, "operation": "shortest_path",
            "params": {"start": [0, 0], "end": [4, 4]}}"#,
    )?;
    let file_job = cli.json(
        &format!("jobs submit --file {} --watch", file.display()),
        &with_key,
    )?;
    assert_eq!(file_job["status"], "succeeded", "{file_job}");
    assert_eq!(
        file_job["result"]["length"], 2,
        "wrapping: one step back on each axis"
    );

    let usage = cli.json("usage --granularity day", &[])?;
    assert_eq!(usage["granularity"], "day", "{usage}");
    assert!(usage["buckets"].is_array(), "{usage}");
    let invoices = cli.json("invoices list", &[])?;
    assert!(invoices["items"].is_array(), "{invoices}");

    // A revoked key stops working at once.
    cli.json(
        &format!(
            "api-keys revoke {}",
            created["id"].as_str().unwrap_or_default()
        ),
        &[],
    )?;
    let revoked = cli.run_with(&["jobs", "list"], &with_key, "")?;
    assert_eq!(revoked.code, Some(1), "{revoked:?}");
    assert!(revoked.stderr.contains("HTTP 401"), "{revoked:?}");

    cli.stop().await
}

#[tokio::test]
async fn a_queued_job_is_cancelled_once_and_then_reported_as_cancelled() -> anyhow::Result<()> {
    // The api alone: nothing runs the job, so it is queued when cancelled.
    let cli = Cli::start(Fleet::ApiOnly).await?;
    let key = cli.env.bootstrap("free")?;
    let with_key = [("CATALYTIC_API_KEY", key.as_str())];
    let submitted = cli.json(
        "jobs submit --operation analyze --size 4 --dimensions 2",
        &with_key,
    )?;
    let id = submitted["id"].as_str().unwrap_or_default().to_owned();

    // Nothing runs it: a watch with a timeout gives up, saying where it is.
    let gave_up = cli.run_with(&["jobs", "watch", &id, "--timeout", "1"], &with_key, "")?;
    assert_eq!(gave_up.code, Some(1), "{gave_up:?}");
    assert!(gave_up.stderr.contains("still queued after"), "{gave_up:?}");
    let not_yet = cli.run_with(&["jobs", "result", &id], &with_key, "")?;
    assert_eq!(not_yet.code, Some(1), "{not_yet:?}");
    assert!(not_yet.stderr.contains("no result yet"), "{not_yet:?}");

    let cancelled = cli.json(&format!("jobs cancel {id}"), &with_key)?;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");

    let again = cli.run_with(&["jobs", "cancel", &id], &with_key, "")?;
    assert_eq!(again.code, Some(1), "{again:?}");
    assert!(again.stderr.contains("already cancelled"), "{again:?}");
    assert!(again.stderr.contains("HTTP 409"), "{again:?}");

    let watched = cli.run_with(&["jobs", "watch", &id], &with_key, "")?;
    assert_eq!(
        watched.code,
        Some(3),
        "a cancelled job is not a success: {watched:?}"
    );
    let result = cli.run_with(&["jobs", "result", &id], &with_key, "")?;
    assert_eq!(result.code, Some(3), "{result:?}");
    assert!(result.stderr.contains("cancelled"), "{result:?}");

    cli.stop().await
}

#[tokio::test]
async fn a_watch_rides_out_an_api_restart_and_sees_the_job_succeed() -> anyhow::Result<()> {
    let mut cli = Cli::start(Fleet::ApiOnly).await?;
    let key = cli.env.bootstrap("free")?;
    let with_key = [("CATALYTIC_API_KEY", key.as_str())];
    let submitted = cli.json(
        "jobs submit --operation shortest_path --size 8,8 --start 0,0 --end 7,7",
        &with_key,
    )?;
    let id = submitted["id"].as_str().unwrap_or_default().to_owned();

    cli.stop_fleet();
    let watch = cli.spawn(&["jobs", "watch", &id, "--timeout", "120"], &with_key)?;
    catalytic_e2e::wait_until(
        "the watch to find the api gone",
        std::time::Duration::from_secs(30),
        || {
            let told = watch.stderr().contains("cannot reach the server");
            async move { Ok(told.then_some(())) }
        },
    )
    .await?;
    cli.restart_fleet(Fleet::Full).await?;

    let watched = watch.finish()?;
    assert_eq!(watched.code, Some(0), "{watched:?}");
    assert!(watched.stderr.contains("retrying"), "{watched:?}");
    assert!(
        watched.stderr.contains(&format!("job {id}: succeeded")),
        "{watched:?}"
    );
    cli.stop().await
}

#[tokio::test]
async fn many_jobs_from_a_json_lines_file_print_one_line_each() -> anyhow::Result<()> {
    let cli = Cli::start(Fleet::ApiOnly).await?;
    cli.register_and_login("bulk@example.com").await?;
    let file = cli.config.with_file_name("jobs.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"lattice": {"dimensions": 1, "size": 8}, "operation": "shortest_path", "params": {"start": [0], "end": [7]}}"#,
            "\n\n",
            r#"{"lattice": {"dimensions": 1, "size": 8}, "operation": "shortest_path", "params": {"start": [0], "end": [9]}}"#,
            "\n",
            r#"{"lattice": {"dimensions": 2, "size": 4}, "operation": "analyze"}"#,
            "\n",
        ),
    )?;
    let path = file.display().to_string();
    // JSON: one object per job, with its file line; exit 1 as one was refused.
    let run = cli.run_with(
        &["jobs", "submit", "--from-file", &path, "--output", "json"],
        &[],
        "",
    )?;
    assert_eq!(run.code, Some(1), "{run:?}");
    let lines = run.json()?;
    let lines = lines.as_array().cloned().unwrap_or_default();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["status"], "queued");
    assert!(lines[0]["id"].is_string());
    assert_eq!(lines[1]["line"], 3);
    assert_eq!(
        lines[1]["error"]["errors"][0]["field"], "jobs[1].params.end[0]",
        "{lines:?}"
    );
    assert_eq!(lines[2]["line"], 4);
    assert!(lines[2]["id"].is_string());
    let id = lines[0]["id"].as_str().unwrap_or_default().to_owned();
    let job = cli.json(&format!("jobs get {id}"), &[])?;
    assert_eq!(job["status"], "queued", "{job}");

    // Table: one line per job.
    let run = cli.run_with(&["jobs", "submit", "--from-file", &path], &[], "")?;
    assert_eq!(run.code, Some(1), "{run:?}");
    let out: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(out.len(), 3, "{run:?}");
    assert!(
        out[0].starts_with("line 1: ") && out[0].ends_with(" queued"),
        "{run:?}"
    );
    assert!(
        out[1].starts_with("line 3: refused 422: jobs[1].params.end[0]"),
        "{run:?}"
    );

    // A line that is not JSON is refused before anything is sent.
    std::fs::write(&file, "{\"operation\": \"analyze\"}\nnot json\n")?;
    let run = cli.run_with(&["jobs", "submit", "--from-file", &path], &[], "")?;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("line 2"), "{run:?}");
    cli.stop().await
}

#[tokio::test]
async fn a_delayed_submit_is_scheduled_listed_and_cancelled_from_the_command_line()
-> anyhow::Result<()> {
    let cli = Cli::start(Fleet::ApiOnly).await?;
    let key = cli.env.bootstrap("free")?;
    let with_key = [("CATALYTIC_API_KEY", key.as_str())];
    let submitted = cli.json(
        "jobs submit --operation shortest_path --size 8,8 --start 0,0 --end 7,7 --delay 600",
        &with_key,
    )?;
    assert_eq!(submitted["status"], "scheduled", "{submitted}");
    let id = submitted["id"].as_str().unwrap_or_default().to_owned();
    let listed = cli.json("jobs list --status scheduled", &with_key)?;
    assert_eq!(listed["items"][0]["id"], json!(id), "{listed}");
    assert!(listed["items"][0]["run_at"].is_string(), "{listed}");
    let cancelled = cli.json(&format!("jobs cancel {id}"), &with_key)?;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    // A time in the past is refused by the API, naming the flag's field.
    let args = "jobs submit --operation shortest_path --size 8,8 --start 0,0 --end 7,7 --run-at 2020-01-01T00:00:00Z";
    let refused = cli.run_with(&args.split_whitespace().collect::<Vec<_>>(), &with_key, "")?;
    assert_ne!(refused.code, Some(0), "{refused:?}");
    assert!(refused.stderr.contains("run_at"), "{refused:?}");
    cli.stop().await
}

#[tokio::test]
async fn jobs_are_listed_by_filters_and_cancelled_many_at_once() -> anyhow::Result<()> {
    let cli = Cli::start(Fleet::ApiOnly).await?;
    let key = cli.env.bootstrap("free")?;
    let with_key = [("CATALYTIC_API_KEY", key.as_str())];
    for line in [
        "jobs submit --operation shortest_path --size 8,8 --start 0,0 --end 7,7",
        "jobs submit --operation shortest_path --size 8,8 --start 0,0 --end 7,7 --delay 600",
        "jobs submit --operation analyze --size 8,8",
    ] {
        cli.json(line, &with_key)?;
    }
    let count = |page: &Value| page["items"].as_array().map_or(0, Vec::len);
    let listed = cli.json(
        "jobs list --status queued,scheduled --operation analyze",
        &with_key,
    )?;
    assert_eq!(count(&listed), 1, "{listed}");
    let listed = cli.json("jobs list --status scheduled", &with_key)?;
    assert_eq!(count(&listed), 1, "{listed}");

    // Without a filter it must be asked for in so many words.
    let refused = cli.run_with(&["jobs", "cancel-many"], &with_key, "")?;
    assert_eq!(refused.code, Some(2), "{refused:?}");
    let cancelled = cli.json("jobs cancel-many --operation shortest_path", &with_key)?;
    assert_eq!(cancelled["cancelled"], 2, "{cancelled}");
    let left = cli.json("jobs list --status cancelled", &with_key)?;
    assert_eq!(count(&left), 2, "{left}");
    let cancelled = cli.json("jobs cancel-many --all", &with_key)?;
    assert_eq!(cancelled["cancelled"], 1, "{cancelled}");

    // Issue 22: finished jobs are deleted, one or many; a job keeps its
    // result as long as --result-ttl says.
    let kept = cli.json(
        "jobs submit --operation analyze --size 8,8 --result-ttl 3600",
        &with_key,
    )?;
    let kept_id = kept["id"].as_str().unwrap_or_default().to_owned();
    let shown = cli.json(&format!("jobs get {kept_id}"), &with_key)?;
    assert_eq!(shown["result_ttl_secs"], 3600, "{shown}");
    let unfinished = cli.run_with(&["jobs", "delete", &kept_id], &with_key, "")?;
    assert_ne!(unfinished.code, Some(0), "{unfinished:?}");
    assert!(unfinished.stderr.contains("queued"), "{unfinished:?}");
    let refused = cli.run_with(&["jobs", "delete-many"], &with_key, "")?;
    assert_eq!(refused.code, Some(2), "{refused:?}");
    let deleted = cli.json("jobs delete-many --operation analyze", &with_key)?;
    assert_eq!(deleted["deleted"], 1, "{deleted}");
    let one = left["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let deleted = cli.json(&format!("jobs delete {one}"), &with_key)?;
    assert_eq!(deleted["deleted"], json!(one), "{deleted}");
    let deleted = cli.json("jobs delete-many --all", &with_key)?;
    assert_eq!(deleted["deleted"], 1, "{deleted}");
    let listed = cli.json("jobs list", &with_key)?;
    assert_eq!(
        count(&listed),
        1,
        "only the unfinished job is left: {listed}"
    );
    cli.stop().await
}

#[tokio::test]
async fn a_unique_submit_from_the_command_line_is_answered_the_holding_job() -> anyhow::Result<()> {
    let cli = Cli::start(Fleet::ApiOnly).await?;
    let key = cli.env.bootstrap("free")?;
    let with_key = [("CATALYTIC_API_KEY", key.as_str())];
    let submit = "jobs submit --operation shortest_path --size 8,8 --start 0,0 --end 7,7 --delay 600 --unique-for 300 --unique-key nightly";
    let first = cli.json(submit, &with_key)?;
    assert_eq!(first["status"], "scheduled", "{first}");
    assert!(first.get("existing").is_none_or(|e| e == false), "{first}");
    let again = cli.json(
        "jobs submit --operation shortest_path --size 8,8 --start 0,0 --end 5,5 --unique-for 300 --unique-key nightly",
        &with_key,
    )?;
    assert_eq!(again["id"], first["id"], "{again}");
    assert_eq!(again["existing"], true, "{again}");
    assert_eq!(again["status"], "scheduled", "the holder's state: {again}");
    // A key needs its window; the CLI says so before sending.
    let args =
        "jobs submit --operation shortest_path --size 8,8 --start 0,0 --end 7,7 --unique-key k";
    let refused = cli.run_with(&args.split_whitespace().collect::<Vec<_>>(), &with_key, "")?;
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(refused.stderr.contains("--unique-for"), "{refused:?}");
    cli.stop().await
}

#[tokio::test]
async fn a_job_submitted_with_parents_waits_for_them() -> anyhow::Result<()> {
    let cli = Cli::start(Fleet::ApiOnly).await?;
    let key = cli.env.bootstrap("starter")?;
    let with_key = [("CATALYTIC_API_KEY", key.as_str())];
    let submit = "jobs submit --operation shortest_path --size 8,8 --start 0,0 --end 7,7";
    let parent = cli.json(submit, &with_key)?;
    let id = parent["id"].as_str().unwrap_or_default().to_owned();
    let child = cli.json(
        &format!("{submit} --depends-on {id} --on-parent-failure run"),
        &with_key,
    )?;
    assert_eq!(child["status"], "waiting", "{child}");
    let listed = cli.json("jobs list --status waiting", &with_key)?;
    assert_eq!(listed["items"][0]["id"], child["id"], "{listed}");
    let keyed = cli.json(
        &format!("{submit} --concurrency-key exports --max-concurrency 2"),
        &with_key,
    )?;
    assert_eq!(keyed["status"], "waiting", "waits for a slot: {keyed}");
    cli.stop().await
}

/// Issue 22: a distance field too large to list inline is downloaded as
/// the .npy file the result names.
#[tokio::test]
async fn a_stored_field_is_downloaded_to_a_file() -> anyhow::Result<()> {
    let cli = Cli::start(Fleet::Full).await?;
    let key = cli.env.bootstrap("free")?;
    let with_key = [("CATALYTIC_API_KEY", key.as_str())];
    let submitted = cli.json(
        "jobs submit --operation distances --size 400,300 --source 0,0 --watch --timeout 120",
        &with_key,
    )?;
    let id = submitted["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(submitted["status"], "succeeded", "{submitted}");
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("field.npy");
    let path = file.to_string_lossy().into_owned();
    let downloaded = cli.json(&format!("jobs download {id} --out {path}"), &with_key)?;
    let bytes = std::fs::read(&file)?;
    assert_eq!(downloaded["part"], "field", "{downloaded}");
    assert_eq!(downloaded["bytes"], bytes.len(), "{downloaded}");
    assert!(bytes.starts_with(b"\x93NUMPY\x01\x00"));
    let header = String::from_utf8_lossy(&bytes[10..128]);
    assert!(header.contains("'shape': (400, 300)"), "{header}");
    assert_eq!(
        bytes.len(),
        128 + 400 * 300 * 4,
        "a 128-byte header, then the field"
    );
    // The corner's neighbour along axis 0 is at distance 1, along axis 1 too.
    let at = |i: usize| {
        i32::from_le_bytes([
            bytes[128 + 4 * i],
            bytes[129 + 4 * i],
            bytes[130 + 4 * i],
            bytes[131 + 4 * i],
        ])
    };
    assert_eq!(
        (at(0), at(1), at(400), at(400 * 300 - 1)),
        (0, 1, 1, 399 + 299)
    );
    let missing = cli.run_with(
        &["jobs", "download", &id, "--part", "nope", "--out", &path],
        &with_key,
        "",
    )?;
    assert_ne!(missing.code, Some(0), "{missing:?}");
    assert!(missing.stderr.contains("404"), "{missing:?}");
    cli.stop().await
}
