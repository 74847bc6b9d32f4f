-- Issue 17: the relay's fair claim must cost O(batch), not O(backlog).
--
-- `jobs.dispatched_attempt`: the attempt whose message the relay last had
-- confirmed by the broker (set by `outbox::mark_sent`, in the same
-- statement that marks the outbox rows sent). A job is *in flight* for the
-- fairness gate when it is running, or queued with its current attempt's
-- message in the broker (`dispatched_attempt = attempt`); a retry or the
-- reaper bumps `attempt`, which takes the job out without touching this
-- column. The partial index holds exactly the in-flight jobs, so a tenant's
-- count costs what its in-flight jobs do (at most its plan's cap), not what
-- its queued backlog does.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS dispatched_attempt integer;

-- Jobs already in the broker when this runs: queued, with their current
-- attempt's outbox row sent (what the gate counted before). Re-running it
-- sets the same values.
UPDATE jobs j SET dispatched_attempt = j.attempt
WHERE j.status = 'queued'
  AND j.dispatched_attempt IS DISTINCT FROM j.attempt
  AND EXISTS (SELECT 1 FROM job_outbox s
              WHERE s.job_id = j.id AND s.attempt = j.attempt AND s.sent_at IS NOT NULL);

CREATE INDEX IF NOT EXISTS jobs_in_flight ON jobs (tenant_id)
    WHERE status = 'running' OR (status = 'queued' AND dispatched_attempt = attempt);

-- Unsent rows by tenant, in claim order: the claim finds the tenants with
-- unsent rows by a loose index scan (one probe per tenant) and takes each
-- one's first due rows from here, however deep the backlog behind them.
CREATE INDEX IF NOT EXISTS job_outbox_tenant_unsent ON job_outbox (tenant_id, run_at, id)
    WHERE sent_at IS NULL;
