//! Accounts a person can live with (issue 20), through the CLI: register
//! answers the same whether or not the email had an account; the mailed
//! link verifies the email (a resent link voids the first); a password is
//! changed (other sessions end, this one goes on) or reset by a mailed link
//! (every session ends); an invitation joins the inviting tenant; the
//! audit log shows who signed in, to an admin only. Mailed tokens are read
//! from the mail outbox (`Cli::mailed_token`), as a person reads the mail.
//!
//! The API allows 20 `/v1/auth/*` requests a minute from one address
//! (`api.auth_rate_per_ip_per_minute`): each test stays well under it.

use crate::harness::{Cli, Fleet, PASSWORD, Run};
use catalytic_e2e::wait_until;
use serde_json::{Value, json};
use std::time::Duration;

const NEW_PASSWORD: &str = "violet kettle under seven moons";

/// A token of the right form that was never issued.
fn unknown_token(prefix: &str) -> String {
    format!("{prefix}{}", "0".repeat(64))
}

/// Fails unless the run exited 1 and told the problem's field on stderr.
fn refused_naming(run: &Run, field: &str) -> anyhow::Result<()> {
    anyhow::ensure!(run.code == Some(1), "expected exit 1: {run:?}");
    anyhow::ensure!(
        run.stderr.contains(&format!("  {field}: ")),
        "expected the field {field} on stderr: {run:?}"
    );
    Ok(())
}

/// The stored session's access token (after a `login`).
fn access_token(cli: &Cli) -> anyhow::Result<String> {
    let table: toml::Table = std::fs::read_to_string(&cli.config)?.parse()?;
    table
        .get("session")
        .and_then(|s| s.get("access_token"))
        .and_then(|t| t.as_str())
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no stored session in {}", cli.config.display()))
}

