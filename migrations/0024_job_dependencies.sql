-- 0024: job dependencies (issue 21). A submit may name parent jobs
-- (`depends_on`): the job is stored `waiting`, with no outbox row, until
-- every parent has finished. Then the scheduler's dependency duty
-- (scheduler/src/dependencies.rs) queues it (status `queued` plus its first
-- outbox row, one statement) when every parent succeeded, or cancels it
-- naming the parent that failed or was cancelled (unless the child said to
-- run anyway). Parents exist before their children (the foreign key), so a
-- cycle cannot be written.

-- Not usable in this transaction: the index that names it is in 0025.
ALTER TYPE job_status ADD VALUE IF NOT EXISTS 'waiting' BEFORE 'queued';

CREATE TABLE job_dependencies (
    child_id       uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    parent_id      uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    -- `on_parent_failure: "run"`: the child runs once every parent has
    -- finished, whatever their outcome (the same on every row of a child).
    run_on_failure boolean NOT NULL,
    PRIMARY KEY (child_id, parent_id)
);
-- A finished job's children, found by the terminal statement (to notify)
-- and the dependency duty.
CREATE INDEX job_dependencies_parent ON job_dependencies (parent_id);

-- A waiting job holds a place in its tenant's queue from its submit, as a
-- scheduled one does (0019): the ledger counts the three waiting states.
CREATE OR REPLACE FUNCTION job_queue_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO job_queue_deltas (tenant_id, delta)
        SELECT tenant_id, count(*) FROM new_rows
        WHERE status::text IN ('scheduled', 'waiting', 'queued') GROUP BY tenant_id;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO job_queue_deltas (tenant_id, delta)
        SELECT tenant_id, sum(d) FROM (
            SELECT tenant_id, 1 AS d FROM new_rows WHERE status::text IN ('scheduled', 'waiting', 'queued')
            UNION ALL
            SELECT tenant_id, -1 FROM old_rows WHERE status::text IN ('scheduled', 'waiting', 'queued')) c
        GROUP BY tenant_id HAVING sum(d) <> 0;
    ELSE
        INSERT INTO job_queue_deltas (tenant_id, delta)
        SELECT tenant_id, -count(*) FROM old_rows
        WHERE status::text IN ('scheduled', 'waiting', 'queued') GROUP BY tenant_id;
    END IF;
    RETURN NULL;
END
$$;
