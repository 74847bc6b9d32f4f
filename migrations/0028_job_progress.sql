-- 0028: a running job's progress (issue 22). The worker writes it at most
-- once a second per job while the engine runs (worker/src/progress.rs),
-- guarded by the job's state and attempt; GET and the list show it while
-- the job runs at that attempt. A row apart from `jobs`: a progress write
-- touches no index of `jobs` (its updates are HOT here: only the key is
-- indexed), and jobs that finish within a second never write one.
-- Retention deletes the rows of jobs that are no longer running.
CREATE TABLE job_progress (
    job_id uuid PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    attempt integer NOT NULL,
    done bigint NOT NULL CHECK (done >= 0),
    total bigint NOT NULL CHECK (total >= done),
    unit text NOT NULL CHECK (unit IN ('vertices')),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A job's progress as GET shows it (`{done, total, unit, updated_at}`), or
-- NULL unless it is running at the attempt that wrote it: one definition
-- for every read of jobs (`jobs::get`, `job_queries::list`).
CREATE FUNCTION job_progress_shown(job uuid, at_attempt integer, state job_status) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('done', p.done, 'total', p.total, 'unit', p.unit,
                              'updated_at', p.updated_at)
    FROM job_progress p
    WHERE p.job_id = job AND p.attempt = at_attempt AND state = 'running'
$$;
