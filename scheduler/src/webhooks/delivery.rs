//! One attempt: sign the exact body, send it, read a capped response, and
//! decide what becomes of the delivery (docs/adr/0005-scheduler.md). A pipeline in types:
//! a claimed delivery ([`PendingDelivery`]) → [`Response`] (what the
//! receiver did) → [`DeliveryOutcome`].

use super::schedule::{Schedule, parse_retry_after};
use super::signing;
use super::ssrf::{self, AllowList};
use crate::db::webhook_deliveries::ClaimedDelivery;
use catalytic_shared::ids::EndpointId;
use catalytic_shared::secret::Secret;
use catalytic_shared::telemetry::{TraceParent, trace_context};
use catalytic_shared::webhook_event::PAYLOAD_LIMIT;
use catalytic_shared::webhook_secret::{self, SecretBox};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::Instrument;

pub type PendingDelivery = ClaimedDelivery;

/// Bytes of a response read at most, and kept in the attempt log.
pub const READ_LIMIT: usize = 64 * 1024;
pub const KEEP_LIMIT: usize = 4 * 1024;

/// What one attempt observed.
#[derive(Debug)]
pub struct Response {
    pub started_at: DateTime<Utc>,
    pub latency: Duration,
    /// None when no response came (refused, timeout, SSRF guard).
    pub status: Option<u16>,
    pub retry_after: Option<Duration>,
    /// The first 4 KiB of the body, lossy UTF-8.
    pub body: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeliveryOutcome {
    Delivered,
    Retry(Duration),
    /// The schedule is spent.
    GiveUp,
    /// 410 Gone: disable the endpoint now.
    Disable,
}

impl DeliveryOutcome {
    pub fn label(self) -> &'static str {
        match self {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Retry(_) => "retry",
            DeliveryOutcome::GiveUp => "failed",
            DeliveryOutcome::Disable => "disabled",
        }
    }
}

/// 2xx is success (within the client's total timeout); 410 disables; any
/// other status (3xx included: redirects are not followed) or no response
/// is a failure, retried on the schedule.
pub fn decide(response: &Response, attempt: i32, schedule: &Schedule) -> DeliveryOutcome {
    match response.status {
        Some(s) if (200..300).contains(&s) => DeliveryOutcome::Delivered,
        Some(410) => DeliveryOutcome::Disable,
        _ => match schedule.next_delay(attempt, response.retry_after) {
            Some(delay) => DeliveryOutcome::Retry(delay),
            None => DeliveryOutcome::GiveUp,
        },
    }
}

/// The HMAC keys that sign: the current secret, and the previous one while
/// its rotation overlap lasts.
fn signing_keys(delivery: &PendingDelivery, secrets: &SecretBox) -> Result<Vec<Vec<u8>>, String> {
    let open = |key_id: &str, sealed: &[u8]| -> Result<Vec<u8>, String> {
        let secret: Secret<String> = secrets
            .open(key_id, sealed)
            .map_err(|e| format!("endpoint secret: {e}"))?;
        webhook_secret::signing_key(&secret).map_err(|e| format!("endpoint secret: {e}"))
    };
    let mut keys = vec![open(&delivery.key_id, &delivery.sealed)?];
    if let Some((key_id, sealed)) = &delivery.previous {
        keys.push(open(key_id, sealed)?);
    }
    Ok(keys)
}

/// Opened signing keys per endpoint, so a delivery does not open its
/// endpoint's sealed secret again (AES-GCM, base64). An entry holds for the
/// exact sealed bytes it was opened from (current and previous): a rotation,
/// or the previous secret's overlap ending, changes what the claim returns
/// and so opens again. Never holds a failure (the attempt logs it).
pub struct KeyCache {
    secrets: SecretBox,
    opened: Mutex<HashMap<EndpointId, Opened>>,
}

struct Opened {
    sealed: (String, Vec<u8>),
    previous: Option<(String, Vec<u8>)>,
    keys: Arc<Vec<Vec<u8>>>,
}

/// Endpoints remembered at most; past it the cache starts again (each entry
/// is some 150 bytes; reopening costs microseconds).
const KEY_CACHE_MAX: usize = 10_000;

impl KeyCache {
    pub fn new(secrets: SecretBox) -> Self {
        Self {
            secrets,
            opened: Mutex::new(HashMap::new()),
        }
    }

    pub fn keys(&self, delivery: &PendingDelivery) -> Result<Arc<Vec<Vec<u8>>>, String> {
        if let Ok(opened) = self.opened.lock()
            && let Some(o) = opened.get(&delivery.endpoint_id)
            && o.sealed.0 == delivery.key_id
            && o.sealed.1 == delivery.sealed
            && o.previous == delivery.previous
        {
            return Ok(o.keys.clone());
        }
        let keys = Arc::new(signing_keys(delivery, &self.secrets)?);
        if let Ok(mut opened) = self.opened.lock() {
            if opened.len() >= KEY_CACHE_MAX {
                opened.clear();
            }
            opened.insert(
                delivery.endpoint_id,
                Opened {
                    sealed: (delivery.key_id.clone(), delivery.sealed.clone()),
                    previous: delivery.previous.clone(),
                    keys: keys.clone(),
                },
            );
        }
        Ok(keys)
    }
}

