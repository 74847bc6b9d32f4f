//! Posting spans to an OTLP/HTTP receiver through the reqwest client the
//! processes already have, instead of the exporter's own (a second reqwest
//! major version, or hyper's client tied to a runtime).
//!
//! The SDK's batch processor exports from a thread of its own, outside
//! tokio, and waits on the export with a plain executor; so each request is
//! spawned onto the process's runtime (the handle taken at start) and its
//! `JoinHandle` awaited, which works from any thread.

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct RuntimeClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl RuntimeClient {
    /// Must be called inside the runtime that will carry the requests.
    pub fn new(timeout: Duration) -> Result<Self, reqwest::Error> {
        Ok(Self {
            client: reqwest::Client::builder().timeout(timeout).build()?,
            runtime: tokio::runtime::Handle::current(),
        })
    }
}

#[async_trait::async_trait]
impl HttpClient for RuntimeClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let request = reqwest::Request::try_from(request)?;
        let response = self
            .runtime
            .spawn(async move {
                let response = client.execute(request).await?;
                let mut answer = Response::builder().status(response.status());
                if let Some(headers) = answer.headers_mut() {
                    *headers = response.headers().clone();
                }
                let body = response.bytes().await?;
                Ok::<_, HttpError>(answer.body(body)?)
            })
            .await??;
        Ok(response)
    }
}
