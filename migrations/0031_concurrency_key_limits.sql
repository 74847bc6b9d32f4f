-- 0031: stored concurrency limits (issue 21). A submit names its key's
-- limit (`max_concurrency`, 0026), and that number is fixed in the job's
-- row: a limit could not be raised or lowered for jobs already waiting,
-- and jobs of one key naming different numbers each obeyed their own. A
-- tenant may now store a limit per key (`PUT /v1/concurrency-keys/{key}`):
-- while it exists it is the limit of every job of that key, waiting ones
-- included, whatever each submit named. The scheduler's release reads
-- COALESCE(this limit, the job's own) under the key's lock (`fitting`,
-- scheduler/src/db/dependencies.rs); the api wakes that release when a
-- limit is stored or deleted (a `job_slots` notification naming the key's
-- oldest waiting job). A lowered limit cancels nothing: releases wait
-- until the key's queued and running jobs are fewer than it.
--
-- A tenant keeps at most 1,000 (the api counts them under the tenant's
-- lock). Keyed by (tenant, key): the release's look-up and the list's
-- pages in key order both read the primary key.
CREATE TABLE concurrency_key_limits (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    concurrency_key  text NOT NULL CHECK (length(concurrency_key) BETWEEN 1 AND 255),
    max_concurrency  integer NOT NULL CHECK (max_concurrency BETWEEN 1 AND 1000),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, concurrency_key)
);
