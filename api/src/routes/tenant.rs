//! The caller's tenant: its plan. Moving to the same or a cheaper plan is
//! the owner's call; the new limits apply from the next request (billing
//! prorates, issue 7). Moving up goes through payment (routes/billing.rs)
//! or an operator (issue 18): here it is a 402.

use crate::audit::{self, Action, Actor, ClientIp};
use crate::auth::TenantScope;
use crate::auth::principals::Changed;
use crate::error::{ApiError, Problem};
use crate::json::ApiJson;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use catalytic_shared::db;
use catalytic_shared::db::tenants::PlanMove;
use catalytic_shared::tenant::{Plan, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(change_plan))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanChange {
    /// `free`, `starter`, `professional` or `enterprise`.
    pub plan: String,
}

impl PlanChange {
    /// The plan named, or a 422 naming `plan`.
    pub fn plan(&self) -> Result<Plan, ApiError> {
        self.plan
            .parse()
            .map_err(|_| ApiError::field("plan", "one of: free, starter, professional, enterprise"))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanChanged {
    pub previous: String,
    pub plan: String,
}

/// Move the tenant to the same or a cheaper plan (owner only). An upgrade
/// is a 402: pay for it with `POST /v1/billing/checkout`.
#[utoipa::path(put, path = "/v1/tenant/plan", tag = "tenant", request_body = PlanChange,
    security(("api_key" = [])),
    responses(
        (status = 200, description = "changed; the previous plan and the new one", body = PlanChanged),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "an upgrade: it goes through POST /v1/billing/checkout (`limit: plan_upgrade`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "only an owner changes the plan", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`plan` is not one of free, starter, professional, enterprise", body = Problem, content_type = "application/problem+json"),
    ))]
async fn change_plan(
    State(state): State<AppState>,
    scope: TenantScope,
    ip: ClientIp,
    ApiJson(body): ApiJson<PlanChange>,
) -> Result<Json<PlanChanged>, ApiError> {
    scope.require(Role::Owner)?;
    let plan = body.plan()?;
    let previous = match db::tenants::change_plan_downward(&state.db, scope.tenant_id, plan).await?
    {
        PlanMove::Changed { previous } => previous,
        PlanMove::NoTenant => return Err(ApiError::NotFound("tenant")),
        PlanMove::WouldUpgrade { current } => {
            return Err(ApiError::PaymentRequired {
                message: format!(
                    "moving from {current} to {plan} is an upgrade, which goes through payment: POST /v1/billing/checkout {{\"plan\": \"{plan}\"}} answers a Stripe Checkout URL, and the plan changes when the payment completes"
                ),
                limit: "plan_upgrade",
            });
        }
    };
    // Every process hears of it by NOTIFY; this one applies it now.
    state.principals.changed(Changed::Tenant(scope.tenant_id));
    // After the change's own transaction (a guarded move under a row lock
    // shared with billing): a crash between the two loses this record only.
    let mut conn = state.db.acquire().await?;
    audit::record(
        &mut conn,
        scope.tenant_id,
        Action::PlanChanged,
        Actor::of(&scope),
        ip,
        Some(plan.as_str()),
        serde_json::json!({"from": previous, "to": plan.as_str()}),
    )
    .await?;
    tracing::info!(previous, plan = %plan, "plan changed");
    Ok(Json(PlanChanged {
        previous,
        plan: plan.to_string(),
    }))
}
