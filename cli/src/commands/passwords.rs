//! What a person does with the mail the API sends them: `verify-email`
//! (the mailed link, or `--resend` for a new one) and `password change |
//! reset`. Tokens are taken bare (`cev_…`) or as the whole link pasted
//! from the mail, since that is what a person has in hand. Passwords come
//! from standard input, the environment or flags, never only from flags.

use super::Context;
use crate::args::{PasswordChangeArgs, PasswordCommand, PasswordResetArgs, VerifyEmailArgs};
use crate::failure::Failure;
use crate::output::{OutputFormat, Table, emit};
use serde_json::json;
use std::io::BufRead;

/// One secret per line of standard input, in the order of `names` (each
/// names what its line holds, for the error when it is missing).
pub(super) fn stdin_lines(names: &[&str]) -> Result<Vec<String>, Failure> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut lines = Vec::with_capacity(names.len());
    for name in names {
        let mut line = String::new();
        input
            .read_line(&mut line)
            .map_err(|e| Failure::Usage(format!("reading the {name} from standard input: {e}")))?;
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            return Err(Failure::Usage(match lines.len() {
                0 => format!("standard input held no {name}"),
                n => format!("standard input held no {name} (on line {})", n + 1),
            }));
        }
        lines.push(line);
    }
    Ok(lines)
}

/// A secret from its flag, else its environment variable; the error says
/// every way to give it.
fn flag_or_env(flag: &Option<String>, env: &Option<String>, how: &str) -> Result<String, Failure> {
    flag.clone()
        .or_else(|| env.clone())
        .ok_or_else(|| Failure::Usage(format!("give {how}")))
}

/// The token in `input`: `input` itself, or when it is a link (what the mail
/// holds), the value of its query parameter `param`, percent-decoded. The
/// token's own form is the API's to judge.
pub(super) fn token_from(input: &str, param: &str) -> Result<String, Failure> {
    let input = input.trim();
    let Some((_, query)) = input.split_once('?') else {
        return match input.contains("://") {
            true => Err(Failure::Usage(format!(
                "the link {input:?} has no ?{param}=… in it: paste the whole link from the mail"
            ))),
            false => Ok(input.to_owned()),
        };
    };
    let query = query.split('#').next().unwrap_or_default();
    let value = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == param)
        .map(|(_, value)| percent_decode(value))
        .ok_or_else(|| {
            Failure::Usage(format!(
                "the link {input:?} has no {param}=… in it: paste the whole link from the mail"
            ))
        })??;
    match value.is_empty() {
        true => Err(Failure::Usage(format!(
            "the link {input:?} has an empty {param}"
        ))),
        false => Ok(value),
    }
}

/// `%XX` escapes decoded (the mail's templates percent-encode the token); a
/// `%` not followed by two hex digits stays as it is.
fn percent_decode(text: &str) -> Result<String, Failure> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| Failure::Usage(format!("{text:?} is not a token")))
}

pub async fn verify_email(ctx: &Context, args: VerifyEmailArgs) -> Result<(), Failure> {
    if args.resend {
        let mut api = ctx.api()?;
        let sent = api
            .call(|c| async move { c.resend_verification().await })
            .await?;
        return emit(ctx.format(), &sent, |v| {
            Table::message_fields(v, &["message"])
        });
    }
    // clap requires a token or --resend, and --resend returned above.
    let Some(token) = args.token.as_deref() else {
        return Err(Failure::Usage("give the token or --resend".to_owned()));
    };
    let token = token_from(token, "token")?;
    // The token alone proves the mailbox: no login needed (the link may be
    // opened on another machine than the one logged in).
    let api = ctx.anonymous()?;
    api.client().verify_email(&token).await?;
    emit(ctx.format(), &json!({"email_verified": true}), |v| {
        Table::fields(v, &["email_verified"])
    })
}

pub async fn run(ctx: &Context, command: PasswordCommand) -> Result<(), Failure> {
    match command {
        PasswordCommand::Change(args) => change(ctx, args).await,
        PasswordCommand::Reset(args) => reset(ctx, args).await,
    }
}

