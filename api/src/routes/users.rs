//! A tenant's users: who am I (`/v1/me`), the member list, invitations, role
//! changes and removal. Roles: owner > admin > member > viewer. Anyone in the
//! tenant reads; admins invite and manage members, admins and viewers; only
//! owners grant, change or remove the owner role; the last owner can be
//! neither demoted nor removed (409). Inviting takes a verified email;
//! invitations are mailed, and every change is in the audit log. Every query takes the caller's tenant:
//! another tenant's user is 404.

use crate::audit::{self, Action, Actor, ClientIp};
use crate::auth::principals::Changed;
use crate::auth::refresh::{self, TokenKind};
use crate::auth::{TenantScope, verified};
use crate::db::{self, account_tokens, accounts::UserChange};
use crate::error::{ApiError, Problem};
use crate::json::ApiJson;
use crate::mailing;
use crate::pagination::PageQuery;
use crate::query::ApiQuery;
use crate::responses::{TenantOut, UserOut};
use crate::routes::auth::{may_grant, normalize_email};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use catalytic_shared::db::DbError;
use catalytic_shared::ids::{InvitationId, UserId};
use catalytic_shared::mail::Mail;
use catalytic_shared::tenant::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const PROBLEM: &str = "application/problem+json";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me))
        .routes(routes!(list_users))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(create_invitation))
}

/// The caller: the user (absent for an API key), the tenant, the role the
/// caller acts with and the tenant's plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    pub user: Option<UserOut>,
    pub tenant: TenantOut,
    pub role: String,
    pub plan: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<uuid::Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationIn {
    pub email: String,
    /// The role the invitee gets: `owner` (owners only), `admin`, `member` or `viewer`.
    #[schema(value_type = String)]
    pub role: Role,
}

/// The invitation token is shown here once; the invitee registers with it.
#[derive(Serialize, ToSchema)]
pub struct InvitationOut {
    pub id: uuid::Uuid,
    pub email: String,
    pub role: String,
    /// `cli_` + 64 hex characters: `POST /v1/auth/register` with `invitation_token`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[schema(value_type = String)]
    pub role: Role,
}

fn user_id(raw: &str) -> Result<UserId, ApiError> {
    crate::error::path_id(raw, "user")
}

/// Who is calling: user, tenant, role and plan.
#[utoipa::path(get, path = "/v1/me", tag = "users", security(("api_key" = [])),
    responses(
        (status = 200, description = "the caller: user (absent for an API key), tenant, role and plan", body = MeOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = PROBLEM),
    ))]
async fn get_me(
    State(state): State<AppState>,
    scope: TenantScope,
) -> Result<Json<MeOut>, ApiError> {
    let user = match scope.user {
        None => None,
        Some(session) => {
            let row = db::accounts::get_user(&state.db, scope.tenant_id, session.user_id)
                .await?
                .ok_or(ApiError::Unauthorized(
                    "this access token's user no longer exists",
                ))?;
            Some(UserOut::try_from(row)?)
        }
    };
    let (name, plan) = db::accounts::tenant_summary(&state.db, scope.tenant_id)
        .await?
        .ok_or(ApiError::NotFound("tenant"))?;
    Ok(Json(MeOut {
        user,
        tenant: TenantOut {
            id: scope.tenant_id.as_uuid(),
            name,
            plan: plan.as_str().to_owned(),
        },
        role: scope.role.as_str().to_owned(),
        plan: plan.as_str().to_owned(),
    }))
}

/// The tenant's users, oldest first, one page at a time.
#[utoipa::path(get, path = "/v1/users", tag = "users", params(PageQuery), security(("api_key" = [])),
    responses(
        (status = 200, description = "one page of the tenant's users, oldest first", body = UserPage),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = PROBLEM),
        (status = 422, description = "bad limit or cursor", body = Problem, content_type = PROBLEM),
    ))]
