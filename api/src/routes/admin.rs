//! Platform endpoints for operators (`/v1/admin/*`), behind operator keys:
//! the fleet view, the autoscaling signal, and a tenant's plan (the way up
//! that is not a payment: a contract, a trial, a support case; issue 18).

use crate::auth::operator::OperatorScope;
use crate::error::{ApiError, Problem, path_id};
use crate::json::ApiJson;
use crate::responses::{ScalingOut, WorkerOut};
use crate::routes::tenant::{PlanChange, PlanChanged};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use catalytic_shared::db;
use catalytic_shared::ids::TenantId;
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_workers))
        .routes(routes!(get_scaling))
        .routes(routes!(set_tenant_plan))
}

/// Set any tenant's plan, up or down (operators). Recorded for proration
/// like every plan change; the tenant's processes apply it at once.
#[utoipa::path(put, path = "/v1/admin/tenants/{id}/plan", tag = "admin", security(("operator_key" = [])),
    params(("id" = String, Path, description = "the tenant id")),
    request_body = PlanChange,
    responses(
        (status = 200, description = "set; the tenant's previous plan and the new one", body = PlanChanged),
        (status = 401, description = "not an operator key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such tenant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`plan` is not one of free, starter, professional, enterprise", body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_tenant_plan(
    State(state): State<AppState>,
    operator: OperatorScope,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PlanChange>,
) -> Result<Json<PlanChanged>, ApiError> {
    let tenant: TenantId = path_id(&id, "tenant")?;
    let plan = body.plan()?;
    let previous = db::tenants::change_plan(&state.db, tenant, plan)
        .await?
        .ok_or(ApiError::NotFound("tenant"))?;
    tracing::info!(tenant_id = %tenant, operator_key = %operator.key_id, previous, plan = %plan,
        "plan set by an operator");
    Ok(Json(PlanChanged {
        previous,
        plan: plan.to_string(),
    }))
}

/// Live workers of the fleet (from the workers registry).
#[utoipa::path(get, path = "/v1/admin/workers", tag = "admin", security(("operator_key" = [])),
    responses(
        (status = 200, description = "the live workers, from the workers registry", body = Vec<WorkerOut>),
        (status = 401, description = "not an operator key", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_workers(
    State(state): State<AppState>,
    _operator: OperatorScope,
) -> Result<Json<Vec<WorkerOut>>, ApiError> {
    let rows = db::workers::list_live(&state.db).await?;
    Ok(Json(
        rows.into_iter()
            .map(|w| WorkerOut {
                id: w.id.into(),
                host: w.host,
                device: w.device,
                device_name: w.device_name,
                device_memory_bytes: w.device_memory_bytes,
                concurrency: w.concurrency,
                in_flight: w.in_flight,
                started_at: w.started_at,
                last_heartbeat_at: w.last_heartbeat_at,
            })
            .collect(),
    ))
}

/// The autoscaling signal, as the scheduler last computed it (every
/// `autoscale.interval_ms`): backlog per class and desired workers.
#[utoipa::path(get, path = "/v1/admin/scaling", tag = "admin", security(("operator_key" = [])),
    responses(
        (status = 200, description = "the last computed signal, one row per class and one for `all`", body = Vec<ScalingOut>),
        (status = 401, description = "not an operator key", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_scaling(
    State(state): State<AppState>,
    _operator: OperatorScope,
) -> Result<Json<Vec<ScalingOut>>, ApiError> {
    let rows = db::scaling::load(&state.db).await?;
    let finished = db::scaling::finished_per_class(&state.db, Duration::from_secs(60)).await?;
    let finished_in = |class: &str| -> i64 {
        finished
            .iter()
            .filter(|(c, _)| class == "all" || c == class)
            .map(|(_, n)| n)
            .sum()
    };
    Ok(Json(
        rows.into_iter()
            .map(|r| ScalingOut {
                finished_last_minute: finished_in(&r.class),
                class: r.class,
                ready_messages: r.ready_messages,
                running_jobs: r.running_jobs,
                oldest_queued_secs: r.oldest_queued_secs,
                desired_workers: r.desired_workers,
                computed_at: r.computed_at,
            })
            .collect(),
    ))
}
