//! The receiver against real HTTP: exports built with the official OTLP
//! proto types are posted to a server bound to 127.0.0.1:0 (in-process, and
//! once the real binary), then read back through the query endpoints and
//! the `--out` file.

use catalytic_otlp_receiver::{Config, Receiver, SpanRecord};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

type TestResult = anyhow::Result<()>;

/// name, parent span id, service, kind, duration in ms.
type Summary<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a str, f64);

const TRACE: [u8; 16] = [
    0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c,
];
const TRACE_HEX: &str = "5b8efff798038103d269b633813fc60c";
const OTHER_TRACE: [u8; 16] = [7; 16];
const ROOT: [u8; 8] = [0, 0, 0, 0, 0, 0, 0, 1];
const CHILD: [u8; 8] = [0, 0, 0, 0, 0, 0, 0, 2];
const GRANDCHILD: [u8; 8] = [0, 0, 0, 0, 0, 0, 0, 3];
/// 2023-11-14T22:13:20Z in nanoseconds.
const T0: u64 = 1_700_000_000_000_000_000;
const MS: u64 = 1_000_000;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn string(s: &str) -> any_value::Value {
    any_value::Value::StringValue(s.to_owned())
}

fn span(
    trace: [u8; 16],
    id: [u8; 8],
    parent: Option<[u8; 8]>,
    name: &str,
    kind: SpanKind,
    start_ms: u64,
    end_ms: u64,
) -> Span {
    Span {
        trace_id: trace.to_vec(),
        span_id: id.to_vec(),
        parent_span_id: parent.map(|p| p.to_vec()).unwrap_or_default(),
        name: name.to_owned(),
        kind: kind as i32,
        start_time_unix_nano: T0 + start_ms * MS,
        end_time_unix_nano: T0 + end_ms * MS,
        ..Default::default()
    }
}

