//! Paying for a plan (issue 18): `POST /v1/billing/checkout` asks Stripe
//! for a Checkout Session and answers its URL; `POST /v1/billing/portal`
//! opens the Customer Portal of a tenant that already pays. Neither changes
//! the plan: the signed Stripe events do (routes/stripe.rs), so the only
//! ways up are a payment or an operator (`PUT /v1/admin/tenants/{id}/plan`).
//! Both are off (404) while `billing.checkout_api_key` is unset.

use crate::auth::{TenantScope, verified};
use crate::checkout::{Checkout, CheckoutError, Session};
use crate::db::stripe as stripe_db;
use crate::error::{ApiError, Problem};
use crate::json::ApiJson;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use catalytic_shared::tenant::{Plan, Role};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_checkout))
        .routes(routes!(create_portal))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// The plan to pay for: `starter`, `professional` or `enterprise`,
    /// above the current one.
    pub plan: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutOut {
    /// The Stripe Checkout Session (`cs_…`).
    pub id: String,
    /// Where to send the owner's browser to pay.
    pub url: String,
    /// The plan the payment is for; it applies when Stripe confirms it.
    pub plan: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PortalOut {
    /// The Stripe Customer Portal session (`bps_…`).
    pub id: String,
    /// Where to send the owner's browser to change or cancel the subscription.
    pub url: String,
}

/// Start paying for a bigger plan (owner only): a Stripe Checkout Session.
#[utoipa::path(post, path = "/v1/billing/checkout", tag = "billing", request_body = CheckoutRequest,
    security(("api_key" = [])),
    responses(
        (status = 201, description = "a Checkout Session: send the owner's browser to its `url`; the plan changes when Stripe confirms the payment", body = CheckoutOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "only an owner with a verified email pays for a plan", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "checkout is not configured (billing.checkout_api_key)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the tenant already pays by subscription: use the portal", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "not a plan, or not an upgrade", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "Stripe failed or refused", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_checkout(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiJson(body): ApiJson<CheckoutRequest>,
) -> Result<(StatusCode, Json<CheckoutOut>), ApiError> {
    scope.require(Role::Owner)?;
    let checkout = configured(&state)?;
    verified::require(&state, &scope, "upgrade the plan").await?;
    let plan: Plan = body
        .plan
        .parse()
        .map_err(|_| ApiError::field("plan", "one of: starter, professional, enterprise"))?;
    // The plan of record, not the cached principal's: a Stripe event may
    // have changed it a moment ago.
    let (_, current) = crate::db::accounts::tenant_summary(&state.db, scope.tenant_id)
        .await?
        .ok_or(ApiError::NotFound("tenant"))?;
    if plan.rank() <= current.rank() {
        return Err(ApiError::field(
            "plan",
            format!(
                "{plan} is not an upgrade of the current plan ({current}); a downgrade is PUT /v1/tenant/plan"
            ),
        ));
    }
    let customer = stripe_db::customer_of(&state.db, scope.tenant_id).await?;
    if current != Plan::Free
        && let Some(subscription) = customer.as_ref().and_then(|c| c.subscription_id.as_ref())
    {
        return Err(ApiError::Conflict(format!(
            "the tenant pays by subscription {subscription}: change its plan in the Stripe customer portal (POST /v1/billing/portal)"
        )));
    }
    let session = checkout
        .create_session(
            scope.tenant_id,
            plan,
            customer.as_ref().map(|c| c.customer_id.as_str()),
        )
        .await
        .map_err(stripe_failed)?;
    tracing::info!(session = %session.id, plan = %plan, "checkout session created");
    Ok((
        StatusCode::CREATED,
        Json(CheckoutOut {
            id: session.id,
            url: session.url,
            plan: plan.to_string(),
        }),
    ))
}

/// Open the Stripe Customer Portal (owner only): change or cancel the
/// subscription there; its events change the plan.
#[utoipa::path(post, path = "/v1/billing/portal", tag = "billing",
    security(("api_key" = [])),
    responses(
        (status = 201, description = "a Customer Portal session: send the owner's browser to its `url`", body = PortalOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "only an owner manages the subscription", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "checkout is not configured (billing.checkout_api_key)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the tenant has no Stripe customer yet: check out first", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "Stripe failed or refused", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_portal(
    State(state): State<AppState>,
    scope: TenantScope,
) -> Result<(StatusCode, Json<PortalOut>), ApiError> {
    scope.require(Role::Owner)?;
    let checkout = configured(&state)?;
    verified::require(&state, &scope, "upgrade the plan").await?;
    let Some(customer) = stripe_db::customer_of(&state.db, scope.tenant_id).await? else {
        return Err(ApiError::Conflict(
            "the tenant has no Stripe customer yet: pay for a plan first (POST /v1/billing/checkout)"
                .to_owned(),
        ));
    };
    let Session { id, url } = checkout
        .create_portal_session(&customer.customer_id)
        .await
        .map_err(stripe_failed)?;
    Ok((StatusCode::CREATED, Json(PortalOut { id, url })))
}

fn configured(state: &AppState) -> Result<&Arc<Checkout>, ApiError> {
    state.checkout.as_ref().ok_or(ApiError::NotFound("route"))
}

fn stripe_failed(e: CheckoutError) -> ApiError {
    match e {
        CheckoutError::NotForSale(plan) => {
            ApiError::field("plan", format!("the {plan} plan is not sold"))
        }
        other => {
            tracing::warn!(error = %other, "stripe session failed");
            ApiError::BadGateway(other.to_string())
        }
    }
}
