//! Pages for people without a session (issue 20): create an account (a new
//! tenant and its owner), join a tenant from an invitation link, and verify
//! an email address from the mailed link. They call `POST /v1/auth/register`
//! and `POST /v1/auth/verify-email`, so the rules and the answers are the
//! API's: a registration is answered the same whether or not the address
//! had an account. Their forms carry the login page's CSRF token (bound to
//! the browser's pre-login nonce).
//!
//! The verification link opens a page with a button instead of verifying
//! on the GET: mail scanners and link previews follow links, and must not
//! spend the token.

use super::backend::{Backend, Refusal};
use super::layout::{Nav, page, refusal_box};
use super::session::{TENANT_LOGIN, check_login_csrf, login_csrf};
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
use serde_json::{Map, Value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/register", get(register_page).post(register))
        .route("/dashboard/join", get(join_page).post(join))
        .route("/dashboard/verify-email", get(verify_page).post(verify))
}

/// The register and join forms (`invitation` is the join form's only).
#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    tenant_name: String,
    #[serde(default)]
    invitation: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub struct InvitationQuery {
    #[serde(default)]
    invitation: String,
}

/// A mailed link's token, in the query of its page and in its form.
#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
}

async fn register_page(State(state): State<AppState>, jar: CookieJar) -> Response {
    let (jar, csrf) = login_csrf(&state, jar);
    let form = register_form(&csrf, "", "", None);
    (jar, page("Create an account", Nav::Anonymous, form)).into_response()
}

fn register_form(csrf: &str, email: &str, tenant_name: &str, refusal: Option<&Refusal>) -> Markup {
    html! {
        @if let Some(refusal) = refusal { (refusal_box(refusal)) }
        form.card #register-form method="post" action="/dashboard/register" {
            input type="hidden" name="csrf" value=(csrf);
            label { "Email" input type="email" name="email" value=(email) required autocomplete="username"; }
            label {
                "Password (8 to 128 characters, hard to guess)"
                input type="password" name="password" required autocomplete="new-password";
            }
            label {
                "Tenant name (your team or company; your email if left empty)"
                input type="text" name="tenant_name" value=(tenant_name) autocomplete="organization";
            }
            button type="submit" { "Create account" }
        }
        p.note { "Invited to an existing tenant? Use the link in the invitation mail instead. "
            a href=(TENANT_LOGIN) { "Log in" } }
    }
}

async fn join_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<InvitationQuery>,
) -> Response {
    let (jar, csrf) = login_csrf(&state, jar);
    let form = join_form(&csrf, query.invitation.trim(), "", None);
    (jar, page("Join your team", Nav::Anonymous, form)).into_response()
}

/// The invitation token rides in a hidden field when the link carried it;
/// without it (a link cut short) the form asks for it.
fn join_form(csrf: &str, invitation: &str, email: &str, refusal: Option<&Refusal>) -> Markup {
    html! {
        @if let Some(refusal) = refusal { (refusal_box(refusal)) }
        form.card #join-form method="post" action="/dashboard/join" {
            input type="hidden" name="csrf" value=(csrf);
            @if invitation.is_empty() {
                label {
                    "Invitation token (cli_…, from the invitation mail)"
                    input type="text" name="invitation" required autocomplete="off";
                }
            } @else {
                input type="hidden" name="invitation" value=(invitation);
            }
            label {
                "Email (the address the invitation was sent to)"
                input type="email" name="email" value=(email) required autocomplete="username";
            }
            label {
                "Password (8 to 128 characters, hard to guess)"
                input type="password" name="password" required autocomplete="new-password";
            }
            button type="submit" { "Join" }
        }
    }
}

async fn register(
    State(state): State<AppState>,
    Extension(backend): Extension<Backend>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<AccountForm>,
) -> Result<Response, Response> {
    check_login_csrf(&state, &headers, &jar, &form.csrf)?;
    let mut body = Map::new();
    body.insert("email".to_owned(), Value::from(form.email.as_str()));
    body.insert("password".to_owned(), Value::from(form.password.as_str()));
    // Left empty, the API names the tenant after the email.
    if !form.tenant_name.trim().is_empty() {
        body.insert(
            "tenant_name".to_owned(),
            Value::from(form.tenant_name.as_str()),
        );
    }
    match call_register(&backend, body).await {
        Ok((status, accepted)) => Ok(accepted_page(status, &accepted)),
        Err(refusal) => {
            let (jar, csrf) = login_csrf(&state, jar);
            let body = register_form(&csrf, &form.email, &form.tenant_name, Some(&refusal));
            Err((
                refusal.status,
                jar,
                page("Create an account", Nav::Anonymous, body),
            )
                .into_response())
        }
    }
}