#[tokio::test]
async fn register_gives_no_account_oracle_and_the_mailed_link_verifies_the_email()
-> anyhow::Result<()> {
    let cli = Cli::start(Fleet::ApiOnly).await?;
    let password = [("CATALYTIC_PASSWORD", PASSWORD)];

    let first = cli
        .run_with(
            &["register", "--email", "Ada@Example.com", "-o", "json"],
            &password,
            "",
        )?
        .ok()?
        .json()?;
    assert_eq!(first["email"], "ada@example.com", "{first}");
    assert!(first["message"].as_str().is_some_and(|m| !m.is_empty()));
    // The same answer for an address that has an account: nobody learns
    // from it who has one.
    let again = cli
        .run_with(
            &["register", "--email", "ada@example.com", "-o", "json"],
            &password,
            "",
        )?
        .ok()?
        .json()?;
    assert_eq!(again, first);
    // Table mode prints the message whole, and what to do next on stderr.
    let table = cli
        .run_with(&["register", "--email", "ada@example.com"], &password, "")?
        .ok()?;
    let message = first["message"].as_str().unwrap_or_default();
    assert!(table.stdout.contains(message), "{table:?}");
    assert!(table.stderr.contains("catalytic login"), "{table:?}");

    // A new account logs in at once, unverified.
    cli.login("ada@example.com", PASSWORD)?.ok()?;
    let me = cli.json("whoami", &[])?;
    assert_eq!(me["user"]["email_verified"], false, "{me}");

    // A new link voids the first one.
    let first_link = cli.mailed_link("verify_email", "ada@example.com").await?;
    let resent = cli.json("verify-email --resend", &[])?;
    assert!(
        resent["message"]
            .as_str()
            .is_some_and(|m| m.contains("ada@example.com")),
        "{resent}"
    );
    let link = cli.mailed_link("verify_email", "ada@example.com").await?;
    assert_ne!(link, first_link, "a new token was mailed");
    refused_naming(&cli.run(&["verify-email", &first_link])?, "token")?;
    refused_naming(
        &cli.run(&["verify-email", &unknown_token("cev_")])?,
        "token",
    )?;

    // The whole link, as pasted from the mail.
    let verified = cli
        .run(&["verify-email", &link, "-o", "json"])?
        .ok()?
        .json()?;
    assert_eq!(verified, json!({"email_verified": true}));
    let me = cli.json("whoami", &[])?;
    assert_eq!(me["user"]["email_verified"], true, "{me}");
    let whoami = cli.run(&["whoami"])?.ok()?;
    assert!(
        whoami
            .stdout
            .lines()
            .any(|l| l.starts_with("email verified") && l.ends_with("true")),
        "{whoami:?}"
    );

    // The link works once; a verified address gets no new one.
    refused_naming(&cli.run(&["verify-email", &link])?, "token")?;
    let resend = cli.run(&["verify-email", "--resend"])?;
    assert_eq!(resend.code, Some(1), "{resend:?}");
    assert!(resend.stderr.contains("HTTP 409"), "{resend:?}");

    cli.stop().await
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_and_the_old_password() -> anyhow::Result<()> {
    let cli = Cli::start(Fleet::ApiOnly).await?;
    let email = "lovelace@example.com";
    cli.register_and_login(email).await?;
    // Another session of the same user, as on another machine.
    let anonymous = catalytic_client::Client::anonymous(cli.env.api_url())?;
    let other = anonymous.login(email, PASSWORD).await?;

    // A wrong current password, and a guessable new one, are refused by name.
    let wrong = cli.run_with(
        &["password", "change"],
        &[
            ("CATALYTIC_PASSWORD", "not the password at all"),
            ("CATALYTIC_NEW_PASSWORD", NEW_PASSWORD),
        ],
        "",
    )?;
    refused_naming(&wrong, "current_password")?;
    let weak = cli.run_with(
        &["password", "change", "--password-stdin"],
        &[],
        &format!("{PASSWORD}\npassword1\n"),
    )?;
    refused_naming(&weak, "new_password")?;
    // Only one line on stdin: said so before any request.
    let short = cli.run_with(
        &["password", "change", "--password-stdin"],
        &[],
        &format!("{PASSWORD}\n"),
    )?;
    assert_eq!(short.code, Some(2), "{short:?}");
    assert!(short.stderr.contains("new password"), "{short:?}");

    let changed = cli
        .run_with(
            &["password", "change", "--password-stdin", "-o", "json"],
            &[],
            &format!("{PASSWORD}\n{NEW_PASSWORD}\n"),
        )?
        .ok()?
        .json()?;
    assert_eq!(changed, json!({"password_changed": true}));

    // This session goes on; the other one has ended.
    assert_eq!(cli.json("whoami", &[])?["user"]["email"], email);
    let refreshed = anonymous.refresh(&other.refresh_token).await;
    assert!(
        matches!(&refreshed, Err(e) if e.status() == Some(401)),
        "{refreshed:?}"
    );
    let ended = anonymous.with_credential(other.access_token);
    wait_until(
        "the other session's access token to be refused",
        Duration::from_secs(10),
        || {
            let ended = ended.clone();
            async move {
                Ok((ended.me().await.err().and_then(|e| e.status()) == Some(401)).then_some(()))
            }
        },
    )
    .await?;

    let old = cli.login(email, PASSWORD)?;
    assert_eq!(old.code, Some(1), "the old password is refused: {old:?}");
    cli.login(email, NEW_PASSWORD)?.ok()?;

    // An API key has no password.
    let key = cli.json("api-keys create --name k", &[])?["key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let with_key = cli.run_with(
        &["--api-key", &key, "password", "change", "--password-stdin"],
        &[],
        &format!("{NEW_PASSWORD}\n{PASSWORD} again\n"),
    )?;
    assert_eq!(with_key.code, Some(1), "{with_key:?}");
    assert!(with_key.stderr.contains("HTTP 403"), "{with_key:?}");

    cli.stop().await
}

#[tokio::test]
async fn a_forgotten_password_is_reset_by_the_mailed_link() -> anyhow::Result<()> {
    let cli = Cli::start(Fleet::ApiOnly).await?;
    let email = "hopper@example.com";
    cli.register_and_login(email).await?;

    // The same answer whether or not the address has an account.
    let known = cli.json(&format!("password reset --email {email}"), &[])?;
    let unknown = cli.json("password reset --email nobody@example.com", &[])?;
    assert_eq!(known, unknown);
    assert!(known["message"].as_str().is_some_and(|m| !m.is_empty()));
    refused_naming(
        &cli.run(&["password", "reset", "--email", "not-an-email"])?,
        "email",
    )?;

    let link = cli.mailed_link("password_reset", email).await?;
    refused_naming(
        &cli.run_with(
            &[
                "password",
                "reset",
                "--token",
                &unknown_token("cpr_"),
                "--password-stdin",
            ],
            &[],
            &format!("{NEW_PASSWORD}\n"),
        )?,
        "token",
    )?;
    // A refused password leaves the link working.
    refused_naming(
        &cli.run_with(
            &["password", "reset", "--token", &link],
            &[("CATALYTIC_NEW_PASSWORD", "hopper123")],
            "",
        )?,
        "new_password",
    )?;
    let reset = cli
        .run_with(
            &[
                "password",
                "reset",
                "--token",
                &link,
                "--password-stdin",
                "-o",
                "json",
            ],
            &[],
            &format!("{NEW_PASSWORD}\n"),
        )?
        .ok()?
        .json()?;
    assert_eq!(reset, json!({"password_reset": true}));

    // Every session ended, the stored one included: told to log in again.
    let expired = cli.run(&["whoami"])?;
    assert_eq!(expired.code, Some(1), "{expired:?}");
    assert!(expired.stderr.contains("catalytic login"), "{expired:?}");
    let old = cli.login(email, PASSWORD)?;
    assert_eq!(old.code, Some(1), "the old password is refused: {old:?}");
    cli.login(email, NEW_PASSWORD)?.ok()?;
    // The link worked once.
    refused_naming(
        &cli.run_with(
            &["password", "reset", "--token", &link, "--password-stdin"],
            &[],
            &format!("{PASSWORD}\n"),
        )?,
        "token",
    )?;

    cli.stop().await
}

#[tokio::test]
async fn an_invitation_joins_the_inviting_tenant() -> anyhow::Result<()> {
    let cli = Cli::start(Fleet::ApiOnly).await?;
    cli.register_and_login("owner@example.com").await?;
    let owner = cli.json("whoami", &[])?;

    let api = catalytic_e2e::Client::new(cli.env.api_url(), access_token(&cli)?);
    let response = api
        .http
        .post(format!("{}/v1/users/invitations", api.base))
        .bearer_auth(&api.key)
        .json(&json!({"email": "guest@example.com", "role": "member"}))
        .send()
        .await?;
    anyhow::ensure!(
        response.status().as_u16() == 201,
        "inviting: {}",
        response.text().await?
    );
    let invited: Value = response.json().await?;
    let link = cli.mailed_link("invitation", "guest@example.com").await?;
    assert!(
        invited["token"]
            .as_str()
            .is_some_and(|t| link.ends_with(&format!("={t}"))),
        "the mailed token is the one answered: {invited} {link}"
    );

    let password = [("CATALYTIC_PASSWORD", PASSWORD)];
    refused_naming(
        &cli.run_with(
            &[
                "register",
                "--email",
                "guest@example.com",
                "--invitation",
                &unknown_token("cli_"),
            ],
            &password,
            "",
        )?,
        "invitation_token",
    )?;
    let joined = cli
        .run_with(
            &[
                "register",
                "--email",
                "guest@example.com",
                "--invitation",
                &link,
            ],
            &password,
            "",
        )?
        .ok()?;
    assert!(
        !joined.stderr.contains("verify-email"),
        "an invited address is verified already: {joined:?}"
    );
    cli.login("guest@example.com", PASSWORD)?.ok()?;
    let guest = cli.json("whoami", &[])?;
    assert_eq!(guest["tenant"]["id"], owner["tenant"]["id"], "{guest}");
    assert_eq!(guest["role"], "member", "{guest}");
    assert_eq!(guest["user"]["email_verified"], true, "{guest}");

    cli.stop().await
}

#[tokio::test]
async fn the_audit_log_shows_sign_ins_to_an_admin_and_pages() -> anyhow::Result<()> {
    let cli = Cli::start(Fleet::ApiOnly).await?;
    let email = "babbage@example.com";
    cli.register_and_login(email).await?;
    let me = cli.json("whoami", &[])?;
    let user_id = me["user"]["id"].as_str().unwrap_or_default().to_owned();

    let all = cli.json("audit-log", &[])?;
    let actions: Vec<&str> = all["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    // Newest first: the sign-in, after the verification, after the registration.
    assert_eq!(
        actions,
        ["auth.sign_in", "user.email_verified", "user.registered"],
        "{all}"
    );
    let sign_in = &all["items"][0];
    assert_eq!(sign_in["actor_email"], email, "{sign_in}");
    assert_eq!(sign_in["actor_user_id"], user_id.as_str(), "{sign_in}");
    assert_eq!(sign_in["ip"], "127.0.0.1", "{sign_in}");

    let table = cli.run(&["audit-log", "--action", "auth.sign_in"])?.ok()?;
    let mut lines = table.stdout.lines();
    let header: Vec<&str> = lines
        .next()
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    assert_eq!(
        header,
        ["AT", "ACTION", "ACTOR", "IP", "TARGET"],
        "{table:?}"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "{table:?}");
    assert!(
        rows[0].contains("auth.sign_in") && rows[0].contains(email),
        "{table:?}"
    );

    // A family, an actor, a time window.
    let family = cli.json("audit-log --action user.", &[])?;
    assert_eq!(
        family["items"].as_array().map(Vec::len),
        Some(2),
        "{family}"
    );
    let by_actor = cli.json(&format!("audit-log --actor {user_id}"), &[])?;
    assert_eq!(by_actor["items"], all["items"], "{by_actor}");
    let future = cli.json("audit-log --since 2999-01-01T00:00:00Z", &[])?;
    assert_eq!(future["items"], json!([]), "{future}");

    // One record a page: the next-page hint, then the page it names.
    let first = cli.run(&["audit-log", "--limit", "1"])?.ok()?;
    let cursor = first
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("more: pass --cursor "))
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no next-page hint: {first:?}"))?;
    let second = cli.json(&format!("audit-log --limit 1 --cursor {cursor}"), &[])?;
    assert_eq!(
        second["items"][0]["action"], "user.email_verified",
        "{second}"
    );
    assert!(second["next_cursor"].is_string(), "{second}");

    refused_naming(
        &cli.run(&["audit-log", "--action", "no.such_thing"])?,
        "action",
    )?;
    let key = cli.json("api-keys create --name k", &[])?["key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let as_key = cli.run(&["--api-key", &key, "audit-log"])?;
    assert_eq!(as_key.code, Some(1), "{as_key:?}");
    assert!(as_key.stderr.contains("HTTP 403"), "{as_key:?}");

    cli.stop().await
}
