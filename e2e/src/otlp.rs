//! The trace receiver of the end-to-end tests: spawns the real
//! `catalytic-otlp-receiver` binary (otlp-receiver/) on a free loopback
//! port, for the api, worker and scheduler to export their traces to over
//! OTLP/HTTP, and reads back what they sent. It stands in for the
//! OpenTelemetry Collector a deployment points the processes at, which
//! cannot be installed here.
//!
//! Like the other binaries it is found beside the test executable: run
//! `cargo build --workspace --bins` first.

use anyhow::{Context, bail};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const FILE_NAME: &str = "catalytic-otlp-receiver";
/// How long the binary gets to print its address.
const START_WITHIN: Duration = Duration::from_secs(30);
/// How often [`OtlpReceiver::wait_for_spans`] asks.
const POLL_EVERY: Duration = Duration::from_millis(50);

/// A running `catalytic-otlp-receiver`. Dropping it kills it.
pub struct OtlpReceiver {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl OtlpReceiver {
    /// Spawns the receiver on `127.0.0.1:0` and waits for the line that
    /// names its address (blocking the calling thread, for milliseconds).
    /// Its logs (warnings and errors) go to this test's stderr.
    pub fn start() -> anyhow::Result<Self> {
        let path = crate::built_binary(FILE_NAME)?;
        let mut child = Command::new(&path)
            .args(["--listen", "127.0.0.1:0"])
            .env_clear()
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("spawning {}", path.display()))?;
        let stdout = child
            .stdout
            .take()
            .context("the receiver's stdout was not piped")?;
        // A thread reads the first line (so a silent child cannot hang the
        // test past START_WITHIN), then drains stdout until the child exits.
        let (first_line, line_read) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line).map(|_| line);
            let _ = first_line.send(read);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let mut receiver = Self {
            child,
            base: String::new(),
            http: reqwest::Client::new(),
        };
        let line = match line_read.recv_timeout(START_WITHIN) {
            Ok(read) => read.context("reading the receiver's stdout")?,
            Err(_) => bail!("{FILE_NAME} printed no address within {START_WITHIN:?}"),
        };
        receiver.base = line
            .trim_end()
            .strip_prefix("listening on ")
            .with_context(|| format!("{FILE_NAME} printed {line:?}, not `listening on URL`"))?
            .to_owned();
        Ok(receiver)
    }

    /// The base URL (`http://127.0.0.1:PORT`): the OTLP endpoint to give an
    /// exporter, which appends `/v1/traces`.
    pub fn endpoint(&self) -> String {
        self.base.clone()
    }

    /// The spans of trace `trace_id` (32 hex digits) received so far, by
    /// start time, in the receiver's JSON shape (`name`, `service`,
    /// `parent_span_id`, `attributes`, ...; see
    /// `catalytic_otlp_receiver::SpanRecord`).
    pub async fn spans(&self, trace_id: &str) -> anyhow::Result<Vec<Value>> {
        let response = self
            .http
            .get(format!("{}/v1/spans", self.base))
            .query(&[("trace_id", trace_id)])
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            bail!(
                "GET /v1/spans?trace_id={trace_id} answered {status}: {}",
                response.text().await.unwrap_or_default()
            );
        }
        Ok(response.json().await?)
    }

    /// Polls until the trace has a span of every name in `names`, then
    /// returns all its spans; past `deadline`, fails naming the missing
    /// names and the spans received.
    pub async fn wait_for_spans(
        &self,
        trace_id: &str,
        names: &[&str],
        deadline: Duration,
    ) -> anyhow::Result<Vec<Value>> {
        let until = Instant::now() + deadline;
        loop {
            let (spans, error) = match self.spans(trace_id).await {
                Ok(spans) => (spans, None),
                Err(e) => (Vec::new(), Some(e)),
            };
            let missing: Vec<&str> = names
                .iter()
                .copied()
                .filter(|name| !spans.iter().any(|span| span["name"] == *name))
                .collect();
            if error.is_none() && missing.is_empty() {
                return Ok(spans);
            }
            if Instant::now() >= until {
                let received: Vec<String> = spans.iter().map(describe).collect();
                bail!(
                    "timed out after {deadline:?} waiting for spans {missing:?} of trace \
                     {trace_id}; received {}: [{}]{}",
                    spans.len(),
                    received.join(", "),
                    error
                        .map(|e| format!(" (last error: {e:#})"))
                        .unwrap_or_default()
                );
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// The trace as an indented text tree (`name [service] +offset duration`
    /// lines, children under their parents); fails when none of its spans
    /// was received.
    pub async fn tree(&self, trace_id: &str) -> anyhow::Result<String> {
        let response = self
            .http
            .get(format!("{}/v1/traces/{trace_id}/tree", self.base))
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("GET /v1/traces/{trace_id}/tree answered {status}: {text}");
        }
        Ok(text)
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `name [service] (parent ID)` of a span, for an error message.
fn describe(span: &Value) -> String {
    format!(
        "{} [{}] (parent {})",
        span["name"].as_str().unwrap_or("?"),
        span["service"].as_str().unwrap_or("?"),
        span["parent_span_id"].as_str().unwrap_or("none"),
    )
}
