//! Email verification (issue 20). Registration mails a link with a
//! single-use `cev_` token (valid `auth.verify_email_ttl_secs`, 48 h);
//! following it verifies the address and sends the welcome mail. Until then
//! the account signs in and submits jobs but may not upgrade a plan, invite
//! or add webhook endpoints (`crate::auth::verified`). A new link can be
//! asked for while logged in; the previous one stops working.

use crate::audit::{self, ClientIp};
use crate::auth::TenantScope;
use crate::auth::refresh::{self, TokenKind};
use crate::db::{self, account_tokens, account_tokens::Purpose};
use crate::error::{ApiError, Problem};
use crate::json::ApiJson;
use crate::mailing;
use crate::responses::MailAccepted;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use catalytic_shared::Secret;
use catalytic_shared::mail::Mail;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const PROBLEM: &str = "application/problem+json";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(verify_email))
        .routes(routes!(resend_verification))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailIn {
    /// `cev_...`, from the mailed link.
    #[schema(value_type = String)]
    pub token: Secret<String>,
}

/// Verify an email address with the token mailed to it.
#[utoipa::path(post, path = "/v1/auth/verify-email", tag = "auth", request_body = VerifyEmailIn,
    responses(
        (status = 204, description = "the address is verified"),
        (status = 400, description = "the body is not JSON", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`token` unknown, expired or already used", body = Problem, content_type = PROBLEM),
        (status = 429, description = "too many requests from this address", body = Problem, content_type = PROBLEM),
    ))]
async fn verify_email(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(body): ApiJson<VerifyEmailIn>,
) -> Result<StatusCode, ApiError> {
    let bad_token = || ApiError::field("token", "unknown, expired or already used");
    let hash = refresh::hash_of(TokenKind::VerifyEmail, body.token.expose().trim())
        .ok_or_else(bad_token)?;
    let mut tx = state.db.begin().await?;
    let user = account_tokens::redeem(&mut tx, Purpose::VerifyEmail, &hash)
        .await?
        .ok_or_else(bad_token)?;
    if account_tokens::mark_verified(&mut tx, user.id).await? {
        let (tenant_name, _) = db::accounts::tenant_summary(&mut *tx, user.tenant_id)
            .await?
            .ok_or(ApiError::NotFound("tenant"))?;
        mailing::queue(
            &mut tx,
            Some(user.tenant_id),
            &user.email,
            &Mail::Welcome { tenant_name },
        )
        .await?;
        audit::record(
            &mut tx,
            user.tenant_id,
            audit::Action::EmailVerified,
            audit::Actor::user(user.id),
            ip,
            Some(&user.email),
            serde_json::json!({}),
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(user_id = %user.id, "email verified");
    Ok(StatusCode::NO_CONTENT)
}

/// Mail a new verification link to the logged-in user (the previous link
/// stops working). At most five an hour; past that nothing more is sent.
#[utoipa::path(post, path = "/v1/auth/verify-email/resend", tag = "auth",
    security(("api_key" = [])),
    responses(
        (status = 202, description = "a new link is on its way", body = MailAccepted),
        (status = 401, description = "missing or invalid access token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "an API key has no email to verify", body = Problem, content_type = PROBLEM),
        (status = 409, description = "the address is verified already", body = Problem, content_type = PROBLEM),
    ))]
async fn resend_verification(
    State(state): State<AppState>,
    scope: TenantScope,
) -> Result<(StatusCode, Json<MailAccepted>), ApiError> {
    let Some(session) = scope.user else {
        return Err(ApiError::Forbidden(
            "an API key has no email; send the user's access token".to_owned(),
        ));
    };
    let mut tx = state.db.begin().await?;
    let user = account_tokens::user_by_id(&mut tx, scope.tenant_id, session.user_id)
        .await?
        .ok_or(ApiError::Unauthorized(
            "this access token's user no longer exists",
        ))?;
    if user.verified {
        return Err(ApiError::Conflict(
            "this email address is verified already".to_owned(),
        ));
    }
    mailing::verification(&mut tx, &state.settings, &user).await?;
    tx.commit().await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(MailAccepted {
            message: format!(
                "A new verification link is on its way to {}; earlier links no longer work.",
                user.email
            ),
        }),
    ))
}
