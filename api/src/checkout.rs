//! Stripe Checkout and Customer Portal sessions (issue 18): how an owner
//! pays for a bigger plan. The api only asks Stripe for a session and hands
//! its URL back; the plan changes when Stripe's signed events arrive
//! (`checkout.session.completed` links the customer, the subscription event
//! sets the plan: routes/stripe.rs), never on the word of the browser.
//!
//! Requests are form-encoded, as Stripe's API takes them, to
//! `billing.checkout_base_url` (Stripe itself in production, a local
//! receiver in the tests), with the secret key as a bearer token.

use catalytic_shared::Secret;
use catalytic_shared::config::BillingSettings;
use catalytic_shared::ids::TenantId;
use catalytic_shared::tenant::Plan;
use serde::Deserialize;
use std::time::Duration;

/// How long a call to Stripe may take before the owner gets a 502.
const TIMEOUT: Duration = Duration::from_secs(20);

/// A session Stripe made: where to send the browser.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Session {
    pub id: String,
    pub url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    /// The plan has no Stripe price (the free plan).
    #[error("the {0} plan is not sold through checkout")]
    NotForSale(Plan),
    #[error("Stripe could not be reached: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("Stripe refused the session: HTTP {status}: {message}")]
    Refused { status: u16, message: String },
}

/// Stripe's error body: `{"error": {"message": ...}}`.
#[derive(Deserialize)]
struct StripeError {
    error: StripeErrorBody,
}

#[derive(Deserialize)]
struct StripeErrorBody {
    #[serde(default)]
    message: String,
}

pub struct Checkout {
    http: reqwest::Client,
    /// The `billing.checkout_*` settings this client was made from.
    settings: BillingSettings,
    /// `billing.checkout_api_key`, which `from_settings` found set.
    api_key: Secret<String>,
}

impl Checkout {
    /// The client when `billing.checkout_api_key` is set; `None` turns the
    /// routes off.
    pub fn from_settings(settings: &BillingSettings) -> anyhow::Result<Option<Checkout>> {
        let Some(api_key) = settings.checkout_api_key.clone() else {
            return Ok(None);
        };
        Ok(Some(Checkout {
            http: reqwest::Client::builder().timeout(TIMEOUT).build()?,
            settings: settings.clone(),
            api_key,
        }))
    }

    /// A Checkout Session in subscription mode for `plan`. The tenant rides
    /// along three ways, because Stripe does not order its events:
    /// `client_reference_id` (read by `checkout.session.completed`) and the
    /// subscription's metadata (read by a subscription event that outruns
    /// it). `customer` reuses the tenant's Stripe customer when it has one.
    pub async fn create_session(
        &self,
        tenant: TenantId,
        plan: Plan,
        customer: Option<&str>,
    ) -> Result<Session, CheckoutError> {
        let price = self
            .settings
            .checkout_prices
            .of(plan)
            .ok_or(CheckoutError::NotForSale(plan))?;
        let tenant = tenant.to_string();
        let mut form = vec![
            ("mode", "subscription"),
            ("line_items[0][price]", price),
            ("line_items[0][quantity]", "1"),
            ("client_reference_id", tenant.as_str()),
            ("subscription_data[metadata][tenant_id]", tenant.as_str()),
            ("subscription_data[metadata][plan]", plan.as_str()),
            ("metadata[tenant_id]", tenant.as_str()),
            ("metadata[plan]", plan.as_str()),
            ("success_url", self.settings.checkout_success_url.as_str()),
            ("cancel_url", self.settings.checkout_cancel_url.as_str()),
        ];
        if let Some(customer) = customer {
            form.push(("customer", customer));
        }
        self.post("/v1/checkout/sessions", &form).await
    }

    /// A Customer Portal session for an existing customer: where a
    /// subscriber changes or cancels the subscription (the resulting
    /// subscription events change the plan).
    pub async fn create_portal_session(&self, customer: &str) -> Result<Session, CheckoutError> {
        let form = [
            ("customer", customer),
            ("return_url", self.settings.checkout_cancel_url.as_str()),
        ];
        self.post("/v1/billing_portal/sessions", &form).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Result<Session, CheckoutError> {
        let response = self
            .http
            .post(format!(
                "{}{path}",
                self.settings.checkout_base_url.trim_end_matches('/')
            ))
            .bearer_auth(self.api_key.expose())
            .form(form)
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            let message = serde_json::from_str::<StripeError>(&body)
                .map(|e| e.error.message)
                .unwrap_or_else(|_| body.chars().take(200).collect());
            return Err(CheckoutError::Refused {
                status: status.as_u16(),
                message,
            });
        }
        Ok(response.json::<Session>().await?)
    }
}
