//! `POST /v1/billing/stripe/webhook`: Stripe events in (issue 7). The
//! `Stripe-Signature` is checked against `billing.stripe_webhook_secret`
//! (the endpoint is a 404 while it is unset), then the event is applied in
//! one transaction that first records its id, so a redelivery is a no-op:
//! - `checkout.session.completed`: tenant (`client_reference_id`) ↔ customer;
//! - `customer.subscription.*`: the plan, through the same plan change as
//!   `PUT /v1/tenant/plan` (recorded for proration);
//! - `invoice.payment_failed`: the 4th consecutive one suspends the tenant
//!   (submits answer 402), `invoice.paid` lifts it.
//!
//! Events about customers no tenant owns are acknowledged and recorded as
//! such: refusing them would only make Stripe redeliver them for days.

use crate::db::stripe::Link;
use crate::error::{ApiError, FieldError, Problem};
use crate::state::AppState;
use crate::stripe::{self, EventKind, StripeEvent};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use catalytic_shared::db::{self, DbError, mail};
use catalytic_shared::ids::TenantId;
use catalytic_shared::mail::Mail;
use catalytic_shared::metrics as m;
use catalytic_shared::tenant::Role;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(receive_stripe_event))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StripeReceipt {
    /// The Stripe event id.
    pub id: String,
    /// True when this event id had already been processed (nothing changed).
    pub duplicate: bool,
    /// What the event did: `linked`, `plan_changed`, `plan_unchanged`,
    /// `payment_failed`, `suspended`, `paid`, `unsuspended`,
    /// `unknown_customer`, `unknown_tenant`, `customer_taken`, `ignored`.
    pub outcome: String,
}

/// Receive a Stripe event (signed with the endpoint's secret).
#[utoipa::path(post, path = "/v1/billing/stripe/webhook", tag = "billing",
    request_body(content = String, content_type = "application/json",
        description = "the Stripe event, exactly as Stripe signed it"),
    params(("Stripe-Signature" = String, Header,
        description = "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"{t}.{body}\">[,v1=...]")),
    responses(
        (status = 200, description = "received: the event id, whether it was a duplicate, and what it did", body = StripeReceipt),
        (status = 400, description = "bad or stale signature, or an event missing a field it needs (named)",
         body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "billing.stripe_webhook_secret is not set", body = Problem,
         content_type = "application/problem+json"),
    ))]
async fn receive_stripe_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(secret) = &state.settings.billing.stripe_webhook_secret else {
        return Err(ApiError::NotFound("route"));
    };
    let signature = headers
        .get(stripe::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    if let Err(e) = stripe::verify(signature, &body, secret.expose().as_bytes(), now) {
        metrics::counter!(m::STRIPE_EVENTS, "result" => "rejected").increment(1);
        tracing::warn!(error = %e, "stripe event refused");
        return Ok(bad_request(stripe::SIGNATURE_HEADER, &e.to_string()));
    }
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return Ok(bad_request("body", &format!("not valid JSON: {e}"))),
    };
    let event = match StripeEvent::parse(&value) {
        Ok(event) => event,
        Err(e) => return Ok(bad_request(&e.field, e.message)),
    };
    let receipt = apply(&state.db, &event).await?;
    let result = if receipt.duplicate {
        "duplicate"
    } else {
        "applied"
    };
    metrics::counter!(m::STRIPE_EVENTS, "result" => result).increment(1);
    tracing::info!(event_id = %event.id, event_type = %event.event_type,
        outcome = %receipt.outcome, duplicate = receipt.duplicate, "stripe event");
    Ok(Json(receipt).into_response())
}

