//! Calls on the session and the tenant's credentials: refresh, logout,
//! who am I, email verification, passwords (reset by a mailed link, or
//! changed by giving the current one), and API keys (listed and revoked by
//! a logged-in admin).

use crate::client::{Client, decode, expect_empty, page_query};
use crate::error::Error;
use crate::types::{ApiKey, MailAccepted, Page, Tokens};
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

    /// `POST /v1/auth/verify-email` with the `cev_…` token of the mailed
    /// link → 204. A token unknown, expired or used is a 422 naming `token`.
    pub async fn verify_email(&self, token: &str) -> Result<(), Error> {
        let response = self
            .request(Method::POST, "/v1/auth/verify-email")
            .json(&json!({"token": token}))
            .send()
            .await?;
        expect_empty(response, StatusCode::NO_CONTENT).await
    }

    /// `POST /v1/auth/verify-email/resend` with a user's access token → 202:
    /// a new link is mailed and earlier ones stop working. 409 when the
    /// email is verified already; 403 for an API key.
    pub async fn resend_verification(&self) -> Result<MailAccepted, Error> {
        let response = self
            .request(Method::POST, "/v1/auth/verify-email/resend")
            .send()
            .await?;
        decode(response, StatusCode::ACCEPTED, "resend verification").await
    }

    /// `POST /v1/auth/password-reset` → 202 for any plausible email, whether
    /// or not it has an account; if it has, a single-use link is mailed.
    pub async fn request_password_reset(&self, email: &str) -> Result<MailAccepted, Error> {
        let response = self
            .request(Method::POST, "/v1/auth/password-reset")
            .json(&json!({"email": email}))
            .send()
            .await?;
        decode(response, StatusCode::ACCEPTED, "password reset").await
    }

    /// `POST /v1/auth/password-reset/confirm` with the `cpr_…` token of the
    /// mailed link → 204: the password is set and every session of the user
    /// ends. 422 naming `token` or `new_password` (with why it was refused).
    pub async fn confirm_password_reset(
        &self,
        token: &str,
        new_password: &str,
    ) -> Result<(), Error> {
        let response = self
            .request(Method::POST, "/v1/auth/password-reset/confirm")
            .json(&json!({"token": token, "new_password": new_password}))
            .send()
            .await?;
        expect_empty(response, StatusCode::NO_CONTENT).await
    }

    /// `POST /v1/auth/password` with a user's access token → 204: every
    /// other session of the user ends, this one goes on. 422 naming
    /// `current_password` (wrong) or `new_password`; 403 for an API key;
    /// 429 while wrong guesses have the account locked.
    pub async fn change_password(
        &self,
        current_password: &str,
        new_password: &str,
    ) -> Result<(), Error> {
        let response = self
            .request(Method::POST, "/v1/auth/password")
            .json(&json!({
                "current_password": current_password,
                "new_password": new_password,
            }))
            .send()
            .await?;
        expect_empty(response, StatusCode::NO_CONTENT).await
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
