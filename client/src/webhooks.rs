//! Webhook endpoints, their test message, and the message log with each
//! message's delivery attempts. All need an admin user's access token.

use crate::client::{Client, decode, page_query};
use crate::error::Error;
use crate::types::{
    Page, WebhookAttempt, WebhookEndpoint, WebhookEndpointCreated, WebhookMessage, WebhookTestSent,
};
use reqwest::{Method, StatusCode};
use serde_json::Value;

impl Client {
    /// `POST /v1/webhooks/endpoints` (`url`, `event_types`, …) → 201 with the secret.
    pub async fn create_webhook_endpoint(
        &self,
        body: &Value,
    ) -> Result<WebhookEndpointCreated, Error> {
        let response = self
            .request(Method::POST, "/v1/webhooks/endpoints")
            .json(body)
            .send()
            .await?;
        decode(response, StatusCode::CREATED, "webhook endpoint").await
    }

    /// `GET /v1/webhooks/endpoints?limit=&cursor=`: one page, newest first.
    pub async fn list_webhook_endpoints(
        &self,
        limit: Option<u32>,
        cursor: Option<uuid::Uuid>,
    ) -> Result<Page<WebhookEndpoint>, Error> {
        let query = page_query(limit, cursor);
        self.get_json("/v1/webhooks/endpoints", &query, "webhook endpoints")
            .await
    }

    /// `POST /v1/webhooks/endpoints/{id}/test` → 202: a `webhook.test`
    /// message to this endpoint only.
    pub async fn test_webhook_endpoint(&self, id: uuid::Uuid) -> Result<WebhookTestSent, Error> {
        let response = self
            .request(Method::POST, &format!("/v1/webhooks/endpoints/{id}/test"))
            .send()
            .await?;
        decode(response, StatusCode::ACCEPTED, "webhook test").await
    }

    /// `GET /v1/webhooks/messages?limit=&cursor=`: one page, newest first.
    pub async fn list_webhook_messages(
        &self,
        limit: Option<u32>,
        cursor: Option<uuid::Uuid>,
    ) -> Result<Page<WebhookMessage>, Error> {
        let query = page_query(limit, cursor);
        self.get_json("/v1/webhooks/messages", &query, "webhook messages")
            .await
    }

    /// `GET /v1/webhooks/messages/{id}/attempts`: every attempt, oldest first.
    pub async fn list_webhook_attempts(
        &self,
        message_id: uuid::Uuid,
    ) -> Result<Vec<WebhookAttempt>, Error> {
        let path = format!("/v1/webhooks/messages/{message_id}/attempts");
        self.get_json(&path, &[], "webhook attempts").await
    }
}