fn resource_spans(service: &str, spans: Vec<Span>) -> ResourceSpans {
    ResourceSpans {
        resource: Some(Resource {
            attributes: vec![kv("service.name", string(service))],
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            scope: Some(InstrumentationScope {
                name: "catalytic".to_owned(),
                ..Default::default()
            }),
            spans,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The api's three spans of one trace (a request, its handler, a database
/// call under the handler), listed child first, plus one span of another
/// trace from the worker.
fn export_request() -> ExportTraceServiceRequest {
    let mut root = span(TRACE, ROOT, None, "POST /v1/jobs", SpanKind::Server, 0, 100);
    root.attributes = vec![
        kv("http.request.method", string("POST")),
        kv("http.response.status_code", any_value::Value::IntValue(202)),
    ];
    let child = span(
        TRACE,
        CHILD,
        Some(ROOT),
        "jobs.submit",
        SpanKind::Internal,
        10,
        60,
    );
    let mut grandchild = span(
        TRACE,
        GRANDCHILD,
        Some(CHILD),
        "INSERT jobs",
        SpanKind::Client,
        20,
        50,
    );
    grandchild.status = Some(Status {
        code: StatusCode::Error as i32,
        message: "unique violation".to_owned(),
    });
    grandchild.links = vec![Link {
        trace_id: OTHER_TRACE.to_vec(),
        span_id: ROOT.to_vec(),
        ..Default::default()
    }];
    let other = span(
        OTHER_TRACE,
        ROOT,
        None,
        "job.run",
        SpanKind::Consumer,
        200,
        210,
    );
    ExportTraceServiceRequest {
        resource_spans: vec![
            resource_spans("catalytic-api", vec![grandchild, root, child]),
            resource_spans("catalytic-worker", vec![other]),
        ],
    }
}

/// A receiver on 127.0.0.1:0 in this process; its base URL.
async fn start(config: Config) -> anyhow::Result<String> {
    let receiver = Receiver::bind(&config).await?;
    let base = format!("http://{}", receiver.local_addr());
    tokio::spawn(receiver.serve(std::future::pending()));
    Ok(base)
}

async fn start_default() -> anyhow::Result<String> {
    start(Config::new("127.0.0.1:0".parse()?)).await
}

async fn post(base: &str, content_type: &str, body: Vec<u8>) -> anyhow::Result<reqwest::Response> {
    Ok(reqwest::Client::new()
        .post(format!("{base}/v1/traces"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await?)
}

async fn export_protobuf(
    base: &str,
    request: &ExportTraceServiceRequest,
) -> anyhow::Result<ExportTraceServiceResponse> {
    let response = post(base, "application/x-protobuf", request.encode_to_vec()).await?;
    anyhow::ensure!(
        response.status() == 200,
        "export answered {}",
        response.status()
    );
    anyhow::ensure!(
        response.headers()["content-type"] == "application/x-protobuf",
        "content type {:?}",
        response.headers()["content-type"]
    );
    Ok(ExportTraceServiceResponse::decode(response.bytes().await?)?)
}

async fn trace_spans(base: &str, trace_id: &str) -> anyhow::Result<Vec<SpanRecord>> {
    Ok(reqwest::get(format!("{base}/v1/spans?trace_id={trace_id}"))
        .await?
        .error_for_status()?
        .json()
        .await?)
}

#[tokio::test]
async fn protobuf_export_is_queryable_by_trace() -> TestResult {
    let base = start_default().await?;
    let response = export_protobuf(&base, &export_request()).await?;
    assert_eq!(response.partial_success, None);

    let spans = trace_spans(&base, TRACE_HEX).await?;
    let summary: Vec<Summary<'_>> = spans
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.parent_span_id.as_deref(),
                s.service.as_deref(),
                s.kind.as_str(),
                s.duration_ms,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "POST /v1/jobs",
                None,
                Some("catalytic-api"),
                "server",
                100.0
            ),
            (
                "jobs.submit",
                Some("0000000000000001"),
                Some("catalytic-api"),
                "internal",
                50.0
            ),
            (
                "INSERT jobs",
                Some("0000000000000002"),
                Some("catalytic-api"),
                "client",
                30.0
            ),
        ]
    );
    let root = &spans[0];
    assert_eq!(root.trace_id, TRACE_HEX);
    assert_eq!(root.span_id, "0000000000000001");
    assert_eq!(root.scope.as_deref(), Some("catalytic"));
    assert_eq!(root.start_unix_nano, T0);
    assert_eq!(root.end_unix_nano, T0 + 100 * MS);
    assert_eq!(
        Value::Object(root.attributes.clone()),
        json!({"http.request.method": "POST", "http.response.status_code": 202})
    );
    assert_eq!(
        (root.status.as_str(), root.status_message.as_str()),
        ("unset", "")
    );
    let db = &spans[2];
    assert_eq!(
        (db.status.as_str(), db.status_message.as_str()),
        ("error", "unique violation")
    );
    assert_eq!(db.links.len(), 1);
    assert_eq!(db.links[0].trace_id, "07".repeat(16));
    assert_eq!(db.links[0].span_id, "0000000000000001");

    // The exact JSON shape, as a harness reads it.
    let raw: Vec<Value> = reqwest::get(format!("{base}/v1/spans?trace_id={TRACE_HEX}"))
        .await?
        .json()
        .await?;
    assert_eq!(raw[0]["parent_span_id"], Value::Null);
    assert_eq!(raw[1]["parent_span_id"], "0000000000000001");
    assert_eq!(raw[0]["duration_ms"], 100.0);
    assert_eq!(raw[0]["service"], "catalytic-api");

    // Upper-case ids are the same trace; the other trace is apart.
    assert_eq!(
        trace_spans(&base, &TRACE_HEX.to_uppercase()).await?.len(),
        3
    );
    let other = trace_spans(&base, &"07".repeat(16)).await?;
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].service.as_deref(), Some("catalytic-worker"));
    assert_eq!(other[0].kind, "consumer");
    assert!(trace_spans(&base, &"0a".repeat(16)).await?.is_empty());

    // A retried export is not stored twice; the unfiltered query has all.
    export_protobuf(&base, &export_request()).await?;
    assert_eq!(trace_spans(&base, TRACE_HEX).await?.len(), 3);
    let all: Vec<SpanRecord> = reqwest::get(format!("{base}/v1/spans"))
        .await?
        .json()
        .await?;
    let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["POST /v1/jobs", "jobs.submit", "INSERT jobs", "job.run"]
    );
    Ok(())
}