async fn list_users(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<UserPage>, ApiError> {
    let page = page.parse::<UserId>()?;
    let mut rows =
        db::accounts::list_users(&state.db, scope.tenant_id, page.after, page.fetch()).await?;
    let next_cursor = page.finish(&mut rows, |r| r.id.as_uuid());
    let items = rows
        .into_iter()
        .map(UserOut::try_from)
        .collect::<Result<_, _>>()?;
    Ok(Json(UserPage { items, next_cursor }))
}

/// One user of the tenant.
#[utoipa::path(get, path = "/v1/users/{id}", tag = "users", params(("id" = uuid::Uuid, Path)),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "the user", body = UserOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = PROBLEM),
        (status = 404, description = "no such user in this tenant", body = Problem, content_type = PROBLEM),
    ))]
async fn get_user(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
) -> Result<Json<UserOut>, ApiError> {
    let row = db::accounts::get_user(&state.db, scope.tenant_id, user_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(Json(row.try_into()?))
}

/// Change a user's role (admins and owners; only owners touch the owner role).
#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users", request_body = UserPatch,
    params(("id" = uuid::Uuid, Path)), security(("api_key" = [])),
    responses(
        (status = 200, description = "the user with the new role", body = UserOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "the caller may not grant or change this role", body = Problem, content_type = PROBLEM),
        (status = 404, description = "no such user in this tenant", body = Problem, content_type = PROBLEM),
        (status = 409, description = "the tenant's last owner cannot be demoted", body = Problem, content_type = PROBLEM),
        (status = 422, description = "unknown role", body = Problem, content_type = PROBLEM),
    ))]
async fn update_user(
    State(state): State<AppState>,
    scope: TenantScope,
    ip: ClientIp,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> Result<Json<UserOut>, ApiError> {
    scope.require(Role::Admin)?;
    let id = user_id(&id)?;
    let target = db::accounts::get_user(&state.db, scope.tenant_id, id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    if !may_grant(scope.role, target.role()?) || !may_grant(scope.role, patch.role) {
        return Err(ApiError::Forbidden(
            "only an owner grants or changes the owner role".to_owned(),
        ));
    }
    let mut tx = state.db.begin().await?;
    match db::accounts::set_role(&mut tx, scope.tenant_id, id, patch.role).await? {
        UserChange::Done(row) => {
            audit::record(
                &mut tx,
                scope.tenant_id,
                Action::RoleChanged,
                Actor::of(&scope),
                ip,
                Some(&row.email),
                serde_json::json!({"user_id": id, "from": target.role, "to": patch.role.as_str()}),
            )
            .await?;
            tx.commit().await?;
            // Every process hears of it by NOTIFY; this one applies it now.
            state.principals.changed(Changed::User(id));
            Ok(Json(row.try_into()?))
        }
        UserChange::NotFound => Err(ApiError::NotFound("user")),
        UserChange::LastOwner => Err(last_owner()),
    }
}

/// Remove a user from the tenant; their sessions end at once.
#[utoipa::path(delete, path = "/v1/users/{id}", tag = "users",
    params(("id" = uuid::Uuid, Path)), security(("api_key" = [])),
    responses(
        (status = 204, description = "removed"),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "the caller may not remove this user", body = Problem, content_type = PROBLEM),
        (status = 404, description = "no such user in this tenant", body = Problem, content_type = PROBLEM),
        (status = 409, description = "the tenant's last owner cannot be removed", body = Problem, content_type = PROBLEM),
    ))]
