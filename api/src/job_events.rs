//! Terminal-state notifications, for long-polls and reads of finished jobs.
//! Every terminal transition runs `pg_notify('job_done', …)` in its
//! statement (delivered at commit; `db::jobs::finish`). The payload is the
//! finished row as GET shows it, as JSON, when it fits NOTIFY's 8,000 bytes
//! (a trivial job's is well under 1 KB), and the bare job id otherwise. The
//! api's LISTEN connection (`crate::notifications`) hands each payload to
//! `JobEvents::notified`, which
//! - keeps the row in a small per-process cache of finished jobs, so a GET
//!   of a job that just finished answers without a read (a finished row
//!   does not change until retention summarises it, days later; the cache
//!   keeps rows for minutes);
//! - wakes the long-polls waiting for the job, with the row when it came, so
//!   they answer without re-reading it.
//!
//! - remembers, for a while, the jobs this process accepted and has not yet
//!   heard finish (`accepted`), so a long-poll right after a submit (the
//!   usual client's next request) waits for the notification without first
//!   reading a row it knows is unfinished: one round trip per job less
//!   (issue 17).
//!
//! `job_erased` (a DELETE, or retention summarising results) takes rows out
//! of the cache again; the cache is emptied whenever the LISTEN connection
//! was lost, so a missed erasure cannot leave a deleted job answering.
//!
//! A missed `job_done` only costs latency: waiters also re-read the row
//! every `BACKSTOP`, and a GET that misses the cache reads the row as ever.
//! The cache never decides who may see a row: it keeps the row's tenant,
//! and the handler answers 404 to any other tenant, as the read would.

use catalytic_shared::db::jobs::JobRow;
use catalytic_shared::ids::{JobId, TenantId};
use catalytic_shared::job::JobState;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// How often a waiter re-reads its job even without a notification.
pub const BACKSTOP: Duration = Duration::from_secs(1);

/// The payload bytes all cached rows may add up to (each is under 8,000):
/// with the entry cap, the memory a flood of large results can take.
const MAX_CACHED_BYTES: usize = 8 << 20;

/// A finished job, as its notification said it.
#[derive(Debug, Clone)]
pub struct JobDone {
    pub id: JobId,
    /// The row, when the payload carried it.
    pub row: Option<Arc<JobRow>>,
}

#[derive(Clone)]
pub struct JobEvents {
    sender: broadcast::Sender<JobDone>,
    finished: Arc<Finished>,
    accepted: Arc<Accepted>,
}

/// How long an accepted job is remembered as unfinished when no
/// notification comes (a long-poll that trusts it waits `BACKSTOP` before
/// its first read, so a missed notification costs that once).
const ACCEPTED_TTL: Duration = Duration::from_secs(60);

/// The `job_done` payload's row (`db::jobs::finish` writes it).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    id: JobId,
    tenant_id: TenantId,
    status: JobState,
    operation: String,
    request: Value,
    attempt: i32,
    max_attempts: i32,
    result: Option<Value>,
    error: Option<Value>,
    /// Unix microseconds: what `timestamptz` stores, so nothing is rounded.
    created_at: i64,
    updated_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    /// Absent from a payload written before delayed jobs existed.
    #[serde(default)]
    run_at: Option<i64>,
    /// Present only for a job with parents.
    #[serde(default)]
    depends_on: Vec<uuid::Uuid>,
    /// Present only for a job submitted with its own retention.
    #[serde(default)]
    result_ttl_secs: Option<i32>,
    /// With it, once succeeded: when the result goes (Unix microseconds).
    #[serde(default)]
    result_expires_at: Option<i64>,
}

fn micros(us: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
}

impl Payload {
    /// None when a timestamp is out of range: then the id alone is used.
    fn into_row(self) -> Option<JobRow> {
        let optional = |us: Option<i64>| match us {
            Some(us) => micros(us).map(Some),
            None => Some(None),
        };
        Some(JobRow {
            id: self.id,
            tenant_id: self.tenant_id,
            status: self.status,
            operation: self.operation,
            spec: self.request,
            attempt: self.attempt,
            max_attempts: self.max_attempts,
            result: self.result,
            error: self.error,
            created_at: micros(self.created_at)?,
            updated_at: micros(self.updated_at)?,
            started_at: optional(self.started_at)?,
            finished_at: optional(self.finished_at)?,
            run_at: optional(self.run_at)?,
            depends_on: self.depends_on,
            result_ttl_secs: self.result_ttl_secs,
            result_expires_at: optional(self.result_expires_at)?,
            // A finished job reports no progress.
            progress: None,
        })
    }
}