async fn join(
    State(state): State<AppState>,
    Extension(backend): Extension<Backend>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<AccountForm>,
) -> Result<Response, Response> {
    check_login_csrf(&state, &headers, &jar, &form.csrf)?;
    let invitation = form.invitation.trim();
    let mut body = Map::new();
    body.insert("email".to_owned(), Value::from(form.email.as_str()));
    body.insert("password".to_owned(), Value::from(form.password.as_str()));
    body.insert("invitation_token".to_owned(), Value::from(invitation));
    match call_register(&backend, body).await {
        Ok((status, accepted)) => Ok(accepted_page(status, &accepted)),
        Err(refusal) => {
            let (jar, csrf) = login_csrf(&state, jar);
            let body = join_form(&csrf, invitation, &form.email, Some(&refusal));
            Err((
                refusal.status,
                jar,
                page("Join your team", Nav::Anonymous, body),
            )
                .into_response())
        }
    }
}

async fn call_register(
    backend: &Backend,
    body: Map<String, Value>,
) -> Result<(StatusCode, MailAccepted), Refusal> {
    let answer = backend
        .post("/v1/auth/register", None, Some(&Value::Object(body)))
        .await;
    let status = answer.status;
    answer.into_result().map(|accepted| (status, accepted))
}

/// The API's answer to a registration: the same for a new address and for
/// one that had an account, so the page cannot tell them apart either.
fn accepted_page(status: StatusCode, accepted: &MailAccepted) -> Response {
    let body = html! {
        div.notice #accepted { p { (accepted.message) } }
        p { a href=(TENANT_LOGIN) { "Log in" } }
    };
    (status, page("Check your inbox", Nav::Anonymous, body)).into_response()
}

async fn verify_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<TokenQuery>,
) -> Response {
    let token = query.token.trim();
    if token.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            page("Verify your email", Nav::Anonymous, no_token()),
        )
            .into_response();
    }
    let (jar, csrf) = login_csrf(&state, jar);
    let body = html! {
        form.card #verify-form method="post" action="/dashboard/verify-email" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="token" value=(token);
            p { "Confirm that this address is yours." }
            button type="submit" { "Verify my email" }
        }
    };
    (jar, page("Verify your email", Nav::Anonymous, body)).into_response()
}

fn no_token() -> Markup {
    html! {
        div.problem role="alert" {
            p { "This link has no token: open the whole link from the mail." }
        }
        (new_link_note())
    }
}

fn new_link_note() -> Markup {
    html! {
        p.note {
            "A link works once, for a limited time, and only the newest one works. Log in to ask for a new one on "
            a href="/dashboard/account" { "your account page" } "."
        }
    }
}

async fn verify(
    State(state): State<AppState>,
    Extension(backend): Extension<Backend>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<TokenForm>,
) -> Result<Response, Response> {
    check_login_csrf(&state, &headers, &jar, &form.csrf)?;
    let body = serde_json::json!({"token": form.token.trim()});
    let answer = backend
        .post("/v1/auth/verify-email", None, Some(&body))
        .await;
    match answer.into_empty() {
        Ok(()) => {
            let body = html! {
                div.notice #verified { p { "Your email address is verified." } }
                p { a href="/dashboard/account" { "Your account" } " · " a href=(TENANT_LOGIN) { "Log in" } }
            };
            Ok(page("Email verified", Nav::Anonymous, body).into_response())
        }
        Err(refusal) => {
            // A spent or unknown token stays so: no form to try it again.
            let body = html! { (refusal_box(&refusal)) (new_link_note()) };
            Err((
                refusal.status,
                page("Verify your email", Nav::Anonymous, body),
            )
                .into_response())
        }
    }
}
