//! The body of a job's webhook event (issue 6, docs/adr/0005-scheduler.md), built in the
//! terminal transaction: type, timestamp, and a job summary with a link to
//! the job (`GET /v1/jobs/{id}`, relative to the api's base URL). A result
//! is inlined only while the whole body stays within [`PAYLOAD_LIMIT`];
//! past it the event says `result_omitted` and the receiver follows the link.

use crate::ids::JobId;
use crate::job::JobState;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// Largest body sent (docs/adr/0005-scheduler.md: payloads ≤ 256 KiB).
pub const PAYLOAD_LIMIT: usize = 256 * 1024;

/// Room left for the `"tenant_id": "<uuid>"` member the writing statement
/// adds (52 bytes with its separators).
const TENANT_MEMBER_BYTES: usize = 64;

/// What a job's terminal transition tells its webhooks. The payload's
/// `data.tenant_id` is set by the statement that writes the message, from
/// the job row it moved (`db::jobs`): one statement, no read before it.
pub struct JobOutcome<'a> {
    pub job: JobId,
    pub status: JobState,
    pub attempt: i32,
    pub result: Option<&'a Value>,
    pub error: Option<&'a Value>,
}

impl JobOutcome<'_> {
    pub fn event_type(&self) -> String {
        format!("job.{}", self.status)
    }

    /// The body, capped at [`PAYLOAD_LIMIT`].
    pub fn payload(&self, now: DateTime<Utc>) -> Value {
        let mut data = json!({
            "job_id": self.job,
            "status": self.status,
            "attempt": self.attempt,
            "result_url": format!("/v1/jobs/{}", self.job),
        });
        if let Some(error) = self.error {
            data["error"] = error.clone();
        }
        let mut payload = json!({ "type": self.event_type(), "timestamp": now, "data": data });
        if let Some(result) = self.result {
            payload["data"]["result"] = result.clone();
            if serialized_len(&payload) > PAYLOAD_LIMIT - TENANT_MEMBER_BYTES
                && let Some(data) = payload["data"].as_object_mut()
            {
                data.remove("result");
                data.insert("result_omitted".into(), Value::Bool(true));
            }
        }
        payload
    }
}

fn serialized_len(value: &Value) -> usize {
    /// Counts bytes instead of keeping them.
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a Value to a counter cannot fail; on a failure, count it as too big.
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(result: &Value) -> JobOutcome<'_> {
        JobOutcome {
            job: JobId::new(),
            status: JobState::Succeeded,
            attempt: 1,
            result: Some(result),
            error: None,
        }
    }

    #[test]
    fn a_small_result_is_inlined_a_large_one_linked() {
        let small = json!({"length": 3});
        let payload = outcome(&small).payload(Utc::now());
        assert_eq!(payload["type"], "job.succeeded");
        assert_eq!(payload["data"]["result"], small);
        assert!(payload["data"]["result_omitted"].is_null());

        let large = json!({"path": "x".repeat(PAYLOAD_LIMIT)});
        let event = outcome(&large);
        let payload = event.payload(Utc::now());
        assert!(payload["data"].get("result").is_none());
        assert_eq!(payload["data"]["result_omitted"], true);
        assert_eq!(
            payload["data"]["result_url"],
            format!("/v1/jobs/{}", event.job)
        );
        assert!(serialized_len(&payload) <= PAYLOAD_LIMIT - TENANT_MEMBER_BYTES);
    }
}
