//! The calls. Each sends one request, maps a non-success status to
//! [`Error::Api`] with the problem body, and decodes the success body.

use crate::error::{Error, Problem};
use crate::types::{
    ApiKeyCreated, BulkSubmitted, Cancelled, Deleted, Job, JobFilter, JobId, Lattice, Page,
    RegisterAccepted, Submitted, Tokens,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// One base URL (`http://127.0.0.1:8080`) and one bearer credential.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    /// An API key (`clc_…`) or an access token; empty for the auth calls.
    credential: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with its own connection pool.
    pub fn new(base: impl Into<String>, credential: impl Into<String>) -> Result<Self, Error> {
        Self::with_http(reqwest::Client::new(), base, credential)
    }

    /// A client on a shared pool (many tenants, one process).
    pub fn with_http(
        http: reqwest::Client,
        base: impl Into<String>,
        credential: impl Into<String>,
    ) -> Result<Self, Error> {
        let base = base.into().trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&base).map_err(|_| Error::BaseUrl(base.clone()))?;
        if parsed.cannot_be_a_base() || !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::BaseUrl(base));
        }
        Ok(Self {
            http,
            base,
            credential: credential.into(),
        })
    }

    /// A client without a credential, for register and login.
    pub fn anonymous(base: impl Into<String>) -> Result<Self, Error> {
        Self::new(base, "")
    }

    /// The same client acting with another credential (after a login).
    pub fn with_credential(&self, credential: impl Into<String>) -> Self {
        Self {
            credential: credential.into(),
            ..self.clone()
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self.http.request(method, self.url(path));
        match self.credential.is_empty() {
            true => builder,
            false => builder.bearer_auth(&self.credential),
        }
    }

    /// `GET path?query` → 200, decoded: the shape of every plain read.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &'static str,
    ) -> Result<T, Error> {
        let response = self.request(Method::GET, path).query(query).send().await?;
        decode(response, StatusCode::OK, what).await
    }

    /// `DELETE path` → 204.
    pub(crate) async fn delete(&self, path: &str) -> Result<(), Error> {
        let response = self.request(Method::DELETE, path).send().await?;
        expect_empty(response, StatusCode::NO_CONTENT).await
    }

    /// `POST /v1/auth/register` → 202, the same answer whether or not the
    /// email already had an account. Without `invitation_token` a new
    /// tenant (plan free) is made with this user as its owner; with one
    /// (`cli_…`) the user joins the inviting tenant, and `tenant_name` must
    /// be `None`. A new account can log in at once and is mailed a link to
    /// verify its email.
    pub async fn register(
        &self,
        email: &str,
        password: &str,
        tenant_name: Option<&str>,
        invitation_token: Option<&str>,
    ) -> Result<RegisterAccepted, Error> {
        let mut body = json!({"email": email, "password": password});
        if let Some(name) = tenant_name {
            body["tenant_name"] = json!(name);
        }
        if let Some(token) = invitation_token {
            body["invitation_token"] = json!(token);
        }
        let response = self
            .request(Method::POST, "/v1/auth/register")
            .json(&body)
            .send()
            .await?;
        decode(response, StatusCode::ACCEPTED, "register").await
    }

    /// `POST /v1/auth/login` → 200 with the session's tokens.
    pub async fn login(&self, email: &str, password: &str) -> Result<Tokens, Error> {
        let response = self
            .request(Method::POST, "/v1/auth/login")
            .json(&json!({"email": email, "password": password}))
            .send()
            .await?;
        decode(response, StatusCode::OK, "login").await
    }

    /// `POST /v1/jobs` → 202. Pass an `Idempotency-Key` to make a retry safe.
    /// A body with `unique_for_secs` whose key a live hold has is answered
    /// 200 with that job ([`Submitted::existing`]) and stores nothing.
    pub async fn submit_job(
        &self,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> Result<Submitted, Error> {
        let request = self.request(Method::POST, "/v1/jobs").json(body);
        let (mut submitted, replayed): (Submitted, bool) =
            send_idempotent(request, idempotency_key, "submit").await?;
        submitted.replayed = replayed;
        Ok(submitted)
    }

    /// `POST /v1/jobs/batch` → 202 when at least one job was accepted: one
    /// result per item, in order. Up to 1,000 jobs; one `Idempotency-Key`
    /// covers them all (a retry answers the same results). When none was
    /// accepted the API answers a problem ([`Error::Api`]) whose body holds
    /// the same `results` beside `errors` (read them with
    /// [`BulkSubmitted::from_refusal`]).
    pub async fn submit_batch(
        &self,
        jobs: &[Value],
        idempotency_key: Option<&str>,
    ) -> Result<BulkSubmitted, Error> {
        let request = self
            .request(Method::POST, "/v1/jobs/batch")
            .json(&json!({ "jobs": jobs }));
        let (mut submitted, replayed): (BulkSubmitted, bool) =
            send_idempotent(request, idempotency_key, "bulk submit").await?;
        submitted.replayed = replayed;
        Ok(submitted)
    }

    /// `GET /v1/jobs/{id}`; with `wait` (0–60 s) the API answers as soon as
    /// the job is terminal, or after that many seconds with its state then.
    pub async fn get_job(&self, id: JobId, wait: Option<u32>) -> Result<Job, Error> {
        let path = match wait {
            Some(seconds) => format!("/v1/jobs/{id}?wait={seconds}"),
            None => format!("/v1/jobs/{id}"),
        };
        let response = self.request(Method::GET, &path).send().await?;
        decode(response, StatusCode::OK, "job").await
    }

    /// `GET /v1/jobs?status=&limit=&cursor=`: one page, newest first.
    pub async fn list_jobs(
        &self,
        filter: &JobFilter,
        limit: Option<u32>,
        cursor: Option<uuid::Uuid>,
    ) -> Result<Page<Job>, Error> {
        let mut query = page_query(limit, cursor);
        if !filter.statuses.is_empty() {
            let names: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
            query.push(("status", names.join(",")));
        }
        for (name, value) in filter.narrowing() {
            query.push((name, value.to_owned()));
        }
        self.get_json("/v1/jobs", &query, "jobs").await
    }

    /// `POST /v1/jobs/cancel` → 200: the unfinished jobs matching `filter`
    /// cancelled (at most 10,000 per call; `more` says to call again).
    pub async fn cancel_jobs(&self, filter: &JobFilter) -> Result<Cancelled, Error> {
        let response = self
            .request(Method::POST, "/v1/jobs/cancel")
            .json(&filter.body())
            .send()
            .await?;
        decode(response, StatusCode::OK, "bulk cancel").await
    }

    /// `POST /v1/jobs/delete` → 200: the finished jobs matching `filter`
    /// deleted (at most 10,000 per call; `more` says to call again).
    /// `filter.statuses` may name finished states only.
    pub async fn delete_jobs(&self, filter: &JobFilter) -> Result<Deleted, Error> {
        let response = self
            .request(Method::POST, "/v1/jobs/delete")
            .json(&filter.body())
            .send()
            .await?;
        decode(response, StatusCode::OK, "bulk delete").await
    }

    /// `DELETE /v1/jobs/{id}` → 204: a finished job and its result erased
    /// (409 while it has not finished).
    pub async fn delete_job(&self, id: JobId) -> Result<(), Error> {
        self.delete(&format!("/v1/jobs/{id}")).await
    }

    /// `GET /v1/jobs/{id}/result/{part}` → a stored part of a succeeded
    /// job's result (its `result.parts` lists them), to read chunk by chunk
    /// with [`PartDownload::next_chunk`]. 404 for an unknown part, 409 while
    /// the job runs.
    pub async fn download_part(&self, id: JobId, part: &str) -> Result<PartDownload, Error> {
        let response = self
            .request(Method::GET, &format!("/v1/jobs/{id}/result/{part}"))
            .send()
            .await?;
        if response.status() != StatusCode::OK {
            return Err(refusal(response).await);
        }
        Ok(PartDownload {
            length: response.content_length(),
            etag: response
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            response,
        })
    }

    /// `POST /v1/jobs/{id}/cancel` → 202 with the job, now `cancelled`.
    pub async fn cancel_job(&self, id: JobId) -> Result<Job, Error> {
        let response = self
            .request(Method::POST, &format!("/v1/jobs/{id}/cancel"))
            .send()
            .await?;
        decode(response, StatusCode::ACCEPTED, "cancel").await
    }

    /// `POST /v1/lattices` (`name` + the lattice fields) → 201.
    pub async fn create_lattice(&self, body: &Value) -> Result<Lattice, Error> {
        let response = self
            .request(Method::POST, "/v1/lattices")
            .json(body)
            .send()
            .await?;
        decode(response, StatusCode::CREATED, "lattice").await
    }

    /// `POST /v1/api-keys` (a logged-in admin or owner) → 201 with the key.
    pub async fn create_api_key(
        &self,
        name: &str,
        scope: &str,
        expires_in_days: Option<u32>,
    ) -> Result<ApiKeyCreated, Error> {
        let mut body = json!({"name": name, "scope": scope});
        if let Some(days) = expires_in_days {
            body["expires_in_days"] = json!(days);
        }
        let response = self
            .request(Method::POST, "/v1/api-keys")
            .json(&body)
            .send()
            .await?;
        decode(response, StatusCode::CREATED, "api key").await
    }
}