#[tokio::test]
async fn tree_shows_the_nesting() -> TestResult {
    let base = start_default().await?;
    let mut request = export_request();
    // An orphan: its parent never arrives.
    request.resource_spans[0].scope_spans[0].spans.push(span(
        TRACE,
        [0, 0, 0, 0, 0, 0, 0, 4],
        Some([0, 0, 0, 0, 0, 0, 0, 9]),
        "job.run",
        SpanKind::Consumer,
        70,
        75,
    ));
    export_protobuf(&base, &request).await?;

    let response = reqwest::get(format!("{base}/v1/traces/{TRACE_HEX}/tree")).await?;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        response.text().await?,
        "\
POST /v1/jobs [catalytic-api] +0.000ms 100.000ms
  jobs.submit [catalytic-api] +10.000ms 50.000ms
    INSERT jobs [catalytic-api] +20.000ms 30.000ms
job.run [catalytic-api] +70.000ms 5.000ms (parent 0000000000000009 not received)
"
    );

    let unknown = reqwest::get(format!("{base}/v1/traces/{}/tree", "0a".repeat(16))).await?;
    assert_eq!(unknown.status(), 404);
    Ok(())
}

#[tokio::test]
async fn bad_requests_are_refused() -> TestResult {
    let base = start_default().await?;
    // A length-delimited field 1 claiming more bytes than follow.
    let garbage = post(
        &base,
        "application/x-protobuf",
        b"\x0a\xff\x01garbage".to_vec(),
    )
    .await?;
    assert_eq!(garbage.status(), 400);
    let text = garbage.text().await?;
    assert!(
        text.contains("not an OTLP ExportTraceServiceRequest"),
        "{text}"
    );

    let bad_json = post(
        &base,
        "application/json",
        b"{\"resourceSpans\": 5}".to_vec(),
    )
    .await?;
    assert_eq!(bad_json.status(), 400);

    let text_plain = post(&base, "text/plain", b"hello".to_vec()).await?;
    assert_eq!(text_plain.status(), 415);

    let gzip = reqwest::Client::new()
        .post(format!("{base}/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(vec![0x1f, 0x8b])
        .send()
        .await?;
    assert_eq!(gzip.status(), 415);
    assert!(gzip.text().await?.contains("uncompressed"));

    let too_big = post(
        &base,
        "application/x-protobuf",
        vec![0; catalytic_otlp_receiver::http::BODY_LIMIT + 1],
    )
    .await?;
    assert_eq!(too_big.status(), 413);

    let bad_id = reqwest::get(format!("{base}/v1/spans?trace_id=xyz")).await?;
    assert_eq!(bad_id.status(), 400);

    // Nothing of the above was stored; the server still answers.
    let all: Vec<Value> = reqwest::get(format!("{base}/v1/spans"))
        .await?
        .json()
        .await?;
    assert!(all.is_empty());
    assert_eq!(reqwest::get(format!("{base}/healthz")).await?.status(), 200);
    Ok(())
}

#[tokio::test]
async fn invalid_ids_are_reported_as_partial_success() -> TestResult {
    let base = start_default().await?;
    let mut request = export_request();
    let spans = &mut request.resource_spans[0].scope_spans[0].spans;
    spans.push(span(
        [0; 16],
        [1; 8],
        None,
        "zero trace id",
        SpanKind::Internal,
        0,
        1,
    ));
    spans.push(Span {
        span_id: vec![1, 2, 3],
        ..span(
            TRACE,
            [5; 8],
            None,
            "short span id",
            SpanKind::Internal,
            0,
            1,
        )
    });
    let response = export_protobuf(&base, &request).await?;
    let partial = response
        .partial_success
        .ok_or_else(|| anyhow::anyhow!("no partial success"))?;
    assert_eq!(partial.rejected_spans, 2);
    assert!(
        partial.error_message.contains("zero trace id"),
        "{}",
        partial.error_message
    );
    // The valid spans of the same request were kept.
    assert_eq!(trace_spans(&base, TRACE_HEX).await?.len(), 3);
    Ok(())
}

#[tokio::test]
async fn otlp_json_export_is_accepted() -> TestResult {
    let base = start_default().await?;
    // The example of the OTLP specification's repository
    // (examples/trace.json), with a second span as its parent.
    let body = json!({
      "resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
        "scopeSpans": [{
          "scope": {"name": "my.library", "version": "1.0.0"},
          "spans": [
            {
              "traceId": "5B8EFFF798038103D269B633813FC60C",
              "spanId": "EEE19B7EC3C1B174",
              "parentSpanId": "EEE19B7EC3C1B173",
              "name": "I'm a server span",
              "startTimeUnixNano": "1544712660000000000",
              "endTimeUnixNano": "1544712661000000000",
              "kind": 2,
              "attributes": [
                {"key": "my.span.attr", "value": {"stringValue": "some value"}},
                {"key": "count", "value": {"intValue": "3"}}
              ]
            },
            {
              "traceId": "5B8EFFF798038103D269B633813FC60C",
              "spanId": "EEE19B7EC3C1B173",
              "name": "parent",
              "startTimeUnixNano": "1544712659000000000",
              "endTimeUnixNano": "1544712662000000000",
              "kind": 1,
              "status": {"code": 1}
            }
          ]
        }]
      }]
    });
    let response = post(
        &base,
        "application/json; charset=utf-8",
        serde_json::to_vec(&body)?,
    )
    .await?;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await?, json!({}));

    let spans = trace_spans(&base, TRACE_HEX).await?;
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[0].name, "parent");
    assert_eq!(spans[0].status, "ok");
    assert_eq!(spans[1].parent_span_id.as_deref(), Some("eee19b7ec3c1b173"));
    assert_eq!(spans[1].service.as_deref(), Some("my.service"));
    assert_eq!(spans[1].kind, "server");
    assert_eq!(spans[1].duration_ms, 1000.0);
    assert_eq!(spans[1].attributes["count"], 3);
    Ok(())
}

