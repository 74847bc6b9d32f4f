//! Logs and traces: one subscriber for every process.
//!
//! Logs go to stderr (stdout is kept for command output such as
//! `bootstrap`): JSON lines in production (each carries the fields of its
//! enclosing spans, so `request_id` and `job_id` reach every line logged
//! inside a request or a job), pretty text for people.
//!
//! Traces (issue 23), when `traces.otlp_endpoint` is set: `tracing` spans
//! become OpenTelemetry spans (tracing-opentelemetry) and are exported in
//! batches over OTLP/HTTP protobuf. A job's trace crosses the processes in
//! its [`TraceParent`] (trace_context.rs). With no endpoint no layer is
//! installed, no job carries a context and no stage makes a span for one.

mod export;
pub mod trace_context;

pub use opentelemetry::KeyValue;
pub use trace_context::{TraceParent, propagate};

use crate::config::{LogFormat, LogSettings, TraceSettings};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider,
};
use std::sync::OnceLock;
use std::time::Duration;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Set once the trace exporter is installed: stages ask before making
/// spans that only a trace would read (the queue wait, per-job rollups),
/// and `record_span` makes them with it.
static TRACER: OnceLock<SdkTracer> = OnceLock::new();

/// Whether this process exports traces.
pub fn traces_enabled() -> bool {
    TRACER.get().is_some()
}

/// Flushes the spans still queued when dropped: hold it in `main`.
#[must_use = "dropping it at once would flush and stop trace export"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("flushing traces at exit failed: {e}");
        }
    }
}

/// Installs the global subscriber (and the trace exporter when
/// configured). Call once, first thing in `main`, inside the runtime.
pub fn init(service: &'static str, log: &LogSettings, traces: &TraceSettings) -> Telemetry {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = match log.format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let (provider, export_error) = match tracer_provider(service, traces) {
        Ok(provider) => (provider, None),
        Err(e) => (None, Some(e)),
    };
    let otel = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer(service))
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
    });
    // A second init (tests calling main twice) is harmless: the first wins.
    let installed = tracing_subscriber::registry()
        .with(otel)
        .with(logs.with_filter(filter))
        .try_init()
        .is_ok();
    if let Some(e) = export_error {
        tracing::error!(error = %e, "trace export is off: cannot build the OTLP exporter");
    }
    let provider = provider.filter(|_| installed);
    if let Some(p) = &provider {
        let _ = TRACER.set(p.tracer(service));
        tracing::info!(
            endpoint = %traces.otlp_endpoint,
            sample_ratio = traces.sample_ratio,
            "exporting traces over OTLP/HTTP"
        );
    }
    tracing::info!(service, version = env!("CARGO_PKG_VERSION"), "starting");
    Telemetry { provider }
}

#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error("building the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("building the exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

fn tracer_provider(
    service: &'static str,
    traces: &TraceSettings,
) -> Result<Option<SdkTracerProvider>, ExportError> {
    if traces.otlp_endpoint.is_empty() {
        return Ok(None);
    }
    let timeout = Duration::from_millis(traces.export_timeout_ms);
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(export::RuntimeClient::new(timeout)?)
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(format!(
            "{}/v1/traces",
            traces.otlp_endpoint.trim_end_matches('/')
        ))
        .with_timeout(timeout)
        .build()?;
    let batch = BatchConfigBuilder::default()
        .with_max_queue_size(traces.queue_size)
        .with_max_export_batch_size(traces.batch_size)
        .with_scheduled_delay(Duration::from_millis(traces.export_every_ms))
        .build();
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(batch)
        .build();
    // Parent-based: a caller's sampled flag is followed; a trace that
    // starts here is kept with `sample_ratio`.
    let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(traces.sample_ratio)));
    Ok(Some(
        SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_sampler(sampler)
            .with_resource(
                Resource::builder()
                    .with_service_name(service)
                    .with_attribute(opentelemetry::KeyValue::new(
                        "service.version",
                        env!("CARGO_PKG_VERSION"),
                    ))
                    .build(),
            )
            .build(),
    ))
}

/// Logs an error with its whole `source()` chain. Per-task failures go
/// through here so grep finds every "logged and carried on" place.
pub fn log_error_chain(context: &str, error: &(dyn std::error::Error + 'static)) {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(error = %chain, "{context}");
}

/// Records a finished span of `parent`'s trace from `start` to `end`: a
/// stretch no code ran in, such as a message's wait in the queue, which a
/// `tracing` span (timed by its own life) cannot show. Nothing without the
/// exporter.
pub fn record_span(
    name: &'static str,
    parent: &TraceParent,
    start: std::time::SystemTime,
    end: std::time::SystemTime,
    attributes: Vec<opentelemetry::KeyValue>,
) {
    use opentelemetry::trace::{Span as _, Tracer as _};
    let Some(tracer) = TRACER.get() else {
        return;
    };
    let mut span = tracer
        .span_builder(name)
        .with_start_time(start)
        .with_attributes(attributes)
        .start_with_context(tracer, &parent.context());
    span.end_with_timestamp(end);
}
