-- 0026: concurrency keys (issue 21). A submit may name a key and a limit
-- (`concurrency_key`, `max_concurrency`): at most that many of the
-- tenant's jobs with that key are queued or running at once. Such a job is
-- stored `waiting` (0024), without an outbox row, and the scheduler's
-- dependency duty releases the oldest waiting jobs of a key while the key
-- has free slots (scheduler/src/dependencies.rs), woken when a keyed job is
-- submitted or finishes. Held jobs wait without an outbox row, so they
-- never block other keys or tenants in the relay.
ALTER TABLE jobs ADD COLUMN concurrency_key text
    CHECK (concurrency_key IS NULL OR length(concurrency_key) BETWEEN 1 AND 255);
ALTER TABLE jobs ADD COLUMN max_concurrency integer
    CHECK ((concurrency_key IS NULL) = (max_concurrency IS NULL) AND
           (max_concurrency IS NULL OR max_concurrency BETWEEN 1 AND 1000));

-- A key's waiting, queued and running jobs in id order: the count of the
-- busy ones and the oldest waiting ones, never a scan of the tenant's jobs.
CREATE INDEX jobs_concurrency ON jobs (tenant_id, concurrency_key, id)
    WHERE concurrency_key IS NOT NULL AND status IN ('waiting', 'queued', 'running');
