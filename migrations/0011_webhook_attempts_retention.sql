-- Attempts are kept 30 days (design §5, webhooks.attempt_retention_secs);
-- the retention duty deletes the oldest in batches by this index.
CREATE INDEX webhook_attempts_started ON webhook_attempts (started_at);
