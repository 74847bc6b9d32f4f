//! Stored concurrency limits from the command line (issue 21): set (a key
//! with a slash and a space reaches the API whole), listed with the key's
//! waiting jobs, changed, refused by the API naming the field, deleted.

use crate::harness::{Cli, Fleet};
use serde_json::json;

#[tokio::test]
async fn a_concurrency_key_limit_is_set_listed_changed_and_deleted_from_the_command_line()
-> anyhow::Result<()> {
    let cli = Cli::start(Fleet::ApiOnly).await?;
    let key = cli.env.bootstrap("starter")?;
    let with_key = [("CATALYTIC_API_KEY", key.as_str())];
    let name = "nightly/export v2";
    // A keyed job: nothing relays it here, so it stays waiting for a slot.
    let submitted = cli
        .run_with(
            &[
                "jobs",
                "submit",
                "--output",
                "json",
                "--operation",
                "shortest_path",
                "--size",
                "8,8",
                "--start",
                "0,0",
                "--end",
                "7,7",
                "--concurrency-key",
                name,
            ],
            &with_key,
            "",
        )?
        .ok()?
        .json()?;
    assert_eq!(submitted["status"], "waiting", "{submitted}");

    let set = |max: &str| {
        cli.run_with(
            &[
                "concurrency-keys",
                "set",
                name,
                "--max",
                max,
                "--output",
                "json",
            ],
            &with_key,
            "",
        )
    };
    let stored = set("2")?.ok()?.json()?;
    assert_eq!(
        (
            &stored["key"],
            &stored["max_concurrency"],
            &stored["waiting_jobs"]
        ),
        (&json!(name), &json!(2), &json!(1)),
        "{stored}"
    );

    let table = cli
        .run_with(&["concurrency-keys", "list"], &with_key, "")?
        .ok()?;
    assert!(
        table.stdout.contains("KEY") && table.stdout.contains(name),
        "{table:?}"
    );

    let changed = set("5")?.ok()?.json()?;
    assert_eq!(changed["max_concurrency"], 5, "{changed}");
    let got = cli
        .run_with(
            &["concurrency-keys", "get", name, "--output", "json"],
            &with_key,
            "",
        )?
        .ok()?
        .json()?;
    assert_eq!(got["max_concurrency"], 5, "{got}");

    // Out of range: the API's 422, naming the field.
    let refused = set("0")?;
    assert_ne!(refused.code, Some(0), "{refused:?}");
    assert!(refused.stderr.contains("max_concurrency"), "{refused:?}");

    let deleted = cli
        .run_with(
            &["concurrency-keys", "delete", name, "--output", "json"],
            &with_key,
            "",
        )?
        .ok()?
        .json()?;
    assert_eq!(deleted["deleted"], json!(name));
    let gone = cli.run_with(&["concurrency-keys", "get", name], &with_key, "")?;
    assert_ne!(gone.code, Some(0), "{gone:?}");
    assert!(gone.stderr.contains("404"), "{gone:?}");
    cli.stop().await
}
