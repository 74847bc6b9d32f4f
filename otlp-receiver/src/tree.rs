//! A trace as an indented text tree, for people and for docs: each span
//! under its parent (by `parent_span_id`), siblings by start time, one line
//! each:
//!
//! ```text
//! POST /v1/jobs [catalytic-api] +0.000ms 12.500ms
//!   job.run [catalytic-worker] +4.250ms 6.000ms
//! ```
//!
//! The offset is from the trace's earliest start. A span whose parent was
//! not received (the parent is in another process that has not exported
//! yet, or context was lost on the way) is listed at the top level, marked
//! with the parent id it names.

use crate::span::{SpanRecord, nanos_to_ms};
use std::collections::{HashMap, HashSet};
use std::fmt::Write;

/// Renders `spans` (one trace's, in any order) as an indented tree.
pub fn render(spans: &[SpanRecord]) -> String {
    let mut spans: Vec<&SpanRecord> = spans.iter().collect();
    spans.sort_by(|a, b| {
        (a.start_unix_nano, a.end_unix_nano, &a.name).cmp(&(
            b.start_unix_nano,
            b.end_unix_nano,
            &b.name,
        ))
    });
    let origin = spans.first().map_or(0, |span| span.start_unix_nano);
    let known: HashSet<&str> = spans.iter().map(|span| span.span_id.as_str()).collect();
    let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (index, span) in spans.iter().enumerate() {
        match span.parent_span_id.as_deref() {
            Some(parent) if parent != span.span_id && known.contains(parent) => {
                children.entry(parent).or_default().push(index);
            }
            _ => roots.push(index),
        }
    }

    let mut text = String::new();
    let mut printed = vec![false; spans.len()];
    // Roots first; then any span a cycle of parent ids kept from the roots.
    let starts = roots.into_iter().chain(0..spans.len());
    for start in starts {
        if printed[start] {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        while let Some((index, depth)) = stack.pop() {
            if printed[index] {
                continue;
            }
            printed[index] = true;
            let span = spans[index];
            line(&mut text, span, depth, origin, &known);
            if let Some(kids) = children.get(span.span_id.as_str()) {
                // Reversed onto the stack so the earliest child comes first.
                stack.extend(kids.iter().rev().map(|&kid| (kid, depth + 1)));
            }
        }
    }
    text
}

fn line(text: &mut String, span: &SpanRecord, depth: usize, origin: u64, known: &HashSet<&str>) {
    let service = span.service.as_deref().unwrap_or("?");
    let offset = nanos_to_ms(span.start_unix_nano.saturating_sub(origin));
    // Writing to a String cannot fail.
    let _ = write!(
        text,
        "{:indent$}{} [{service}] +{offset:.3}ms {:.3}ms",
        "",
        span.name,
        span.duration_ms,
        indent = depth * 2
    );
    if let Some(parent) = span.parent_span_id.as_deref()
        && (depth == 0 && !known.contains(parent))
    {
        let _ = write!(text, " (parent {parent} not received)");
    }
    text.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: u8, parent: Option<u8>, start_ms: u64, end_ms: u64) -> SpanRecord {
        SpanRecord {
            service: (id != 4).then(|| "svc".to_owned()),
            ..crate::span::test_span(1, id, parent, start_ms * 1_000_000, end_ms * 1_000_000)
        }
    }

    #[test]
    fn nests_children_and_lists_orphans_and_cycles_at_the_top() {
        let spans = [
            span(3, Some(1), 5, 6),
            span(1, None, 0, 10),
            span(2, Some(1), 2, 4),
            span(5, Some(2), 3, 4),
            span(4, Some(9), 1, 2),
            // A cycle: 6 and 7 name each other.
            span(6, Some(7), 20, 21),
            span(7, Some(6), 22, 23),
        ];
        let expected = "\
s1 [svc] +0.000ms 10.000ms
  s2 [svc] +2.000ms 2.000ms
    s5 [svc] +3.000ms 1.000ms
  s3 [svc] +5.000ms 1.000ms
s4 [?] +1.000ms 1.000ms (parent 0000000000000009 not received)
s6 [svc] +20.000ms 1.000ms
  s7 [svc] +22.000ms 1.000ms
";
        assert_eq!(render(&spans), expected);
    }
}
