//! Accounts and sessions: register (a new tenant and its owner, or joining a
//! tenant by invitation), login, refresh, logout. docs/adr/0004-api.md.
//!
//! Tokens: the access token is a JWT (`auth::jwt`, 15 min); the refresh
//! token is opaque (`clr_` + 64 hex), rotated at each use, and reuse of a
//! rotated one revokes its whole session. Login failures count towards a
//! lockout (`auth::lockout`): 429 with `Retry-After` while locked.
//!
//! Per-IP rate limits on register and login are the limiter's
//! (`limits::rate`): this module's `router()` is where they attach.

use crate::audit::{self, ClientIp};
use crate::auth::jwt::AccessToken;
use crate::auth::principals::Changed;
use crate::auth::refresh::{self, TokenKind};
use crate::auth::{TenantScope, lockout, password};
use crate::db::{self, account_tokens, accounts::Joined, accounts::Rotation};
use crate::error::{ApiError, FieldError, Problem};
use crate::json::ApiJson;
use crate::mailing;
use crate::responses::TokenOut;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use catalytic_shared::Secret;
use catalytic_shared::db::DbError;
use catalytic_shared::ids::{SessionId, TenantId, UserId};
use catalytic_shared::mail::Mail;
use catalytic_shared::tenant::{Plan, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh_session))
        .routes(routes!(logout))
}

/// A new account. Without `invitation_token` it creates a tenant (plan
/// free) whose owner is this user; with one it joins the inviting tenant
/// with the invited role (and `email` must be the invited one).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterIn {
    pub email: String,
    /// 8–128 characters, not only whitespace, and not trivially guessable
    /// (zxcvbn score 2 or more; the 422 says why).
    #[schema(value_type = String, format = Password)]
    pub password: Secret<String>,
    /// The new tenant's name (1–200 characters); defaults to the email.
    /// Not allowed with an invitation.
    pub tenant_name: Option<String>,
    /// `cli_...`, from `POST /v1/users/invitations`.
    #[schema(value_type = Option<String>)]
    pub invitation_token: Option<Secret<String>>,
}

/// The answer to a registration, the same whether or not the email had an
/// account.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterAccepted {
    pub email: String,
    /// What happens next.
    pub message: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: Secret<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshIn {
    /// The latest refresh token of the session (`clr_...`); it is used up.
    #[schema(value_type = String)]
    pub refresh_token: Secret<String>,
}

fn token_out(state: &AppState, access: AccessToken, refresh: Secret<String>) -> TokenOut {
    TokenOut {
        access_token: access.token.expose().clone(),
        token_type: "Bearer".to_owned(),
        expires_in: access.expires_in,
        refresh_token: refresh.expose().clone(),
        refresh_expires_in: state.settings.auth.refresh_ttl_secs,
    }
}

/// Trimmed and lower-cased; a plausible address (one `@`, a dot in the
/// domain, no spaces, at most 254 characters). Deliverability is not checked.
pub fn normalize_email(field: &str, raw: &str) -> Result<String, FieldError> {
    let email = raw.trim().to_lowercase();
    let plausible = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    match plausible {
        true => Ok(email),
        false => Err(FieldError::new(field, "is not an email address")),
    }
}

const PROBLEM: &str = "application/problem+json";

/// Create an account: a new tenant and its owner, or a member of the
/// tenant that invited this email. The answer is the same whether or not
/// the email already has an account (no account oracle): a new account is
/// made and mailed a verification link; an existing one is mailed a note
/// saying someone tried. The new account can log in at once; until its
/// email is verified it cannot upgrade a plan, invite or add webhook
/// endpoints.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", request_body = RegisterIn,
    responses(
        (status = 202, description = "accepted: the same answer whether or not the email had an account; the next step is in the mail", body = RegisterAccepted),
        (status = 400, description = "the body is not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "invalid field(s), each named (`email`, `password`, `tenant_name`, `invitation_token`)", body = Problem, content_type = PROBLEM),
        (status = 429, description = "too many registrations from this address", body = Problem, content_type = PROBLEM),
    ))]
