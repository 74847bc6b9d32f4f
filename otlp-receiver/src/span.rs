//! One received span as this receiver keeps, writes and answers it: the
//! OTLP `Span` message (with its resource's `service.name` and its scope)
//! flattened into a JSON-friendly record with hex ids, named kinds and
//! statuses, and attributes as plain JSON values.
//!
//! The same shape is a line of the `--out` file and an element of the
//! `GET /v1/spans` answer, so a test or a person reads one format.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{Span, Status};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The resource attribute that names the process a span came from.
pub const SERVICE_NAME: &str = "service.name";

/// A received span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanRecord {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: String,
    /// 16 lowercase hex digits, or `None` for a root span.
    pub parent_span_id: Option<String>,
    pub name: String,
    /// The resource's `service.name` attribute, when it is a string.
    pub service: Option<String>,
    /// The instrumentation scope's name (the tracer's name), when set.
    pub scope: Option<String>,
    /// `internal`, `server`, `client`, `producer`, `consumer`, `unspecified`,
    /// or `unknown(N)` for a value outside the enum.
    pub kind: String,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    /// `end - start` in milliseconds (0 when the end is before the start).
    pub duration_ms: f64,
    /// The span's attributes as JSON values (see [`any_value_json`]); a
    /// repeated key keeps its last value.
    pub attributes: Map<String, Value>,
    /// The span's events (`tracing` events inside the span, recorded
    /// exceptions), in the order sent.
    pub events: Vec<EventRecord>,
    pub links: Vec<LinkRecord>,
    /// `unset`, `ok`, `error`, or `unknown(N)`.
    pub status: String,
    /// The status's description; empty when none was set.
    pub status_message: String,
}

/// An event recorded inside a span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub name: String,
    pub time_unix_nano: u64,
    pub attributes: Map<String, Value>,
}

/// A link from a span to another span (of this trace or another).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    pub trace_id: String,
    pub span_id: String,
}

/// The spans of one export request, and those refused.
#[derive(Debug, Default)]
pub struct Decoded {
    pub spans: Vec<SpanRecord>,
    /// Spans refused for an invalid trace, span or parent id (reported back
    /// in the response's `partial_success`, as a collector does).
    pub rejected: i64,
    /// Why the first refused span was refused; empty when none was.
    pub error_message: String,
}

/// Flattens every span of `request` into a [`SpanRecord`].
pub fn decode_request(request: &ExportTraceServiceRequest) -> Decoded {
    let mut decoded = Decoded::default();
    for resource_spans in &request.resource_spans {
        let service = resource_spans.resource.as_ref().and_then(|resource| {
            resource
                .attributes
                .iter()
                .rev()
                .find(|kv| kv.key == SERVICE_NAME)
                .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                    any_value::Value::StringValue(name) => Some(name.clone()),
                    _ => None,
                })
        });
        for scope_spans in &resource_spans.scope_spans {
            let scope = scope_spans
                .scope
                .as_ref()
                .map(|scope| scope.name.clone())
                .filter(|name| !name.is_empty());
            for span in &scope_spans.spans {
                match span_record(span, service.as_deref(), scope.as_deref()) {
                    Ok(record) => decoded.spans.push(record),
                    Err(reason) => {
                        decoded.rejected += 1;
                        if decoded.error_message.is_empty() {
                            decoded.error_message = reason;
                        }
                    }
                }
            }
        }
    }
    decoded
}

