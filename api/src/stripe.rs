//! Stripe, pure: the `Stripe-Signature` check of incoming webhook events and
//! the few event types billing acts on, parsed once into [`StripeEvent`].
//! No I/O: the api route verifies and parses, `db::stripe` applies.
//!
//! Stripe signs `{t}.{body}` with HMAC-SHA256 under the endpoint's secret
//! and sends `t=<unix seconds>,v1=<hex>[,v1=<hex>…]` (several `v1` while a
//! secret is being rolled; `v0` and unknown schemes are ignored).

use catalytic_shared::tenant::Plan;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const SIGNATURE_HEADER: &str = "Stripe-Signature";
/// How far the signed timestamp may be from now, either way (Stripe's default).
pub const TOLERANCE_SECS: i64 = 300;
/// Consecutive failed invoice payments after which a tenant is suspended.
pub const FAILURES_TO_SUSPEND: i32 = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header has no valid timestamp (t=)")]
    NoTimestamp,
    #[error("the Stripe-Signature header has no v1 signature")]
    NoSignature,
    #[error("no v1 signature matches the body")]
    Mismatch,
    #[error("the signed timestamp is more than {TOLERANCE_SECS} s from now")]
    Stale,
}

/// The hex `v1` signature of `body` sent at `t`.
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    mac(secret, t, body)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default()
}

fn mac(secret: &[u8], t: i64, body: &[u8]) -> Option<Hmac<Sha256>> {
    // HMAC takes a key of any length: new_from_slice never fails for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

/// Checks `header` against `body` as of `now` (unix seconds): one `v1`
/// must match (compared in constant time), then the timestamp must be
/// within the tolerance. Returns the signed timestamp.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secret: &[u8],
    now: i64,
) -> Result<i64, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut t = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => candidates.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::NoTimestamp)?;
    if candidates.is_empty() {
        return Err(SignatureError::NoSignature);
    }
    let expected = mac(secret, t, body)
        .ok_or(SignatureError::Mismatch)?
        .finalize()
        .into_bytes();
    if !candidates
        .iter()
        .any(|c| bool::from(c.as_slice().ct_eq(expected.as_slice())))
    {
        return Err(SignatureError::Mismatch);
    }
    if (now - t).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    Ok(t)
}

/// An event billing acts on; anything else is acknowledged and recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// `checkout.session.completed`: the tenant (`client_reference_id`)
    /// is now the Stripe customer.
    CheckoutCompleted {
        tenant: String,
        customer: String,
        subscription: Option<String>,
    },
    /// `customer.subscription.{created,updated,deleted}`: `plan` is the plan
    /// now in force, `None` when the subscription does not settle one yet
    /// (incomplete: the first payment is pending).
    Subscription {
        customer: String,
        subscription: String,
        plan: Option<Plan>,
        /// `metadata.tenant_id` (set through `subscription_data.metadata` at
        /// checkout): maps the customer when this event outruns the
        /// checkout's, which Stripe's ordering allows.
        tenant_hint: Option<String>,
    },
    /// `invoice.paid`: lifts a suspension, resets the failure count.
    InvoicePaid { customer: String },
    /// `invoice.payment_failed`: one more consecutive failure.
    InvoicePaymentFailed { customer: String },
    /// Any other type: acknowledged so Stripe stops sending it.
    Ignored,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeEvent {
    pub id: String,
    pub event_type: String,
    pub kind: EventKind,
}

/// A field an event lacks or holds in the wrong shape: the dotted path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct EventError {
    pub field: String,
    pub message: &'static str,
}

fn text(v: &Value, path: &str) -> Result<String, EventError> {
    let mut at = v;
    for key in path.split('.') {
        at = &at[key];
    }
    at.as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| EventError {
            field: path.to_owned(),
            message: "a non-empty string is required",
        })
}

/// The customer of an object: a string id, or an expanded object's id.
fn customer(object: &Value) -> Result<String, EventError> {
    match &object["customer"] {
        Value::Object(_) => text(object, "customer.id"),
        _ => text(object, "customer"),
    }
    .map_err(|mut e| {
        e.field = format!("data.object.{}", e.field);
        e
    })
}

/// The plan a subscription names: its first item's price `lookup_key`, or
/// `metadata.plan` (both one of free, starter, professional, enterprise).
fn subscription_plan(object: &Value) -> Result<Plan, EventError> {
    let named = object["items"]["data"][0]["price"]["lookup_key"]
        .as_str()
        .or_else(|| object["metadata"]["plan"].as_str());
    named
        .and_then(|name| name.parse().ok())
        .ok_or_else(|| EventError {
            field: "data.object.items.data[0].price.lookup_key".to_owned(),
            message: "a plan name (free, starter, professional, enterprise) is required here or in metadata.plan",
        })
}