async fn register(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(body): ApiJson<RegisterIn>,
) -> Result<(StatusCode, Json<RegisterAccepted>), ApiError> {
    let mut errors = Vec::new();
    let email = normalize_email("email", &body.email)
        .map_err(|e| errors.push(e))
        .ok();
    let mut context = vec![body.email.as_str()];
    context.extend(body.tenant_name.as_deref());
    if let Err(ApiError::Validation(mut e)) =
        password::check_new("password", body.password.expose(), &context)
    {
        errors.append(&mut e);
    }
    if let Some(name) = &body.tenant_name {
        if body.invitation_token.is_some() {
            errors.push(FieldError::new(
                "tenant_name",
                "not allowed with an invitation: the invitation names the tenant",
            ));
        } else if !(1..=200).contains(&name.chars().count()) {
            errors.push(FieldError::new(
                "tenant_name",
                "must be 1 to 200 characters",
            ));
        }
    }
    let invitation_hash = match &body.invitation_token {
        None => None,
        Some(token) => match refresh::hash_of(TokenKind::Invitation, token.expose().trim()) {
            Some(hash) => Some(hash),
            None => {
                errors.push(FieldError::new(
                    "invitation_token",
                    "is not an invitation token",
                ));
                None
            }
        },
    };
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    // Hashed whether or not an account is made: both answers take as long.
    let password_hash = password::hash(body.password).await?;
    let user_id = UserId::new();
    let mut tx = state.db.begin().await?;
    let made = match invitation_hash {
        None => match account_tokens::user_by_email(&mut tx, &email).await? {
            Some(_) => None,
            None => {
                let tenant_name = body
                    .tenant_name
                    .unwrap_or_else(|| email.chars().take(200).collect());
                let user = db::accounts::register_owner(
                    &mut tx,
                    TenantId::new(),
                    &tenant_name,
                    Plan::Free,
                    user_id,
                    &email,
                    &password_hash,
                )
                .await;
                Some(user)
            }
        },
        Some(hash) => {
            match db::accounts::accept_invitation(&mut tx, &hash, user_id, &email, &password_hash)
                .await?
            {
                Joined::Joined(user) => Some(Ok(user)),
                Joined::EmailTaken => None,
                Joined::InvalidToken => {
                    return Err(ApiError::field(
                        "invitation_token",
                        "unknown, expired or already used",
                    ));
                }
                Joined::OtherEmail => {
                    return Err(ApiError::field(
                        "email",
                        "is not the email this invitation was sent to",
                    ));
                }
            }
        }
    };
    let user = match made {
        Some(Ok(user)) => user,
        // Taken before, or by a registration that committed meanwhile.
        None | Some(Err(DbError::Conflict { .. })) => {
            drop(tx);
            tell_existing_account(&state, &email).await?;
            return Ok(registered(email));
        }
        Some(Err(e)) => return Err(e.into()),
    };
    let addressee = account_tokens::Addressee {
        id: user.id,
        tenant_id: user.tenant_id,
        email: user.email.clone(),
        verified: user.email_verified_at.is_some(),
    };
    let action = match addressee.verified {
        // An invitation was mailed to this address: it is verified.
        true => {
            let (tenant_name, _) = db::accounts::tenant_summary(&mut *tx, user.tenant_id)
                .await?
                .ok_or(ApiError::NotFound("tenant"))?;
            mailing::queue(
                &mut tx,
                Some(user.tenant_id),
                &email,
                &Mail::Welcome { tenant_name },
            )
            .await?;
            audit::Action::Joined
        }
        false => {
            mailing::verification(&mut tx, &state.settings, &addressee).await?;
            audit::Action::Registered
        }
    };
    audit::record(
        &mut tx,
        user.tenant_id,
        action,
        audit::Actor::user(user.id),
        ip,
        Some(&email),
        serde_json::json!({"role": user.role}),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %user.tenant_id, user_id = %user.id, "account registered");
    Ok(registered(email))
}

