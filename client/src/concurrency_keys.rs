//! Stored concurrency limits (issue 21): a tenant's limit per concurrency
//! key, which overrides the `max_concurrency` of every job of the key,
//! waiting ones included. Keys go into the path percent-encoded, so any
//! key a submit may name (slashes, spaces, dots) reaches the API whole.

use crate::client::{Client, decode, page_query};
use crate::error::Error;
use crate::types::{ConcurrencyKey, Page};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// `/v1/concurrency-keys/{key}`, the key percent-encoded.
fn key_path(key: &str) -> String {
    format!(
        "/v1/concurrency-keys/{}",
        utf8_percent_encode(key, NON_ALPHANUMERIC)
    )
}

impl Client {
    /// `PUT /v1/concurrency-keys/{key}` (`max_concurrency`) → 201 when
    /// stored, 200 when changed; applies at once to the key's jobs.
    pub async fn set_concurrency_key(&self, key: &str, max: u32) -> Result<ConcurrencyKey, Error> {
        let response = self
            .request(Method::PUT, &key_path(key))
            .json(&json!({"max_concurrency": max}))
            .send()
            .await?;
        let expected = match response.status() {
            StatusCode::CREATED => StatusCode::CREATED,
            _ => StatusCode::OK,
        };
        decode(response, expected, "concurrency key").await
    }

    /// `GET /v1/concurrency-keys?limit=&cursor=`: one page, in key order.
    pub async fn list_concurrency_keys(
        &self,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<ConcurrencyKey, String>, Error> {
        let query = page_query(limit, cursor);
        self.get_json("/v1/concurrency-keys", &query, "concurrency keys")
            .await
    }

    /// `GET /v1/concurrency-keys/{key}`: 404 when no limit is stored.
    pub async fn get_concurrency_key(&self, key: &str) -> Result<ConcurrencyKey, Error> {
        self.get_json(&key_path(key), &[], "concurrency key").await
    }

    /// `DELETE /v1/concurrency-keys/{key}` → 204: the jobs' own
    /// `max_concurrency` applies again.
    pub async fn delete_concurrency_key(&self, key: &str) -> Result<(), Error> {
        self.delete(&key_path(key)).await
    }
}