fn span_record(
    span: &Span,
    service: Option<&str>,
    scope: Option<&str>,
) -> Result<SpanRecord, String> {
    let trace_id = id_hex(&span.trace_id, 16).ok_or_else(|| {
        format!(
            "span {:?}: the trace id is not 16 non-zero bytes",
            span.name
        )
    })?;
    let span_id = id_hex(&span.span_id, 8)
        .ok_or_else(|| format!("span {:?}: the span id is not 8 non-zero bytes", span.name))?;
    let parent_span_id = if span.parent_span_id.is_empty() {
        None
    } else {
        Some(id_hex(&span.parent_span_id, 8).ok_or_else(|| {
            format!(
                "span {:?}: the parent span id is neither empty nor 8 non-zero bytes",
                span.name
            )
        })?)
    };
    let links = span
        .links
        .iter()
        .map(link_record)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|reason| format!("span {:?}: {reason}", span.name))?;
    let (status, status_message) = status_name(span.status.as_ref());
    Ok(SpanRecord {
        trace_id,
        span_id,
        parent_span_id,
        name: span.name.clone(),
        service: service.map(str::to_owned),
        scope: scope.map(str::to_owned),
        kind: kind_name(span.kind),
        start_unix_nano: span.start_time_unix_nano,
        end_unix_nano: span.end_time_unix_nano,
        duration_ms: nanos_to_ms(
            span.end_time_unix_nano
                .saturating_sub(span.start_time_unix_nano),
        ),
        attributes: attributes_json(&span.attributes),
        events: span.events.iter().map(event_record).collect(),
        links,
        status,
        status_message,
    })
}

fn link_record(link: &Link) -> Result<LinkRecord, String> {
    Ok(LinkRecord {
        trace_id: id_hex(&link.trace_id, 16).ok_or("a link's trace id is not 16 non-zero bytes")?,
        span_id: id_hex(&link.span_id, 8).ok_or("a link's span id is not 8 non-zero bytes")?,
    })
}

fn event_record(event: &Event) -> EventRecord {
    EventRecord {
        name: event.name.clone(),
        time_unix_nano: event.time_unix_nano,
        attributes: attributes_json(&event.attributes),
    }
}

/// Lowercase hex of an id of exactly `len` bytes, not all zero (the OTLP
/// rule for a valid trace or span id).
fn id_hex(bytes: &[u8], len: usize) -> Option<String> {
    (bytes.len() == len && bytes.iter().any(|&b| b != 0)).then(|| hex::encode(bytes))
}

/// Nanoseconds as fractional milliseconds (exact below 2^53 ns, 104 days).
pub fn nanos_to_ms(nanos: u64) -> f64 {
    nanos as f64 / 1_000_000.0
}

fn kind_name(kind: i32) -> String {
    match SpanKind::try_from(kind) {
        Ok(SpanKind::Unspecified) => "unspecified".to_owned(),
        Ok(SpanKind::Internal) => "internal".to_owned(),
        Ok(SpanKind::Server) => "server".to_owned(),
        Ok(SpanKind::Client) => "client".to_owned(),
        Ok(SpanKind::Producer) => "producer".to_owned(),
        Ok(SpanKind::Consumer) => "consumer".to_owned(),
        Err(_) => format!("unknown({kind})"),
    }
}

fn status_name(status: Option<&Status>) -> (String, String) {
    let Some(status) = status else {
        return ("unset".to_owned(), String::new());
    };
    let name = match StatusCode::try_from(status.code) {
        Ok(StatusCode::Unset) => "unset".to_owned(),
        Ok(StatusCode::Ok) => "ok".to_owned(),
        Ok(StatusCode::Error) => "error".to_owned(),
        Err(_) => format!("unknown({})", status.code),
    };
    (name, status.message.clone())
}

/// Attributes as a JSON object (a repeated key keeps its last value).
pub fn attributes_json(attributes: &[KeyValue]) -> Map<String, Value> {
    attributes
        .iter()
        .map(|kv| {
            let value = kv.value.as_ref().map_or(Value::Null, any_value_json);
            (kv.key.clone(), value)
        })
        .collect()
}

/// An OTLP `AnyValue` as JSON: strings, booleans, integers and doubles as
/// themselves (a non-finite double as its string, `"NaN"`), arrays as
/// arrays, key-value lists as objects, bytes as lowercase hex, and an empty
/// value (or a profiles-only string-table index) as `null`.
pub fn any_value_json(value: &AnyValue) -> Value {
    match &value.value {
        None | Some(any_value::Value::StringValueStrindex(_)) => Value::Null,
        Some(any_value::Value::StringValue(s)) => Value::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
        Some(any_value::Value::IntValue(i)) => Value::from(*i),
        Some(any_value::Value::DoubleValue(d)) => serde_json::Number::from_f64(*d)
            .map_or_else(|| Value::String(d.to_string()), Value::Number),
        Some(any_value::Value::ArrayValue(array)) => {
            Value::Array(array.values.iter().map(any_value_json).collect())
        }
        Some(any_value::Value::KvlistValue(list)) => Value::Object(attributes_json(&list.values)),
        Some(any_value::Value::BytesValue(bytes)) => Value::String(hex::encode(bytes)),
    }
}

