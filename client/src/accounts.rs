//! Calls on the session and the tenant's credentials: refresh, logout,
//! who am I, and API keys (listed and revoked by a logged-in admin).

use crate::client::{Client, decode, expect_empty, page_query};
use crate::error::Error;
use crate::types::{ApiKey, Page, Tokens};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

impl Client {
    /// `POST /v1/auth/refresh` → 200 with a new pair; each refresh token works once.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, Error> {
        let response = self
            .request(Method::POST, "/v1/auth/refresh")
            .json(&json!({"refresh_token": refresh_token}))
            .send()
            .await?;
        decode(response, StatusCode::OK, "refresh").await
    }

    /// `POST /v1/auth/logout` with the access token → 204.
    pub async fn logout(&self) -> Result<(), Error> {
        let response = self.request(Method::POST, "/v1/auth/logout").send().await?;
        expect_empty(response, StatusCode::NO_CONTENT).await
    }

    /// `GET /v1/me`: `{user, tenant, role, plan}`.
    pub async fn me(&self) -> Result<Value, Error> {
        self.get_json("/v1/me", &[], "me").await
    }

    /// `GET /v1/api-keys?limit=&cursor=`: one page of keys, newest first,
    /// revoked ones included.
    pub async fn list_api_keys(
        &self,
        limit: Option<u32>,
        cursor: Option<uuid::Uuid>,
    ) -> Result<Page<ApiKey>, Error> {
        let query = page_query(limit, cursor);
        self.get_json("/v1/api-keys", &query, "api keys").await
    }

    /// `DELETE /v1/api-keys/{id}` → 204: the key stops working at once.
    pub async fn revoke_api_key(&self, id: uuid::Uuid) -> Result<(), Error> {
        self.delete(&format!("/v1/api-keys/{id}")).await
    }
}
