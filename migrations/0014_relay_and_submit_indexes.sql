-- The relay's fairness gate counts, per tenant with due rows, its jobs in
-- the broker: queued jobs whose current attempt's outbox row is sent. That
-- probe looks the outbox up by (job, attempt); without this index it was a
-- scan of the whole outbox per round (issue 8's profile: 1.4 ms a round).
CREATE INDEX job_outbox_job_attempt ON job_outbox (job_id, attempt);
