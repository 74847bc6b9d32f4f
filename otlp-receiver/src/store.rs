//! Where received spans are kept: in memory, bounded to the newest
//! `capacity` spans (the oldest are dropped first), and, with `--out FILE`,
//! appended to that file as one JSON line per span.
//!
//! A span already held (same trace and span id, as an exporter's retry
//! sends it) is neither kept nor written twice. Memory use is about 1 KiB
//! per span with a few attributes, so the default 200,000 spans stay well
//! under half a GiB.

use crate::span::SpanRecord;
use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// How many spans are kept unless told otherwise.
pub const DEFAULT_CAPACITY: usize = 200_000;

/// The received spans.
pub struct Store {
    capacity: usize,
    held: Mutex<Held>,
    out: Option<Mutex<File>>,
}

#[derive(Default)]
struct Held {
    /// Oldest first.
    spans: VecDeque<SpanRecord>,
    /// `trace_id` + `span_id` of every span in `spans`.
    keys: HashSet<String>,
}

/// What [`Store::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Inserted {
    pub stored: usize,
    pub duplicates: usize,
}

fn key(span: &SpanRecord) -> String {
    format!("{}{}", span.trace_id, span.span_id)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves consistent data here (a push or
    // a pop at most), so a poisoned lock is still usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Store {
    /// A store of at most `capacity` spans (at least 1), appending to `out`.
    pub fn new(capacity: usize, out: Option<File>) -> Self {
        Self {
            capacity: capacity.max(1),
            held: Mutex::new(Held::default()),
            out: out.map(Mutex::new),
        }
    }

    /// Keeps `spans` (dropping the oldest beyond the capacity) and appends
    /// the new ones to the out file. Blocking: the file is written before
    /// it returns, so a reader of the file after an export's 200 sees them.
    pub fn insert(&self, spans: Vec<SpanRecord>) -> std::io::Result<Inserted> {
        let mut inserted = Inserted::default();
        let mut lines = Vec::new();
        {
            let mut held = lock(&self.held);
            for span in spans {
                if !held.keys.insert(key(&span)) {
                    inserted.duplicates += 1;
                    continue;
                }
                if self.out.is_some() {
                    serde_json::to_writer(&mut lines, &span)?;
                    lines.push(b'\n');
                }
                held.spans.push_back(span);
                inserted.stored += 1;
                while held.spans.len() > self.capacity {
                    if let Some(oldest) = held.spans.pop_front() {
                        held.keys.remove(&key(&oldest));
                    }
                }
            }
        }
        if let Some(out) = &self.out
            && !lines.is_empty()
        {
            let mut file = lock(out);
            file.write_all(&lines)?;
            file.flush()?;
        }
        Ok(inserted)
    }

    /// The spans of one trace, by start time (then end time, then name).
    pub fn trace(&self, trace_id: &str) -> Vec<SpanRecord> {
        let mut spans: Vec<SpanRecord> = lock(&self.held)
            .spans
            .iter()
            .filter(|span| span.trace_id == trace_id)
            .cloned()
            .collect();
        sort_by_start(&mut spans);
        spans
    }

    /// The `limit` most recently received spans, by start time.
    pub fn newest(&self, limit: usize) -> Vec<SpanRecord> {
        let mut spans: Vec<SpanRecord> = lock(&self.held)
            .spans
            .iter()
            .rev()
            .take(limit)
            .cloned()
            .collect();
        sort_by_start(&mut spans);
        spans
    }

    /// How many spans are held.
    pub fn len(&self) -> usize {
        lock(&self.held).spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Sorts spans by start time, then end time, then name (a stable order).
pub fn sort_by_start(spans: &mut [SpanRecord]) {
    spans.sort_by(|a, b| {
        (a.start_unix_nano, a.end_unix_nano, &a.name).cmp(&(
            b.start_unix_nano,
            b.end_unix_nano,
            &b.name,
        ))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(trace: u8, id: u8, start: u64) -> SpanRecord {
        crate::span::test_span(trace, id, None, start, start + 1)
    }

    #[test]
    fn keeps_the_newest_and_drops_duplicates() -> std::io::Result<()> {
        let store = Store::new(3, None);
        let first = store.insert(vec![span(1, 1, 30), span(1, 2, 20), span(2, 3, 10)])?;
        assert_eq!(
            first,
            Inserted {
                stored: 3,
                duplicates: 0
            }
        );
        let again = store.insert(vec![span(1, 2, 20), span(1, 4, 5)])?;
        assert_eq!(
            again,
            Inserted {
                stored: 1,
                duplicates: 1
            }
        );
        // Span 1 (the oldest received) is gone; the rest come by start time.
        assert_eq!(store.len(), 3);
        let names: Vec<String> = store
            .trace(&format!("{:032x}", 1))
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["s4", "s2"]);
        let newest: Vec<String> = store.newest(2).into_iter().map(|s| s.name).collect();
        assert_eq!(newest, ["s4", "s3"]);
        // A dropped span may come again.
        assert_eq!(store.insert(vec![span(1, 1, 30)])?.stored, 1);
        Ok(())
    }
}
