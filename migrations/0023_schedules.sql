-- 0023: cron schedules (issue 21). A schedule is a cron expression in a
-- time zone and a job template; the scheduler submits the template at
-- each tick. Exactly one job per tick across scheduler replicas: a replica
-- fires a schedule only while holding its row lock (FOR UPDATE SKIP
-- LOCKED), in the transaction that inserts the job, records the tick in
-- `schedule_runs` (primary key: schedule and tick) and moves
-- `next_fire_at` past it. A replica killed mid-fire rolls back, and the
-- next one fires the tick; a tick can never be recorded twice.
CREATE TABLE schedules (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    cron         text NOT NULL,
    timezone     text NOT NULL,
    -- The template as the client sent it (shown back), and what it
    -- validated to: the job's spec, operation and stored lattice.
    template     jsonb NOT NULL,
    spec         jsonb NOT NULL,
    lattice_id   uuid REFERENCES lattices (id),
    overlap      text NOT NULL CHECK (overlap IN ('skip', 'queue', 'cancel_previous')),
    catch_up     text NOT NULL CHECK (catch_up IN ('none', 'one', 'all')),
    paused       boolean NOT NULL DEFAULT false,
    -- The next tick to fire (kept while paused; recomputed on resume).
    next_fire_at timestamptz NOT NULL,
    -- The job of the last fire, for the overlap policy.
    last_job_id  uuid REFERENCES jobs (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);
CREATE INDEX schedules_due ON schedules (next_fire_at) WHERE NOT paused;
CREATE INDEX schedules_tenant ON schedules (tenant_id, created_at);

-- A schedule's history: one row per tick handled (or per manual trigger).
CREATE TABLE schedule_runs (
    schedule_id  uuid NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    tick_at      timestamptz NOT NULL,
    manual       boolean NOT NULL DEFAULT false,
    outcome      text NOT NULL CHECK (outcome IN ('submitted', 'skipped_overlap', 'missed', 'refused')),
    job_id       uuid REFERENCES jobs (id),
    detail       text,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule_id, tick_at, manual)
);
