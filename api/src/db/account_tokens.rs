//! Single-use tokens mailed to a user (migration 0030): email verification
//! and password reset, stored as SHA-256 only (the caller hashes), and what
//! redeeming them changes: the verified flag, the password, the sessions.
//! Every function runs in the caller's transaction, so a token is spent
//! exactly when its effect (and its audit entry and mail) commits.

use catalytic_shared::db::DbError;
use catalytic_shared::ids::{SessionId, TenantId, UserId};
use sqlx::PgConnection;

/// What a mailed token is for (the `kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    PasswordReset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::PasswordReset => "password_reset",
        }
    }
}

/// A user found by email, for the flows that start from an address.
#[derive(Debug, Clone)]
pub struct Addressee {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub email: String,
    pub verified: bool,
}

pub async fn user_by_email(
    conn: &mut PgConnection,
    email: &str,
) -> Result<Option<Addressee>, DbError> {
    Ok(sqlx::query_as!(
        Addressee,
        r#"SELECT id AS "id: UserId", tenant_id AS "tenant_id: TenantId", email,
                  email_verified_at IS NOT NULL AS "verified!"
           FROM users WHERE email = $1"#,
        email,
    )
    .fetch_optional(conn)
    .await?)
}

pub async fn user_by_id(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<Option<Addressee>, DbError> {
    Ok(sqlx::query_as!(
        Addressee,
        r#"SELECT id AS "id: UserId", tenant_id AS "tenant_id: TenantId", email,
                  email_verified_at IS NOT NULL AS "verified!"
           FROM users WHERE id = $1 AND tenant_id = $2"#,
        user as UserId,
        tenant as TenantId,
    )
    .fetch_optional(conn)
    .await?)
}

/// Tokens of `purpose` issued to `user` within the last hour: the flows
/// that mail on request stop mailing past a bound (a mailbox is not a
/// target), silently, so the answer stays the same.
pub async fn issued_last_hour(
    conn: &mut PgConnection,
    user: UserId,
    purpose: Purpose,
) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM account_tokens
           WHERE user_id = $1 AND kind = $2 AND created_at > now() - interval '1 hour'"#,
        user as UserId,
        purpose.as_str(),
    )
    .fetch_one(conn)
    .await?)
}

/// Stores a new token; earlier unused ones of the same purpose stop
/// working (only the latest mail's link is good).
pub async fn issue(
    conn: &mut PgConnection,
    purpose: Purpose,
    user: &Addressee,
    token_hash: &[u8],
    ttl_secs: u64,
) -> Result<(), DbError> {
    sqlx::query!(
        "UPDATE account_tokens SET expires_at = least(expires_at, now())
         WHERE user_id = $1 AND kind = $2 AND used_at IS NULL",
        user.id as UserId,
        purpose.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO account_tokens (token_hash, kind, user_id, email, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
        token_hash,
        purpose.as_str(),
        user.id as UserId,
        user.email,
        ttl_secs as f64,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Spends a token: its user when it is of `purpose`, unused, unexpired,
/// and its user still has the address it was mailed to. The row lock makes
/// it good once, even when presented twice at the same moment.
pub async fn redeem(
    conn: &mut PgConnection,
    purpose: Purpose,
    token_hash: &[u8],
) -> Result<Option<Addressee>, DbError> {
    Ok(sqlx::query_as!(
        Addressee,
        r#"UPDATE account_tokens t SET used_at = now()
           FROM users u
           WHERE t.token_hash = $1 AND t.kind = $2 AND t.used_at IS NULL
             AND t.expires_at > now() AND u.id = t.user_id AND u.email = t.email
           RETURNING u.id AS "id!: UserId", u.tenant_id AS "tenant_id!: TenantId",
                     u.email AS "email!", u.email_verified_at IS NOT NULL AS "verified!""#,
        token_hash,
        purpose.as_str(),
    )
    .fetch_optional(conn)
    .await?)
}

/// Marks the address verified (a no-op when it already is); true when it
/// was not before.
pub async fn mark_verified(conn: &mut PgConnection, user: UserId) -> Result<bool, DbError> {
    let done = sqlx::query!(
        "UPDATE users SET email_verified_at = now(), updated_at = now()
         WHERE id = $1 AND email_verified_at IS NULL",
        user as UserId,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The stored hash of the user's current password (for a change, which
/// asks for it).
pub async fn password_hash(
    conn: &mut PgConnection,
    user: UserId,
) -> Result<Option<String>, DbError> {
    Ok(sqlx::query_scalar!(
        "SELECT password_hash FROM users WHERE id = $1",
        user as UserId
    )
    .fetch_optional(conn)
    .await?)
}

pub async fn set_password(
    conn: &mut PgConnection,
    user: UserId,
    password_hash: &str,
) -> Result<(), DbError> {
    sqlx::query!(
        "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
        user as UserId,
        password_hash,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends every session of `user` but `keep` (the one making a password
/// change): their refresh families are revoked, which the trigger of
/// migration 0016 announces, so every api process refuses their access
/// tokens at once. The sessions ended.
pub async fn revoke_sessions(
    conn: &mut PgConnection,
    user: UserId,
    keep: Option<SessionId>,
) -> Result<Vec<SessionId>, DbError> {
    Ok(sqlx::query_scalar!(
        r#"UPDATE refresh_tokens SET revoked_at = now()
           WHERE user_id = $1 AND revoked_at IS NULL
             AND ($2::uuid IS NULL OR family_id <> $2)
           RETURNING family_id AS "family_id: SessionId""#,
        user as UserId,
        keep.map(|s| s.as_uuid()),
    )
    .fetch_all(conn)
    .await?)
}

/// A reset link proves the mailbox: every failed-login lock and count of
/// the email (per address and for the account) is forgotten, so its owner
/// gets in whoever was guessing.
pub async fn clear_lockout(conn: &mut PgConnection, email: &str) -> Result<(), DbError> {
    sqlx::query!("DELETE FROM login_lockouts WHERE email = $1", email)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("DELETE FROM login_failures WHERE email = $1", email)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether a caller may do what an unverified account may not: a user
/// session needs its own address verified; an API key (which acts for the
/// tenant) needs a verified owner in the tenant, or a tenant without users
/// (made by an operator with `catalytic-api bootstrap`, trusted as such).
pub async fn verified_actor(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: Option<UserId>,
) -> Result<bool, DbError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT CASE
               WHEN $2::uuid IS NOT NULL THEN EXISTS (
                   SELECT 1 FROM users
                   WHERE id = $2 AND tenant_id = $1 AND email_verified_at IS NOT NULL)
               ELSE EXISTS (
                   SELECT 1 FROM users
                   WHERE tenant_id = $1 AND role = 'owner' AND email_verified_at IS NOT NULL)
                 OR NOT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND role = 'owner')
           END AS "verified!""#,
        tenant as TenantId,
        user.map(|u| u.as_uuid()),
    )
    .fetch_one(conn)
    .await?)
}
