-- 0030: accounts a person can live with (issue 20): verified emails,
-- single-use tokens mailed to a user (verification, password reset), a
-- durable outbox of mail that the scheduler sends over SMTP with retries
-- (scheduler/src/mail), and the tenant's append-only audit log.

-- Unverified accounts sign in but may not upgrade a plan, invite or add
-- webhook endpoints (api/src/auth/verified.rs). Accounts made before
-- verification existed count as verified: they were taken on those terms.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
UPDATE users SET email_verified_at = created_at;

-- Tokens mailed to a user: `cev_` (verify the email) and `cpr_` (reset the
-- password), 32 random bytes stored as SHA-256 only, used once. `email` is
-- the address it was sent to: a token for an address the user no longer
-- has is void.
CREATE TABLE account_tokens (
    token_hash  bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    kind        text NOT NULL CHECK (kind IN ('verify_email', 'password_reset')),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
-- Issuing a token voids the user's earlier unused ones of its kind.
CREATE INDEX account_tokens_user ON account_tokens (user_id, kind) WHERE used_at IS NULL;
-- Retention prunes expired tokens.
CREATE INDEX account_tokens_expires ON account_tokens (expires_at);

-- The mail outbox: a row is written in the transaction of the change it
-- reports, so a committed change always has its mail and a rolled-back one
-- never does. The scheduler claims due rows (SKIP LOCKED), renders the
-- template with `params`, sends, and records each attempt. `params` may
-- hold a single-use token: it is erased when the message is finished.
CREATE TABLE mail_messages (
    id               uuid PRIMARY KEY,
    tenant_id        uuid REFERENCES tenants (id) ON DELETE SET NULL,
    to_address       text NOT NULL CHECK (length(to_address) BETWEEN 3 AND 254),
    template         text NOT NULL CHECK (template ~ '^[a-z_]{1,40}$'),
    params           jsonb,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    last_error       text,
    CHECK ((status = 'pending') = (finished_at IS NULL))
);
CREATE INDEX mail_messages_due ON mail_messages (next_attempt_at) WHERE status = 'pending';
CREATE INDEX mail_messages_finished ON mail_messages (finished_at) WHERE status <> 'pending';
CREATE INDEX mail_messages_tenant ON mail_messages (tenant_id, created_at);

CREATE TABLE mail_attempts (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    message_id  uuid NOT NULL REFERENCES mail_messages (id) ON DELETE CASCADE,
    attempt     integer NOT NULL,
    started_at  timestamptz NOT NULL,
    latency_ms  integer NOT NULL,
    -- The SMTP reply code when the server answered one (250 on success).
    smtp_code   integer,
    error       text
);
CREATE INDEX mail_attempts_message ON mail_attempts (message_id, started_at);

-- A committed message wakes the sender at once (one notification per
-- statement); the sender also polls, so a lost notification only delays.
CREATE FUNCTION notify_mail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('catalytic_mail', '');
    RETURN NULL;
END $$;
CREATE TRIGGER mail_messages_notify AFTER INSERT ON mail_messages
    FOR EACH STATEMENT EXECUTE FUNCTION notify_mail();

-- The audit log: who did what to a tenant's account, from where. Append
-- only: no route edits it, and the trigger below refuses any UPDATE, and
-- any DELETE except of rows past the one-year retention or of a tenant
-- being erased (the eraser sets `catalytic.erasing_tenant` for its
-- transaction). Actors are copied, not referenced: the record outlives a
-- removed user or a revoked key.
CREATE TABLE audit_events (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at             timestamptz NOT NULL DEFAULT now(),
    action         text NOT NULL CHECK (action ~ '^[a-z_.]{1,60}$'),
    actor_user_id  uuid,
    actor_key_id   uuid,
    actor_email    text,
    ip             inet,
    -- What was acted on (a user, key, endpoint or plan), as a short label.
    target         text,
    details        jsonb NOT NULL DEFAULT '{}'
);
-- Cursor pages newest first (ids are UUIDv7), with or without an action.
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, id DESC);
CREATE INDEX audit_events_tenant_action ON audit_events (tenant_id, action, id DESC);
CREATE INDEX audit_events_at ON audit_events (at);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND (OLD.at < now() - interval '1 year'
            OR current_setting('catalytic.erasing_tenant', true) = OLD.tenant_id::text) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE FUNCTION audit_events_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (TRUNCATE refused)'
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_no_truncate();

-- Failed logins per account and client address (issue 20). Five wrong
-- passwords from one address lock that address out of that account only,
-- so nobody can lock an owner out from elsewhere; each next lock of the
-- same pair lasts twice as long (auth.lockout_secs doubling up to
-- auth.lockout_max_secs). `login_lockouts` (0003) stays as the bound on
-- guessing one account from many addresses, at a higher threshold
-- (auth.lockout_failures_per_email). A password reset lifts both.
CREATE TABLE login_failures (
    email              text NOT NULL,
    ip                 inet NOT NULL,
    failures           integer NOT NULL,
    window_started_at  timestamptz NOT NULL,
    locked_until       timestamptz,
    -- Locks so far: the next one lasts lockout_secs * 2^locks.
    locks              integer NOT NULL DEFAULT 0,
    last_failure_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (email, ip)
);
-- Retention forgets a pair a day after its last failure, when not locked.
CREATE INDEX login_failures_last ON login_failures (last_failure_at);

-- Deleting a tenant (issue 20): an owner asks, and the tenant is erased
-- `erase_at` later (7 days: time to cancel, and to export). The scheduler
-- then erases its jobs, lattices, schedules, webhooks, keys, users and
-- audit log, keeps what billing law requires (invoices and their lines,
-- usage, plan changes, the Stripe link), and keeps the row, renamed, with
-- `erased_at`, for the invoices to point at.
ALTER TABLE tenants
    ADD COLUMN deletion_requested_at timestamptz,
    ADD COLUMN erase_at timestamptz,
    ADD COLUMN erased_at timestamptz,
    ADD CHECK ((deletion_requested_at IS NULL) = (erase_at IS NULL));
CREATE INDEX tenants_erase_due ON tenants (erase_at) WHERE erase_at IS NOT NULL AND erased_at IS NULL;
