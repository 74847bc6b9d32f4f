//! The mail a change sends (issue 20), queued in the change's own
//! transaction through the mail outbox (`catalytic_shared::db::mail`); the
//! scheduler renders and sends it. Here: the messages that carry a
//! single-use token, which is made, stored hashed and mailed in one go.
//! The api never sends mail itself and never waits on an SMTP server.

use crate::auth::refresh::{self, TokenKind};
use crate::db::account_tokens::{self, Addressee, Purpose};
use crate::error::ApiError;
use catalytic_shared::Settings;
use catalytic_shared::db::mail;
use catalytic_shared::ids::TenantId;
use catalytic_shared::mail::Mail;
use sqlx::PgConnection;

/// Requests for a token-bearing mail (verification, reset) a user may make
/// in an hour; past it the request is answered as usual and nothing is
/// sent, so a mailbox cannot be flooded through the API.
pub const PER_HOUR: i64 = 5;

/// Queues `mail` to one address.
pub async fn queue(
    conn: &mut PgConnection,
    tenant: Option<TenantId>,
    to: &str,
    mail: &Mail,
) -> Result<(), ApiError> {
    mail::enqueue(conn, tenant, to, mail).await?;
    Ok(())
}

/// A new verification link for `user` (earlier ones stop working).
/// False when the hourly bound was reached and nothing was queued.
pub async fn verification(
    conn: &mut PgConnection,
    settings: &Settings,
    user: &Addressee,
) -> Result<bool, ApiError> {
    let ttl = settings.auth.verify_email_ttl_secs;
    let token = refresh::generate(TokenKind::VerifyEmail);
    issue_and_queue(
        conn,
        Purpose::VerifyEmail,
        user,
        &token.hash,
        ttl,
        &Mail::VerifyEmail {
            token: token.token.expose().clone(),
            ttl_hours: ttl.div_ceil(3600),
        },
    )
    .await
}

/// A password-reset link for `user` (earlier ones stop working). False
/// when the hourly bound was reached and nothing was queued.
pub async fn password_reset(
    conn: &mut PgConnection,
    settings: &Settings,
    user: &Addressee,
) -> Result<bool, ApiError> {
    let ttl = settings.auth.password_reset_ttl_secs;
    let token = refresh::generate(TokenKind::PasswordReset);
    issue_and_queue(
        conn,
        Purpose::PasswordReset,
        user,
        &token.hash,
        ttl,
        &Mail::PasswordReset {
            token: token.token.expose().clone(),
            ttl_minutes: ttl.div_ceil(60),
        },
    )
    .await
}

async fn issue_and_queue(
    conn: &mut PgConnection,
    purpose: Purpose,
    user: &Addressee,
    hash: &[u8],
    ttl_secs: u64,
    mail: &Mail,
) -> Result<bool, ApiError> {
    if account_tokens::issued_last_hour(conn, user.id, purpose).await? >= PER_HOUR {
        tracing::warn!(user_id = %user.id, ?purpose, "mailed-token bound reached; nothing sent");
        return Ok(false);
    }
    account_tokens::issue(conn, purpose, user, hash, ttl_secs).await?;
    queue(conn, Some(user.tenant_id), &user.email, mail).await?;
    Ok(true)
}
