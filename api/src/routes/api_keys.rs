//! API keys of a tenant: made (shown once), listed (never the secret),
//! revoked. Managing keys needs an admin user: a key cannot mint keys.
//! Both are in the audit log; a new key is also mailed to the tenant's
//! owners and admins.

use crate::audit::{self, Action, Actor, ClientIp};
use crate::auth::TenantScope;
use crate::auth::principals::Changed;
use crate::error::{ApiError, Problem};
use crate::json::ApiJson;
use crate::pagination::PageQuery;
use crate::query::ApiQuery;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use catalytic_shared::db::{self, DbError, mail, tenants::ApiKeyRow};
use catalytic_shared::ids::ApiKeyId;
use catalytic_shared::mail::Mail;
use catalytic_shared::tenant::Role;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Longest lifetime a key may be given.
pub const MAX_EXPIRES_IN_DAYS: i64 = 3_650;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCreate {
    /// 1–200 characters.
    pub name: String,
    /// `write` (default: acts as a member) or `read` (acts as a viewer).
    pub scope: Option<String>,
    /// Days until the key stops working; none = no expiry. 1–3650.
    pub expires_in_days: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyOut {
    pub id: uuid::Uuid,
    pub name: String,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreated {
    /// The key itself: shown this once, stored only as an HMAC.
    pub key: String,
    #[serde(flatten)]
    pub api_key: ApiKeyOut,
}

impl From<ApiKeyRow> for ApiKeyOut {
    fn from(r: ApiKeyRow) -> Self {
        ApiKeyOut {
            id: r.id.into(),
            name: r.name,
            prefix: r.prefix,
            scope: r.scope,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

/// Managing keys takes an admin *user*: a key may not mint or revoke keys.
fn require_admin_user(scope: &TenantScope) -> Result<(), ApiError> {
    if scope.user.is_none() {
        return Err(ApiError::Forbidden(
            "API keys are managed by a logged-in admin, not by a key".into(),
        ));
    }
    scope.require(Role::Admin)
}

/// Make an API key (shown once).
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", request_body = ApiKeyCreate,
    security(("api_key" = [])),
    responses(
        (status = 201, description = "made: the key itself, shown only here, and its details", body = ApiKeyCreated),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "needs an admin user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "an invalid field, named: `name`, `scope` or `expires_in_days`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_api_key(
    State(state): State<AppState>,
    scope: TenantScope,
    ip: ClientIp,
    ApiJson(body): ApiJson<ApiKeyCreate>,
) -> Result<impl IntoResponse, ApiError> {
    require_admin_user(&scope)?;
    if !(1..=200).contains(&body.name.chars().count()) {
        return Err(ApiError::field("name", "must be 1 to 200 characters"));
    }
    let key_scope = body.scope.as_deref().unwrap_or("write");
    if !["read", "write"].contains(&key_scope) {
        return Err(ApiError::field("scope", "must be read or write"));
    }
    let expires_at = match body.expires_in_days {
        None => None,
        Some(days @ 1..=MAX_EXPIRES_IN_DAYS) => Some(Utc::now() + Duration::days(days)),
        Some(_) => {
            return Err(ApiError::field(
                "expires_in_days",
                format!("must be between 1 and {MAX_EXPIRES_IN_DAYS}"),
            ));
        }
    };
    for _ in 0..3 {
        let key = state.api_keys.generate();
        let new = db::tenants::NewApiKey {
            id: ApiKeyId::new(),
            tenant: scope.tenant_id,
            name: &body.name,
            prefix: &key.prefix,
            key_hmac: &key.hmac,
            scope: key_scope,
            expires_at,
        };
        let mut tx = state.db.begin().await?;
        match db::tenants::insert_api_key(&mut *tx, &new).await {
            Ok(()) => {
                key_created(&mut tx, &scope, ip, &new).await?;
                tx.commit().await?;
                let out = ApiKeyOut {
                    id: new.id.into(),
                    name: body.name.clone(),
                    prefix: key.prefix.clone(),
                    scope: key_scope.to_owned(),
                    created_at: Utc::now(),
                    expires_at,
                    last_used_at: None,
                    revoked_at: None,
                };
                let created = ApiKeyCreated {
                    key: key.key.expose().clone(),
                    api_key: out,
                };
                return Ok((StatusCode::CREATED, Json(created)));
            }
            // A 48-bit prefix collision: draw again.
            Err(DbError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Internal(anyhow::anyhow!(
        "could not draw a unique key prefix"
    )))
}

/// A page of the tenant's keys, newest first, revoked ones included (never
/// the secret).
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys", params(PageQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "one page of the tenant's keys, newest first, revoked ones included, never the secret", body = ApiKeyPage),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "needs an admin user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "bad `limit` or `cursor`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_api_keys(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ApiKeyPage>, ApiError> {
    require_admin_user(&scope)?;
    let page = page.parse::<ApiKeyId>()?;
    let mut rows =
        db::tenants::list_api_keys(&state.db, scope.tenant_id, page.after, page.fetch()).await?;
    let next_cursor = page.finish(&mut rows, |r| r.id.as_uuid());
    let items = rows.into_iter().map(ApiKeyOut::from).collect();
    Ok(Json(ApiKeyPage { items, next_cursor }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyPage {
    pub items: Vec<ApiKeyOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<uuid::Uuid>,
}

/// Revoke a key: it stops working at once.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys", params(("id" = uuid::Uuid, Path)),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "revoked"),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "needs an admin user", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such live key for this tenant", body = Problem, content_type = "application/problem+json"),
    ))]
async fn revoke_api_key(
    State(state): State<AppState>,
    scope: TenantScope,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    require_admin_user(&scope)?;
    let id: ApiKeyId = crate::error::path_id(&id, "api key")?;
    let mut tx = state.db.begin().await?;
    match db::tenants::revoke_api_key(&mut *tx, scope.tenant_id, id).await? {
        true => {
            audit::record(
                &mut tx,
                scope.tenant_id,
                Action::ApiKeyRevoked,
                Actor::of(&scope),
                ip,
                Some(&id.to_string()),
                serde_json::json!({}),
            )
            .await?;
            tx.commit().await?;
            // Every process hears of it by NOTIFY; this one applies it now.
            state.principals.changed(Changed::KeyId(id));
            Ok(StatusCode::NO_CONTENT)
        }
        false => Err(ApiError::NotFound("api key")),
    }
}

/// A new key is in the audit log, and its tenant's owners and admins are
/// mailed (a key they did not expect is worth a look), in the key's
/// transaction.
async fn key_created(
    tx: &mut sqlx::PgConnection,
    scope: &TenantScope,
    ip: ClientIp,
    key: &db::tenants::NewApiKey<'_>,
) -> Result<(), ApiError> {
    let created_by = audit::actor_email(tx, scope).await?;
    audit::record(
        tx,
        scope.tenant_id,
        Action::ApiKeyCreated,
        Actor::of(scope),
        ip,
        Some(&key.id.to_string()),
        serde_json::json!({"name": key.name, "prefix": key.prefix, "scope": key.scope}),
    )
    .await?;
    mail::enqueue_to_members(
        tx,
        scope.tenant_id,
        Role::Admin,
        &Mail::ApiKeyCreated {
            name: key.name.to_owned(),
            prefix: key.prefix.to_owned(),
            created_by,
        },
    )
    .await?;
    Ok(())
}
