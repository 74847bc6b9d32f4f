//! A job message's trace (issue 23): the relay's publish span travels in
//! the AMQP headers as W3C `traceparent`, with the instant of publishing,
//! so the worker's spans continue the trace and the queue wait shows as a
//! span of its own. Messages of untraced jobs carry no headers.

use crate::telemetry::TraceParent;
use crate::telemetry::trace_context::HEADER;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Microseconds since the epoch when the relay published the message.
pub const PUBLISHED_AT: &str = "catalytic-published-at-us";

/// What a traced message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTrace {
    pub parent: TraceParent,
    pub published_at: Option<SystemTime>,
}

pub fn encode(parent: &TraceParent, published_at: SystemTime) -> FieldTable {
    let mut headers = FieldTable::default();
    headers.insert(
        ShortString::from(HEADER),
        AMQPValue::LongString(LongString::from(parent.as_str())),
    );
    let micros = published_at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    headers.insert(
        ShortString::from(PUBLISHED_AT),
        AMQPValue::LongLongInt(micros),
    );
    headers
}

/// The trace of a delivery, when its headers hold a valid, sampled one.
pub fn decode(headers: Option<&FieldTable>) -> Option<MessageTrace> {
    let headers = headers?.inner();
    let parent = match headers.get(HEADER)? {
        AMQPValue::LongString(s) => TraceParent::parse(&s.to_string())?,
        _ => return None,
    };
    let published_at = match headers.get(PUBLISHED_AT) {
        Some(AMQPValue::LongLongInt(us)) => u64::try_from(*us)
            .ok()
            .map(|us| UNIX_EPOCH + Duration::from_micros(us)),
        _ => None,
    };
    Some(MessageTrace {
        parent,
        published_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_round_trips_through_the_headers() {
        let parent = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        let at = UNIX_EPOCH + Duration::from_micros(1_765_000_000_123_456);
        let decoded = parent.as_ref().and_then(|p| decode(Some(&encode(p, at))));
        assert_eq!(decoded.as_ref().map(|d| &d.parent), parent.as_ref());
        assert_eq!(decoded.and_then(|d| d.published_at), Some(at));
    }

    #[test]
    fn no_or_bad_headers_are_no_trace() {
        assert_eq!(decode(None), None);
        assert_eq!(decode(Some(&FieldTable::default())), None);
        let mut bad = FieldTable::default();
        bad.insert(
            ShortString::from(HEADER),
            AMQPValue::LongString(LongString::from("garbage")),
        );
        assert_eq!(decode(Some(&bad)), None);
    }
}
