-- 0032: trace context (issue 23). A job carries the W3C `traceparent` of
-- the span that submitted it (the api's request span, itself a child of the
-- caller's `traceparent` header when one came), so every later stage (the
-- relay's publish, the worker's claim, compute and commit, the webhook
-- sender, the billing rollup) continues the same trace across processes.
-- NULL when the submit was not sampled or tracing is off: then no stage
-- makes a span for the job, and nothing is paid for it.
--
-- The webhook message copies it in the terminal statement (so the sender
-- needs no join), and the relay reads it with its claim (the outbox row
-- points at the job). Checked here so a bad value never reaches a header.
ALTER TABLE jobs ADD COLUMN traceparent text
    CHECK (traceparent IS NULL OR traceparent ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$');
ALTER TABLE webhook_messages ADD COLUMN traceparent text
    CHECK (traceparent IS NULL OR traceparent ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$');