/// A 400 naming the field: a bad signature or an unusable event is the
/// sender's to fix, and Stripe shows the body in its dashboard.
fn bad_request(field: &str, message: &str) -> Response {
    let problem = Problem {
        kind: "https://catalytic.dev/problems/bad-stripe-event".to_owned(),
        title: "Bad Request".to_owned(),
        status: 400,
        detail: format!("{field}: {message}"),
        limit: None,
        errors: vec![FieldError::new(field, message)],
    };
    let mut response = (StatusCode::BAD_REQUEST, Json(problem)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// Applies the event once: its id is recorded first in the transaction.
/// A plan change runs in its own transaction (the shared plan-change path)
/// before this one commits; should the commit fail, the redelivery sets the
/// same plan again, which records nothing.
async fn apply(pool: &PgPool, event: &StripeEvent) -> Result<StripeReceipt, DbError> {
    let mut tx = pool.begin().await?;
    if !crate::db::stripe::record_event(&mut tx, &event.id, &event.event_type).await? {
        return Ok(StripeReceipt {
            id: event.id.clone(),
            duplicate: true,
            outcome: "duplicate".to_owned(),
        });
    }
    let outcome = match &event.kind {
        EventKind::CheckoutCompleted {
            tenant,
            customer,
            subscription,
        } => match tenant.parse::<TenantId>() {
            Ok(tenant) => link_outcome(
                crate::db::stripe::link_customer(
                    &mut tx,
                    tenant,
                    customer,
                    subscription.as_deref(),
                )
                .await?,
            ),
            Err(_) => "unknown_tenant",
        },
        EventKind::Subscription {
            customer,
            subscription,
            plan,
            tenant_hint,
        } => {
            let tenant = match crate::db::stripe::tenant_of(&mut tx, customer).await? {
                Some(tenant) => Some(tenant),
                None => link_by_hint(&mut tx, tenant_hint.as_deref(), customer).await?,
            };
            match tenant {
                None => "unknown_customer",
                Some(tenant) => {
                    crate::db::stripe::set_subscription(&mut tx, tenant, subscription).await?;
                    match plan {
                        None => "plan_unchanged",
                        Some(plan) => {
                            let previous = db::tenants::change_plan(pool, tenant, *plan).await?;
                            match previous.as_deref() == Some(plan.as_str()) {
                                true => "plan_unchanged",
                                false => {
                                    crate::audit::record(
                                        &mut tx,
                                        tenant,
                                        crate::audit::Action::PlanChanged,
                                        crate::audit::Actor::default(),
                                        crate::audit::ClientIp::default(),
                                        Some(plan.as_str()),
                                        serde_json::json!({
                                            "from": previous,
                                            "to": plan.as_str(),
                                            "by": "stripe",
                                            "event": event.id,
                                        }),
                                    )
                                    .await?;
                                    "plan_changed"
                                }
                            }
                        }
                    }
                }
            }
        }
        EventKind::InvoicePaymentFailed { customer } => {
            match crate::db::stripe::payment_failed(&mut tx, customer, stripe::FAILURES_TO_SUSPEND)
                .await?
            {
                None => "unknown_customer",
                Some(s) if s.suspended && s.changed => {
                    tracing::warn!(tenant_id = %s.tenant, failures = s.consecutive_failures,
                        "tenant suspended for failed payments");
                    let mail = Mail::TenantSuspended {
                        failures: s.consecutive_failures,
                    };
                    mail::enqueue_to_members(&mut tx, s.tenant, Role::Owner, &mail).await?;
                    "suspended"
                }
                Some(s) => {
                    let mail = Mail::PaymentFailed {
                        failures: s.consecutive_failures,
                        suspends_after: stripe::FAILURES_TO_SUSPEND,
                    };
                    mail::enqueue_to_members(&mut tx, s.tenant, Role::Owner, &mail).await?;
                    "payment_failed"
                }
            }
        }
        EventKind::InvoicePaid { customer } => {
            match crate::db::stripe::payment_succeeded(&mut tx, customer).await? {
                None => "unknown_customer",
                Some(s) if s.changed => {
                    tracing::info!(tenant_id = %s.tenant, "tenant suspension lifted: invoice paid");
                    "unsuspended"
                }
                Some(_) => "paid",
            }
        }
        EventKind::Ignored => "ignored",
    };
    crate::db::stripe::set_outcome(&mut tx, &event.id, outcome).await?;
    tx.commit().await?;
    Ok(StripeReceipt {
        id: event.id.clone(),
        duplicate: false,
        outcome: outcome.to_owned(),
    })
}

fn link_outcome(link: Link) -> &'static str {
    match link {
        Link::Linked => "linked",
        Link::UnknownTenant => "unknown_tenant",
        Link::CustomerTaken => "customer_taken",
    }
}

/// Maps the customer through the subscription's `metadata.tenant_id`.
async fn link_by_hint(
    conn: &mut PgConnection,
    hint: Option<&str>,
    customer: &str,
) -> Result<Option<TenantId>, DbError> {
    let Some(tenant) = hint.and_then(|h| h.parse::<TenantId>().ok()) else {
        return Ok(None);
    };
    Ok(
        match crate::db::stripe::link_customer(conn, tenant, customer, None).await? {
            Link::Linked => Some(tenant),
            Link::UnknownTenant | Link::CustomerTaken => None,
        },
    )
}
