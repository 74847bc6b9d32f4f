//! The logged-in user's account (issue 20): their email and whether it is
//! verified (`GET /v1/me`), a new verification link on request
//! (`POST /v1/auth/verify-email/resend`), and changing the password
//! (`POST /v1/auth/password`, which ends the user's other sessions; this
//! one goes on). Any role may use it: it concerns the user, not the tenant.

use super::backend::{Backend, Refusal};
use super::layout::{Nav, page, refusal_box, tenant_error};
use super::session::{CarriesCsrf, CsrfForm, TenantForm, TenantSession};
use crate::responses::MailAccepted;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::{Markup, html};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/account", get(show_account))
        .route("/dashboard/account/password", post(change_password))
        .route("/dashboard/account/verify-email", post(resend_verification))
}

// The parts of `GET /v1/me` this page shows.

#[derive(Deserialize)]
struct Me {
    user: Option<User>,
    tenant: Tenant,
    role: String,
    plan: String,
}

#[derive(Deserialize)]
struct User {
    email: String,
    email_verified: bool,
}

#[derive(Deserialize)]
struct Tenant {
    name: String,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
    #[serde(default)]
    csrf: String,
}

impl CarriesCsrf for PasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// What a form's POST came to, shown in that form's section.
enum Said {
    Nothing,
    Verification(Result<String, Refusal>),
    Password(Result<String, Refusal>),
}

async fn show_account(
    session: TenantSession,
    Extension(backend): Extension<Backend>,
) -> Result<Response, Response> {
    account_page(&session, &backend, Said::Nothing, StatusCode::OK).await
}

async fn account_page(
    session: &TenantSession,
    backend: &Backend,
    said: Said,
    status: StatusCode,
) -> Result<Response, Response> {
    let me: Me = backend
        .get("/v1/me", &session.token)
        .await
        .into_result()
        .map_err(tenant_error)?;
    // A dashboard session is a user's access token, never an API key's.
    let user = me.user.ok_or_else(|| {
        tenant_error(Refusal {
            status: StatusCode::FORBIDDEN,
            detail: "this session belongs to no user".to_owned(),
            fields: Vec::new(),
        })
    })?;
    let body = html! {
        h2 { "Email" }
        dl.facts {
            dt { "Email" } dd #email { (user.email) }
            dt { "Verified" }
            dd #email-verified data-verified=(if user.email_verified { "true" } else { "false" }) {
                @if user.email_verified { "yes" } @else { "not yet" }
            }
            dt { "Role" } dd { (me.role) }
            dt { "Tenant" } dd { (me.tenant.name) " (plan " (me.plan) ")" }
        }
        @if let Said::Verification(said) = &said { (said_box(said)) }
        @if !user.email_verified {
            p.note {
                "Until your address is verified you cannot upgrade the plan, invite people or add "
                "webhook endpoints. Follow the link mailed to you, or ask for a new one (earlier "
                "links then stop working)."
            }
            form.inline #resend-form method="post" action="/dashboard/account/verify-email" {
                input type="hidden" name="csrf" value=(session.csrf);
                button type="submit" { "Send a new verification link" }
            }
        }
        h2 { "Change your password" }
        @if let Said::Password(said) = &said { (said_box(said)) }
        form.card #password-form method="post" action="/dashboard/account/password" {
            input type="hidden" name="csrf" value=(session.csrf);
            label { "Current password" input type="password" name="current_password" required autocomplete="current-password"; }
            label {
                "New password (8 to 128 characters, hard to guess)"
                input type="password" name="new_password" required autocomplete="new-password";
            }
            label { "New password again" input type="password" name="confirm_password" required autocomplete="new-password"; }
            button type="submit" { "Change password" }
        }
        p.note { "Your other sessions end when the password changes; this one goes on." }
    };
    Ok((
        status,
        page(
            "Account",
            Nav::Tenant {
                csrf: &session.csrf,
            },
            body,
        ),
    )
        .into_response())
}

fn said_box(said: &Result<String, Refusal>) -> Markup {
    match said {
        Ok(message) => html! { div.notice #done { p { (message) } } },
        Err(refusal) => refusal_box(refusal),
    }
}

async fn resend_verification(
    Extension(backend): Extension<Backend>,
    TenantForm { session, .. }: TenantForm<CsrfForm>,
) -> Result<Response, Response> {
    let answer = backend
        .post("/v1/auth/verify-email/resend", Some(&session.token), None)
        .await;
    match answer.into_result::<MailAccepted>() {
        Ok(accepted) => {
            let said = Said::Verification(Ok(accepted.message));
            account_page(&session, &backend, said, StatusCode::OK).await
        }
        Err(refusal) if refusal.status == StatusCode::UNAUTHORIZED => Err(tenant_error(refusal)),
        Err(refusal) => {
            let status = refusal.status;
            account_page(&session, &backend, Said::Verification(Err(refusal)), status).await
        }
    }
}

async fn change_password(
    Extension(backend): Extension<Backend>,
    TenantForm { session, form }: TenantForm<PasswordForm>,
) -> Result<Response, Response> {
    let result = match form.new_password == form.confirm_password {
        // Compared before the API is asked: a typo would become the password.
        false => Err(Refusal::unprocessable(
            "The two new passwords differ: type the same one twice.",
        )),
        true => {
            let body = serde_json::json!({
                "current_password": form.current_password,
                "new_password": form.new_password,
            });
            backend
                .post("/v1/auth/password", Some(&session.token), Some(&body))
                .await
                .into_empty()
        }
    };
    match result {
        Ok(()) => {
            let said = Said::Password(Ok(
                "Your password is changed. Your other sessions have ended; this one goes on."
                    .to_owned(),
            ));
            account_page(&session, &backend, said, StatusCode::OK).await
        }
        Err(refusal) if refusal.status == StatusCode::UNAUTHORIZED => Err(tenant_error(refusal)),
        Err(refusal) => {
            let status = refusal.status;
            account_page(&session, &backend, Said::Password(Err(refusal)), status).await
        }
    }
}
