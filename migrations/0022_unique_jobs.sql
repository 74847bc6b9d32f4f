-- 0022: unique jobs (issue 21). A submit with `unique_for_secs` holds its
-- uniqueness key (its `unique_key`, or a digest of the request) for that
-- long; a submit of the same tenant naming a held key stores nothing and
-- is answered the job that holds it. One row per (tenant, key): an expired
-- hold is taken over by the next submit of the key (as idempotency keys
-- are), and retention deletes the expired ones that nobody took over.
-- Submits of a tenant are serialised by its quota lock
-- (api/src/db/quotas.rs), so the read that finds a hold and the write that
-- takes one cannot interleave with another submit of the tenant.
CREATE TABLE job_unique_keys (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    key        text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    job_id     uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX job_unique_keys_expires ON job_unique_keys (expires_at);
CREATE INDEX job_unique_keys_job ON job_unique_keys (job_id);
