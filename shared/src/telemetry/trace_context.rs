//! The W3C trace context a job carries from stage to stage (issue 23).
//!
//! A [`TraceParent`] is the `traceparent` of the span a stage made for the
//! job: stored with the job (migrations/0032_trace_context.sql), sent in
//! the AMQP message's headers and in webhook requests. The next stage
//! makes its spans children of it. Only sampled contexts are carried: an
//! unsampled job has none, so no later stage makes spans for it.

use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use std::collections::HashMap;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The header (and AMQP header) name, as W3C Trace Context spells it.
pub const HEADER: &str = "traceparent";

/// A valid, sampled W3C `traceparent` (version 00).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent(String);

impl TraceParent {
    /// Parses a `traceparent` value; `None` when it is malformed (a bad
    /// header is ignored, as the W3C spec says: a new trace starts) or not
    /// sampled.
    pub fn parse(value: &str) -> Option<Self> {
        well_formed(value.trim())
            .then(|| Self::from_context(&extract(value)))
            .flatten()
    }

    /// The context of `cx`'s span when it is valid and sampled.
    pub fn from_context(cx: &Context) -> Option<Self> {
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_valid() || !sc.is_sampled() {
            return None;
        }
        let mut carrier = HashMap::new();
        TraceContextPropagator::new().inject_context(cx, &mut carrier);
        carrier.remove(HEADER).map(TraceParent)
    }

    /// The context of the current `tracing` span, when the OpenTelemetry
    /// layer is installed and the span is sampled.
    pub fn current() -> Option<Self> {
        Self::from_context(&tracing::Span::current().context())
    }

    /// A parent context for the next stage's spans.
    pub fn context(&self) -> Context {
        extract(&self.0)
    }

    pub fn span_context(&self) -> SpanContext {
        self.context().span().span_context().clone()
    }

    /// The 32 hex digits of the trace id.
    pub fn trace_id(&self) -> String {
        self.span_context().trace_id().to_string()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Makes `span` a child of this context (a no-op without the
    /// OpenTelemetry layer).
    pub fn adopt(&self, span: &tracing::Span) {
        // Only fails when the span was already started with another parent.
        let _ = span.set_parent(self.context());
    }

    /// Makes `span` (not yet entered) a child of this context and returns
    /// what to send the next stage: `span`'s context when it is exported,
    /// else this one unchanged.
    pub fn continue_in(self, span: &tracing::Span) -> TraceParent {
        self.adopt(span);
        propagate(span, None).unwrap_or(self)
    }
}

impl std::fmt::Display for TraceParent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Version 00's shape, exactly: `00-` 32, 16 and 2 lowercase hex digits
/// (the propagator alone pads a short trace id instead of refusing it).
fn well_formed(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let lowercase_hex = |p: &str| {
        p.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    parts.len() == 4
        && parts[0] == "00"
        && parts.iter().map(|p| p.len()).eq([2, 32, 16, 2])
        && parts.iter().all(|p| lowercase_hex(p))
}

fn extract(value: &str) -> Context {
    let carrier = HashMap::from([(HEADER.to_owned(), value.trim().to_owned())]);
    TraceContextPropagator::new().extract(&carrier)
}

/// What a stage propagates for `span`: its own context when it is exported
/// (sampled), else `inherited` unchanged, so a process that does not export
/// still passes its caller's trace on.
pub fn propagate(span: &tracing::Span, inherited: Option<&TraceParent>) -> Option<TraceParent> {
    TraceParent::from_context(&span.context()).or_else(|| inherited.cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_sampled_traceparent_round_trips() {
        let t = TraceParent::parse(SAMPLED);
        assert_eq!(t.as_ref().map(TraceParent::as_str), Some(SAMPLED));
        assert_eq!(
            t.map(|t| t.trace_id()).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
    }

    #[test]
    fn unsampled_and_malformed_values_are_not_carried() {
        for bad in [
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "not a header",
            "",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn without_the_layer_a_stage_passes_its_callers_context_on() {
        let inherited = TraceParent::parse(SAMPLED);
        let span = tracing::info_span!("stage");
        assert_eq!(propagate(&span, inherited.as_ref()), inherited);
        assert_eq!(propagate(&span, None), None);
    }
}
