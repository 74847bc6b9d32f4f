//! The job message: what the relay publishes and a worker consumes. It is a
//! pointer to the job row, not the job: the worker reads the spec from
//! PostgreSQL, so a message can never carry a stale or forged spec.

use crate::ids::{JobId, MessageId, TenantId};
use serde::{Deserialize, Serialize};

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
}

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("payload is not a job message: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("message schema version {found} is newer than this worker's {supported}")]
    NewerSchema { found: u32, supported: u32 },
}

impl JobMessage {
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising a struct of ids and integers cannot fail.
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
        JobMessage {
            schema_version: SCHEMA_VERSION,
            message_id: MessageId::new(),
            job_id: JobId::new(),
            tenant_id: TenantId::new(),
            attempt: 1,
        }
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