async fn change(ctx: &Context, args: PasswordChangeArgs) -> Result<(), Failure> {
    let (current, new) = match args.password_stdin {
        true => {
            let mut lines = stdin_lines(&["current password", "new password"])?.into_iter();
            match (lines.next(), lines.next()) {
                (Some(current), Some(new)) => (current, new),
                _ => return Err(Failure::Usage("standard input held no password".to_owned())),
            }
        }
        false => (
            flag_or_env(
                &args.password,
                &ctx.env.password,
                "the current password with --password-stdin (two lines: current, new), --password or CATALYTIC_PASSWORD",
            )?,
            flag_or_env(
                &args.new_password,
                &ctx.env.new_password,
                "the new password with --password-stdin (two lines: current, new), --new-password or CATALYTIC_NEW_PASSWORD",
            )?,
        ),
    };
    let mut api = ctx.api()?;
    api.call(|c| {
        let (current, new) = (&current, &new);
        async move { c.change_password(current, new).await }
    })
    .await?;
    emit(ctx.format(), &json!({"password_changed": true}), |v| {
        Table::fields(v, &["password_changed"])
    })?;
    if ctx.format() == OutputFormat::Table {
        eprintln!("every other session of yours has ended; this one goes on");
    }
    Ok(())
}

async fn reset(ctx: &Context, args: PasswordResetArgs) -> Result<(), Failure> {
    let api = ctx.anonymous()?;
    if let Some(email) = &args.email {
        let sent = api.client().request_password_reset(email).await?;
        emit(ctx.format(), &sent, |v| {
            Table::message_fields(v, &["message"])
        })?;
        if ctx.format() == OutputFormat::Table {
            eprintln!(
                "then: catalytic password reset --token LINK --password-stdin (the link from the mail; the new password on standard input)"
            );
        }
        return Ok(());
    }
    // clap requires --email or --token, and --email returned above.
    let Some(token) = args.token.as_deref() else {
        return Err(Failure::Usage("give --email or --token".to_owned()));
    };
    let token = token_from(token, "token")?;
    let new = match args.password_stdin {
        true => stdin_lines(&["new password"])?.concat(),
        false => flag_or_env(
            &args.new_password,
            &ctx.env.new_password,
            "the new password with --password-stdin, --new-password or CATALYTIC_NEW_PASSWORD",
        )?,
    };
    api.client().confirm_password_reset(&token, &new).await?;
    emit(ctx.format(), &json!({"password_reset": true}), |v| {
        Table::fields(v, &["password_reset"])
    })?;
    if ctx.format() == OutputFormat::Table {
        eprintln!(
            "every session of the account has ended: log in with the new password (catalytic login --email …)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(input: &str, param: &str) -> Result<String, String> {
        token_from(input, param).map_err(|e| e.to_string())
    }

    #[test]
    fn a_token_is_taken_bare_or_out_of_its_link() {
        let hex = "ab".repeat(32);
        let bare = format!("cev_{hex}");
        assert_eq!(token(&format!("  {bare}\n"), "token"), Ok(bare.clone()));
        assert_eq!(
            token(
                &format!("https://catalytic.example/dashboard/verify-email?token={bare}"),
                "token"
            ),
            Ok(bare.clone())
        );
        assert_eq!(
            token(
                &format!("http://127.0.0.1:8080/dashboard/join?x=1&invitation=cli_{hex}#top"),
                "invitation"
            ),
            Ok(format!("cli_{hex}"))
        );
        assert_eq!(
            token(
                "https://h/dashboard/reset-password?token=a%2Bb%26c",
                "token"
            ),
            Ok("a+b&c".to_owned()),
            "percent escapes are decoded"
        );
        assert_eq!(token("cpr_%zz", "token"), Ok("cpr_%zz".to_owned()));
    }

    #[test]
    fn a_link_without_the_token_is_a_usage_error() {
        let missing = token_from("https://h/dashboard/verify-email?tok=x", "token");
        assert!(
            matches!(&missing, Err(Failure::Usage(m)) if m.contains("token=")),
            "{missing:?}"
        );
        assert!(matches!(
            token_from("https://h/dashboard/verify-email", "token"),
            Err(Failure::Usage(_))
        ));
        assert!(matches!(
            token_from("https://h/x?token=", "token"),
            Err(Failure::Usage(_))
        ));
        assert!(matches!(
            token_from("https://h/x?token=%ff", "token"),
            Err(Failure::Usage(_))
        ));
    }
}
