//! `spawn_app()`: builds the real `Application` on 127.0.0.1:0 with its own
//! database, bootstraps a tenant, and returns typed request helpers.

use catalytic_api::bootstrap;
use catalytic_api::startup::Application;
use catalytic_shared::Settings;
use catalytic_shared::tenant::Plan;
use catalytic_shared::testkit::{self, TestDatabase};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub struct TestApp {
    pub base: String,
    /// `http://127.0.0.1:{probe port}`: `/metrics` and the probes.
    pub probes: String,
    pub http: reqwest::Client,
    pub db: TestDatabase,
    pub settings: Settings,
    /// The bootstrapped tenant's API key.
    pub key: String,
    shutdown: CancellationToken,
}

pub async fn spawn_app() -> anyhow::Result<TestApp> {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[(&str, &str)]) -> anyhow::Result<TestApp> {
    let db = TestDatabase::create().await?;
    let redis = testkit::redis_url();
    // A fresh Redis key prefix: tests share one Redis, never its keys.
    let redis_prefix = testkit::unique_name();
    let mut vars = vec![
        ("CATALYTIC_DATABASE__URL", db.url.as_str()),
        ("CATALYTIC_REDIS__URL", redis.as_str()),
        ("CATALYTIC_REDIS__PREFIX", redis_prefix.as_str()),
        ("CATALYTIC_API__LISTEN", "127.0.0.1:0"),
        ("CATALYTIC_API__PROBE_LISTEN", "127.0.0.1:0"),
        ("CATALYTIC_DATABASE__MAX_CONNECTIONS", "4"),
    ];
    vars.extend_from_slice(extra);
    let settings = Settings::load_from(vars)?;
    let app = Application::build(settings.clone()).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let probes = format!("http://127.0.0.1:{}", app.probe_port());
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let key = bootstrap::run(&settings, "tenant-a", Plan::Free)
        .await?
        .api_key
        .expose()
        .clone();
    Ok(TestApp {
        base,
        probes,
        http: reqwest::Client::new(),
        db,
        settings,
        key,
        shutdown,
    })
}

impl TestApp {
    /// Another tenant's API key, for isolation checks.
    pub async fn new_tenant_key(&self, plan: Plan) -> anyhow::Result<String> {
        Ok(bootstrap::run(&self.settings, "tenant-b", plan)
            .await?
            .api_key
            .expose()
            .clone())
    }

    pub async fn submit(&self, body: &Value) -> anyhow::Result<reqwest::Response> {
        self.submit_as(&self.key, body).await
    }

    pub async fn submit_as(&self, key: &str, body: &Value) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .http
            .post(format!("{}/v1/jobs", self.base))
            .bearer_auth(key)
            .json(body)
            .send()
            .await?)
    }

    pub async fn submit_raw(
        &self,
        content_type: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .http
            .post(format!("{}/v1/jobs", self.base))
            .bearer_auth(&self.key)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await?)
    }

    pub async fn get_job_as(&self, key: &str, id: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .http
            .get(format!("{}/v1/jobs/{id}", self.base))
            .bearer_auth(key)
            .send()
            .await?)
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self.http.get(format!("{}{path}", self.base)).send().await?)
    }

    /// The text of `/metrics` on the probe port.
    pub async fn metrics(&self) -> anyhow::Result<String> {
        let response = self
            .http
            .get(format!("{}/metrics", self.probes))
            .send()
            .await?;
        anyhow::ensure!(response.status() == 200, "/metrics: {}", response.status());
        Ok(response.text().await?)
    }

    /// A second api process on the same database and Redis (another
    /// replica), for limits that must hold across processes.
    pub async fn spawn_sibling(&self) -> anyhow::Result<(String, CancellationToken)> {
        self.spawn_sibling_with(self.settings.clone()).await
    }

    /// `spawn_sibling` with other settings (the same database and Redis).
    pub async fn spawn_sibling_with(
        &self,
        settings: Settings,
    ) -> anyhow::Result<(String, CancellationToken)> {
        let app = Application::build(settings).await?;
        let base = format!("http://127.0.0.1:{}", app.port());
        let shutdown = CancellationToken::new();
        tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Ok((base, shutdown))
    }

    pub async fn teardown(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.db.drop_database().await
    }
}

/// `method path` with `key` as the bearer and `body` as JSON: the status
/// and the JSON answer (`Null` when there is none, as for a 204).
pub async fn call(
    app: &TestApp,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut request = app
        .http
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(key);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// Reads a problem+json response, checking the content type.
pub async fn problem(response: reqwest::Response) -> anyhow::Result<(u16, Value)> {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    anyhow::ensure!(
        content_type == "application/problem+json",
        "status {status}: content type {content_type:?} is not problem+json"
    );
    let body: Value = response.json().await?;
    anyhow::ensure!(
        body["status"] == status,
        "problem status {} != {status}",
        body["status"]
    );
    Ok((status, body))
}

/// The fields a problem names.
pub fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