/// The success body as `T`, or the refusal as [`Error::Api`].
pub(crate) async fn decode<T: DeserializeOwned>(
    response: Response,
    expected: StatusCode,
    what: &'static str,
) -> Result<T, Error> {
    let bytes = success_body(response, expected).await?;
    serde_json::from_slice(&bytes).map_err(|source| Error::Decode { what, source })
}

/// A submit (single or bulk) with its optional `Idempotency-Key`: the 202
/// body, and whether it replays an earlier submit (`Idempotent-Replayed`).
async fn send_idempotent<T: DeserializeOwned>(
    mut request: RequestBuilder,
    idempotency_key: Option<&str>,
    what: &'static str,
) -> Result<(T, bool), Error> {
    if let Some(key) = idempotency_key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await?;
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v.as_bytes() == b"true");
    // 200: nothing stored, a live uniqueness hold named an existing job
    // (`existing: true` in the body).
    let expected = match response.status() {
        StatusCode::OK => StatusCode::OK,
        _ => StatusCode::ACCEPTED,
    };
    Ok((decode(response, expected, what).await?, replayed))
}

/// A success without a body (204), or the refusal as [`Error::Api`].
pub(crate) async fn expect_empty(response: Response, expected: StatusCode) -> Result<(), Error> {
    success_body(response, expected).await.map(drop)
}

