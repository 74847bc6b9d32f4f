-- 0018: a tenant's queued jobs as a counter, and the autoscaler's queued
-- age by index (issue 17). The first soak (docs/chaos.md) collapsed once
-- the backlog reached tens of thousands of jobs per tenant: every submit
-- counted its tenant's queued jobs (O(queue depth), under the tenant's
-- quota lock, so submits queued behind it) and the autoscaler scanned every
-- queued and running job each round.
--
-- The count is a ledger, not one hot row. Every statement that moves jobs
-- into or out of `queued` appends one row per tenant it touched to
-- `job_queue_deltas` (a statement-level trigger, so no code path can forget
-- it and a batch of 64 claims is one row, not 64). Appending never waits on
-- anyone: a worker's claim, the reaper and a submit of the same tenant do
-- not contend for a counter row, so no lock order between them exists to
-- get wrong. The quota check (api/src/db/quotas.rs) folds the tenant's
-- deltas into `tenant_queue_counts` under the tenant's quota lock, in the
-- same statement that reads the total, so only one transaction ever updates
-- a tenant's counter row and a read costs the deltas since the last submit.
CREATE TABLE tenant_queue_counts (
    tenant_id uuid PRIMARY KEY,
    queued    bigint NOT NULL
);

CREATE TABLE job_queue_deltas (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id uuid NOT NULL,
    delta     bigint NOT NULL
);
CREATE INDEX job_queue_deltas_tenant ON job_queue_deltas (tenant_id);

-- One function for the three events: rows entering `queued` (new rows in
-- that state) minus rows leaving it (old rows in that state), per tenant.
-- A tenant's jobs never change tenant, so the two sides need no join; a
-- statement that moved nothing in or out of `queued` (a heartbeat, a
-- terminal transition from running, the relay's `mark_sent`) writes
-- nothing.
CREATE FUNCTION job_queue_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO job_queue_deltas (tenant_id, delta)
        SELECT tenant_id, count(*) FROM new_rows WHERE status = 'queued' GROUP BY tenant_id;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO job_queue_deltas (tenant_id, delta)
        SELECT tenant_id, sum(d) FROM (
            SELECT tenant_id, 1 AS d FROM new_rows WHERE status = 'queued'
            UNION ALL
            SELECT tenant_id, -1 FROM old_rows WHERE status = 'queued') c
        GROUP BY tenant_id HAVING sum(d) <> 0;
    ELSE
        INSERT INTO job_queue_deltas (tenant_id, delta)
        SELECT tenant_id, -count(*) FROM old_rows WHERE status = 'queued' GROUP BY tenant_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_queue_delta_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION job_queue_delta();
CREATE TRIGGER jobs_queue_delta_update AFTER UPDATE ON jobs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION job_queue_delta();
CREATE TRIGGER jobs_queue_delta_delete AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION job_queue_delta();

-- The counts of the jobs already here. CREATE TRIGGER above holds a lock
-- that keeps writers of `jobs` out until this migration commits, so no
-- change falls between the count and the trigger.
INSERT INTO tenant_queue_counts (tenant_id, queued)
SELECT tenant_id, count(*) FROM jobs WHERE status = 'queued' GROUP BY tenant_id;

-- The counter replaces the index the count walked.
DROP INDEX IF EXISTS jobs_tenant_queued;

-- The autoscaler's oldest queued job per class: the first entry of this
-- index per class, instead of a scan of the queue.
CREATE INDEX jobs_queued_class_created ON jobs (queue_class, created_at) WHERE status = 'queued';
