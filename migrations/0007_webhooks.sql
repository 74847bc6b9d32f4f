-- Webhook delivery (issue 6, design §5): the tenant's endpoints (secrets
-- encrypted at rest), one delivery per (message, matching endpoint) created
-- when the scheduler first sees a message, and every attempt logged so a
-- tenant can read it. Claims use FOR UPDATE SKIP LOCKED on the due index.

CREATE TABLE webhook_endpoints (
    id                    uuid PRIMARY KEY,
    tenant_id             uuid NOT NULL REFERENCES tenants (id),
    url                   text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    description           text NOT NULL DEFAULT '',
    -- Empty: every event type.
    event_types           text[] NOT NULL DEFAULT '{}',
    enabled               boolean NOT NULL DEFAULT true,
    rate_limit_per_second integer CHECK (rate_limit_per_second > 0),
    -- AES-256-GCM: nonce (12 bytes) || ciphertext, under the key named by the id.
    secret_key_id         text NOT NULL,
    secret_sealed         bytea NOT NULL,
    -- The secret before the last rotation: it keeps signing until expiry.
    previous_key_id       text,
    previous_sealed       bytea,
    previous_expires_at   timestamptz,
    disabled_reason       text,
    -- First failure since the last success; failing for long disables it.
    failing_since         timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    deleted_at            timestamptz
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id)
    WHERE deleted_at IS NULL;

-- Messages not yet fanned out to deliveries (a partial index stays small).
ALTER TABLE webhook_messages ADD COLUMN fanned_out_at timestamptz;
CREATE INDEX webhook_messages_unfanned ON webhook_messages (created_at)
    WHERE fanned_out_at IS NULL;
CREATE INDEX webhook_messages_tenant ON webhook_messages (tenant_id, id);

-- Wakes the scheduler's delivery loop at commit (a poll covers misses).
CREATE FUNCTION webhook_messages_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('webhook_messages', '');
    RETURN NULL;
END $$;
CREATE TRIGGER webhook_messages_notify AFTER INSERT ON webhook_messages
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_messages_notify();

CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    message_id       uuid NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (id),
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'succeeded', 'failed')),
    -- Attempts started; a claim increments it before sending.
    attempts         integer NOT NULL DEFAULT 0,
    -- Due time; a claim pushes it one lease ahead, so a crashed sender's
    -- delivery comes due again by itself.
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status      integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (message_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);

CREATE TABLE webhook_attempts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    delivery_id     uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    message_id      uuid NOT NULL,
    endpoint_id     uuid NOT NULL,
    attempt         integer NOT NULL,
    started_at      timestamptz NOT NULL,
    status_code     integer,
    latency_ms      integer NOT NULL,
    -- First 4 KiB of the response body (lossy UTF-8).
    response_body   text,
    error           text
);
CREATE INDEX webhook_attempts_message ON webhook_attempts (message_id, started_at);
