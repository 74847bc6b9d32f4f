//! `GET /v1/audit-log` (issue 20): the tenant's audit log for its admins,
//! newest first, in cursor pages, filtered by action (or a family such as
//! `user.`), actor and time. Read-only: there is no route that edits or
//! deletes a record (crate::audit).

use crate::audit::Action;
use crate::auth::TenantScope;
use crate::db::audit::{self, EventRow, Filter};
use crate::error::{ApiError, Problem};
use crate::pagination::PageQuery;
use crate::query::ApiQuery;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use catalytic_shared::tenant::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const PROBLEM: &str = "application/problem+json";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit_log))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// 1–100, default 100.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<uuid::Uuid>,
    /// An action (`user.role_changed`) or a family ending in a dot (`user.`).
    pub action: Option<String>,
    /// Only what this user did.
    pub actor_user_id: Option<uuid::Uuid>,
    /// RFC 3339; records at or after it.
    pub since: Option<DateTime<Utc>>,
    /// RFC 3339; records before it.
    pub until: Option<DateTime<Utc>>,
}

/// One record.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventOut {
    pub id: uuid::Uuid,
    pub at: DateTime<Utc>,
    /// E.g. `auth.sign_in`, `user.role_changed`, `api_key.created`,
    /// `webhook_endpoint.deleted`, `tenant.plan_changed`.
    pub action: String,
    /// The user who acted (absent for an API key, a failed sign-in, or the
    /// system).
    pub actor_user_id: Option<uuid::Uuid>,
    /// The API key that acted.
    pub actor_key_id: Option<uuid::Uuid>,
    /// The acting user's email when the record was written.
    pub actor_email: Option<String>,
    /// The client's address, where the request carried one.
    pub ip: Option<String>,
    /// What was acted on: an email, a key or endpoint id, a plan.
    pub target: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEventOut>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<uuid::Uuid>,
}

impl From<EventRow> for AuditEventOut {
    fn from(r: EventRow) -> Self {
        AuditEventOut {
            id: r.id,
            at: r.at,
            action: r.action,
            actor_user_id: r.actor_user_id,
            actor_key_id: r.actor_key_id,
            actor_email: r.actor_email,
            ip: r.ip,
            target: r.target,
            details: r.details,
        }
    }
}

/// The tenant's audit log, newest first (admins). Records are kept one
/// year and can never be changed.
#[utoipa::path(get, path = "/v1/audit-log", tag = "tenant", params(AuditQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "one page of records, newest first", body = AuditPage),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "needs the admin role", body = Problem, content_type = PROBLEM),
        (status = 422, description = "a bad parameter, named: `limit`, `cursor`, `action`, `actor_user_id`, `since` or `until`", body = Problem, content_type = PROBLEM),
    ))]
async fn list_audit_log(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    scope.require(Role::Admin)?;
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor.map(|c| c.to_string()),
    }
    .parse::<uuid::Uuid>()?;
    if let Some(action) = &query.action
        && !Action::filter_matches_any(action)
    {
        let known: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        return Err(ApiError::field(
            "action",
            format!(
                "names no action; one of {}, or a family such as `user.`",
                known.join(", ")
            ),
        ));
    }
    if let (Some(since), Some(until)) = (query.since, query.until)
        && since >= until
    {
        return Err(ApiError::field("until", "must be after `since`"));
    }
    let filter = Filter {
        action: query.action,
        actor_user: query.actor_user_id,
        since: query.since,
        until: query.until,
    };
    let mut conn = state.db.acquire().await?;
    let mut rows = audit::page(
        &mut conn,
        scope.tenant_id,
        &filter,
        page.after,
        page.fetch(),
    )
    .await?;
    let next_cursor = page.finish(&mut rows, |r| r.id);
    Ok(Json(AuditPage {
        items: rows.into_iter().map(AuditEventOut::from).collect(),
        next_cursor,
    }))
}
