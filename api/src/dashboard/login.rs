//! Logging in and out: tenant users with email and password (through
//! `POST /v1/auth/login`, so lockouts and per-email limits are the API's),
//! operators with an operator key (checked by calling an admin route).

use super::backend::{Backend, Refusal};
use super::layout::{Nav, page, refusal_box};
use super::session::{
    CsrfForm, OPERATOR_COOKIE, OperatorSession, TENANT_COOKIE, TenantForm, check_csrf,
    check_login_csrf, expired, login_csrf, session_cookie,
};
use crate::responses::TokenOut;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/login", get(login_page).post(log_in))
        .route("/dashboard/logout", post(log_out))
        .route(
            "/dashboard/ops/login",
            get(operator_login_page).post(operator_log_in),
        )
        .route("/dashboard/ops/logout", post(operator_log_out))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub struct OperatorLoginForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    csrf: String,
}

async fn login_page(State(state): State<AppState>, jar: CookieJar) -> Response {
    let (jar, csrf) = login_csrf(&state, jar);
    (
        jar,
        page("Log in", Nav::Anonymous, login_form(&csrf, "", None)),
    )
        .into_response()
}

fn login_form(csrf: &str, email: &str, refusal: Option<&Refusal>) -> Markup {
    html! {
        @if let Some(refusal) = refusal { (refusal_box(refusal)) }
        form.card method="post" action="/dashboard/login" {
            input type="hidden" name="csrf" value=(csrf);
            label { "Email" input type="email" name="email" value=(email) required autocomplete="username"; }
            label { "Password" input type="password" name="password" required autocomplete="current-password"; }
            button type="submit" { "Log in" }
        }
        p.note {
            a href="/dashboard/forgot-password" { "Forgot your password?" }
            " · "
            a href="/dashboard/register" { "Create an account" }
        }
    }
}

async fn log_in(
    State(state): State<AppState>,
    Extension(backend): Extension<Backend>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, Response> {
    check_login_csrf(&state, &headers, &jar, &form.csrf)?;
    let body = serde_json::json!({"email": form.email, "password": form.password});
    let answer = backend.post("/v1/auth/login", None, Some(&body)).await;
    match answer.into_result::<TokenOut>() {
        Ok(tokens) => {
            let jar = jar.add(session_cookie(&state, TENANT_COOKIE, tokens.access_token));
            Ok((jar, Redirect::to("/dashboard/jobs")).into_response())
        }
        Err(refusal) => {
            let (jar, csrf) = login_csrf(&state, jar);
            let form = login_form(&csrf, &form.email, Some(&refusal));
            Err((refusal.status, jar, page("Log in", Nav::Anonymous, form)).into_response())
        }
    }
}

async fn log_out(
    Extension(backend): Extension<Backend>,
    jar: CookieJar,
    TenantForm { session, .. }: TenantForm<CsrfForm>,
) -> Result<Response, Response> {
    // Ends the session in the API too (the token is revoked, not just
    // forgotten). A failure here still logs the browser out.
    let answer = backend
        .post("/v1/auth/logout", Some(&session.token), None)
        .await;
    if !answer.status.is_success() {
        tracing::warn!(status = %answer.status, "dashboard logout: the API did not end the session");
    }
    let jar = jar.add(expired(TENANT_COOKIE));
    Ok((jar, Redirect::to("/dashboard/login")).into_response())
}

async fn operator_login_page(State(state): State<AppState>, jar: CookieJar) -> Response {
    let (jar, csrf) = login_csrf(&state, jar);
    (
        jar,
        page("Operator login", Nav::Anonymous, operator_form(&csrf, None)),
    )
        .into_response()
}

fn operator_form(csrf: &str, refusal: Option<&Refusal>) -> Markup {
    html! {
        @if let Some(refusal) = refusal { (refusal_box(refusal)) }
        form.card method="post" action="/dashboard/ops/login" {
            input type="hidden" name="csrf" value=(csrf);
            label {
                "Operator key (from catalytic-api admin create-operator-key)"
                input type="password" name="key" required autocomplete="off" placeholder="clo_…";
            }
            button type="submit" { "Log in" }
        }
    }
}

async fn operator_log_in(
    State(state): State<AppState>,
    Extension(backend): Extension<Backend>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<OperatorLoginForm>,
) -> Result<Response, Response> {
    check_login_csrf(&state, &headers, &jar, &form.csrf)?;
    let key = form.key.trim().to_owned();
    // The API is the judge of the key: any admin read will do.
    let answer = backend.get("/v1/admin/workers", &key).await;
    if answer.status.is_success() {
        let jar = jar.add(session_cookie(&state, OPERATOR_COOKIE, key));
        return Ok((jar, Redirect::to("/dashboard/ops")).into_response());
    }
    let refusal = Refusal {
        status: StatusCode::UNAUTHORIZED,
        detail: "not a valid operator key".to_owned(),
        fields: Vec::new(),
    };
    let (jar, csrf) = login_csrf(&state, jar);
    let form = operator_form(&csrf, Some(&refusal));
    Err((
        StatusCode::UNAUTHORIZED,
        jar,
        page("Operator login", Nav::Anonymous, form),
    )
        .into_response())
}

async fn operator_log_out(
    State(state): State<AppState>,
    session: OperatorSession,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Response> {
    check_csrf(&state, &headers, &session.key, &form.csrf)?;
    let jar = jar.add(expired(OPERATOR_COOKIE));
    Ok((jar, Redirect::to("/dashboard/ops/login")).into_response())
}
