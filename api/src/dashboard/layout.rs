//! The page frame (head, navigation, logout form) and how refusals show:
//! a 401 from the API sends the browser back to its login page, anything
//! else renders an error page with the API's status and words.

use super::backend::Refusal;
use super::session::{OPERATOR_COOKIE, OPERATOR_LOGIN, TENANT_COOKIE, TENANT_LOGIN, relogin};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

/// Whose navigation a page shows.
pub enum Nav<'a> {
    /// Login pages.
    Anonymous,
    Tenant {
        csrf: &'a str,
    },
    Operator {
        csrf: &'a str,
    },
}

pub fn page(title: &str, nav: Nav<'_>, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · Catalytic" }
                    link rel="stylesheet" href="/dashboard/assets/dashboard.css";
                    script src="/dashboard/assets/dashboard.js" defer {}
                }
                body {
                    header {
                        span.brand { "Catalytic" }
                        nav { (navigation(&nav)) }
                    }
                    main {
                        h1 { (title) }
                        (body)
                    }
                }
            }
        }
        .into_string(),
    )
}

fn navigation(nav: &Nav<'_>) -> Markup {
    match nav {
        Nav::Anonymous => html! {
            a href=(TENANT_LOGIN) { "Tenant login" }
            a href=(OPERATOR_LOGIN) { "Operator login" }
            a href="/docs" { "API docs" }
        },
        Nav::Tenant { csrf } => html! {
            a href="/dashboard/jobs" { "Jobs" }
            a href="/dashboard/jobs/new" { "Submit" }
            a href="/dashboard/schedules" { "Schedules" }
            a href="/dashboard/concurrency-keys" { "Concurrency keys" }
            a href="/dashboard/webhooks" { "Webhooks" }
            a href="/dashboard/billing" { "Usage & invoices" }
            a href="/dashboard/audit-log" { "Audit log" }
            a href="/dashboard/account" { "Account" }
            a href="/docs" { "API docs" }
            (logout_form("/dashboard/logout", csrf))
        },
        Nav::Operator { csrf } => html! {
            a href="/dashboard/ops" { "Fleet" }
            a href="/docs" { "API docs" }
            (logout_form("/dashboard/ops/logout", csrf))
        },
    }
}

fn logout_form(action: &str, csrf: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            button.link type="submit" { "Log out" }
        }
    }
}

/// The API's refusal above a form: its detail and each invalid field.
pub fn refusal_box(refusal: &Refusal) -> Markup {
    html! {
        div.problem role="alert" {
            // A validation problem's detail repeats its fields: list them once.
            @if refusal.fields.is_empty() {
                p { (refusal.detail) }
            } @else {
                p { "The API refused the request:" }
                ul { @for field in &refusal.fields { li.field-error { (field) } } }
            }
        }
    }
}

/// A refusal on a tenant page, as a response.
pub fn tenant_error(refusal: Refusal) -> Response {
    error(refusal, Nav::Anonymous, TENANT_LOGIN, TENANT_COOKIE)
}

/// A refusal on an operator page, as a response.
pub fn operator_error(refusal: Refusal) -> Response {
    error(refusal, Nav::Anonymous, OPERATOR_LOGIN, OPERATOR_COOKIE)
}

fn error(refusal: Refusal, nav: Nav<'_>, login: &'static str, cookie: &'static str) -> Response {
    if refusal.status == StatusCode::UNAUTHORIZED {
        return relogin(login, cookie);
    }
    let title = refusal
        .status
        .canonical_reason()
        .unwrap_or("Error")
        .to_owned();
    let body = html! {
        (refusal_box(&refusal))
        p { a href="/dashboard" { "Back to the dashboard" } }
    };
    (refusal.status, page(&title, nav, body)).into_response()
}

/// An id from a page's path. Only a UUID goes on into an API path;
/// anything else names nothing: the same 404 as an unknown id.
pub fn path_uuid(raw: &str, what: &str) -> Result<uuid::Uuid, Refusal> {
    raw.parse().map_err(|_| Refusal::not_found(what))
}

/// Dates as people read them, in UTC.
pub fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub fn when_opt(at: &Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.as_ref().map(when).unwrap_or_default()
}
