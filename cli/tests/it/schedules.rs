//! Cron schedules from the command line (issue 21): created from a job
//! file, listed with the next tick, triggered (its job and its run in the
//! history), paused and resumed, deleted.

use crate::harness::{Cli, Fleet};
use serde_json::json;

#[tokio::test]
async fn a_schedule_is_created_triggered_paused_and_deleted_from_the_command_line()
-> anyhow::Result<()> {
    let cli = Cli::start(Fleet::ApiOnly).await?;
    let key = cli.env.bootstrap("starter")?;
    let with_key = [("CATALYTIC_API_KEY", key.as_str())];
    let file = cli.config.with_file_name("job.json");
    std::fs::write(
        &file,
        r#"{"lattice": {"dimensions": 2, "size": 8}, "operation": "shortest_path", "params": {"start": [0, 0], "end": [7, 7]}}"#,
    )?;
    let path = file.display().to_string();
    let created = cli
        .run_with(
            &[
                "schedules",
                "create",
                "--output",
                "json",
                "--name",
                "nightly",
                "--cron",
                "30 2 * * *",
                "--timezone",
                "Europe/Paris",
                "--job-file",
                &path,
                "--overlap",
                "cancel_previous",
            ],
            &with_key,
            "",
        )?
        .ok()?
        .json()?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(created["overlap"], "cancel_previous", "{created}");
    assert_eq!(
        created["next_fire_times"].as_array().map(Vec::len),
        Some(5),
        "{created}"
    );

    let table = cli.run_with(&["schedules", "list"], &with_key, "")?.ok()?;
    assert!(
        table.stdout.contains("nightly") && table.stdout.contains("Europe/Paris"),
        "{table:?}"
    );

    let triggered = cli.json(&format!("schedules trigger {id}"), &with_key)?;
    assert_eq!(triggered["status"], "queued", "{triggered}");
    let runs = cli.json(&format!("schedules runs {id}"), &with_key)?;
    assert_eq!(runs["items"][0]["job_id"], triggered["id"], "{runs}");
    assert_eq!(runs["items"][0]["manual"], true);

    let paused = cli.json(&format!("schedules pause {id}"), &with_key)?;
    assert_eq!(
        (&paused["paused"], &paused["next_fire_times"]),
        (&json!(true), &json!([]))
    );
    let resumed = cli.json(&format!("schedules resume {id}"), &with_key)?;
    assert_eq!(resumed["paused"], false);

    // A bad expression is the API's 422, naming the field.
    let refused = cli.run_with(
        &[
            "schedules",
            "create",
            "--name",
            "bad",
            "--cron",
            "* * *",
            "--job-file",
            &path,
        ],
        &with_key,
        "",
    )?;
    assert_ne!(refused.code, Some(0), "{refused:?}");
    assert!(refused.stderr.contains("cron"), "{refused:?}");

    let deleted = cli.json(&format!("schedules delete {id}"), &with_key)?;
    assert_eq!(deleted["deleted"], json!(id));
    let gone = cli.run_with(&["schedules", "get", &id], &with_key, "")?;
    assert_ne!(gone.code, Some(0), "{gone:?}");
    cli.stop().await
}
