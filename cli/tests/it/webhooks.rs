//! Webhooks through the CLI: an admin creates an endpoint, lists it, sends
//! it a test message and reads the failed attempt (a loopback URL, which
//! the scheduler's SSRF guard refuses: no receiver is needed to see one).

use crate::harness::{Cli, Fleet};
use catalytic_e2e::wait_until;
use std::time::Duration;

#[tokio::test]
async fn an_endpoint_is_created_listed_tested_and_its_failed_attempt_shown() -> anyhow::Result<()> {
    let cli = Cli::start(Fleet::Full).await?;
    cli.register_and_login("grace@example.com").await?;

    let created = cli
        .run(&[
            "webhooks",
            "create",
            "--url",
            "http://127.0.0.1:9/hook",
            "--event-type",
            "job.succeeded",
            "--description",
            "made by the CLI test",
            "--output",
            "json",
        ])?
        .ok()?
        .json()?;
    let endpoint = created["id"].as_str().unwrap_or_default().to_owned();
    assert!(
        created["secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("whsec_")),
        "{created}"
    );

    let listed = cli.json("webhooks list", &[])?;
    assert_eq!(listed["items"][0]["id"], endpoint.as_str(), "{listed}");
    assert_eq!(listed["items"][0]["event_types"][0], "job.succeeded");
    let table = cli.run(&["webhooks", "list"])?.ok()?;
    assert!(
        table.stdout.contains("http://127.0.0.1:9/hook"),
        "{table:?}"
    );

    let sent = cli.json(&format!("webhooks test {endpoint}"), &[])?;
    let message = sent["message_id"].as_str().unwrap_or_default().to_owned();
    let messages = cli.json("webhooks messages", &[])?;
    assert_eq!(messages["items"][0]["id"], message.as_str(), "{messages}");
    assert_eq!(messages["items"][0]["event_type"], "webhook.test");

    let attempts = wait_until(
        "the test message's first attempt",
        Duration::from_secs(60),
        || {
            let attempts = cli.json(&format!("webhooks attempts {message}"), &[]);
            async move {
                let attempts = attempts?;
                Ok((attempts.as_array().is_some_and(|a| !a.is_empty())).then_some(attempts))
            }
        },
    )
    .await?;
    assert_eq!(attempts[0]["endpoint_id"], endpoint.as_str(), "{attempts}");
    assert!(
        attempts[0]["status_code"].is_null(),
        "refused before sending: {attempts}"
    );
    assert!(attempts[0]["error"].is_string(), "{attempts}");

    // An API key acts as a member: webhooks need a logged-in admin, and the
    // refusal says so.
    let key = cli.json("api-keys create --name k", &[])?["key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let refused = cli.run(&["--api-key", &key, "webhooks", "list"])?;
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(refused.stderr.contains("HTTP 403"), "{refused:?}");
    assert!(refused.stderr.contains("hint:"), "{refused:?}");

    cli.stop().await
}
