//! `Idempotency-Key` on submit (docs/adr/0004-api.md): the same key with the same body
//! answers the job the first submit created (202, `Idempotent-Replayed:
//! true`); the same key with another body is a 409. Keys live 24 hours.
//!
//! The record is written in the submit's transaction (`submit_batch`, in
//! the same statement as its jobs), so a key never names a job that was not
//! stored. Two concurrent submits with one key meet in the batch (the later
//! one stores nothing) or, across transactions, at the table's unique
//! constraint (the later one's jobs are not inserted): the loser answers
//! the winner's job. A bulk submit's key covers its whole body; its record
//! keeps the per-item results, which a replay answers again.

use crate::db;
use crate::error::ApiError;
use axum::http::HeaderMap;
use catalytic_shared::db::DbError;
use catalytic_shared::ids::{JobId, TenantId};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

pub const HEADER: &str = "Idempotency-Key";
/// Set to `true` on a response that replays an earlier submit.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";

/// A validated key and the hash of the body it came with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    pub request_hash: Vec<u8>,
}

impl IdempotencyKey {
    /// None without the header; 422 naming `Idempotency-Key` unless it is
    /// 1–255 visible ASCII characters.
    pub fn from_request(
        headers: &HeaderMap,
        body: &serde_json::Value,
    ) -> Result<Option<Self>, ApiError> {
        let Some(value) = headers.get(HEADER) else {
            return Ok(None);
        };
        let invalid = || ApiError::field(HEADER, "must be 1 to 255 visible ASCII characters");
        let key = value.to_str().map_err(|_| invalid())?;
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid());
        }
        Ok(Some(Self {
            key: key.to_owned(),
            request_hash: request_hash(body),
        }))
    }

    /// The job an earlier submit with this key created, when its body was
    /// the same; 409 when it was another body; None when the key is new.
    pub async fn replay(&self, pool: &PgPool, tenant: TenantId) -> Result<Option<JobId>, ApiError> {
        Ok(self.record(pool, tenant).await?.map(|r| r.job_id))
    }

    /// The earlier submit's record (a bulk submit's has its per-item
    /// results), when its body was the same; 409 when it was another body;
    /// None when the key is new.
    pub async fn record(
        &self,
        pool: &PgPool,
        tenant: TenantId,
    ) -> Result<Option<db::idempotency::Record>, ApiError> {
        let mut conn = pool.acquire().await.map_err(DbError::from)?;
        match db::idempotency::find(&mut conn, tenant, &self.key).await? {
            None => Ok(None),
            Some(record) if record.request_hash == self.request_hash => Ok(Some(record)),
            Some(_) => Err(ApiError::Conflict(format!(
                "{HEADER} {:?} was used with a different request body in the last 24 hours",
                self.key
            ))),
        }
    }
}

/// SHA-256 of the body's canonical JSON: object keys sorted (serde_json's
/// map is ordered by key), no insignificant whitespace, so two bodies that
/// differ only in layout or key order are the same request.
pub fn request_hash(body: &serde_json::Value) -> Vec<u8> {
    Sha256::digest(body.to_string().as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    fn headers(key: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(key) {
            h.insert(HEADER, v);
        }
        h
    }

    #[test]
    fn key_order_and_whitespace_do_not_change_the_hash() -> anyhow::Result<()> {
        let a: serde_json::Value = serde_json::from_str(r#"{"b": 1, "a": {"y": 2, "x": 3}}"#)?;
        let b: serde_json::Value = serde_json::from_str(r#"{"a":{"x":3,"y":2},"b":1}"#)?;
        assert_eq!(request_hash(&a), request_hash(&b));
        assert_ne!(request_hash(&a), request_hash(&json!({"b": 2})));
        Ok(())
    }

    #[test]
    fn keys_are_one_to_255_visible_ascii_characters() {
        let body = json!({});
        assert!(matches!(
            IdempotencyKey::from_request(&HeaderMap::new(), &body),
            Ok(None)
        ));
        assert!(IdempotencyKey::from_request(&headers("k"), &body).is_ok());
        assert!(IdempotencyKey::from_request(&headers(&"k".repeat(255)), &body).is_ok());
        for bad in ["", "has space", &"k".repeat(256)] {
            assert!(
                IdempotencyKey::from_request(&headers(bad), &body).is_err(),
                "{bad:?}"
            );
        }
    }
}
