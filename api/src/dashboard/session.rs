//! Dashboard sessions and CSRF.
//!
//! - A tenant user's session is their access token (a 15-minute JWT from
//!   `/v1/auth/login`) in the `catalytic_session` cookie; an operator's is
//!   their operator key in `catalytic_operator`. Both cookies are HttpOnly
//!   (no script reads them), SameSite=Strict (no other site's page sends
//!   them) and scoped to `/dashboard`; Secure when the api is behind TLS
//!   (`api.hsts`). The cookie's credential is sent as `Bearer` on every
//!   in-process API call, so the API checks it as for any client.
//! - Every form carries a CSRF token: HMAC-SHA256 under the server secret
//!   of the session's credential (or, before login, of a random nonce kept
//!   in the `catalytic_csrf` cookie). Another site can neither read it nor
//!   compute it; a POST without the right one is refused with 403.

use crate::auth::api_key::operator_prefix_of;
use crate::state::AppState;
use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use catalytic_shared::tenant::Role;
use serde::de::DeserializeOwned;

pub const TENANT_COOKIE: &str = "catalytic_session";
pub const OPERATOR_COOKIE: &str = "catalytic_operator";
pub const NONCE_COOKIE: &str = "catalytic_csrf";
const COOKIE_PATH: &str = "/dashboard";
/// Domain separation: these HMACs can never equal an API key's.
const CSRF_CONTEXT: &str = "dashboard-csrf:";

pub const TENANT_LOGIN: &str = "/dashboard/login";
pub const OPERATOR_LOGIN: &str = "/dashboard/ops/login";

/// A logged-in tenant user.
pub struct TenantSession {
    /// The access token: the bearer of every API call of the page.
    pub token: String,
    /// The role the token was issued with: decides what the page offers
    /// (a viewer sees no submit form), never what is allowed: the API
    /// handlers check the user's current role on every call.
    pub role: Role,
    /// The CSRF token for this session's forms.
    pub csrf: String,
}

/// A form that carries nothing but its CSRF token (logout, cancel, test).
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// A form with a `csrf` field.
pub trait CarriesCsrf {
    fn csrf(&self) -> &str;
}

impl CarriesCsrf for CsrfForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// A tenant's form POST whose CSRF token was checked: every tenant form
/// handler takes one, so none can forget the check.
pub struct TenantForm<T> {
    pub session: TenantSession,
    pub form: T,
}

impl<T> FromRequest<AppState> for TenantForm<T>
where
    T: DeserializeOwned + CarriesCsrf + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let session = TenantSession::from_request_parts(&mut parts, state).await?;
        let headers = parts.headers.clone();
        let Form(form) = Form::<T>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        check_csrf(state, &headers, &session.token, form.csrf())?;
        Ok(TenantForm { session, form })
    }
}

/// A logged-in operator.
pub struct OperatorSession {
    /// The operator key: checked by the API on every call.
    pub key: String,
    pub csrf: String,
}

impl TenantSession {
    pub fn may_write(&self) -> bool {
        self.role.at_least(Role::Member)
    }

    pub fn may_manage_webhooks(&self) -> bool {
        self.role.at_least(Role::Admin)
    }
}

impl FromRequestParts<AppState> for TenantSession {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = cookie(parts, TENANT_COOKIE).ok_or_else(|| to_login(TENANT_LOGIN))?;
        // An expired or forged token: log in again. (Revocation is the API's
        // to check, on the page's calls.)
        let claims = state
            .jwt
            .verify(&token)
            .map_err(|_| relogin(TENANT_LOGIN, TENANT_COOKIE))?;
        Ok(TenantSession {
            csrf: csrf_token(state, &token),
            role: claims.role,
            token,
        })
    }
}

impl FromRequestParts<AppState> for OperatorSession {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let key = cookie(parts, OPERATOR_COOKIE)
            .filter(|k| operator_prefix_of(k).is_some())
            .ok_or_else(|| to_login(OPERATOR_LOGIN))?;
        Ok(OperatorSession {
            csrf: csrf_token(state, &key),
            key,
        })
    }
}

fn cookie(parts: &Parts, name: &str) -> Option<String> {
    CookieJar::from_headers(&parts.headers)
        .get(name)
        .map(|c| c.value().to_owned())
}

/// 303 to a login page.
pub fn to_login(login: &'static str) -> Response {
    Redirect::to(login).into_response()
}

/// 303 to a login page, dropping the session cookie that no longer works.
pub fn relogin(login: &'static str, cookie: &'static str) -> Response {
    (CookieJar::new().add(expired(cookie)), Redirect::to(login)).into_response()
}

/// A session cookie: HttpOnly, SameSite=Strict, `/dashboard` only, gone
/// when the browser closes (the access token inside expires sooner anyway).
pub fn session_cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .path(COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.api.hsts)
        .build()
}

/// A cookie that tells the browser to forget `name`.
pub fn expired(name: &'static str) -> Cookie<'static> {
    let mut cookie = Cookie::build((name, "")).path(COOKIE_PATH).build();
    cookie.make_removal();
    cookie
}

/// The CSRF token of forms bound to `binding` (a credential or a nonce).
pub fn csrf_token(state: &AppState, binding: &str) -> String {
    hex::encode(state.api_keys.hmac(&format!("{CSRF_CONTEXT}{binding}")))
}

/// A form without the right CSRF token: 403.
#[derive(Debug)]
pub struct CsrfRejected;

impl From<CsrfRejected> for Response {
    fn from(_: CsrfRejected) -> Self {
        (
            StatusCode::FORBIDDEN,
            "the form is stale or did not come from this dashboard; reload the page and try again",
        )
            .into_response()
    }
}

/// Whether a submitted form may act: the token matches its binding (in
/// constant time), and the browser does not say the request came from
/// another site.
pub fn check_csrf(
    state: &AppState,
    headers: &HeaderMap,
    binding: &str,
    submitted: &str,
) -> Result<(), CsrfRejected> {
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site");
    let valid = hex::decode(submitted).is_ok_and(|mac| {
        state
            .api_keys
            .verify(&format!("{CSRF_CONTEXT}{binding}"), &mac)
    });
    match valid && !cross_site {
        true => Ok(()),
        false => Err(CsrfRejected),
    }
}

/// A login page's CSRF token, bound to the browser's pre-login nonce
/// (made and set in the returned jar when the browser has none yet).
pub fn login_csrf(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    match jar.get(NONCE_COOKIE) {
        Some(c) if c.value().len() == 32 => {
            let csrf = csrf_token(state, c.value());
            (jar, csrf)
        }
        _ => {
            let nonce = hex::encode(rand::random::<[u8; 16]>());
            let csrf = csrf_token(state, &nonce);
            (jar.add(session_cookie(state, NONCE_COOKIE, nonce)), csrf)
        }
    }
}

/// `check_csrf` for a login form: bound to the pre-login nonce.
pub fn check_login_csrf(
    state: &AppState,
    headers: &HeaderMap,
    jar: &CookieJar,
    submitted: &str,
) -> Result<(), CsrfRejected> {
    let nonce = jar.get(NONCE_COOKIE).map(|c| c.value()).unwrap_or_default();
    check_csrf(state, headers, nonce, submitted)
}
