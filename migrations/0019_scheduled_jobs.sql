-- 0019: delayed jobs (issue 21). A submit may name a time (`run_at`, or
-- `delay_secs`): the job is stored `scheduled`, with no outbox row, and the
-- relay leader queues it when due (status `queued` plus its first outbox
-- row, one statement: scheduler/src/db/outbox.rs `promote_due`). No hot
-- path changes: the relay's claim, the worker's claim and the autoscaler
-- only ever see queued jobs, and a scheduled job costs nothing until due.
-- Its time lives on the job, not in a broker TTL, so it survives restarts
-- of every process.

-- Not usable in this transaction: the index that names it is in 0020.
ALTER TYPE job_status ADD VALUE IF NOT EXISTS 'scheduled' BEFORE 'queued';

-- When the tenant asked the job to run; NULL: at once.
ALTER TABLE jobs ADD COLUMN run_at timestamptz;

-- A scheduled job holds a place in its tenant's queue from its submit (the
-- plan's `queued_at_most` counts both), so scheduling cannot park an
-- unbounded number of jobs: the ledger of 0018 counts rows entering and
-- leaving the waiting states (scheduled or queued). A promotion moves a job
-- between the two and writes nothing.
CREATE OR REPLACE FUNCTION job_queue_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO job_queue_deltas (tenant_id, delta)
        SELECT tenant_id, count(*) FROM new_rows
        WHERE status::text IN ('scheduled', 'queued') GROUP BY tenant_id;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO job_queue_deltas (tenant_id, delta)
        SELECT tenant_id, sum(d) FROM (
            SELECT tenant_id, 1 AS d FROM new_rows WHERE status::text IN ('scheduled', 'queued')
            UNION ALL
            SELECT tenant_id, -1 FROM old_rows WHERE status::text IN ('scheduled', 'queued')) c
        GROUP BY tenant_id HAVING sum(d) <> 0;
    ELSE
        INSERT INTO job_queue_deltas (tenant_id, delta)
        SELECT tenant_id, -count(*) FROM old_rows
        WHERE status::text IN ('scheduled', 'queued') GROUP BY tenant_id;
    END IF;
    RETURN NULL;
END
$$;
