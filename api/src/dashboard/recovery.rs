//! A forgotten password (issue 20): ask for a reset link by email, then
//! set a new password from the mailed link. Through
//! `POST /v1/auth/password-reset` (answered the same whether or not the
//! address has an account) and `POST /v1/auth/password-reset/confirm`.
//! The forms carry the login page's CSRF token (no session yet).
//!
//! The new password is typed twice and the two are compared here, before
//! the API is asked: a typo would otherwise become the password.

use super::backend::{Backend, Refusal};
use super::layout::{Nav, page, refusal_box};
use super::session::{TENANT_COOKIE, TENANT_LOGIN, check_login_csrf, expired, login_csrf};
use crate::responses::MailAccepted;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Form, Router};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/forgot-password", get(forgot_page).post(forgot))
        .route("/dashboard/reset-password", get(reset_page).post(reset))
}

const FORGOT: &str = "/dashboard/forgot-password";

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
    #[serde(default)]
    csrf: String,
}

async fn forgot_page(State(state): State<AppState>, jar: CookieJar) -> Response {
    let (jar, csrf) = login_csrf(&state, jar);
    let form = forgot_form(&csrf, "", None);
    (jar, page("Forgot your password?", Nav::Anonymous, form)).into_response()
}

fn forgot_form(csrf: &str, email: &str, refusal: Option<&Refusal>) -> Markup {
    html! {
        @if let Some(refusal) = refusal { (refusal_box(refusal)) }
        form.card #forgot-form method="post" action=(FORGOT) {
            input type="hidden" name="csrf" value=(csrf);
            p { "We will mail a link to set a new password to this address, if it has an account." }
            label { "Email" input type="email" name="email" value=(email) required autocomplete="username"; }
            button type="submit" { "Send the link" }
        }
        p.note { a href=(TENANT_LOGIN) { "Back to log in" } }
    }
}

async fn forgot(
    State(state): State<AppState>,
    Extension(backend): Extension<Backend>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<ForgotForm>,
) -> Result<Response, Response> {
    check_login_csrf(&state, &headers, &jar, &form.csrf)?;
    let body = serde_json::json!({"email": form.email});
    let answer = backend
        .post("/v1/auth/password-reset", None, Some(&body))
        .await;
    let status = answer.status;
    match answer.into_result::<MailAccepted>() {
        Ok(accepted) => {
            // The API's words, which do not say whether the address has an
            // account; nor does anything else on this page.
            let body = html! {
                div.notice #accepted { p { (accepted.message) } }
                p { a href=(TENANT_LOGIN) { "Back to log in" } }
            };
            Ok((status, page("Check your inbox", Nav::Anonymous, body)).into_response())
        }
        Err(refusal) => {
            let (jar, csrf) = login_csrf(&state, jar);
            let body = forgot_form(&csrf, &form.email, Some(&refusal));
            Err((
                refusal.status,
                jar,
                page("Forgot your password?", Nav::Anonymous, body),
            )
                .into_response())
        }
    }
}

async fn reset_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<TokenQuery>,
) -> Response {
    let token = query.token.trim();
    if token.is_empty() {
        let body = html! {
            div.problem role="alert" {
                p { "This link has no token: open the whole link from the mail." }
            }
            p.note { a href=(FORGOT) { "Ask for a new link" } }
        };
        return (
            StatusCode::BAD_REQUEST,
            page("Set a new password", Nav::Anonymous, body),
        )
            .into_response();
    }
    let (jar, csrf) = login_csrf(&state, jar);
    let form = reset_form(&csrf, token, None);
    (jar, page("Set a new password", Nav::Anonymous, form)).into_response()
}

fn reset_form(csrf: &str, token: &str, refusal: Option<&Refusal>) -> Markup {
    html! {
        @if let Some(refusal) = refusal { (refusal_box(refusal)) }
        form.card #reset-form method="post" action="/dashboard/reset-password" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="token" value=(token);
            label {
                "New password (8 to 128 characters, hard to guess)"
                input type="password" name="new_password" required autocomplete="new-password";
            }
            label {
                "New password again"
                input type="password" name="confirm_password" required autocomplete="new-password";
            }
            button type="submit" { "Set the password" }
        }
        p.note {
            "Setting it ends every session of your account. A link works once and soon expires; "
            a href=(FORGOT) { "ask for a new link" } " if this one is spent."
        }
    }
}

async fn reset(
    State(state): State<AppState>,
    Extension(backend): Extension<Backend>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<ResetForm>,
) -> Result<Response, Response> {
    check_login_csrf(&state, &headers, &jar, &form.csrf)?;
    let token = form.token.trim();
    let result = match form.new_password == form.confirm_password {
        // Refused here, the token is not spent: the form can be sent again.
        false => Err(Refusal::unprocessable(
            "The two new passwords differ: type the same one twice.",
        )),
        true => {
            let body = serde_json::json!({"token": token, "new_password": form.new_password});
            backend
                .post("/v1/auth/password-reset/confirm", None, Some(&body))
                .await
                .into_empty()
        }
    };
    match result {
        Ok(()) => {
            // Every session ended, this browser's too: its cookie is dead.
            let jar = jar.add(expired(TENANT_COOKIE));
            let body = html! {
                div.notice #password-set {
                    p { "Your password is set, and every session of your account has ended." }
                }
                p { a href=(TENANT_LOGIN) { "Log in with the new password" } }
            };
            Ok((jar, page("Password set", Nav::Anonymous, body)).into_response())
        }
        Err(refusal) => {
            let (jar, csrf) = login_csrf(&state, jar);
            let body = reset_form(&csrf, token, Some(&refusal));
            Err((
                refusal.status,
                jar,
                page("Set a new password", Nav::Anonymous, body),
            )
                .into_response())
        }
    }
}
