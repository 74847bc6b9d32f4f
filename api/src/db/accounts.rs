//! Accounts (issue 4): users and their roles, invitations, rotating refresh
//! tokens, revoked access tokens and login lockouts. Every query on a
//! tenant's users takes the tenant first: another tenant's user is simply not
//! found. Tokens are stored hashed (SHA-256, computed by the caller); this
//! module never sees a token or a password, only their hashes.
//!
//! Time is the database's `now()` throughout (docs/adr/0001-processes.md), except the access
//! token's `exp`, which the api stamps when it signs.

use catalytic_shared::db::DbError;
use catalytic_shared::ids::{InvitationId, SessionId, TenantId, UserId};
use catalytic_shared::tenant::{Plan, Role};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use std::net::IpAddr;

/// A user as its tenant sees it (never the password hash).
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub email: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// None until the user follows the link mailed to them (issue 20).
    pub email_verified_at: Option<DateTime<Utc>>,
}

impl UserRow {
    pub fn role(&self) -> Result<Role, DbError> {
        parse_role(&self.role)
    }
}

fn parse_role(role: &str) -> Result<Role, DbError> {
    role.parse()
        .map_err(|_| DbError::Corrupt(format!("unknown role {role:?}")))
}

fn parse_plan(plan: &str) -> Result<Plan, DbError> {
    plan.parse()
        .map_err(|_| DbError::Corrupt(format!("unknown plan {plan:?}")))
}

/// Creates a tenant on `plan` and its first user, the owner, together, in
/// the caller's transaction (which also queues the verification mail).
/// An email already registered is `DbError::Conflict { constraint: "users_email" }`.
pub async fn register_owner(
    tx: &mut PgConnection,
    tenant: TenantId,
    tenant_name: &str,
    plan: Plan,
    user: UserId,
    email: &str,
    password_hash: &str,
) -> Result<UserRow, DbError> {
    sqlx::query!(
        "INSERT INTO tenants (id, name, plan) VALUES ($1, $2, $3)",
        tenant as TenantId,
        tenant_name,
        plan.as_str(),
    )
    .execute(&mut *tx)
    .await?;
    let row = sqlx::query_as!(
        UserRow,
        r#"INSERT INTO users (id, tenant_id, email, password_hash, role)
           VALUES ($1, $2, $3, $4, 'owner')
           RETURNING id AS "id: UserId", tenant_id AS "tenant_id: TenantId", email, role,
                     created_at, updated_at, email_verified_at"#,
        user as UserId,
        tenant as TenantId,
        email,
        password_hash,
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok(row)
}

/// What presenting an invitation token came to.
#[derive(Debug)]
pub enum Joined {
    /// The user exists in the inviting tenant with the invited role.
    Joined(UserRow),
    /// Unknown, expired or already accepted.
    InvalidToken,
    /// The token was issued for another email.
    OtherEmail,
    /// The invited email has an account already (an email is one account
    /// platform-wide); nothing was changed.
    EmailTaken,
}

/// Accepts an invitation: creates the user in the inviting tenant with the
/// invited role and marks the invitation accepted, in the caller's
/// transaction (the row lock makes a token usable once, even under
/// concurrent attempts). The token was mailed to this address, so the
/// email counts as verified.
pub async fn accept_invitation(
    tx: &mut PgConnection,
    token_hash: &[u8],
    user: UserId,
    email: &str,
    password_hash: &str,
) -> Result<Joined, DbError> {
    let Some(invitation) = sqlx::query!(
        r#"SELECT id AS "id: InvitationId", tenant_id AS "tenant_id: TenantId", email, role
           FROM invitations
           WHERE token_hash = $1 AND accepted_at IS NULL AND expires_at > now()
           FOR UPDATE"#,
        token_hash,
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(Joined::InvalidToken);
    };
    if invitation.email != email {
        return Ok(Joined::OtherEmail);
    }
    let taken = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM users WHERE email = $1) AS "taken!""#,
        email,
    )
    .fetch_one(&mut *tx)
    .await?;
    if taken {
        return Ok(Joined::EmailTaken);
    }
    let row = sqlx::query_as!(
        UserRow,
        r#"INSERT INTO users (id, tenant_id, email, password_hash, role, email_verified_at)
           VALUES ($1, $2, $3, $4, $5, now())
           RETURNING id AS "id: UserId", tenant_id AS "tenant_id: TenantId", email, role,
                     created_at, updated_at, email_verified_at"#,
        user as UserId,
        invitation.tenant_id as TenantId,
        email,
        password_hash,
        invitation.role,
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE invitations SET accepted_at = now() WHERE id = $1",
        invitation.id as InvitationId,
    )
    .execute(&mut *tx)
    .await?;
    Ok(Joined::Joined(row))
}