/// What one `job_done` payload says: rows, or ids only.
fn parse(payload: &str) -> Vec<JobDone> {
    let rows = |value: Result<Vec<Payload>, _>| -> Vec<JobDone> {
        value
            .map(|payloads| {
                payloads
                    .into_iter()
                    .map(|p| {
                        let id = p.id;
                        JobDone {
                            id,
                            row: p.into_row().map(Arc::new),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    match payload.as_bytes().first() {
        // One finished row (today's statement), or several (a batch commit).
        Some(b'{') => rows(serde_json::from_str::<Payload>(payload).map(|p| vec![p])),
        Some(b'[') => rows(serde_json::from_str::<Vec<Payload>>(payload)),
        // Too large for a payload, or an older writer: the id only.
        _ => payload
            .parse::<JobId>()
            .map(|id| vec![JobDone { id, row: None }])
            .unwrap_or_default(),
    }
}

/// The per-process cache of finished rows: first in, first out, bounded in
/// entries and payload bytes, each row kept for `ttl`.
struct Finished {
    capacity: usize,
    ttl: Duration,
    inner: Mutex<FinishedInner>,
}

#[derive(Default)]
struct FinishedInner {
    rows: HashMap<JobId, (Arc<JobRow>, Instant, usize)>,
    order: VecDeque<JobId>,
    bytes: usize,
}

impl Finished {
    fn lock(&self) -> std::sync::MutexGuard<'_, FinishedInner> {
        // A panic while holding the lock leaves a map that is still valid.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn insert(&self, row: Arc<JobRow>, bytes: usize) {
        if self.capacity == 0 {
            return;
        }
        let now = Instant::now();
        let mut inner = self.lock();
        let id = row.id;
        if let Some((_, _, old)) = inner.rows.insert(id, (row, now, bytes)) {
            inner.bytes -= old;
        } else {
            inner.order.push_back(id);
        }
        inner.bytes += bytes;
        while inner.rows.len() > self.capacity || inner.bytes > MAX_CACHED_BYTES {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some((_, _, size)) = inner.rows.remove(&oldest) {
                inner.bytes -= size;
            }
        }
        // Ids whose row an erasure removed stay in `order` until they reach
        // its front; bound them too.
        if inner.order.len() > 2 * self.capacity {
            let FinishedInner { rows, order, .. } = &mut *inner;
            order.retain(|id| rows.contains_key(id));
        }
    }

    fn remove(&self, id: JobId) {
        let mut inner = self.lock();
        if let Some((_, _, size)) = inner.rows.remove(&id) {
            inner.bytes -= size;
        }
        // Its id stays in `order` until it reaches the front or `insert`
        // compacts the queue.
    }

    fn clear(&self) {
        let mut inner = self.lock();
        inner.rows.clear();
        inner.order.clear();
        inner.bytes = 0;
    }

    fn get(&self, id: JobId) -> Option<Arc<JobRow>> {
        let inner = self.lock();
        let (row, at, _) = inner.rows.get(&id)?;
        (at.elapsed() < self.ttl).then(|| Arc::clone(row))
    }
}

/// The jobs this process accepted and has not heard finish: first in,
/// first out, bounded in entries, each kept `ACCEPTED_TTL`. An entry goes
/// when the job's notification comes, whatever it carried, so an id here
/// is a job whose finish this process has not heard of.
struct Accepted {
    capacity: usize,
    inner: Mutex<AcceptedInner>,
}

#[derive(Default)]
struct AcceptedInner {
    jobs: HashMap<JobId, (TenantId, Instant)>,
    order: VecDeque<JobId>,
}

impl Accepted {
    fn lock(&self) -> std::sync::MutexGuard<'_, AcceptedInner> {
        // A panic while holding the lock leaves a map that is still valid.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn insert(&self, jobs: impl IntoIterator<Item = JobId>, tenant: TenantId) {
        if self.capacity == 0 {
            return;
        }
        let now = Instant::now();
        let mut inner = self.lock();
        for id in jobs {
            if inner.jobs.insert(id, (tenant, now)).is_none() {
                inner.order.push_back(id);
            }
        }
        while inner.jobs.len() > self.capacity
            || inner
                .order
                .front()
                .and_then(|id| inner.jobs.get(id))
                .is_some_and(|(_, at)| at.elapsed() >= ACCEPTED_TTL)
        {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            inner.jobs.remove(&oldest);
        }
        // Ids whose entry a notification removed stay in `order` until
        // they reach its front; bound them too.
        if inner.order.len() > 2 * self.capacity.max(1) {
            let AcceptedInner { jobs, order } = &mut *inner;
            order.retain(|id| jobs.contains_key(id));
        }
    }

    fn contains(&self, id: JobId, tenant: TenantId) -> bool {
        self.lock()
            .jobs
            .get(&id)
            .is_some_and(|(owner, at)| *owner == tenant && at.elapsed() < ACCEPTED_TTL)
    }

    fn remove(&self, id: JobId) {
        self.lock().jobs.remove(&id);
    }
}

impl JobEvents {
    /// `capacity` finished rows kept for `ttl` (0: none kept; long-polls
    /// still answer from the notification).
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        let (sender, _) = broadcast::channel(4096);
        Self {
            sender,
            finished: Arc::new(Finished {
                capacity,
                ttl,
                inner: Mutex::new(FinishedInner::default()),
            }),
            accepted: Arc::new(Accepted {
                capacity,
                inner: Mutex::new(AcceptedInner::default()),
            }),
        }
    }

    /// Records jobs of `tenant` this process just committed (queued or
    /// scheduled: unfinished).
    pub fn accepted(&self, jobs: impl IntoIterator<Item = JobId>, tenant: TenantId) {
        self.accepted.insert(jobs, tenant);
    }

    /// Whether `id` is a job of `tenant` this process accepted and has not
    /// heard finish: a long-poll may then wait for the notification before
    /// its first read. Call after `subscribe`, so a finish in between is
    /// either seen here (the entry is gone) or received.
    pub fn unfinished_here(&self, id: JobId, tenant: TenantId) -> bool {
        self.accepted.contains(id, tenant)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<JobDone> {
        self.sender.subscribe()
    }

    /// The finished row of `id`, if this process heard of it lately. The
    /// caller must check the tenant.
    pub fn finished(&self, id: JobId) -> Option<Arc<JobRow>> {
        self.finished.get(id)
    }

    /// One `job_erased` payload (comma-separated job ids), from the
    /// listener: those rows are no longer what a read would answer.
    pub fn erased(&self, payload: &str) {
        for id in payload.split(',').filter_map(|id| id.parse::<JobId>().ok()) {
            self.finished.remove(id);
        }
    }

    /// Drops every cached finished row (the LISTEN connection was lost,
    /// so an erasure may have been missed).
    pub fn forget_finished(&self) {
        self.finished.clear();
    }

    /// One `job_done` payload, from the listener.
    pub fn notified(&self, payload: &str) {
        let done = parse(payload);
        let per_row = payload.len() / done.len().max(1);
        for event in done {
            self.accepted.remove(event.id);
            if let Some(row) = &event.row {
                self.finished.insert(Arc::clone(row), per_row);
            }
            // No receivers is fine: nobody is waiting.
            let _ = self.sender.send(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(id: JobId, tenant: TenantId) -> String {
        json!({"id": id, "tenant_id": tenant, "status": "succeeded", "operation": "shortest_path",
               "request": {"a": 1}, "attempt": 1, "max_attempts": 3, "result": {"length": 2},
               "error": null, "created_at": 1_764_000_000_123_456_i64,
               "updated_at": 1_764_000_001_000_001_i64, "started_at": 1_764_000_000_500_000_i64,
               "finished_at": 1_764_000_001_000_001_i64})
        .to_string()
    }

    #[test]
    fn a_row_payload_is_cached_and_an_id_payload_is_not() -> anyhow::Result<()> {
        let events = JobEvents::new(10, Duration::from_secs(60));
        let (id, tenant) = (JobId::new(), TenantId::new());
        events.notified(&payload(id, tenant));
        let row = events
            .finished(id)
            .ok_or_else(|| anyhow::anyhow!("cached"))?;
        assert_eq!(row.tenant_id, tenant);
        assert_eq!(row.created_at.timestamp_micros(), 1_764_000_000_123_456);
        assert_eq!(row.result, Some(json!({"length": 2})));
        assert_eq!(row.error, None);

        let other = JobId::new();
        events.notified(&other.to_string());
        assert!(events.finished(other).is_none());
        let mut rx = events.subscribe();
        events.notified(&other.to_string());
        let event = rx.try_recv()?;
        assert_eq!(
            (event.id, event.row.is_none()),
            (other, true),
            "the id still wakes waiters"
        );
        Ok(())
    }

    #[test]
    fn batches_are_read_and_the_cache_is_bounded() -> anyhow::Result<()> {
        let events = JobEvents::new(2, Duration::from_secs(60));
        let tenant = TenantId::new();
        let ids = [JobId::new(), JobId::new(), JobId::new()];
        let batch = format!(
            "[{}]",
            ids.iter()
                .map(|id| payload(*id, tenant))
                .collect::<Vec<_>>()
                .join(",")
        );
        events.notified(&batch);
        assert!(events.finished(ids[0]).is_none(), "first in, first out");
        assert!(events.finished(ids[1]).is_some() && events.finished(ids[2]).is_some());
        events.notified("{not json");
        events.notified("");
        Ok(())
    }

    #[test]
    fn erased_rows_leave_the_cache() -> anyhow::Result<()> {
        let events = JobEvents::new(10, Duration::from_secs(60));
        let tenant = TenantId::new();
        let ids = [JobId::new(), JobId::new(), JobId::new()];
        for id in ids {
            events.notified(&payload(id, tenant));
        }
        events.erased(&format!("{},not-an-id,{}", ids[0], ids[2]));
        assert!(events.finished(ids[0]).is_none() && events.finished(ids[2]).is_none());
        assert!(events.finished(ids[1]).is_some(), "only the named ones go");
        events.forget_finished();
        assert!(events.finished(ids[1]).is_none());
        // The cache still takes rows after both, within its bounds.
        events.notified(&payload(ids[0], tenant));
        assert!(events.finished(ids[0]).is_some());
        Ok(())
    }

    #[test]
    fn rows_expire() -> anyhow::Result<()> {
        let events = JobEvents::new(2, Duration::ZERO);
        let id = JobId::new();
        events.notified(&payload(id, TenantId::new()));
        assert!(events.finished(id).is_none());
        Ok(())
    }
}
