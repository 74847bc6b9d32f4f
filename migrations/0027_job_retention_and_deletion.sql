-- 0027: retention per job and job deletion (issue 22).
--
-- `result_ttl_secs`: how long after it finished a succeeded job keeps its
-- full result (NULL: the fleet's default, `scheduler.retention_results_secs`).
-- The retention pass summarises it then, as before. A submit checks it
-- against the plan's bound (docs/adr/0003-plans.md); the CHECK is the
-- widest bound any plan has.
ALTER TABLE jobs ADD COLUMN result_ttl_secs integer
    CHECK (result_ttl_secs IS NULL OR result_ttl_secs BETWEEN 60 AND 31536000);
-- When such a job's result goes: set by the statement that makes it
-- succeed, cleared when retention summarises it, so the partial index
-- holds exactly the results due to go and the pass costs O(due rows)
-- (scheduler/src/retention.rs runs it every minute). Jobs on the default
-- leave it NULL and cost the hot path nothing.
ALTER TABLE jobs ADD COLUMN result_expires_at timestamptz;
CREATE INDEX jobs_result_expires ON jobs (result_expires_at) WHERE result_expires_at IS NOT NULL;

-- `DELETE /v1/jobs/{id}` and `POST /v1/jobs/delete` erase finished jobs:
-- the row goes, and with it what only describes it (its outbox rows,
-- transitions, webhook messages and their deliveries and attempts). Usage
-- events stay for billing (the law keeps invoices, and an invoice is built
-- from them), with the job's id forgotten; a cron schedule's history keeps
-- the tick, without its job.
ALTER TABLE usage_events ALTER COLUMN job_id DROP NOT NULL;
ALTER TABLE usage_events DROP CONSTRAINT usage_events_job_id_fkey,
    ADD CONSTRAINT usage_events_job_id_fkey FOREIGN KEY (job_id) REFERENCES jobs(id) ON DELETE SET NULL;
ALTER TABLE job_outbox DROP CONSTRAINT job_outbox_job_id_fkey,
    ADD CONSTRAINT job_outbox_job_id_fkey FOREIGN KEY (job_id) REFERENCES jobs(id) ON DELETE CASCADE;
ALTER TABLE job_transitions DROP CONSTRAINT job_transitions_job_id_fkey,
    ADD CONSTRAINT job_transitions_job_id_fkey FOREIGN KEY (job_id) REFERENCES jobs(id) ON DELETE CASCADE;
ALTER TABLE webhook_messages DROP CONSTRAINT webhook_messages_job_id_fkey,
    ADD CONSTRAINT webhook_messages_job_id_fkey FOREIGN KEY (job_id) REFERENCES jobs(id) ON DELETE CASCADE;
ALTER TABLE schedule_runs DROP CONSTRAINT schedule_runs_job_id_fkey,
    ADD CONSTRAINT schedule_runs_job_id_fkey FOREIGN KEY (job_id) REFERENCES jobs(id) ON DELETE SET NULL;
ALTER TABLE schedules DROP CONSTRAINT schedules_last_job_id_fkey,
    ADD CONSTRAINT schedules_last_job_id_fkey FOREIGN KEY (last_job_id) REFERENCES jobs(id) ON DELETE SET NULL;

-- Every row that refers to a job is found by an index when the job goes
-- (the others have one already: usage_events' and webhook_messages' unique
-- keys, job_transitions_job, job_outbox_job_attempt, job_unique_keys_job,
-- job_dependencies' key and job_dependencies_parent).
CREATE INDEX idempotency_keys_job ON idempotency_keys (job_id);
CREATE INDEX schedule_runs_job ON schedule_runs (job_id) WHERE job_id IS NOT NULL;
CREATE INDEX schedules_last_job ON schedules (last_job_id) WHERE last_job_id IS NOT NULL;

-- Every api process keeps finished rows from `job_done` for a few minutes
-- (api/src/job_events.rs). A statement that erases results or jobs tells
-- them on `job_erased` (ids, comma-separated, 200 to a notification so
-- each stays under NOTIFY's 8,000 bytes), delivered at its commit, and
-- they drop those rows: a GET after a DELETE or a retention pass reads the
-- database again.
CREATE FUNCTION notify_jobs_erased(ids uuid[]) RETURNS integer
LANGUAGE sql AS $$
    SELECT count(pg_notify('job_erased', c.chunk))::integer
    FROM (SELECT string_agg(u.id::text, ',') AS chunk
          FROM unnest(ids) WITH ORDINALITY AS u(id, n)
          GROUP BY (u.n - 1) / 200) c
$$;
