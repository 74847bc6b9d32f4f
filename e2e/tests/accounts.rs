//! Accounts on the real binaries with a real SMTP server (issue 20): the
//! api queues the mail, the scheduler sends it to the SMTP sink (aiosmtpd),
//! and the links in what arrives do what they say: verify the address,
//! reset the password. Nothing is read from the database: only what a
//! person would read in their inbox.

use catalytic_e2e::{Binary, Env, wait_ready, wait_until};
use catalytic_shared::testkit::{SmtpSink, SunkMessage};
use serde_json::{Value, json};
use std::time::Duration;

const READY: Duration = Duration::from_secs(30);
const MAIL: Duration = Duration::from_secs(30);

/// The value of `name=` in the first link of the message's text that has it.
fn link_param(message: &SunkMessage, name: &str) -> anyhow::Result<String> {
    let text = message.text.as_deref().unwrap_or_default();
    let marker = format!("{name}=");
    let start = text
        .find(&marker)
        .ok_or_else(|| anyhow::anyhow!("no {name}= link in:\n{text}"))?
        + marker.len();
    Ok(text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect())
}

async fn post(http: &reqwest::Client, url: String, body: Value) -> anyhow::Result<u16> {
    Ok(http.post(url).json(&body).send().await?.status().as_u16())
}

#[tokio::test]
async fn the_links_mailed_by_the_scheduler_verify_and_reset() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let sink = SmtpSink::start().await?;
    let smtp = sink.url();
    let public = "https://catalytic.example.com";
    let _api = env.spawn(Binary::Api, &[])?;
    let scheduler = env.spawn(
        Binary::Scheduler,
        &[
            ("CATALYTIC_MAIL__SMTP_URL", smtp.as_str()),
            ("CATALYTIC_MAIL__PUBLIC_URL", public),
            ("CATALYTIC_MAIL__POLL_MS", "200"),
        ],
    )?;
    wait_ready(&format!("{}/readyz", env.api_url()), READY).await?;
    let http = reqwest::Client::new();
    let api = env.api_url();
    let email = "inbox@example.com";
    let password = "plum orchard kettle 1987 harbour";

    let registered = post(
        &http,
        format!("{api}/v1/auth/register"),
        json!({"email": email, "password": password}),
    )
    .await?;
    assert_eq!(registered, 202);
    let welcome_link = match sink.wait_for(email, MAIL).await {
        Ok(message) => message,
        Err(e) => anyhow::bail!(
            "{e}\nscheduler:\n{}\nsink:\n{}",
            scheduler.log_text(),
            sink.log()
        ),
    };
    assert!(
        welcome_link
            .text
            .as_deref()
            .is_some_and(|t| t.contains(&format!("{public}/dashboard/verify-email?token=cev_"))),
        "{:?}",
        welcome_link.text
    );
    assert!(
        welcome_link
            .html
            .as_deref()
            .is_some_and(|h| h.contains("verify-email"))
    );
    let token = link_param(&welcome_link, "token")?;
    assert_eq!(
        post(
            &http,
            format!("{api}/v1/auth/verify-email"),
            json!({"token": token})
        )
        .await?,
        204
    );

    // A forgotten password: the reset mail's link sets a new one.
    assert_eq!(
        post(
            &http,
            format!("{api}/v1/auth/password-reset"),
            json!({"email": email})
        )
        .await?,
        202
    );
    let deadline = tokio::time::Instant::now() + MAIL;
    let reset = loop {
        let found = sink.messages()?.into_iter().find(|m| {
            m.text
                .as_deref()
                .is_some_and(|t| t.contains("/dashboard/reset-password?token=cpr_"))
        });
        if let Some(message) = found {
            break message;
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "no reset mail");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let token = link_param(&reset, "token")?;
    let new_password = "quartz lantern meadow 4412 ferry";
    assert_eq!(
        post(
            &http,
            format!("{api}/v1/auth/password-reset/confirm"),
            json!({"token": token, "new_password": new_password}),
        )
        .await?,
        204
    );
    let login = |p: &str| {
        post(
            &http,
            format!("{api}/v1/auth/login"),
            json!({"email": email, "password": p}),
        )
    };
    assert_eq!(login(password).await?, 401);
    assert_eq!(login(new_password).await?, 200);
    // Recorded as sent, with nothing of a token kept (the sink has them a
    // moment before the scheduler records them).
    let pool = env.db.pool.clone();
    wait_until(
        "both token mails recorded sent, params erased",
        MAIL,
        || {
            let pool = pool.clone();
            async move {
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM mail_messages
                 WHERE template IN ('verify_email', 'password_reset')
                   AND status = 'sent' AND params IS NULL",
                )
                .fetch_one(&pool)
                .await?;
                Ok((n == 2).then_some(()))
            }
        },
    )
    .await?;
    drop(sink);
    env.teardown().await
}
