//! The tenant's audit log (issue 20): who did what to the account, from
//! which address and when, newest first, filtered by a family of actions
//! and paged by cursor. Through `GET /v1/audit-log`, which needs the admin
//! role: anyone else sees the API's 403.

use super::backend::{Backend, with_query};
use super::layout::{Nav, page, tenant_error, when};
use super::session::TenantSession;
use crate::audit::Action;
use crate::state::AppState;
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new().route("/dashboard/audit-log", get(show_audit_log))
}

/// Records a page shows.
const PAGE_SIZE: &str = "50";

#[derive(Deserialize)]
pub struct ListQuery {
    action: Option<String>,
    cursor: Option<String>,
}

// The shape of `GET /v1/audit-log` answers (the API's own types only
// serialise).

#[derive(Deserialize)]
struct AuditPage {
    items: Vec<Record>,
    next_cursor: Option<uuid::Uuid>,
}

#[derive(Deserialize)]
struct Record {
    id: uuid::Uuid,
    at: DateTime<Utc>,
    action: String,
    actor_key_id: Option<uuid::Uuid>,
    actor_email: Option<String>,
    ip: Option<String>,
    target: Option<String>,
    details: Value,
}

/// The families of actions (`auth.`, `user.`, …), in the order the API
/// lists its actions: taken from them, so a new family shows up here.
fn families() -> Vec<&'static str> {
    let mut families: Vec<&'static str> = Vec::new();
    for action in Action::ALL {
        let name = action.as_str();
        let family = name.find('.').map_or(name, |dot| &name[..=dot]);
        if !families.contains(&family) {
            families.push(family);
        }
    }
    families
}

async fn show_audit_log(
    session: TenantSession,
    Extension(backend): Extension<Backend>,
    Query(query): Query<ListQuery>,
) -> Result<Response, Response> {
    let action = query.action.filter(|a| !a.is_empty());
    let mut pairs = vec![("limit", PAGE_SIZE)];
    if let Some(action) = &action {
        pairs.push(("action", action));
    }
    if let Some(cursor) = &query.cursor {
        pairs.push(("cursor", cursor));
    }
    let records: AuditPage = backend
        .get(&with_query("/v1/audit-log", &pairs), &session.token)
        .await
        .into_result()
        .map_err(tenant_error)?;
    let body = html! {
        form.filters method="get" action="/dashboard/audit-log" {
            label { "Actions "
                select name="action" {
                    option value="" selected[action.is_none()] { "all" }
                    @for family in families() {
                        option value=(family) selected[action.as_deref() == Some(family)] { (family) "*" }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
        @if records.items.is_empty() {
            p.empty { "No records" @if let Some(a) = &action { " for " code { (a) } } "." }
        } @else {
            table #audit-log {
                thead { tr { th { "Time" } th { "Action" } th { "Actor" } th { "IP" } th { "Target" } th { "Details" } } }
                tbody { @for r in &records.items { (record_row(r)) } }
            }
        }
        @if let Some(cursor) = records.next_cursor {
            p { a #older href=(older_link(action.as_deref(), cursor)) { "Older records →" } }
        }
        p.note { "Records are kept for a year and can never be changed." }
    };
    Ok(page(
        "Audit log",
        Nav::Tenant {
            csrf: &session.csrf,
        },
        body,
    )
    .into_response())
}

fn record_row(r: &Record) -> Markup {
    // An empty object says nothing: left blank rather than `{}`.
    let details = match &r.details {
        Value::Null => String::new(),
        Value::Object(map) if map.is_empty() => String::new(),
        other => other.to_string(),
    };
    html! {
        tr data-record=(r.id) data-action=(r.action) {
            td { (when(&r.at)) }
            td { code { (r.action) } }
            td.wrap {
                @match (&r.actor_email, r.actor_key_id) {
                    (Some(email), _) => { (email) }
                    (None, Some(key)) => { span title=(key) { "API key" } }
                    (None, None) => { "—" }
                }
            }
            td { (r.ip.as_deref().unwrap_or("—")) }
            td.wrap { (r.target.as_deref().unwrap_or_default()) }
            td.wrap { @if !details.is_empty() { code { (details) } } }
        }
    }
}

/// The next (older) page, with the same filter.
fn older_link(action: Option<&str>, cursor: uuid::Uuid) -> String {
    let cursor = cursor.to_string();
    let mut pairs = vec![("cursor", cursor.as_str())];
    if let Some(action) = action {
        pairs.push(("action", action));
    }
    with_query("/dashboard/audit-log", &pairs)
}

#[cfg(test)]
mod tests {
    #[test]
    fn families_are_the_action_prefixes_once_each() {
        let families = super::families();
        for family in ["auth.", "user.", "api_key.", "webhook_endpoint.", "tenant."] {
            assert!(families.contains(&family), "{family} in {families:?}");
        }
        let mut unique = families.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), families.len(), "{families:?}");
        assert!(families.iter().all(|f| f.ends_with('.')), "{families:?}");
    }

    #[test]
    fn the_older_link_keeps_the_filter() {
        let cursor = uuid::Uuid::nil();
        assert_eq!(
            super::older_link(Some("user."), cursor),
            format!("/dashboard/audit-log?cursor={cursor}&action=user.")
        );
        assert_eq!(
            super::older_link(None, cursor),
            format!("/dashboard/audit-log?cursor={cursor}")
        );
    }
}