/// What a login needs to check a password.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub password_hash: String,
    pub role: String,
}

impl Credentials {
    pub fn role(&self) -> Result<Role, DbError> {
        parse_role(&self.role)
    }
}

/// Emails are unique platform-wide, so a login names no tenant.
pub async fn credentials(pool: &PgPool, email: &str) -> Result<Option<Credentials>, DbError> {
    Ok(sqlx::query_as!(
        Credentials,
        r#"SELECT id AS "id: UserId", tenant_id AS "tenant_id: TenantId", password_hash, role
           FROM users WHERE email = $1"#,
        email,
    )
    .fetch_optional(pool)
    .await?)
}

/// The current role and plan of an access token's user, and whether the
/// token was revoked (its `jti` at logout, or its session when the refresh
/// family was revoked). None when the user no longer exists in that tenant.
/// One round trip per request; PostgreSQL decides, Redis only short-cuts
/// refusals (docs/adr/0001-processes.md).
#[derive(Debug, Clone, Copy)]
pub struct SessionState {
    pub role: Role,
    pub plan: Plan,
    pub revoked: bool,
}

pub async fn session_state(
    pool: &PgPool,
    tenant: TenantId,
    user: UserId,
    jti: uuid::Uuid,
    session: SessionId,
) -> Result<Option<SessionState>, DbError> {
    let row = sqlx::query!(
        r#"SELECT u.role, t.plan,
                  (EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = $3)
                   OR EXISTS (SELECT 1 FROM refresh_tokens f
                              WHERE f.family_id = $4 AND f.revoked_at IS NOT NULL)) AS "revoked!"
           FROM users u JOIN tenants t ON t.id = u.tenant_id
           WHERE u.id = $1 AND u.tenant_id = $2"#,
        user as UserId,
        tenant as TenantId,
        jti,
        session as SessionId,
    )
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(SessionState {
            role: parse_role(&r.role)?,
            plan: parse_plan(&r.plan)?,
            revoked: r.revoked,
        })
    })
    .transpose()
}

/// A tenant's name and plan, for `/v1/me`.
pub async fn tenant_summary<'e>(
    conn: impl sqlx::PgExecutor<'e>,
    tenant: TenantId,
) -> Result<Option<(String, Plan)>, DbError> {
    let row = sqlx::query!(
        "SELECT name, plan FROM tenants WHERE id = $1",
        tenant as TenantId
    )
    .fetch_optional(conn)
    .await?;
    row.map(|r| Ok((r.name, parse_plan(&r.plan)?))).transpose()
}

pub async fn get_user(
    pool: &PgPool,
    tenant: TenantId,
    id: UserId,
) -> Result<Option<UserRow>, DbError> {
    Ok(sqlx::query_as!(
        UserRow,
        r#"SELECT id AS "id: UserId", tenant_id AS "tenant_id: TenantId", email, role,
                  created_at, updated_at, email_verified_at
           FROM users WHERE id = $1 AND tenant_id = $2"#,
        id as UserId,
        tenant as TenantId,
    )
    .fetch_optional(pool)
    .await?)
}

/// One page of a tenant's users, oldest first, after `cursor`. Index: `users_tenant`.
pub async fn list_users(
    pool: &PgPool,
    tenant: TenantId,
    cursor: Option<UserId>,
    limit: i64,
) -> Result<Vec<UserRow>, DbError> {
    Ok(sqlx::query_as!(
        UserRow,
        r#"SELECT id AS "id: UserId", tenant_id AS "tenant_id: TenantId", email, role,
                  created_at, updated_at, email_verified_at
           FROM users
           WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id > $2)
           ORDER BY id
           LIMIT $3"#,
        tenant as TenantId,
        cursor.map(|c| c.as_uuid()),
        limit,
    )
    .fetch_all(pool)
    .await?)
}

