-- 0029: stored result parts (issue 22, shared/src/result_parts.rs): a
-- succeeded job's full answer when it exceeds the inline caps, as a .npy
-- file compressed with zstd in chunks (each chunk its own frame), served at
-- GET /v1/jobs/{id}/result/{name}. Written by the worker before the job's
-- outcome, for the attempt that computed it; served only while the job is
-- `succeeded` at that attempt. A plan caps the bytes a tenant stores
-- (`stored_bytes` summed, under a per-tenant lock). Parts go with the job
-- (a delete), when its result is summarised (retention), and when their
-- attempt did not succeed (retention's orphan pass).
CREATE TABLE job_result_parts (
    job_id uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    name text NOT NULL CHECK (name ~ '^[a-z_]{1,32}$'),
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    attempt integer NOT NULL,
    media_type text NOT NULL,
    -- The file, uncompressed, and what it takes stored.
    length bigint NOT NULL CHECK (length > 0),
    stored_bytes bigint NOT NULL CHECK (stored_bytes > 0),
    chunks integer NOT NULL CHECK (chunks > 0),
    sha256 bytea NOT NULL CHECK (octet_length(sha256) = 32),
    dtype text NOT NULL,
    shape bigint[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, name)
);
CREATE INDEX job_result_parts_tenant ON job_result_parts (tenant_id);

CREATE TABLE job_result_chunks (
    job_id uuid NOT NULL,
    name text NOT NULL,
    seq integer NOT NULL CHECK (seq >= 0),
    frame bytea NOT NULL,
    PRIMARY KEY (job_id, name, seq),
    FOREIGN KEY (job_id, name) REFERENCES job_result_parts (job_id, name) ON DELETE CASCADE
);
-- Frames are zstd already: stored out of line without PostgreSQL's own
-- compression trying again.
ALTER TABLE job_result_chunks ALTER COLUMN frame SET STORAGE EXTERNAL;
