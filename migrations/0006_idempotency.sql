-- 0006: Idempotency-Key on submit (design §4, issue 5). A tenant's key names
-- one job for 24 h: the same key with the same body (request_hash, SHA-256
-- of the canonical JSON) answers that job again; another body is a 409. The
-- row commits in the submit's transaction, so a key never names a job that
-- does not exist, and the unique constraint settles concurrent duplicates.
-- Rows older than 24 h are ignored by reads (and may be pruned).

CREATE TABLE idempotency_keys (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash  bytea NOT NULL,
    job_id        uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT idempotency_keys_tenant_key UNIQUE (tenant_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- `GET /v1/jobs?status=`: a tenant's jobs of one state, newest first. Job
-- ids are UUIDv7, so id order is creation order and the cursor is an id.
CREATE INDEX jobs_tenant_status_id ON jobs (tenant_id, status, id DESC);