/// The one answer of `register`.
fn registered(email: String) -> (StatusCode, Json<RegisterAccepted>) {
    (
        StatusCode::ACCEPTED,
        Json(RegisterAccepted {
            email,
            message: "Check this address's inbox. A new account can log in now and has a link \
                      there to verify the email; an address that already had an account has \
                      a message saying so instead."
                .to_owned(),
        }),
    )
}

/// Someone registered with an address that has an account: its owner is
/// told, in a mail only they can read, instead of the caller.
async fn tell_existing_account(state: &AppState, email: &str) -> Result<(), ApiError> {
    let mut tx = state.db.begin().await?;
    let tenant = account_tokens::user_by_email(&mut tx, email)
        .await?
        .map(|u| u.tenant_id);
    mailing::queue(&mut tx, tenant, email, &Mail::AccountExists {}).await?;
    tx.commit().await?;
    Ok(())
}

/// Log in with email and password: an access token and a refresh token.
/// After `auth.lockout_failures` failures from one address within
/// `auth.lockout_window_secs`, that address is locked out of the email
/// (growing locks; many addresses together lock the email for everyone):
/// 429 with `Retry-After`. A password reset link lifts every lock.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginIn,
    responses(
        (status = 200, description = "logged in: a new session's access token and refresh token", body = TokenOut),
        (status = 400, description = "the body is not JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "wrong email or password", body = Problem, content_type = PROBLEM),
        (status = 422, description = "a field is missing or malformed", body = Problem, content_type = PROBLEM),
        (status = 429, description = "the email is locked after repeated failures (or too many attempts from this address)", body = Problem, content_type = PROBLEM,
         headers(("Retry-After" = u64, description = "seconds until the lock ends"))),
    ))]
async fn login(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(body): ApiJson<LoginIn>,
) -> Result<Json<TokenOut>, ApiError> {
    let wrong = ApiError::Unauthorized("wrong email or password");
    // An implausible email has no account: the same answer as a wrong one.
    let Ok(email) = normalize_email("email", &body.email) else {
        return Err(wrong);
    };
    lockout::ensure_unlocked(&state, &email, ip).await?;
    let account = db::accounts::credentials(&state.db, &email).await?;
    let stored = account.as_ref().map(|a| a.password_hash.clone());
    if !password::verify(body.password, stored).await? {
        lockout::record_failure(&state, &email, ip).await?;
        if let Some(account) = &account {
            let mut conn = state.db.acquire().await?;
            audit::record(
                &mut conn,
                account.tenant_id,
                audit::Action::SignInFailed,
                audit::Actor::default(),
                ip,
                Some(&email),
                serde_json::json!({}),
            )
            .await?;
        }
        return Err(wrong);
    }
    let Some(account) = account else {
        return Err(wrong);
    };
    lockout::record_success(&state, &email, ip).await?;
    let session = SessionId::new();
    let refresh = refresh::generate(TokenKind::Refresh);
    db::accounts::insert_refresh_token(
        &state.db,
        account.tenant_id,
        account.id,
        session,
        &refresh.hash,
        state.settings.auth.refresh_ttl_secs,
    )
    .await?;
    let access = state
        .jwt
        .issue(account.id, account.tenant_id, account.role()?, session)?;
    let mut conn = state.db.acquire().await?;
    audit::record(
        &mut conn,
        account.tenant_id,
        audit::Action::SignIn,
        audit::Actor::user(account.id),
        ip,
        Some(&email),
        serde_json::json!({"session": session}),
    )
    .await?;
    tracing::info!(tenant_id = %account.tenant_id, user_id = %account.id, "logged in");
    Ok(Json(token_out(&state, access, refresh.token)))
}