async fn delete_user(
    State(state): State<AppState>,
    scope: TenantScope,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = user_id(&id)?;
    let target = db::accounts::get_user(&state.db, scope.tenant_id, id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    // Anyone may leave; removing someone else takes the right to grant their role.
    let leaving = scope.user.is_some_and(|u| u.user_id == id);
    if !leaving && !may_grant(scope.role, target.role()?) {
        return Err(ApiError::Forbidden(
            "removing this user needs the admin role (owner for an owner)".to_owned(),
        ));
    }
    let mut tx = state.db.begin().await?;
    match db::accounts::delete_user(&mut tx, scope.tenant_id, id).await? {
        UserChange::Done(()) => {
            audit::record(
                &mut tx,
                scope.tenant_id,
                Action::UserRemoved,
                Actor::of(&scope),
                ip,
                Some(&target.email),
                serde_json::json!({"user_id": id, "role": target.role, "left": leaving}),
            )
            .await?;
            tx.commit().await?;
            state.principals.changed(Changed::User(id));
            Ok(StatusCode::NO_CONTENT)
        }
        UserChange::NotFound => Err(ApiError::NotFound("user")),
        UserChange::LastOwner => Err(last_owner()),
    }
}

fn last_owner() -> ApiError {
    ApiError::Conflict(
        "the tenant's last owner cannot be removed or demoted; make another owner first".to_owned(),
    )
}

/// Invite someone to the tenant with a role. The token in the answer is
/// shown once; it works once, for this email, until `expires_at`.
#[utoipa::path(post, path = "/v1/users/invitations", tag = "users", request_body = InvitationIn,
    security(("api_key" = [])),
    responses(
        (status = 201, description = "invited: the invitation and its token, shown only here; also mailed to the invitee", body = InvitationOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = PROBLEM),
        (status = 403, description = "needs admin (owner to invite an owner) and a verified email", body = Problem, content_type = PROBLEM),
        (status = 422, description = "invalid email or role", body = Problem, content_type = PROBLEM),
    ))]
async fn create_invitation(
    State(state): State<AppState>,
    scope: TenantScope,
    ip: ClientIp,
    ApiJson(body): ApiJson<InvitationIn>,
) -> Result<impl IntoResponse, ApiError> {
    scope.require(Role::Admin)?;
    if !may_grant(scope.role, body.role) {
        return Err(ApiError::Forbidden(
            "only an owner invites an owner".to_owned(),
        ));
    }
    let email = normalize_email("email", &body.email).map_err(|e| ApiError::Validation(vec![e]))?;
    verified::require(&state, &scope, "invite people").await?;
    let token = refresh::generate(TokenKind::Invitation);
    let mut tx = state.db.begin().await?;
    let row = db::accounts::insert_invitation(
        &mut tx,
        &db::accounts::NewInvitation {
            id: InvitationId::new(),
            tenant_id: scope.tenant_id,
            email: &email,
            role: body.role,
            token_hash: &token.hash,
            invited_by: scope.user.map(|u| u.user_id),
            ttl_secs: state.settings.auth.invitation_ttl_secs,
        },
    )
    .await
    .map_err(|e| match e {
        DbError::Conflict { .. } => {
            ApiError::Internal(anyhow::anyhow!("invitation token collision"))
        }
        other => other.into(),
    })?;
    // The same answer whether or not the address has an account (an email
    // is one account platform-wide): only the mail differs, and only its
    // owner reads it.
    let (tenant_name, _) = db::accounts::tenant_summary(&mut *tx, scope.tenant_id)
        .await?
        .ok_or(ApiError::NotFound("tenant"))?;
    let invited_by = match scope.user {
        Some(u) => db::accounts::get_user(&state.db, scope.tenant_id, u.user_id)
            .await?
            .map(|u| u.email)
            .unwrap_or_else(|| tenant_name.clone()),
        None => format!("an API key of {tenant_name}"),
    };
    let mail = match account_tokens::user_by_email(&mut tx, &email).await? {
        Some(_) => Mail::InvitationToExistingAccount {
            tenant_name,
            invited_by,
        },
        None => Mail::Invitation {
            tenant_name,
            role: body.role.as_str().to_owned(),
            invited_by,
            token: token.token.expose().clone(),
            ttl_hours: state.settings.auth.invitation_ttl_secs.div_ceil(3600),
        },
    };
    mailing::queue(&mut tx, Some(scope.tenant_id), &email, &mail).await?;
    audit::record(
        &mut tx,
        scope.tenant_id,
        Action::Invited,
        Actor::of(&scope),
        ip,
        Some(&email),
        serde_json::json!({"invitation_id": row.id, "role": body.role.as_str()}),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(invitation_id = %row.id, role = %body.role, "invitation created");
    Ok((
        StatusCode::CREATED,
        Json(InvitationOut {
            id: row.id.as_uuid(),
            email: row.email,
            role: row.role,
            token: token.token.expose().clone(),
            expires_at: row.expires_at,
        }),
    ))
}
