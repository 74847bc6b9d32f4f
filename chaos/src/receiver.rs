//! The webhook receiver of the chaos runs: a real axum server on 127.0.0.1
//! that verifies each delivery's Standard Webhooks signature with the
//! independent `standardwebhooks` crate and counts deliveries per
//! `webhook-id`. It can be taken down (the port refuses) and brought back
//! on the same port, to play a customer's outage.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Tally {
    /// The endpoint's secret; set once the endpoint exists.
    secret: Option<String>,
    /// Verified deliveries per `webhook-id`.
    verified: HashMap<String, usize>,
    /// Deliveries whose signature did not verify.
    invalid: usize,
}

type Shared = Arc<Mutex<Tally>>;

pub struct Receiver {
    pub addr: SocketAddr,
    tally: Shared,
    serving: Option<(CancellationToken, JoinHandle<()>)>,
}

impl Receiver {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let mut receiver = Self {
            addr: listener.local_addr()?,
            tally: Shared::default(),
            serving: None,
        };
        receiver.serve(listener);
        Ok(receiver)
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn verify_with(&self, secret: &str) {
        if let Ok(mut tally) = self.tally.lock() {
            tally.secret = Some(secret.to_owned());
        }
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(self.tally.clone());
        let stop = CancellationToken::new();
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { token.cancelled().await })
                .await;
        });
        self.serving = Some((stop, task));
    }

    /// Takes the receiver down: the listener closes, so connections are
    /// refused until `up`.
    pub async fn down(&mut self) {
        if let Some((stop, mut task)) = self.serving.take() {
            stop.cancel();
            // Graceful shutdown waits for open connections; a sender that
            // holds one idle is cut off after a moment.
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }

    /// Brings it back on the same port.
    pub async fn up(&mut self) -> anyhow::Result<()> {
        let listener = tokio::net::TcpListener::bind(self.addr).await?;
        self.serve(listener);
        Ok(())
    }

    /// What it has received so far, readable from another task.
    pub fn counts(&self) -> Counts {
        Counts(self.tally.clone())
    }
}

/// A handle on a receiver's tally.
#[derive(Clone)]
pub struct Counts(Shared);

impl Counts {
    /// Verified deliveries per `webhook-id`.
    pub fn verified(&self) -> HashMap<String, usize> {
        self.0
            .lock()
            .map(|t| t.verified.clone())
            .unwrap_or_default()
    }

    pub fn invalid(&self) -> usize {
        self.0.lock().map(|t| t.invalid).unwrap_or_default()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some((stop, task)) = self.serving.take() {
            stop.cancel();
            task.abort();
        }
    }
}

async fn receive(State(tally): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let Ok(mut tally) = tally.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    let verified = tally
        .secret
        .as_deref()
        .and_then(|s| standardwebhooks::Webhook::new(s).ok())
        .is_some_and(|wh| wh.verify(&body, &headers).is_ok());
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if verified {
        *tally.verified.entry(id).or_default() += 1;
        StatusCode::OK
    } else {
        // Refused, so the sender would retry: a bad signature is never
        // counted as delivered.
        tally.invalid += 1;
        StatusCode::UNAUTHORIZED
    }
}