/// A change to a user that must keep at least one owner.
#[derive(Debug)]
pub enum UserChange<T> {
    Done(T),
    NotFound,
    /// The change would leave the tenant without an owner.
    LastOwner,
}

/// Locks the tenant's owners (so two owners demoting each other at once
/// cannot both succeed) and says whether `user` is the only one.
async fn is_last_owner(
    tx: &mut sqlx::PgConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<bool, DbError> {
    let owners = sqlx::query_scalar!(
        r#"SELECT id AS "id: UserId" FROM users
           WHERE tenant_id = $1 AND role = 'owner' ORDER BY id FOR UPDATE"#,
        tenant as TenantId,
    )
    .fetch_all(&mut *tx)
    .await?;
    Ok(owners == [user])
}

/// In the caller's transaction (which records the change in the audit log).
pub async fn set_role(
    tx: &mut PgConnection,
    tenant: TenantId,
    id: UserId,
    role: Role,
) -> Result<UserChange<UserRow>, DbError> {
    if role != Role::Owner && is_last_owner(tx, tenant, id).await? {
        return Ok(UserChange::LastOwner);
    }
    let row = sqlx::query_as!(
        UserRow,
        r#"UPDATE users SET role = $3, updated_at = now()
           WHERE id = $1 AND tenant_id = $2
           RETURNING id AS "id: UserId", tenant_id AS "tenant_id: TenantId", email, role,
                     created_at, updated_at, email_verified_at"#,
        id as UserId,
        tenant as TenantId,
        role.as_str(),
    )
    .fetch_optional(&mut *tx)
    .await?;
    Ok(row.map_or(UserChange::NotFound, UserChange::Done))
}

/// Deletes a user; their refresh tokens go with them (cascade), and their
/// access tokens stop working at once because each request looks the user up.
/// In the caller's transaction.
pub async fn delete_user(
    tx: &mut PgConnection,
    tenant: TenantId,
    id: UserId,
) -> Result<UserChange<()>, DbError> {
    if is_last_owner(tx, tenant, id).await? {
        return Ok(UserChange::LastOwner);
    }
    let deleted = sqlx::query!(
        "DELETE FROM users WHERE id = $1 AND tenant_id = $2",
        id as UserId,
        tenant as TenantId,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(match deleted {
        1 => UserChange::Done(()),
        _ => UserChange::NotFound,
    })
}

#[derive(Debug, Clone)]
pub struct InvitationRow {
    pub id: InvitationId,
    pub email: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An invitation to store; the token itself is shown once and never stored.
#[derive(Debug)]
pub struct NewInvitation<'a> {
    pub id: InvitationId,
    pub tenant_id: TenantId,
    pub email: &'a str,
    pub role: Role,
    pub token_hash: &'a [u8],
    pub invited_by: Option<UserId>,
    pub ttl_secs: u64,
}

/// In the caller's transaction (with the invitation's mail).
pub async fn insert_invitation(
    tx: &mut PgConnection,
    invitation: &NewInvitation<'_>,
) -> Result<InvitationRow, DbError> {
    Ok(sqlx::query_as!(
        InvitationRow,
        r#"INSERT INTO invitations (id, tenant_id, email, role, token_hash, invited_by, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
           RETURNING id AS "id: InvitationId", email, role, created_at, expires_at"#,
        invitation.id as InvitationId,
        invitation.tenant_id as TenantId,
        invitation.email,
        invitation.role.as_str(),
        invitation.token_hash,
        invitation.invited_by.map(|u| u.as_uuid()),
        invitation.ttl_secs as f64,
    )
    .fetch_one(tx)
    .await?)
}

/// Starts a session: the first refresh token of a new family.
pub async fn insert_refresh_token(
    pool: &PgPool,
    tenant: TenantId,
    user: UserId,
    session: SessionId,
    token_hash: &[u8],
    ttl_secs: u64,
) -> Result<(), DbError> {
    sqlx::query!(
        r#"INSERT INTO refresh_tokens (id, family_id, user_id, tenant_id, token_hash, expires_at)
           VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))"#,
        uuid::Uuid::now_v7(),
        session as SessionId,
        user as UserId,
        tenant as TenantId,
        token_hash,
        ttl_secs as f64,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// What presenting a refresh token came to.
#[derive(Debug)]
pub enum Rotation {
    /// The old token is now used; `new_hash` was stored in its family.
    Rotated {
        tenant_id: TenantId,
        user_id: UserId,
        session: SessionId,
        role: Role,
    },
    /// A token that was already rotated came back: someone holds a copy.
    /// The whole family is now revoked.
    Reused {
        tenant_id: TenantId,
        session: SessionId,
    },
    /// Unknown, expired or revoked.
    Invalid,
}

/// Rotates a refresh token in one transaction. The row lock serialises
/// concurrent presentations of one token: the second one sees it used and
/// revokes the family, which is the point of rotation (a stolen token and
/// its rightful holder cannot both keep going).
pub async fn rotate_refresh_token(
    pool: &PgPool,
    token_hash: &[u8],
    new_hash: &[u8],
    ttl_secs: u64,
) -> Result<Rotation, DbError> {
    let mut tx = pool.begin().await?;
    let Some(old) = sqlx::query!(
        r#"SELECT r.id, r.family_id AS "family_id: SessionId", r.user_id AS "user_id: UserId",
                  r.tenant_id AS "tenant_id: TenantId", u.role,
                  r.expires_at > now() AS "live!", r.used_at IS NOT NULL AS "used!",
                  r.revoked_at IS NOT NULL AS "revoked!"
           FROM refresh_tokens r JOIN users u ON u.id = r.user_id
           WHERE r.token_hash = $1
           FOR UPDATE OF r"#,
        token_hash,
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(Rotation::Invalid);
    };
    if old.revoked {
        return Ok(Rotation::Invalid);
    }
    if old.used {
        revoke_family_in(&mut tx, old.tenant_id, old.family_id).await?;
        tx.commit().await?;
        return Ok(Rotation::Reused {
            tenant_id: old.tenant_id,
            session: old.family_id,
        });
    }
    if !old.live {
        return Ok(Rotation::Invalid);
    }
    sqlx::query!(
        "UPDATE refresh_tokens SET used_at = now() WHERE id = $1",
        old.id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        r#"INSERT INTO refresh_tokens (id, family_id, user_id, tenant_id, token_hash, expires_at)
           VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))"#,
        uuid::Uuid::now_v7(),
        old.family_id as SessionId,
        old.user_id as UserId,
        old.tenant_id as TenantId,
        new_hash,
        ttl_secs as f64,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Rotation::Rotated {
        tenant_id: old.tenant_id,
        user_id: old.user_id,
        session: old.family_id,
        role: parse_role(&old.role)?,
    })
}

