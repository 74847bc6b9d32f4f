//! Bad input: every refusal is told on stderr with the problem's detail and
//! the field, as JSON under `--output json`, with a non-zero exit code; and
//! nothing panics.

use crate::harness::{Cli, Fleet};

#[tokio::test]
async fn bad_input_is_a_clear_error_with_a_nonzero_exit_and_never_a_panic() -> anyhow::Result<()> {
    let cli = Cli::start(Fleet::ApiOnly).await?;
    let key = cli.env.bootstrap("free")?;
    let with_key = [("CATALYTIC_API_KEY", key.as_str())];
    let out_of_range = [
        "jobs",
        "submit",
        "--operation",
        "shortest_path",
        "--size",
        "10,10",
        "--start",
        "0,0",
        "--end",
        "10,10",
    ];

    // The API's 422, with the field it names.
    let refused = cli.run_with(&out_of_range, &with_key, "")?;
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(refused.stderr.contains("HTTP 422"), "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("  params.end[0]: must be between 0 and 9"),
        "{refused:?}"
    );
    assert!(
        refused.stdout.is_empty(),
        "stdout stays data only: {refused:?}"
    );

    // The same as JSON on stderr.
    let args: Vec<&str> = out_of_range.iter().copied().chain(["-o", "json"]).collect();
    let refused = cli.run_with(&args, &with_key, "")?;
    assert_eq!(refused.code, Some(1));
    let problem: serde_json::Value = serde_json::from_str(refused.stderr.trim())?;
    assert_eq!(problem["status"], 422, "{problem}");
    assert_eq!(
        problem["problem"]["errors"][0]["field"], "params.end[0]",
        "{problem}"
    );

    // A job that is not there: 404 told plainly.
    let missing = cli.run_with(
        &["jobs", "get", "0195f0a4-7d2e-7000-8000-000000000001"],
        &with_key,
        "",
    )?;
    assert_eq!(missing.code, Some(1), "{missing:?}");
    assert!(missing.stderr.contains("no such job"), "{missing:?}");

    let no_invoice = cli.run_with(
        &["invoices", "get", "0195f0a4-7d2e-7000-8000-000000000001"],
        &with_key,
        "",
    )?;
    assert_eq!(no_invoice.code, Some(1), "{no_invoice:?}");
    assert!(no_invoice.stderr.contains("HTTP 404"), "{no_invoice:?}");

    // Usage errors, caught before any request: exit 2.
    let usage_errors: [(&[&str], &str); 7] = [
        (
            &["--server", "not a url", "jobs", "list"],
            "not an http(s) URL",
        ),
        (&["jobs", "get", "not-an-id"], "invalid value"),
        (&["jobs", "list", "--status", "done"], "possible values"),
        (&["jobs", "submit", "--size", "3"], "--operation"),
        (
            &["jobs", "submit", "--operation", "analyze", "--params", "{"],
            "not valid JSON",
        ),
        (
            &["jobs", "submit", "--file", "/nonexistent/job.json"],
            "/nonexistent/job.json",
        ),
        (&["lattices", "create", "--name", "x"], "--size"),
    ];
    for (args, says) in usage_errors {
        let run = cli.run_with(args, &with_key, "")?;
        assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
        assert!(
            run.stderr.contains(says),
            "{args:?} should say {says:?}: {run:?}"
        );
        assert!(!run.stderr.contains("panicked"), "{run:?}");
    }

    // No credential at all: told what to do, before any request.
    let anonymous = cli.run(&["jobs", "list"])?;
    assert_eq!(anonymous.code, Some(2), "{anonymous:?}");
    assert!(
        anonymous.stderr.contains("catalytic login"),
        "{anonymous:?}"
    );

    // A wrong key: the API's 401 and a hint.
    let wrong = cli.run_with(&["jobs", "list"], &[("CATALYTIC_API_KEY", "clc_wrong")], "")?;
    assert_eq!(wrong.code, Some(1), "{wrong:?}");
    assert!(
        wrong.stderr.contains("HTTP 401") && wrong.stderr.contains("hint:"),
        "{wrong:?}"
    );

    // A broken config file names itself.
    std::fs::write(&cli.config, "server = [")?;
    let broken = cli.run_with(&["jobs", "list"], &with_key, "")?;
    assert_eq!(broken.code, Some(2), "{broken:?}");
    assert!(broken.stderr.contains("config.toml"), "{broken:?}");
    std::fs::remove_file(&cli.config)?;

    // Nothing listening: said so, exit 1.
    let unreachable = cli.run_with(
        &["--server", "http://127.0.0.1:9", "jobs", "list"],
        &with_key,
        "",
    )?;
    assert_eq!(unreachable.code, Some(1), "{unreachable:?}");
    assert!(
        unreachable.stderr.contains("cannot reach"),
        "{unreachable:?}"
    );

    // A stored lattice round trip, and `--output json` parses for each.
    let lattice = cli.json("lattices create --name grid --size 6,6", &with_key)?;
    let lattice_id = lattice["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(lattice["vertices"], 36, "{lattice}");
    let listed = cli.json("lattices list", &with_key)?;
    assert_eq!(listed["items"][0]["id"], lattice_id.as_str(), "{listed}");
    let got = cli.json(&format!("lattices get {lattice_id}"), &with_key)?;
    assert_eq!(got["name"], "grid");
    cli.json(&format!("lattices delete {lattice_id}"), &with_key)?;
    let gone = cli.run_with(&["lattices", "get", &lattice_id], &with_key, "")?;
    assert_eq!(gone.code, Some(1), "{gone:?}");
    assert!(gone.stderr.contains("no such lattice"), "{gone:?}");

    cli.stop().await
}