/// The real binary: the `listening on` line, and the `--out` file's lines.
#[tokio::test]
async fn binary_prints_its_address_and_appends_json_lines() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("spans.jsonl");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_catalytic-otlp-receiver"))
        .args(["--listen", "127.0.0.1:0", "--out"])
        .arg(&out)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(30),
        tokio::io::BufReader::new(stdout).read_line(&mut line),
    )
    .await??;
    let base = line
        .trim_end()
        .strip_prefix("listening on ")
        .ok_or_else(|| anyhow::anyhow!("unexpected first line {line:?}"))?
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert_ne!(base, "http://127.0.0.1:0");
    assert_eq!(reqwest::get(format!("{base}/healthz")).await?.status(), 200);

    export_protobuf(&base, &export_request()).await?;
    // The file is written before the export is answered.
    let text = std::fs::read_to_string(&out)?;
    let lines: Vec<SpanRecord> = text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let mut names: Vec<&str> = lines.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["INSERT jobs", "POST /v1/jobs", "job.run", "jobs.submit"]
    );
    let first: Value = serde_json::from_str(text.lines().next().unwrap_or_default())?;
    for field in [
        "trace_id",
        "span_id",
        "parent_span_id",
        "name",
        "service",
        "kind",
        "start_unix_nano",
        "end_unix_nano",
        "duration_ms",
        "attributes",
        "links",
        "status",
        "status_message",
    ] {
        assert!(first.get(field).is_some(), "no {field} in {first}");
    }

    child.kill().await?;
    Ok(())
}