/// The body of an answer with the `expected` status; any other status is
/// the refusal, with its problem and `Retry-After`.
async fn success_body(response: Response, expected: StatusCode) -> Result<Vec<u8>, Error> {
    if response.status() != expected {
        return Err(refusal(response).await);
    }
    Ok(response.bytes().await?.to_vec())
}

/// A refusal's status, problem and `Retry-After` (or the transport error
/// that cut its body short).
async fn refusal(response: Response) -> Error {
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    match response.bytes().await {
        Ok(bytes) => Error::Api {
            status: status.as_u16(),
            problem: Box::new(Problem::parse(&bytes)),
            retry_after,
        },
        Err(e) => Error::Transport(e),
    }
}

/// `?limit=&cursor=` of a list call, only the parts given.
pub(crate) fn page_query<C: ToString>(
    limit: Option<u32>,
    cursor: Option<C>,
) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    if let Some(limit) = limit {
        query.push(("limit", limit.to_string()));
    }
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor.to_string()));
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_url_loses_its_trailing_slash_and_must_be_http() -> Result<(), Error> {
        let client = Client::new("http://127.0.0.1:8080/", "clc_x")?;
        assert_eq!(client.url("/v1/jobs"), "http://127.0.0.1:8080/v1/jobs");
        assert!(matches!(
            Client::new("ftp://127.0.0.1", "k"),
            Err(Error::BaseUrl(_))
        ));
        assert!(matches!(
            Client::new("not a url", "k"),
            Err(Error::BaseUrl(_))
        ));
        Ok(())
    }

    #[test]
    fn debug_output_never_shows_the_credential() -> Result<(), Error> {
        let client = Client::new("http://127.0.0.1:1", "clc_secret")?;
        assert!(!format!("{client:?}").contains("secret"));
        assert!(!format!("{:?}", client.with_credential("tok_secret")).contains("secret"));
        Ok(())
    }
}

/// A part being downloaded (`Client::download_part`).
#[derive(Debug)]
pub struct PartDownload {
    /// Bytes of the whole part (`Content-Length`).
    pub length: Option<u64>,
    /// Its ETag (the file's SHA-256, quoted).
    pub etag: Option<String>,
    response: Response,
}

impl PartDownload {
    /// The next bytes as they arrive; None at the end.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.response.chunk().await?.map(|b| b.to_vec()))
    }
}