impl StripeEvent {
    pub fn parse(body: &Value) -> Result<StripeEvent, EventError> {
        let id = text(body, "id")?;
        let event_type = text(body, "type")?;
        let object = &body["data"]["object"];
        if !object.is_object() && event_type != "ping" {
            return Err(EventError {
                field: "data.object".to_owned(),
                message: "an object is required",
            });
        }
        let kind = match event_type.as_str() {
            "checkout.session.completed" => EventKind::CheckoutCompleted {
                tenant: text(object, "client_reference_id").map_err(|_| EventError {
                    field: "data.object.client_reference_id".to_owned(),
                    message: "the tenant id is required (set client_reference_id at checkout)",
                })?,
                customer: customer(object)?,
                subscription: object["subscription"].as_str().map(str::to_owned),
            },
            "customer.subscription.created"
            | "customer.subscription.updated"
            | "customer.subscription.deleted" => {
                let status = object["status"].as_str().unwrap_or_default();
                let plan = match (event_type.as_str(), status) {
                    // Ended: back to the free plan.
                    ("customer.subscription.deleted", _) | (_, "canceled") => Some(Plan::Free),
                    // Not paid for yet: the plan starts when it is.
                    (_, "incomplete" | "incomplete_expired") => None,
                    _ => Some(subscription_plan(object)?),
                };
                EventKind::Subscription {
                    customer: customer(object)?,
                    subscription: text(object, "id").map_err(|_| EventError {
                        field: "data.object.id".to_owned(),
                        message: "the subscription id is required",
                    })?,
                    plan,
                    tenant_hint: object["metadata"]["tenant_id"].as_str().map(str::to_owned),
                }
            }
            "invoice.paid" => EventKind::InvoicePaid {
                customer: customer(object)?,
            },
            "invoice.payment_failed" => EventKind::InvoicePaymentFailed {
                customer: customer(object)?,
            },
            _ => EventKind::Ignored,
        };
        Ok(StripeEvent {
            id,
            event_type,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &[u8] = b"whsec_test";

    #[test]
    fn a_signature_made_with_the_secret_verifies() {
        let body = br#"{"id":"evt_1"}"#;
        let header = format!("t=1000,v1={}", sign(SECRET, 1000, body));
        assert_eq!(verify(Some(&header), body, SECRET, 1100), Ok(1000));
    }

    #[test]
    fn any_one_of_several_v1_entries_may_match() {
        let body = b"{}";
        let header = format!(
            "t=1000,v1={},v0=abc,v1={}",
            sign(b"old", 1000, body),
            sign(SECRET, 1000, body)
        );
        assert_eq!(verify(Some(&header), body, SECRET, 1000), Ok(1000));
    }

    #[test]
    fn tampering_or_another_secret_is_refused() {
        let body = b"{}";
        let header = format!("t=1000,v1={}", sign(SECRET, 1000, body));
        assert_eq!(
            verify(Some(&header), b"{ }", SECRET, 1000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&header), body, b"other", 1000),
            Err(SignatureError::Mismatch)
        );
        // The timestamp is signed too.
        let moved = header.replace("t=1000", "t=1001");
        assert_eq!(
            verify(Some(&moved), body, SECRET, 1000),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_tolerance_is_five_minutes_either_way() {
        let body = b"{}";
        let header = format!("t=1000,v1={}", sign(SECRET, 1000, body));
        assert!(verify(Some(&header), body, SECRET, 1300).is_ok());
        assert!(verify(Some(&header), body, SECRET, 700).is_ok());
        assert_eq!(
            verify(Some(&header), body, SECRET, 1301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(Some(&header), body, SECRET, 699),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn malformed_headers_say_what_is_missing() {
        assert_eq!(verify(None, b"", SECRET, 0), Err(SignatureError::Missing));
        assert_eq!(
            verify(Some("v1=00"), b"", SECRET, 0),
            Err(SignatureError::NoTimestamp)
        );
        assert_eq!(
            verify(Some("t=5,v0=00,v1=zz"), b"", SECRET, 5),
            Err(SignatureError::NoSignature)
        );
    }

    #[test]
    fn subscriptions_name_their_plan_by_lookup_key_or_metadata() -> Result<(), EventError> {
        let event = |status: &str, kind: &str| {
            json!({"id": "evt_1", "type": format!("customer.subscription.{kind}"),
                   "data": {"object": {"id": "sub_1", "customer": "cus_1", "status": status,
                   "items": {"data": [{"price": {"lookup_key": "professional"}}]}}}})
        };
        let plan = |v: &Value| match StripeEvent::parse(v).map(|e| e.kind) {
            Ok(EventKind::Subscription { plan, .. }) => plan,
            _ => Some(Plan::Enterprise),
        };
        assert_eq!(plan(&event("active", "updated")), Some(Plan::Professional));
        assert_eq!(plan(&event("active", "deleted")), Some(Plan::Free));
        assert_eq!(plan(&event("canceled", "updated")), Some(Plan::Free));
        assert_eq!(plan(&event("incomplete", "created")), None);
        let by_metadata = json!({"id": "evt_2", "type": "customer.subscription.created",
            "data": {"object": {"id": "sub_1", "customer": {"id": "cus_9"}, "status": "active",
            "metadata": {"plan": "starter"}}}});
        assert_eq!(
            StripeEvent::parse(&by_metadata)?.kind,
            EventKind::Subscription {
                customer: "cus_9".into(),
                subscription: "sub_1".into(),
                plan: Some(Plan::Starter),
                tenant_hint: None,
            }
        );
        Ok(())
    }

    #[test]
    fn missing_fields_are_named_by_path() {
        let err = StripeEvent::parse(&json!({"id": "evt_1", "type": "invoice.paid",
            "data": {"object": {}}}))
        .err();
        assert_eq!(
            err.map(|e| e.field),
            Some("data.object.customer".to_owned())
        );
        let err = StripeEvent::parse(&json!({"type": "invoice.paid"})).err();
        assert_eq!(err.map(|e| e.field), Some("id".to_owned()));
    }

    #[test]
    fn other_event_types_are_acknowledged() -> Result<(), EventError> {
        let e = StripeEvent::parse(&json!({"id": "evt_1", "type": "charge.refunded",
            "data": {"object": {"id": "ch_1"}}}))?;
        assert_eq!(e.kind, EventKind::Ignored);
        Ok(())
    }
}
