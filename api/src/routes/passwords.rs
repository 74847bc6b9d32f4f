//! Passwords (issue 20): a forgotten one is reset through a link mailed to
//! the account's address; a known one is changed by giving it. Either way
//! every other session of the user ends at once (a reset ends them all),
//! the user is mailed that it happened, and the audit log records it.
//!
//! `POST /v1/auth/password-reset` answers 202 whether or not the email has
//! an account (no account oracle); at most `mailing::PER_HOUR` links go to
//! one account per hour. A reset link is single-use, valid
//! `auth.password_reset_ttl_secs` (1 h), and proves the mailbox: it
//! verifies the email and lifts a login lockout, so someone guessing at an
//! account cannot keep its owner out.

use crate::audit::{self, ClientIp};
use crate::auth::principals::Changed;
use crate::auth::refresh::{self, TokenKind};
use crate::auth::{TenantScope, lockout, password};
use crate::db::account_tokens::{self, Purpose};
use crate::error::{ApiError, Problem};
use crate::json::ApiJson;
use crate::mailing;
use crate::responses::MailAccepted;
use crate::routes::auth::normalize_email;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use catalytic_shared::Secret;
use catalytic_shared::ids::SessionId;
use catalytic_shared::mail::Mail;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const PROBLEM: &str = "application/problem+json";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_reset))
        .routes(routes!(confirm_reset))
        .routes(routes!(change_password))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequestIn {
    pub email: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmIn {
    /// `cpr_...`, from the mailed link.
    #[schema(value_type = String)]
    pub token: Secret<String>,
    /// The same rules as at registration.
    #[schema(value_type = String, format = Password)]
    pub new_password: Secret<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeIn {
    #[schema(value_type = String, format = Password)]
    pub current_password: Secret<String>,
    #[schema(value_type = String, format = Password)]
    pub new_password: Secret<String>,
}

/// Ask for a password-reset link. Always 202 for a plausible email: the
/// answer does not say whether the address has an account.
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "auth", request_body = ResetRequestIn,
    responses(
        (status = 202, description = "if the address has an account, a reset link is on its way", body = MailAccepted),
        (status = 400, description = "the body is not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`email` is not an email address", body = Problem, content_type = PROBLEM),
        (status = 429, description = "too many requests from this address", body = Problem, content_type = PROBLEM),
    ))]
async fn request_reset(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetRequestIn>,
) -> Result<(StatusCode, Json<MailAccepted>), ApiError> {
    let email = normalize_email("email", &body.email).map_err(|e| ApiError::Validation(vec![e]))?;
    let mut tx = state.db.begin().await?;
    if let Some(user) = account_tokens::user_by_email(&mut tx, &email).await? {
        mailing::password_reset(&mut tx, &state.settings, &user).await?;
    }
    tx.commit().await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(MailAccepted {
            message: "If this address has an account, a link to reset its password is on its \
                      way; it works once, within the hour."
                .to_owned(),
        }),
    ))
}

/// Set a new password with a mailed reset link. Every session of the user
/// ends; log in again with the new password.
#[utoipa::path(post, path = "/v1/auth/password-reset/confirm", tag = "auth", request_body = ResetConfirmIn,
    responses(
        (status = 204, description = "the password is changed and every session ended"),
        (status = 400, description = "the body is not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`token` unknown, expired or used, or `new_password` refused (why is said)", body = Problem, content_type = PROBLEM),
        (status = 429, description = "too many requests from this address", body = Problem, content_type = PROBLEM),
    ))]