/// A span for the unit tests: trace `trace`, span `id` (both hex-padded),
/// named `s{id}`, internal, no service, from `start` to `end` nanoseconds.
#[cfg(test)]
pub(crate) fn test_span(trace: u8, id: u8, parent: Option<u8>, start: u64, end: u64) -> SpanRecord {
    SpanRecord {
        trace_id: format!("{trace:032x}"),
        span_id: format!("{id:016x}"),
        parent_span_id: parent.map(|p| format!("{p:016x}")),
        name: format!("s{id}"),
        service: None,
        scope: None,
        kind: "internal".to_owned(),
        start_unix_nano: start,
        end_unix_nano: end,
        duration_ms: nanos_to_ms(end.saturating_sub(start)),
        attributes: serde_json::Map::new(),
        events: Vec::new(),
        links: Vec::new(),
        status: "unset".to_owned(),
        status_message: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    #[test]
    fn attribute_values_map_to_plain_json() {
        let attributes = [
            kv("s", any_value::Value::StringValue("x".to_owned())),
            kv("b", any_value::Value::BoolValue(true)),
            kv("i", any_value::Value::IntValue(-7)),
            kv("d", any_value::Value::DoubleValue(1.5)),
            kv("nan", any_value::Value::DoubleValue(f64::NAN)),
            kv("bytes", any_value::Value::BytesValue(vec![0xab, 0x01])),
            kv(
                "a",
                any_value::Value::ArrayValue(ArrayValue {
                    values: vec![AnyValue {
                        value: Some(any_value::Value::IntValue(1)),
                    }],
                }),
            ),
            kv(
                "kv",
                any_value::Value::KvlistValue(KeyValueList {
                    values: vec![kv("inner", any_value::Value::BoolValue(false))],
                }),
            ),
            KeyValue {
                key: "empty".to_owned(),
                value: None,
                ..Default::default()
            },
            kv("s", any_value::Value::StringValue("last".to_owned())),
        ];
        assert_eq!(
            Value::Object(attributes_json(&attributes)),
            serde_json::json!({
                "s": "last", "b": true, "i": -7, "d": 1.5, "nan": "NaN",
                "bytes": "ab01", "a": [1], "kv": {"inner": false}, "empty": null,
            })
        );
    }

    #[test]
    fn invalid_ids_are_rejected_with_a_reason() {
        let span = |trace_id: Vec<u8>, span_id: Vec<u8>, parent: Vec<u8>| Span {
            trace_id,
            span_id,
            parent_span_id: parent,
            name: "s".to_owned(),
            ..Default::default()
        };
        assert!(span_record(&span(vec![1; 16], vec![2; 8], vec![]), None, None).is_ok());
        assert!(span_record(&span(vec![0; 16], vec![2; 8], vec![]), None, None).is_err());
        assert!(span_record(&span(vec![1; 15], vec![2; 8], vec![]), None, None).is_err());
        assert!(span_record(&span(vec![1; 16], vec![], vec![]), None, None).is_err());
        assert!(span_record(&span(vec![1; 16], vec![2; 8], vec![3; 4]), None, None).is_err());
    }

    #[test]
    fn kinds_and_statuses_are_named() {
        assert_eq!(kind_name(2), "server");
        assert_eq!(kind_name(5), "consumer");
        assert_eq!(kind_name(9), "unknown(9)");
        let error = Status {
            code: 2,
            message: "boom".to_owned(),
        };
        assert_eq!(
            status_name(Some(&error)),
            ("error".to_owned(), "boom".to_owned())
        );
        assert_eq!(status_name(None), ("unset".to_owned(), String::new()));
    }
}
