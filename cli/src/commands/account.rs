//! Accounts and credentials: register (a new tenant, or joining one by
//! invitation), login (stores the session), logout, whoami, `config show`,
//! and API keys.

use super::Context;
use super::passwords::{stdin_lines, token_from};
use crate::args::{ApiKeysCommand, PasswordArgs, RegisterArgs};
use crate::config::{self, StoredSession};
use crate::failure::Failure;
use crate::output::{Table, cell, emit, next_page_hint};
use serde_json::json;

/// `--password-stdin`, else `--password`, else `CATALYTIC_PASSWORD`.
fn password(ctx: &Context, args: &PasswordArgs) -> Result<String, Failure> {
    if args.password_stdin {
        return Ok(stdin_lines(&["password"])?.concat());
    }
    args.password
        .clone()
        .or_else(|| ctx.env.password.clone())
        .ok_or_else(|| {
            Failure::Usage(
                "give the password with --password-stdin, --password or CATALYTIC_PASSWORD"
                    .to_owned(),
            )
        })
}

pub async fn register(ctx: &Context, args: RegisterArgs) -> Result<(), Failure> {
    let password = password(ctx, &args.credentials)?;
    let invitation = args
        .invitation
        .as_deref()
        .map(|given| token_from(given, "invitation"))
        .transpose()?;
    let api = ctx.anonymous()?;
    // The API answers the same whether or not the email had an account (no
    // account oracle): what happened is in that address's inbox.
    let accepted = api
        .client()
        .register(
            &args.credentials.email,
            &password,
            args.tenant_name.as_deref(),
            invitation.as_deref(),
        )
        .await?;
    emit(ctx.format(), &accepted, |v| {
        Table::message_fields(v, &["email", "message"])
    })?;
    if ctx.format() == crate::output::OutputFormat::Table {
        eprintln!("then: catalytic login --email {}", accepted.email);
        // An invited address is verified by the invitation mailed to it.
        if invitation.is_none() {
            eprintln!("and verify the email: catalytic verify-email LINK (the link from the mail)");
        }
    }
    Ok(())
}

pub async fn login(ctx: &Context, args: PasswordArgs) -> Result<(), Failure> {
    let password = password(ctx, &args)?;
    let api = ctx.anonymous()?;
    let tokens = api.client().login(&args.email, &password).await?;
    let session = StoredSession {
        server: ctx.resolved.server.clone(),
        email: args.email.clone(),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
    };
    config::save_session(&ctx.config_path, Some(&session))?;
    let answer = json!({
        "server": session.server,
        "email": session.email,
        "config": ctx.config_path.display().to_string(),
        "access_expires_in": tokens.expires_in,
        "refresh_expires_in": tokens.refresh_expires_in,
    });
    emit(ctx.format(), &answer, |v| {
        Table::fields(v, &["server", "email", "config"])
    })
}

pub async fn logout(ctx: &Context) -> Result<(), Failure> {
    let file = config::load(&ctx.config_path)?;
    let Some(session) = file.session else {
        return Err(Failure::Usage(format!(
            "no stored session in {}",
            ctx.config_path.display()
        )));
    };
    let client = catalytic_client::Client::new(session.server.clone(), session.access_token)?;
    // An expired token is as logged out as can be: forget it all the same.
    let ended = match client.logout().await {
        Ok(()) => true,
        Err(e) if e.status() == Some(401) => false,
        Err(e) => return Err(e.into()),
    };
    config::save_session(&ctx.config_path, None)?;
    let answer =
        json!({"logged_out": session.email, "server": session.server, "session_ended": ended});
    emit(ctx.format(), &answer, |v| {
        Table::fields(v, &["logged_out", "server", "session_ended"])
    })
}

pub async fn whoami(ctx: &Context) -> Result<(), Failure> {
    let mut api = ctx.api()?;
    let me = api.call(|c| async move { c.me().await }).await?;
    emit(ctx.format(), &me, |v| {
        let mut table = Table::new(&["FIELD", "VALUE"]);
        table
            .row(vec!["user".into(), cell(&v["user"]["email"])])
            .row(vec![
                "email verified".into(),
                cell(&v["user"]["email_verified"]),
            ])
            .row(vec!["tenant".into(), cell(&v["tenant"]["name"])])
            .row(vec!["tenant id".into(), cell(&v["tenant"]["id"])])
            .row(vec!["role".into(), cell(&v["role"])])
            .row(vec!["plan".into(), cell(&v["plan"])]);
        table
    })
}

pub fn show_config(ctx: &Context) -> Result<(), Failure> {
    let answer = json!({
        "config": ctx.config_path.display().to_string(),
        "server": ctx.resolved.server,
        "credential": ctx.resolved.credential.describe(),
        "output": ctx.resolved.output,
    });
    emit(ctx.format(), &answer, |v| {
        Table::fields(v, &["config", "server", "credential", "output"])
    })
}

pub async fn api_keys(ctx: &Context, command: ApiKeysCommand) -> Result<(), Failure> {
    let mut api = ctx.api()?;
    match command {
        ApiKeysCommand::Create {
            name,
            scope,
            expires_in_days,
        } => {
            let created = api
                .call(|c| {
                    let (name, scope) = (name.clone(), scope.clone());
                    async move { c.create_api_key(&name, &scope, expires_in_days).await }
                })
                .await?;
            emit(ctx.format(), &created, |v| {
                Table::fields(v, &["id", "name", "scope", "expires_at", "key"])
            })?;
            if ctx.format() == crate::output::OutputFormat::Table {
                eprintln!("the key is shown this once: store it now");
            }
            Ok(())
        }
        ApiKeysCommand::List(page) => {
            let keys = api
                .call(|c| async move { c.list_api_keys(page.limit, page.cursor).await })
                .await?;
            emit(ctx.format(), &keys, |v| {
                Table::of_items(
                    &v["items"],
                    &[
                        "ID",
                        "NAME",
                        "PREFIX",
                        "SCOPE",
                        "CREATED",
                        "EXPIRES",
                        "LAST USED",
                        "REVOKED",
                    ],
                    &[
                        "id",
                        "name",
                        "prefix",
                        "scope",
                        "created_at",
                        "expires_at",
                        "last_used_at",
                        "revoked_at",
                    ],
                )
            })?;
            next_page_hint(ctx.format(), &json!(keys.next_cursor));
            Ok(())
        }
        ApiKeysCommand::Revoke { id } => {
            api.call(|c| async move { c.revoke_api_key(id).await })
                .await?;
            emit(ctx.format(), &json!({"revoked": id}), |v| {
                Table::fields(v, &["revoked"])
            })
        }
    }
}