/// Trade the session's refresh token for a new access token and a new
/// refresh token. The old refresh token is used up; presenting it again
/// revokes the whole session (every refresh and access token of it).
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshIn,
    responses(
        (status = 200, description = "a new access token and a new refresh token; the old refresh token is used up", body = TokenOut),
        (status = 400, description = "the body is not JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "unknown, expired, revoked or reused refresh token", body = Problem, content_type = PROBLEM),
        (status = 422, description = "refresh_token is missing", body = Problem, content_type = PROBLEM),
    ))]
async fn refresh_session(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshIn>,
) -> Result<Json<TokenOut>, ApiError> {
    let invalid = ApiError::Unauthorized("invalid, expired or revoked refresh token");
    let Some(hash) = refresh::hash_of(TokenKind::Refresh, body.refresh_token.expose().trim())
    else {
        return Err(invalid);
    };
    let next = refresh::generate(TokenKind::Refresh);
    let ttl = state.settings.auth.refresh_ttl_secs;
    match db::accounts::rotate_refresh_token(&state.db, &hash, &next.hash, ttl).await? {
        Rotation::Rotated {
            tenant_id,
            user_id,
            session,
            role,
        } => {
            let access = state.jwt.issue(user_id, tenant_id, role, session)?;
            Ok(Json(token_out(&state, access, next.token)))
        }
        Rotation::Reused { tenant_id, session } => {
            tracing::warn!(%tenant_id, %session, "refresh token reused; session revoked");
            state.principals.changed(Changed::Session(session));
            state
                .auth_cache
                .remember_revoked(None, session, state.settings.auth.access_ttl_secs)
                .await;
            Err(ApiError::Unauthorized(
                "this refresh token was already used; the session is revoked",
            ))
        }
        Rotation::Invalid => Err(invalid),
    }
}

/// End the session of the access token sent: the token itself stops
/// working at once (its `jti` is revoked until it expires), and so do the
/// session's refresh token and every other access token issued from it.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    security(("api_key" = [])),
    responses(
        (status = 204, description = "the session is over"),
        (status = 401, description = "missing, invalid or already revoked access token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "an API key has no session to end", body = Problem, content_type = PROBLEM),
    ))]
async fn logout(State(state): State<AppState>, scope: TenantScope) -> Result<StatusCode, ApiError> {
    let Some(user) = scope.user else {
        return Err(ApiError::Forbidden(
            "logout ends a user session; send the access token, not an API key".to_owned(),
        ));
    };
    let expires_at =
        chrono::DateTime::from_timestamp(user.expires_at, 0).unwrap_or_else(chrono::Utc::now);
    db::accounts::revoke_session(
        &state.db,
        scope.tenant_id,
        user.session,
        user.jti,
        expires_at,
    )
    .await?;
    // Every process hears of it by NOTIFY; this one applies it now.
    state.principals.changed(Changed::Session(user.session));
    state
        .auth_cache
        .remember_revoked(
            Some(user.jti),
            user.session,
            state.settings.auth.access_ttl_secs,
        )
        .await;
    tracing::info!(user_id = %user.user_id, "logged out");
    Ok(StatusCode::NO_CONTENT)
}

/// Only owners hand out the owner role; admins manage the roles below.
pub fn may_grant(actor: Role, role: Role) -> bool {
    actor.at_least(Role::Admin) && (role != Role::Owner || actor == Role::Owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_or_refused() {
        assert_eq!(
            normalize_email("email", "  Ada@Example.COM ").ok(),
            Some("ada@example.com".to_owned())
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "a@b@c.com",
            "ada@.com",
        ] {
            assert!(normalize_email("email", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_owners_grant_ownership() {
        assert!(may_grant(Role::Owner, Role::Owner));
        assert!(!may_grant(Role::Admin, Role::Owner));
        assert!(may_grant(Role::Admin, Role::Admin) && may_grant(Role::Admin, Role::Viewer));
        assert!(!may_grant(Role::Member, Role::Viewer));
    }
}
