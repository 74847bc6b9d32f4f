-- 0017: bulk submit (issue 17). One Idempotency-Key covers a whole
-- `POST /v1/jobs/batch`; a replay must answer the same per-item results
-- (job ids and the problems of refused items, in order), so the record keeps
-- them. NULL for a single submit, whose answer is `job_id` alone. `job_id`
-- stays NOT NULL: a bulk record names its first accepted job (a bulk that
-- accepted nothing stores no record), so the row still goes when that job
-- is deleted.
ALTER TABLE idempotency_keys ADD COLUMN results jsonb;