async fn confirm_reset(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(body): ApiJson<ResetConfirmIn>,
) -> Result<StatusCode, ApiError> {
    let bad_token = || ApiError::field("token", "unknown, expired or already used");
    let hash = refresh::hash_of(TokenKind::PasswordReset, body.token.expose().trim())
        .ok_or_else(bad_token)?;
    // The password is checked before the token is spent: a refused password
    // leaves the link working.
    let mut tx = state.db.begin().await?;
    let Some(user) = account_tokens::redeem(&mut tx, Purpose::PasswordReset, &hash).await? else {
        return Err(bad_token());
    };
    password::check_new("new_password", body.new_password.expose(), &[&user.email])?;
    let new_hash = password::hash(body.new_password).await?;
    account_tokens::set_password(&mut tx, user.id, &new_hash).await?;
    let ended = account_tokens::revoke_sessions(&mut tx, user.id, None).await?;
    account_tokens::mark_verified(&mut tx, user.id).await?;
    account_tokens::clear_lockout(&mut tx, &user.email).await?;
    mailing::queue(
        &mut tx,
        Some(user.tenant_id),
        &user.email,
        &Mail::PasswordChanged {
            through_reset: true,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        user.tenant_id,
        audit::Action::PasswordReset,
        audit::Actor::user(user.id),
        ip,
        Some(&user.email),
        serde_json::json!({"sessions_ended": ended.len()}),
    )
    .await?;
    tx.commit().await?;
    lockout::forget_cached(&state, &user.email, ip).await;
    forget_sessions(&state, &ended);
    tracing::info!(user_id = %user.id, sessions_ended = ended.len(), "password reset");
    Ok(StatusCode::NO_CONTENT)
}

/// Change the password of the logged-in user, giving the current one.
/// Every other session of the user ends; this one goes on.
#[utoipa::path(post, path = "/v1/auth/password", tag = "auth", request_body = PasswordChangeIn,
    security(("api_key" = [])),
    responses(
        (status = 204, description = "changed; every other session of the user ended"),
        (status = 400, description = "the body is not JSON", body = Problem, content_type = PROBLEM),
        (status = 401, description = "missing or invalid access token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "an API key has no password to change", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`current_password` wrong, or `new_password` refused (why is said)", body = Problem, content_type = PROBLEM),
        (status = 429, description = "locked after repeated wrong passwords", body = Problem, content_type = PROBLEM),
    ))]
async fn change_password(
    State(state): State<AppState>,
    scope: TenantScope,
    ip: ClientIp,
    ApiJson(body): ApiJson<PasswordChangeIn>,
) -> Result<StatusCode, ApiError> {
    let Some(session) = scope.user else {
        return Err(ApiError::Forbidden(
            "a password belongs to a user; send the user's access token, not an API key".to_owned(),
        ));
    };
    let mut tx = state.db.begin().await?;
    let user = account_tokens::user_by_id(&mut tx, scope.tenant_id, session.user_id)
        .await?
        .ok_or(ApiError::Unauthorized(
            "this access token's user no longer exists",
        ))?;
    // Guessing the current password here counts as guessing at login.
    lockout::ensure_unlocked(&state, &user.email, ip).await?;
    let stored = account_tokens::password_hash(&mut tx, user.id).await?;
    if !password::verify(body.current_password, stored).await? {
        lockout::record_failure(&state, &user.email, ip).await?;
        return Err(ApiError::field(
            "current_password",
            "is not the current password",
        ));
    }
    password::check_new("new_password", body.new_password.expose(), &[&user.email])?;
    let new_hash = password::hash(body.new_password).await?;
    account_tokens::set_password(&mut tx, user.id, &new_hash).await?;
    let ended = account_tokens::revoke_sessions(&mut tx, user.id, Some(session.session)).await?;
    mailing::queue(
        &mut tx,
        Some(user.tenant_id),
        &user.email,
        &Mail::PasswordChanged {
            through_reset: false,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        user.tenant_id,
        audit::Action::PasswordChanged,
        audit::Actor::user(user.id),
        ip,
        Some(&user.email),
        serde_json::json!({"sessions_ended": ended.len()}),
    )
    .await?;
    tx.commit().await?;
    forget_sessions(&state, &ended);
    tracing::info!(user_id = %user.id, sessions_ended = ended.len(), "password changed");
    Ok(StatusCode::NO_CONTENT)
}

/// This process drops the ended sessions now; the others hear of them by
/// NOTIFY (migration 0016's trigger on `refresh_tokens`).
fn forget_sessions(state: &AppState, ended: &[SessionId]) {
    for session in ended {
        state.principals.changed(Changed::Session(*session));
    }
}