async fn revoke_family_in(
    conn: &mut sqlx::PgConnection,
    tenant: TenantId,
    session: SessionId,
) -> Result<(), DbError> {
    sqlx::query!(
        "UPDATE refresh_tokens SET revoked_at = now()
         WHERE family_id = $1 AND tenant_id = $2 AND revoked_at IS NULL",
        session as SessionId,
        tenant as TenantId,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Logout: the access token's `jti` until its expiry, and its session's
/// refresh family, in one transaction.
pub async fn revoke_session(
    pool: &PgPool,
    tenant: TenantId,
    session: SessionId,
    jti: uuid::Uuid,
    access_expires_at: DateTime<Utc>,
) -> Result<(), DbError> {
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "INSERT INTO revoked_tokens (jti, tenant_id, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (jti) DO NOTHING",
        jti,
        tenant as TenantId,
        access_expires_at,
    )
    .execute(&mut *tx)
    .await?;
    revoke_family_in(&mut tx, tenant, session).await?;
    tx.commit().await?;
    Ok(())
}

/// Seconds a login to `email` from `ip` stays refused, if it is: the
/// pair's own lock, or the account's lock against guessing from many
/// addresses, whichever ends later.
pub async fn locked_for(pool: &PgPool, email: &str, ip: IpAddr) -> Result<Option<u64>, DbError> {
    let secs = sqlx::query_scalar!(
        r#"SELECT ceil(extract(epoch FROM max(until) - now()))::bigint AS secs
           FROM (SELECT locked_until AS until FROM login_failures
                 WHERE email = $1 AND ip = $2::text::inet AND locked_until > now()
                 UNION ALL
                 SELECT locked_until FROM login_lockouts
                 WHERE email = $1 AND locked_until > now()) locks"#,
        email,
        ip.to_string(),
    )
    .fetch_one(pool)
    .await?;
    Ok(secs.map(|s| s.max(1) as u64))
}

/// The lockout rules, from `auth.lockout_*`.
#[derive(Debug, Clone, Copy)]
pub struct LockoutRules {
    pub failures: u32,
    pub window_secs: u64,
    pub first_lock_secs: u64,
    pub max_lock_secs: u64,
    pub failures_per_email: u32,
}

/// Counts a failed login from `ip` at `email` (whether or not it has an
/// account). A window older than `window_secs` starts again at 1. At
/// `failures` the pair is locked, each lock twice as long as the pair's
/// last; at `failures_per_email` from all addresses the email is locked
/// for everyone. The answer is the lock just set, in seconds, if any.
pub async fn record_failure(
    pool: &PgPool,
    email: &str,
    ip: IpAddr,
    rules: LockoutRules,
) -> Result<Option<u64>, DbError> {
    let mut tx = pool.begin().await?;
    let counted = sqlx::query!(
        r#"INSERT INTO login_failures AS f (email, ip, failures, window_started_at)
           VALUES ($1, $2::text::inet, 1, now())
           ON CONFLICT (email, ip) DO UPDATE SET
               failures = CASE WHEN f.window_started_at < now() - make_interval(secs => $3)
                               THEN 1 ELSE f.failures + 1 END,
               window_started_at = CASE WHEN f.window_started_at < now() - make_interval(secs => $3)
                                        THEN now() ELSE f.window_started_at END,
               last_failure_at = now()
           RETURNING failures, locks"#,
        email,
        ip.to_string(),
        rules.window_secs as f64,
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut pair_lock = None;
    if counted.failures >= rules.failures as i32 {
        // 2^locks without overflow: past 2^20 the cap has long applied.
        let factor = 1u64 << counted.locks.clamp(0, 20);
        let secs = rules
            .first_lock_secs
            .saturating_mul(factor)
            .min(rules.max_lock_secs);
        sqlx::query!(
            "UPDATE login_failures
             SET locked_until = now() + make_interval(secs => $3), locks = locks + 1,
                 failures = 0, window_started_at = now()
             WHERE email = $1 AND ip = $2::text::inet",
            email,
            ip.to_string(),
            secs as f64,
        )
        .execute(&mut *tx)
        .await?;
        pair_lock = Some(secs);
    }
    let account_failures = sqlx::query_scalar!(
        r#"INSERT INTO login_lockouts AS l (email, failures, window_started_at)
           VALUES ($1, 1, now())
           ON CONFLICT (email) DO UPDATE SET
               failures = CASE WHEN l.window_started_at < now() - make_interval(secs => $2)
                               THEN 1 ELSE l.failures + 1 END,
               window_started_at = CASE WHEN l.window_started_at < now() - make_interval(secs => $2)
                                        THEN now() ELSE l.window_started_at END
           RETURNING failures"#,
        email,
        rules.window_secs as f64,
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut account_lock = None;
    if account_failures >= rules.failures_per_email as i32 {
        sqlx::query!(
            "UPDATE login_lockouts
             SET locked_until = now() + make_interval(secs => $2), failures = 0,
                 window_started_at = now()
             WHERE email = $1",
            email,
            rules.max_lock_secs as f64,
        )
        .execute(&mut *tx)
        .await?;
        account_lock = Some(rules.max_lock_secs);
    }
    tx.commit().await?;
    Ok(pair_lock.max(account_lock))
}

/// A successful login forgets the earlier failures from its address (not
/// a lock, which the login could not have passed, nor other addresses').
pub async fn clear_failures(pool: &PgPool, email: &str, ip: IpAddr) -> Result<(), DbError> {
    sqlx::query!(
        "DELETE FROM login_failures
         WHERE email = $1 AND ip = $2::text::inet AND (locked_until IS NULL OR locked_until <= now())",
        email,
        ip.to_string(),
    )
    .execute(pool)
    .await?;
    Ok(())
}
