-- 0001: the walking skeleton's schema. Tenants and their API keys; jobs, the
-- outbox the relay publishes from, an append-only log of transitions; and the
-- two side effects every terminal transition writes in the same transaction
-- (webhook message, usage event), so nothing downstream can miss one
-- (design §1). Every row carries tenant_id from day one.

CREATE TYPE job_status AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    plan        text NOT NULL DEFAULT 'free'
                CHECK (plan IN ('free', 'starter', 'professional', 'enterprise')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- API keys are `clc_` + 32 random bytes. Looked up by their first 12
-- characters (unique), verified by HMAC-SHA256 under a server-side key.
CREATE TABLE api_keys (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    name        text NOT NULL,
    prefix      text NOT NULL UNIQUE,
    key_hmac    bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE jobs (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id),
    status            job_status NOT NULL DEFAULT 'queued',
    operation         text NOT NULL,
    spec              jsonb NOT NULL,
    queue_class       text NOT NULL CHECK (queue_class IN ('low', 'standard', 'high')),
    -- The lease token: the attempt a running job is in. It only ever grows,
    -- so a write from an older attempt can never match.
    attempt           integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    max_attempts      integer NOT NULL CHECK (max_attempts >= 1),
    result            jsonb,
    error             jsonb,
    worker_id         uuid,
    lease_expires_at  timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz,
    CONSTRAINT result_iff_succeeded CHECK ((status = 'succeeded') = (result IS NOT NULL)),
    CONSTRAINT finished_iff_terminal CHECK (
        (status IN ('succeeded', 'failed', 'cancelled')) = (finished_at IS NOT NULL))
);
-- Tenant job listings, newest first; the lease reaper's scan of running jobs.
CREATE INDEX jobs_tenant_created ON jobs (tenant_id, created_at DESC, id DESC);
CREATE INDEX jobs_running_lease ON jobs (lease_expires_at) WHERE status = 'running';

-- One row per message to publish. message_id is stable: a republish after a
-- crash carries the same id. run_at in the future is how retries back off
-- (RabbitMQ 3.10 has no delayed messages).
CREATE TABLE job_outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id   uuid NOT NULL UNIQUE,
    job_id       uuid NOT NULL REFERENCES jobs (id),
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    attempt      integer NOT NULL,
    queue_class  text NOT NULL,
    run_at       timestamptz NOT NULL DEFAULT now(),
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz
);
CREATE INDEX job_outbox_due ON job_outbox (run_at) WHERE sent_at IS NULL;

CREATE TABLE job_transitions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id       uuid NOT NULL REFERENCES jobs (id),
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    from_status  job_status,
    to_status    job_status NOT NULL,
    attempt      integer NOT NULL,
    reason       text,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_transitions_job ON job_transitions (job_id, id);
-- Belt and braces: a job enters a terminal state once, whatever the code does.
CREATE UNIQUE INDEX job_transitions_one_terminal ON job_transitions (job_id)
    WHERE to_status IN ('succeeded', 'failed', 'cancelled');

-- Webhook messages to deliver (delivery itself is the scheduler's).
CREATE TABLE webhook_messages (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    event_type  text NOT NULL,
    job_id      uuid REFERENCES jobs (id),
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (job_id, event_type)
);

-- One usage event per job, whatever its attempts (design §3: billed once).
CREATE TABLE usage_events (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    job_id         uuid NOT NULL UNIQUE REFERENCES jobs (id),
    outcome        job_status NOT NULL,
    billable       boolean NOT NULL,
    vertex_visits  bigint NOT NULL DEFAULT 0,
    compute_ms     bigint NOT NULL DEFAULT 0,
    device         text,
    occurred_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_events_tenant_time ON usage_events (tenant_id, occurred_at);

-- The fleet: each worker process registers and heartbeats here.
CREATE TABLE workers (
    id                 uuid PRIMARY KEY,
    host               text NOT NULL,
    device             text NOT NULL,
    concurrency        integer NOT NULL,
    in_flight          integer NOT NULL DEFAULT 0,
    started_at         timestamptz NOT NULL DEFAULT now(),
    last_heartbeat_at  timestamptz NOT NULL DEFAULT now(),
    stopped_at         timestamptz
);

-- Wake the relay as soon as a row is committed (it also polls, so a lost
-- notification only costs latency). One notification per statement.
CREATE FUNCTION job_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('job_outbox', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER job_outbox_notify AFTER INSERT ON job_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION job_outbox_notify();
