-- 0020: the relay leader's probe for due scheduled jobs (0019): the first
-- entries of this index, never a scan of the scheduled jobs.
CREATE INDEX jobs_scheduled_due ON jobs (run_at) WHERE status = 'scheduled';
