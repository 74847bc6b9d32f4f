//! Lattice resources: named, stored definitions a job can refer to by
//! `lattice_id`. A lattice is a definition (sizes, wrap, blocked), never a
//! graph; the api validates it with the engine's own rules.

use crate::auth::TenantScope;
use crate::db::{self, lattices::LatticeRow};
use crate::error::{ApiError, Problem};
use crate::job_request::lattice::{BlockedIn, LatticeIn, SizeIn, WrapIn};
use crate::json::ApiJson;
use crate::pagination::PageQuery;
use crate::query::ApiQuery;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use catalytic_shared::ids::LatticeId;
use catalytic_shared::tenant::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_lattice, list_lattices))
        .routes(routes!(get_lattice, update_lattice, delete_lattice))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LatticeCreate {
    /// 1–200 characters.
    pub name: String,
    /// 1..=10. Optional when `size` is an array (then it must match its length).
    pub dimensions: Option<i64>,
    /// One integer ≥ 2 for every axis, or one per axis (axis 0 first).
    pub size: SizeIn,
    /// `true` wraps every axis; or one flag per axis. Only axes of size ≥ 3 may wrap.
    #[serde(default)]
    pub wrap: Option<WrapIn>,
    /// Blocked vertices: a list of coordinates, or `{"fraction": f, "seed": s}`.
    #[serde(default)]
    pub blocked: Option<BlockedIn>,
}

impl LatticeCreate {
    /// The lattice part. The fields are `LatticeIn`'s, spelled out rather
    /// than flattened: a flattened struct made the OpenAPI schema
    /// `allOf[LatticeIn (additionalProperties: false), {name}]`, which no
    /// body satisfies (issue 18).
    fn lattice(self) -> (String, LatticeIn) {
        (
            self.name,
            LatticeIn {
                dimensions: self.dimensions,
                size: self.size,
                wrap: self.wrap,
                blocked: self.blocked,
            },
        )
    }
}

/// Rename and/or redefine. Jobs already submitted keep the definition they
/// were submitted with.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LatticePatch {
    pub name: Option<String>,
    pub definition: Option<LatticeIn>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LatticeOut {
    pub id: uuid::Uuid,
    pub name: String,
    /// In the shape a create takes (it can be sent again as it is): `size`
    /// per axis, `wrap` flags, `blocked` coordinates or seeded rule.
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    pub dimensions: usize,
    pub vertices: u64,
    pub edges: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LatticePage {
    pub items: Vec<LatticeOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<uuid::Uuid>,
}

pub(crate) fn out(row: LatticeRow) -> Result<LatticeOut, ApiError> {
    let def = row.definition()?;
    let lattice = def.build().map_err(|e| {
        ApiError::Internal(anyhow::anyhow!("stored lattice {} is invalid: {e}", row.id))
    })?;
    Ok(LatticeOut {
        id: row.id.into(),
        name: row.name,
        definition: crate::job_request::echo::lattice(&def),
        dimensions: lattice.dimensions(),
        vertices: lattice.vertex_count(),
        edges: lattice.edge_count(),
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn check_name(name: &str) -> Result<(), ApiError> {
    match name.chars().count() {
        1..=200 => Ok(()),
        n => Err(ApiError::field(
            "name",
            format!("must be 1 to 200 characters, got {n}"),
        )),
    }
}

fn lattice_id(raw: &str) -> Result<LatticeId, ApiError> {
    crate::error::path_id(raw, "lattice")
}

/// Store a lattice definition.
#[utoipa::path(post, path = "/v1/lattices", tag = "lattices", request_body = LatticeCreate,
    security(("api_key" = [])),
    responses(
        (status = 201, description = "stored; the lattice, with its vertex and edge counts", body = LatticeOut, headers(("Location" = String, description = "the lattice's URL"))),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "viewers may only read", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "the plan's lattices cap is reached", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid field(s), each named", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_lattice(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiJson(body): ApiJson<LatticeCreate>,
) -> Result<impl IntoResponse, ApiError> {
    scope.require(Role::Member)?;
    let (name, lattice) = body.lattice();
    check_name(&name)?;
    let valid = lattice.validate("definition")?;
    let vertices = valid.lattice.vertex_count();
    let mut tx = state.db.begin().await.map_err(db::DbError::from)?;
    crate::limits::quota::check_lattices(&mut tx, scope.tenant_id, scope.plan).await?;
    let row = db::lattices::insert(
        &mut tx,
        scope.tenant_id,
        LatticeId::new(),
        &name,
        &valid.def,
        vertices,
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    let out = out(row)?;
    let location = format!("/v1/lattices/{}", out.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(out),
    ))
}

/// The tenant's lattices, newest first, one page at a time.
#[utoipa::path(get, path = "/v1/lattices", tag = "lattices", params(PageQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "one page of the tenant's lattices, newest first", body = LatticePage),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_lattices(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<LatticePage>, ApiError> {
    let page = page.parse::<LatticeId>()?;
    let mut rows = db::lattices::list(&state.db, scope.tenant_id, page.after, page.fetch()).await?;
    let next_cursor = page.finish(&mut rows, |r| r.id.as_uuid());
    let items = rows.into_iter().map(out).collect::<Result<_, _>>()?;
    Ok(Json(LatticePage { items, next_cursor }))
}

/// One lattice.
#[utoipa::path(get, path = "/v1/lattices/{id}", tag = "lattices",
    params(("id" = uuid::Uuid, Path)), security(("api_key" = [])),
    responses(
        (status = 200, description = "the lattice", body = LatticeOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such lattice for this tenant (or deleted)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_lattice(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
) -> Result<Json<LatticeOut>, ApiError> {
    let row = db::lattices::get(&state.db, scope.tenant_id, lattice_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound("lattice"))?;
    Ok(Json(out(row)?))
}

/// Rename or redefine a lattice.
#[utoipa::path(patch, path = "/v1/lattices/{id}", tag = "lattices", request_body = LatticePatch,
    params(("id" = uuid::Uuid, Path)), security(("api_key" = [])),
    responses(
        (status = 200, description = "the lattice as it is now", body = LatticeOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "viewers may only read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such lattice for this tenant (or deleted)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid field(s), each named (`name`, `definition`)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_lattice(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<LatticePatch>,
) -> Result<Json<LatticeOut>, ApiError> {
    scope.require(Role::Member)?;
    let id = lattice_id(&id)?;
    if let Some(name) = &patch.name {
        check_name(name)?;
    }
    let valid = patch
        .definition
        .as_ref()
        .map(|d| d.validate("definition"))
        .transpose()?;
    let definition = valid.as_ref().map(|v| (&v.def, v.lattice.vertex_count()));
    let row = db::lattices::update(
        &state.db,
        scope.tenant_id,
        id,
        patch.name.as_deref(),
        definition,
    )
    .await?
    .ok_or(ApiError::NotFound("lattice"))?;
    Ok(Json(out(row)?))
}

/// Delete a lattice: new jobs naming it get 404; past jobs keep their copy.
#[utoipa::path(delete, path = "/v1/lattices/{id}", tag = "lattices",
    params(("id" = uuid::Uuid, Path)), security(("api_key" = [])),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "viewers may only read", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such lattice for this tenant (or already deleted)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_lattice(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    scope.require(Role::Member)?;
    match db::lattices::delete(&state.db, scope.tenant_id, lattice_id(&id)?).await? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::NotFound("lattice")),
    }
}
