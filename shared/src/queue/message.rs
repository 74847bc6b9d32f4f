//! The job message: what the relay publishes and a worker consumes. It is a
//! pointer to the job row, and for a small spec a copy of it (issue 17):
//! a worker may compute a cheap job from the copy before it claims it and
//! record claim and outcome in one statement (worker/src/executor.rs, "run
//! through"). That statement applies only while the row's spec still
//! equals the copy, so a stale or forged copy can never become a result:
//! the worker then claims the job as for a message without one and reads
//! the spec from PostgreSQL.

use crate::ids::{JobId, MessageId, TenantId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Largest spec (as PostgreSQL stores it, `pg_column_size`) the relay
/// copies into a message. Trivial specs are 100–300 bytes; an explicit
/// list of blocked vertices can be megabytes, which would only slow the
/// broker for a job too large to run through anyway.
pub const INLINE_SPEC_MAX_BYTES: i32 = 2048;

/// Bumped on any incompatible change. A worker that meets a newer version
/// dead-letters the message with a clear reason instead of guessing.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMessage {
    pub schema_version: u32,
    pub message_id: MessageId,
    pub job_id: JobId,
    pub tenant_id: TenantId,
    /// The attempt this message starts: the lease token the worker must match.
    pub attempt: i32,
    /// The job as submitted, when its spec is small (`INLINE_SPEC_MAX_BYTES`).
    /// Absent from messages of older relays, which workers handle by claiming.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<InlineJob>,
}

/// The copy of a job's row a message may carry: what its compute needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlineJob {
    pub spec: Value,
    pub time_limit_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("payload is not a job message: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("message schema version {found} is newer than this worker's {supported}")]
    NewerSchema { found: u32, supported: u32 },
}

impl JobMessage {
    /// The message of `job`'s `attempt`, in this release's schema, without a copy of the spec.
    pub fn new(message_id: MessageId, job_id: JobId, tenant_id: TenantId, attempt: i32) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            message_id,
            job_id,
            tenant_id,
            attempt,
            inline: None,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising ids, integers and a JSON value (string keys) cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MessageError> {
        #[derive(Deserialize)]
        struct Version {
            schema_version: u32,
        }
        // Read the version first: a newer message may not parse as this one.
        let version: Version = serde_json::from_slice(bytes)?;
        if version.schema_version > SCHEMA_VERSION {
            return Err(MessageError::NewerSchema {
                found: version.schema_version,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(serde_json::from_slice(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> JobMessage {
        JobMessage::new(MessageId::new(), JobId::new(), TenantId::new(), 1)
    }

    #[test]
    fn an_inline_copy_round_trips_and_an_older_message_has_none() -> Result<(), MessageError> {
        let mut m = message();
        m.inline = Some(InlineJob {
            spec: serde_json::json!({"lattice": {"sizes": [2]}, "operation": "components", "params": {}}),
            time_limit_ms: 60_000,
        });
        assert_eq!(JobMessage::from_bytes(&m.to_bytes())?, m);
        // What a relay before the copy published.
        let older = format!(
            r#"{{"schema_version":1,"message_id":"{}","job_id":"{}","tenant_id":"{}","attempt":2}}"#,
            m.message_id, m.job_id, m.tenant_id
        );
        let parsed = JobMessage::from_bytes(older.as_bytes())?;
        assert_eq!((parsed.inline, parsed.attempt), (None, 2));
        Ok(())
    }

    #[test]
    fn round_trips() -> Result<(), MessageError> {
        let m = message();
        assert_eq!(JobMessage::from_bytes(&m.to_bytes())?, m);
        Ok(())
    }

    #[test]
    fn newer_schema_is_refused_with_reason() {
        let mut m = message();
        m.schema_version = SCHEMA_VERSION + 1;
        let err = JobMessage::from_bytes(&m.to_bytes());
        assert!(
            matches!(err, Err(MessageError::NewerSchema { found, .. }) if found == SCHEMA_VERSION + 1)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        assert!(matches!(
            JobMessage::from_bytes(b"{\"nope\":1}"),
            Err(MessageError::Malformed(_))
        ));
        assert!(matches!(
            JobMessage::from_bytes(b"\xff"),
            Err(MessageError::Malformed(_))
        ));
    }
}
