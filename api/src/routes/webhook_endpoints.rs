//! Webhook endpoints of a tenant (issue 6, docs/adr/0005-scheduler.md): created with a
//! `whsec_` secret shown once and stored sealed (AES-256-GCM), listed,
//! changed, deleted, and their secret rotated with an overlap in which both
//! secrets sign. Admins only: an endpoint decides where tenant data goes.
//! Messages, attempts and replay are in `webhook_messages`.

use crate::audit::{self, Action, Actor, ClientIp};
use crate::auth::{TenantScope, verified};
use crate::error::{ApiError, Problem};
use crate::json::ApiJson;
use crate::pagination::PageQuery;
use crate::query::ApiQuery;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use catalytic_shared::address::AllowList;
use catalytic_shared::db::webhooks::{self as store, EVENT_TYPES, EndpointPatch, EndpointRow};
use catalytic_shared::ids::EndpointId;
use catalytic_shared::tenant::Role;
use catalytic_shared::webhook_secret::{self, SecretBox};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use std::time::Duration;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const MAX_URL_LEN: usize = 2048;
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
pub const MAX_RATE_PER_SECOND: i32 = 10_000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_endpoint, list_endpoints))
        .routes(routes!(get_endpoint, update_endpoint, delete_endpoint))
        .routes(routes!(rotate_endpoint_secret))
        .routes(routes!(test_endpoint))
        .routes(routes!(recover_endpoint))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PingOut {
    /// The `webhook.test` message; its attempts are at
    /// `/v1/webhooks/messages/{id}/attempts`.
    pub message_id: uuid::Uuid,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverIn {
    /// Failed deliveries created at or after this time are sent again.
    pub since: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoverOut {
    /// Failed deliveries queued again, each with a fresh schedule.
    pub deliveries: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointIn {
    /// http or https, at most 2048 characters. Private addresses are refused
    /// at delivery time unless the operator allow-listed them.
    pub url: String,
    /// Subset of job.succeeded, job.failed, job.cancelled, endpoint.disabled;
    /// empty or absent: all.
    #[serde(default)]
    pub event_types: Vec<String>,
    #[serde(default)]
    pub description: String,
    /// Default true.
    pub enabled: Option<bool>,
    /// Sends per second at most (1–10000); absent: no limit.
    pub rate_limit_per_second: Option<i32>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub description: Option<String>,
    /// true re-enables a disabled endpoint.
    pub enabled: Option<bool>,
    /// null removes the limit.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i32>)]
    pub rate_limit_per_second: Option<Option<i32>>,
}

/// A field that is present (even as null) is `Some`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i32>>, D::Error> {
    Option::<i32>::deserialize(d).map(Some)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointOut {
    pub id: uuid::Uuid,
    pub url: String,
    pub description: String,
    /// Empty: every event type.
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub rate_limit_per_second: Option<i32>,
    /// Why the scheduler disabled it (e.g. 410 Gone), if it did.
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointCreated {
    /// The signing secret (`whsec_...`): shown this once, stored encrypted.
    pub secret: String,
    #[serde(flatten)]
    pub endpoint: EndpointOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecretRotated {
    /// The new secret, shown this once. The previous one keeps signing
    /// until `previous_valid_until`.
    pub secret: String,
    pub previous_valid_until: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointPage {
    pub items: Vec<EndpointOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<uuid::Uuid>,
}

impl From<EndpointRow> for EndpointOut {
    fn from(r: EndpointRow) -> Self {
        EndpointOut {
            id: r.id.into(),
            url: r.url,
            description: r.description,
            event_types: r.event_types,
            enabled: r.enabled,
            rate_limit_per_second: r.rate_limit_per_second,
            disabled_reason: r.disabled_reason,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The URL as stored: parsed and normalised. The length cap applies to the
/// normalised form, which is what the column holds: percent-encoding can
/// triple a URL's length (issue 18: 2,019 bytes with 1,000 `é` became 6,019
/// characters and broke the column's check, a 500).
/// The URL as stored (normalised), or a 422 naming `url`. A literal IP
/// that is private or reserved (`catalytic_shared::address`) is refused here
/// unless `webhooks.allow_private` lists it: the scheduler would refuse every
/// delivery to it anyway (issue 18), and saying so now beats a disabled
/// endpoint later. Names are checked at delivery, where they resolve.
fn parse_url(url: &str, allow: &AllowList) -> Result<String, ApiError> {
    let too_long = || ApiError::field("url", "must be at most 2048 characters once normalised");
    if url.len() > MAX_URL_LEN {
        return Err(too_long());
    }
    let parsed =
        url::Url::parse(url).map_err(|e| ApiError::field("url", format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ApiError::field("url", "must be http or https"));
    }
    if parsed.host().is_none() || !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ApiError::field(
            "url",
            "must name a host and no credentials",
        ));
    }
    let literal = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
        _ => None,
    };
    if let Some(ip) = literal
        && !allow.allows(ip)
    {
        return Err(ApiError::field(
            "url",
            format!(
                "{ip} is a private or reserved address, which webhooks never reach (the operator's webhooks.allow_private lists exceptions)"
            ),
        ));
    }
    let normalised = parsed.to_string();
    if normalised.chars().count() > MAX_URL_LEN {
        return Err(too_long());
    }
    Ok(normalised)
}

fn parse_event_types(types: &[String]) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::new();
    for t in types {
        if !EVENT_TYPES.contains(&t.as_str()) {
            return Err(ApiError::field(
                "event_types",
                format!("{t:?} is not one of {}", EVENT_TYPES.join(", ")),
            ));
        }
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    Ok(out)
}

fn check_description(description: &str) -> Result<(), ApiError> {
    match description.chars().count() <= MAX_DESCRIPTION_CHARS {
        true => Ok(()),
        false => Err(ApiError::field(
            "description",
            "must be at most 1000 characters",
        )),
    }
}

fn check_rate(rate: Option<i32>) -> Result<(), ApiError> {
    match rate {
        Some(r) if !(1..=MAX_RATE_PER_SECOND).contains(&r) => Err(ApiError::field(
            "rate_limit_per_second",
            format!("must be between 1 and {MAX_RATE_PER_SECOND}"),
        )),
        _ => Ok(()),
    }
}

fn endpoint_id(id: &str) -> Result<EndpointId, ApiError> {
    crate::error::path_id(id, "webhook endpoint")
}

fn seal(state: &AppState) -> Result<(String, webhook_secret::Sealed), ApiError> {
    let secret = webhook_secret::generate();
    let sealed = SecretBox::new(&state.settings.webhooks)
        .seal(&secret)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("sealing a webhook secret: {e}")))?;
    Ok((secret.expose().clone(), sealed))
}

/// Add an endpoint (its secret is shown once).
#[utoipa::path(post, path = "/v1/webhooks/endpoints", tag = "webhooks", request_body = EndpointIn,
    security(("api_key" = [])),
    responses(
        (status = 201, description = "added: the endpoint and its signing secret, shown only here", body = EndpointCreated),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "needs the admin role and a verified email (for an API key, a verified owner)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "an invalid field, named: `url` (not http(s), too long, or a private address), `event_types`, `description` or `rate_limit_per_second`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_endpoint(
    State(state): State<AppState>,
    scope: TenantScope,
    ip: ClientIp,
    ApiJson(body): ApiJson<EndpointIn>,
) -> Result<impl IntoResponse, ApiError> {
    scope.require(Role::Admin)?;
    verified::require(&state, &scope, "add webhook endpoints").await?;
    let url = parse_url(
        &body.url,
        &AllowList::new(&state.settings.webhooks.allow_private),
    )?;
    let event_types = parse_event_types(&body.event_types)?;
    check_description(&body.description)?;
    check_rate(body.rate_limit_per_second)?;
    let (secret, sealed) = seal(&state)?;
    let id = EndpointId::new();
    let mut tx = state.db.begin().await?;
    store::insert_endpoint(
        &mut *tx,
        &store::NewEndpoint {
            id,
            tenant: scope.tenant_id,
            url: &url,
            description: &body.description,
            event_types: &event_types,
            enabled: body.enabled.unwrap_or(true),
            rate_limit_per_second: body.rate_limit_per_second,
            key_id: &sealed.key_id,
            sealed: &sealed.bytes,
        },
    )
    .await?;
    endpoint_audit(
        &mut tx,
        &scope,
        ip,
        Action::EndpointCreated,
        id,
        serde_json::json!({"url": url, "event_types": event_types}),
    )
    .await?;
    tx.commit().await?;
    let row = store::get_endpoint(&state.db, scope.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("endpoint {id} vanished")))?;
    let created = EndpointCreated {
        secret,
        endpoint: row.into(),
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// The tenant's endpoints, newest first (never a secret).
#[utoipa::path(get, path = "/v1/webhooks/endpoints", tag = "webhooks", params(PageQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "one page of the tenant's endpoints, newest first, never a secret", body = EndpointPage),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "needs the admin role", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "bad `limit` or `cursor`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_endpoints(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<EndpointPage>, ApiError> {
    scope.require(Role::Admin)?;
    let page = page.parse::<EndpointId>()?;
    let mut rows =
        store::list_endpoints(&state.db, scope.tenant_id, page.after, page.fetch()).await?;
    let next_cursor = page.finish(&mut rows, |r| r.id.as_uuid());
    let items = rows.into_iter().map(EndpointOut::from).collect();
    Ok(Json(EndpointPage { items, next_cursor }))
}

/// One endpoint.
#[utoipa::path(get, path = "/v1/webhooks/endpoints/{id}", tag = "webhooks",
    params(("id" = uuid::Uuid, Path)), security(("api_key" = [])),
    responses(
        (status = 200, description = "the endpoint", body = EndpointOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "needs the admin role", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such webhook endpoint for this tenant (or deleted)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_endpoint(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
) -> Result<Json<EndpointOut>, ApiError> {
    scope.require(Role::Admin)?;
    let row = store::get_endpoint(&state.db, scope.tenant_id, endpoint_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound("webhook endpoint"))?;
    Ok(Json(row.into()))
}

/// Change an endpoint; `enabled: true` re-enables a disabled one.
#[utoipa::path(patch, path = "/v1/webhooks/endpoints/{id}", tag = "webhooks", request_body = EndpointChange,
    params(("id" = uuid::Uuid, Path)), security(("api_key" = [])),
    responses(
        (status = 200, description = "the endpoint as it is now", body = EndpointOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "needs the admin role", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such webhook endpoint for this tenant (or deleted)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "an invalid field, named: `url` (not http(s), too long, or a private address), `event_types`, `description` or `rate_limit_per_second`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_endpoint(
    State(state): State<AppState>,
    scope: TenantScope,
    ip: ClientIp,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EndpointChange>,
) -> Result<Json<EndpointOut>, ApiError> {
    scope.require(Role::Admin)?;
    let id = endpoint_id(&id)?;
    let patch = EndpointPatch {
        url: body
            .url
            .as_deref()
            .map(|url| parse_url(url, &AllowList::new(&state.settings.webhooks.allow_private)))
            .transpose()?,
        event_types: body
            .event_types
            .as_deref()
            .map(parse_event_types)
            .transpose()?,
        description: match body.description {
            Some(d) => {
                check_description(&d)?;
                Some(d)
            }
            None => None,
        },
        enabled: body.enabled,
        rate_limit_per_second: match body.rate_limit_per_second {
            Some(rate) => {
                check_rate(rate)?;
                Some(rate)
            }
            None => None,
        },
    };
    let mut tx = state.db.begin().await?;
    let row = store::update_endpoint(&mut *tx, scope.tenant_id, id, &patch)
        .await?
        .ok_or(ApiError::NotFound("webhook endpoint"))?;
    endpoint_audit(
        &mut tx,
        &scope,
        ip,
        Action::EndpointUpdated,
        id,
        serde_json::json!({
            "url": patch.url,
            "event_types": patch.event_types,
            "enabled": patch.enabled,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(row.into()))
}

/// Delete an endpoint: nothing is sent to it again.
#[utoipa::path(delete, path = "/v1/webhooks/endpoints/{id}", tag = "webhooks",
    params(("id" = uuid::Uuid, Path)), security(("api_key" = [])),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "needs the admin role", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such webhook endpoint for this tenant (or already deleted)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_endpoint(
    State(state): State<AppState>,
    scope: TenantScope,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    scope.require(Role::Admin)?;
    let id = endpoint_id(&id)?;
    let mut tx = state.db.begin().await?;
    if !store::delete_endpoint(&mut *tx, scope.tenant_id, id).await? {
        return Err(ApiError::NotFound("webhook endpoint"));
    }
    endpoint_audit(
        &mut tx,
        &scope,
        ip,
        Action::EndpointDeleted,
        id,
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit record of an endpoint change, in its transaction.
async fn endpoint_audit(
    tx: &mut sqlx::PgConnection,
    scope: &TenantScope,
    ip: ClientIp,
    action: Action,
    id: EndpointId,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    audit::record(
        tx,
        scope.tenant_id,
        action,
        Actor::of(scope),
        ip,
        Some(&id.to_string()),
        details,
    )
    .await?;
    Ok(())
}

/// Rotate the signing secret: the new one is shown once; the previous one
/// keeps signing (both signatures sent) for `webhooks.rotation_overlap_secs`.
#[utoipa::path(post, path = "/v1/webhooks/endpoints/{id}/rotate", tag = "webhooks",
    params(("id" = uuid::Uuid, Path)), security(("api_key" = [])),
    responses(
        (status = 200, description = "rotated: the new secret, shown only here, and until when the previous one still signs", body = SecretRotated),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "needs the admin role", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such webhook endpoint for this tenant (or deleted)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn rotate_endpoint_secret(
    State(state): State<AppState>,
    scope: TenantScope,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<Json<SecretRotated>, ApiError> {
    scope.require(Role::Admin)?;
    let id = endpoint_id(&id)?;
    let (secret, sealed) = seal(&state)?;
    let overlap = Duration::from_secs(state.settings.webhooks.rotation_overlap_secs);
    let mut tx = state.db.begin().await?;
    let rotated = store::rotate_secret(
        &mut *tx,
        scope.tenant_id,
        id,
        &sealed.key_id,
        &sealed.bytes,
        overlap,
    )
    .await?;
    if !rotated {
        return Err(ApiError::NotFound("webhook endpoint"));
    }
    endpoint_audit(
        &mut tx,
        &scope,
        ip,
        Action::EndpointSecretRotated,
        id,
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    let previous_valid_until =
        Utc::now() + chrono::Duration::from_std(overlap).unwrap_or(chrono::Duration::MAX);
    Ok(Json(SecretRotated {
        secret,
        previous_valid_until,
    }))
}

/// Send a `webhook.test` message to this endpoint only.
#[utoipa::path(post, path = "/v1/webhooks/endpoints/{id}/test", tag = "webhooks",
    params(("id" = uuid::Uuid, Path)), security(("api_key" = [])),
    responses(
        (status = 202, description = "queued: the `webhook.test` message's id", body = PingOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "needs the admin role", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such webhook endpoint for this tenant (or deleted)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn test_endpoint(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<PingOut>), ApiError> {
    scope.require(Role::Admin)?;
    let message = store::insert_ping(&state.db, scope.tenant_id, endpoint_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound("webhook endpoint"))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(PingOut {
            message_id: message.into(),
        }),
    ))
}

/// Send again every failed delivery to this endpoint since a time (e.g.
/// after fixing a receiver), each with a fresh retry schedule.
#[utoipa::path(post, path = "/v1/webhooks/endpoints/{id}/recover", tag = "webhooks", request_body = RecoverIn,
    params(("id" = uuid::Uuid, Path)), security(("api_key" = [])),
    responses(
        (status = 202, description = "queued again: how many failed deliveries", body = RecoverOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "needs the admin role", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such webhook endpoint for this tenant (or deleted)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`since` is missing or not an RFC 3339 time, or the body has an unknown field", body = Problem, content_type = "application/problem+json"),
    ))]
async fn recover_endpoint(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RecoverIn>,
) -> Result<(StatusCode, Json<RecoverOut>), ApiError> {
    scope.require(Role::Admin)?;
    let deliveries = store::recover_failed(
        &state.db,
        scope.tenant_id,
        Some(endpoint_id(&id)?),
        body.since,
    )
    .await?
    .ok_or(ApiError::NotFound("webhook endpoint"))?;
    Ok((StatusCode::ACCEPTED, Json(RecoverOut { deliveries })))
}
