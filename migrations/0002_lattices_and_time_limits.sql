-- 0002: stored lattice definitions (issue 3) and per-job time limits.
-- A lattice is a definition, never a graph: sizes, wrap, blocked. Deleting
-- one is soft (deleted_at) so jobs that named it keep their history; new
-- jobs naming it get 404. Jobs copy the definition into their spec at
-- submit, so a later PATCH never changes a queued job.

CREATE TABLE lattices (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    definition  jsonb NOT NULL,
    vertices    numeric(20, 0) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);
-- Listing: a tenant's live lattices, newest first (ids are UUIDv7, so id
-- order is creation order and the id is the cursor).
CREATE INDEX lattices_tenant_live ON lattices (tenant_id, id DESC) WHERE deleted_at IS NULL;

-- The plan's time limit when the job was submitted; the worker stops the
-- compute when it is spent. Existing rows get the free plan's 10 s.
ALTER TABLE jobs ADD COLUMN time_limit_ms bigint NOT NULL DEFAULT 10000 CHECK (time_limit_ms > 0);
ALTER TABLE jobs ADD COLUMN lattice_id uuid REFERENCES lattices (id);
