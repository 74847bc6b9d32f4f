//! The client a command calls through. With a stored session, a 401
//! (the 15-minute access token ran out) refreshes the pair once, saves it,
//! and repeats the call; refresh tokens work once, so the new pair must be
//! written before anything else happens.

use crate::config::{self, Credential, Resolved, StoredSession};
use crate::failure::Failure;
use catalytic_client::{Client, Error as ApiError};
use std::future::Future;
use std::path::PathBuf;

pub struct Api {
    client: Client,
    /// The session behind the client's token, if that is the credential.
    session: Option<StoredSession>,
    /// Where a refreshed session is written.
    config_path: PathBuf,
}

impl Api {
    /// A client for `resolved`; `authenticated` commands refuse to start
    /// without a credential instead of collecting a 401.
    pub fn new(
        resolved: &Resolved,
        config_path: PathBuf,
        authenticated: bool,
    ) -> Result<Self, Failure> {
        let (token, session) = match &resolved.credential {
            Credential::ApiKey { key, .. } => (key.clone(), None),
            Credential::Session(s) => (s.access_token.clone(), Some(s.clone())),
            Credential::None if authenticated => {
                return Err(Failure::Usage(format!(
                    "no credential for {}: run `catalytic login`, or pass an API key (--api-key or CATALYTIC_API_KEY)",
                    resolved.server
                )));
            }
            Credential::None => (String::new(), None),
        };
        let client = Client::new(resolved.server.clone(), token).map_err(|_| {
            Failure::Usage(format!(
                "the server {:?} is not an http(s) URL like http://127.0.0.1:8080",
                resolved.server
            ))
        })?;
        Ok(Self {
            client,
            session,
            config_path,
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs `call`; on a 401 with a stored session, refreshes and runs it once more.
    pub async fn call<T, F, Fut>(&mut self, call: F) -> Result<T, Failure>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        match call(self.client.clone()).await {
            Err(e) if e.status() == Some(401) && self.session.is_some() => {
                self.refresh().await?;
                Ok(call(self.client.clone()).await?)
            }
            other => Ok(other?),
        }
    }

    async fn refresh(&mut self) -> Result<(), Failure> {
        let Some(session) = self.session.take() else {
            return Err(Failure::SessionExpired);
        };
        let tokens = match self.client.refresh(&session.refresh_token).await {
            Ok(tokens) => tokens,
            Err(e) if e.status() == Some(401) => {
                config::save_session(&self.config_path, None)?;
                return Err(Failure::SessionExpired);
            }
            Err(e) => return Err(e.into()),
        };
        let renewed = StoredSession {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            ..session
        };
        config::save_session(&self.config_path, Some(&renewed))?;
        self.client = self.client.with_credential(renewed.access_token.clone());
        self.session = Some(renewed);
        Ok(())
    }
}