/// The bytes sent and signed: the payload as stored. A body over the
/// payload limit only because of `jsonb::text`'s spacing (the limit was
/// measured on compact JSON when the event was built) is sent compact.
fn body(payload: &str) -> Result<Vec<u8>, String> {
    if payload.len() <= PAYLOAD_LIMIT {
        return Ok(payload.as_bytes().to_vec());
    }
    serde_json::from_str::<serde_json::Value>(payload)
        .and_then(|v| serde_json::to_vec(&v))
        .map_err(|e| format!("payload: {e}"))
}

/// Sends one attempt. Never fails: every problem is an observed `Response`
/// with an error, logged like any other attempt.
pub async fn send(
    client: &reqwest::Client,
    keys: &KeyCache,
    allow: &AllowList,
    delivery: &PendingDelivery,
) -> Response {
    let started_at = Utc::now();
    let clock = Instant::now();
    let failed = |error: String| Response {
        started_at,
        latency: clock.elapsed(),
        status: None,
        retry_after: None,
        body: None,
        error: Some(error),
    };
    let url = match reqwest::Url::parse(&delivery.url) {
        Ok(url) => url,
        Err(e) => return failed(format!("invalid url: {e}")),
    };
    if let Err(refused) = ssrf::check_url(&url, allow) {
        return failed(refused.to_string());
    }
    let keys = match keys.keys(delivery) {
        Ok(keys) => keys,
        Err(e) => return failed(e),
    };
    // The body sent is the body signed: these bytes, once.
    let body = match body(&delivery.payload) {
        Ok(body) => body,
        Err(e) => return failed(e),
    };
    let id = delivery.message_id.to_string();
    let timestamp = started_at.timestamp();
    let signature = signing::signature(&id, timestamp, &body, &keys);
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body);
    // A job event's attempt is a span of the job's trace, and the receiver
    // gets the context to continue it (issue 23).
    let span = match delivery.traceparent.as_deref().and_then(TraceParent::parse) {
        Some(parent) => {
            let span = tracing::info_span!(
                "webhook.deliver",
                webhook_id = %delivery.message_id,
                endpoint_id = %delivery.endpoint_id,
                attempt = delivery.attempt,
                otel.kind = "client",
            );
            let sent = parent.continue_in(&span);
            request = request.header(trace_context::HEADER, sent.as_str());
            span
        }
        None => tracing::Span::none(),
    };
    let mut response = match request.send().instrument(span).await {
        Ok(r) => r,
        Err(e) => return failed(error_chain(&e)),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    // A redirect is a failed attempt (never followed: it could point the
    // request past the SSRF guard); say so in the log, with where it pointed.
    let mut error = (300..400).contains(&status).then(|| {
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("nowhere");
        format!(
            "redirect not followed: {status} to {location}; the endpoint must answer 2xx itself"
        )
    });
    let mut kept = Vec::new();
    let mut read = 0usize;
    while read < READ_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                read += chunk.len();
                let room = KEEP_LIMIT.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) => break,
            Err(e) => {
                error = Some(format!("reading the response: {}", error_chain(&e)));
                break;
            }
        }
    }
    Response {
        started_at,
        latency: clock.elapsed(),
        // A body that failed mid-read on a 2xx still counts: the status came in time.
        status: Some(status),
        retry_after,
        body: Some(String::from_utf8_lossy(&kept).into_owned()),
        error,
    }
}

/// The error and its sources on one line (reqwest hides the cause, e.g. the
/// SSRF refusal, in the chain).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: Option<u16>) -> Response {
        Response {
            started_at: Utc::now(),
            latency: Duration::ZERO,
            status,
            retry_after: None,
            body: None,
            error: None,
        }
    }

    #[test]
    fn statuses_map_to_outcomes() {
        let schedule = Schedule::new(1.0);
        assert_eq!(
            decide(&response(Some(204)), 1, &schedule),
            DeliveryOutcome::Delivered
        );
        assert_eq!(
            decide(&response(Some(410)), 1, &schedule),
            DeliveryOutcome::Disable
        );
        for status in [Some(301), Some(404), Some(500), None] {
            assert!(matches!(
                decide(&response(status), 1, &schedule),
                DeliveryOutcome::Retry(_)
            ));
        }
        assert_eq!(
            decide(&response(Some(500)), 8, &schedule),
            DeliveryOutcome::GiveUp
        );
    }
}
