//! The stored session: an access token the API no longer takes is renewed
//! with the refresh token (once, saved at once); a session that cannot be
//! renewed is forgotten and the user told to log in again.

use crate::harness::{Cli, Fleet};

fn session(cli: &Cli) -> anyhow::Result<toml::Table> {
    let text = std::fs::read_to_string(&cli.config)?;
    let table: toml::Table = text.parse()?;
    Ok(table
        .get("session")
        .and_then(|s| s.as_table())
        .cloned()
        .unwrap_or_default())
}

fn set_session_field(cli: &Cli, field: &str, value: &str) -> anyhow::Result<()> {
    let mut table: toml::Table = std::fs::read_to_string(&cli.config)?.parse()?;
    if let Some(session) = table.get_mut("session").and_then(|s| s.as_table_mut()) {
        session.insert(field.to_owned(), toml::Value::String(value.to_owned()));
    }
    std::fs::write(&cli.config, toml::to_string(&table)?)?;
    Ok(())
}

#[tokio::test]
async fn a_refused_access_token_is_renewed_once_and_a_dead_session_is_forgotten()
-> anyhow::Result<()> {
    let cli = Cli::start(Fleet::ApiOnly).await?;
    cli.register_and_login("lin@example.com").await?;
    let before = session(&cli)?;
    assert_eq!(before["email"].as_str(), Some("lin@example.com"));

    // As if the 15 minutes were over: the API refuses the access token.
    set_session_field(&cli, "access_token", "not-a-jwt")?;
    let me = cli.json("whoami", &[])?;
    assert_eq!(me["user"]["email"], "lin@example.com", "{me}");
    let renewed = session(&cli)?;
    assert_ne!(renewed["access_token"].as_str(), Some("not-a-jwt"));
    assert_ne!(
        renewed["refresh_token"], before["refresh_token"],
        "refresh tokens work once: the new one is stored"
    );

    // Neither token works any more: told to log in, and the session is gone.
    set_session_field(&cli, "access_token", "not-a-jwt")?;
    set_session_field(&cli, "refresh_token", "clr_not-a-token")?;
    let expired = cli.run(&["whoami"])?;
    assert_eq!(expired.code, Some(1), "{expired:?}");
    assert!(expired.stderr.contains("catalytic login"), "{expired:?}");
    assert!(session(&cli)?.is_empty(), "the dead session is forgotten");
    let after = cli.run(&["whoami"])?;
    assert_eq!(after.code, Some(2), "no credential left: {after:?}");

    cli.stop().await
}
