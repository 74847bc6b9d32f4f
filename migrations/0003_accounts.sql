-- 0003: accounts (issue 4). Users belong to one tenant with one role; a
-- tenant is joined only by an invitation from its owner or an admin. Login is
-- by email, so an email is one user platform-wide (case-insensitive).
-- Refresh tokens, invitation tokens and revocations are stored hashed or by
-- id only; lockouts live here too. Redis only caches revocations and
-- lockouts (design §1): everything needed to decide is in these tables.

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    -- Stored trimmed and lower-cased by the api.
    email          text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    -- Argon2id PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash).
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email ON users (email);
-- Listing a tenant's users (ids are UUIDv7: id order is creation order) and
-- counting its owners under lock (last-owner rule).
CREATE INDEX users_tenant ON users (tenant_id, id);

-- Rotating refresh tokens: `clr_` + 32 random bytes, stored as SHA-256 (the
-- token has full entropy, so a fast hash suffices). Every rotation inserts a
-- new row in the same family and marks the old one used; presenting a used
-- token again revokes the whole family (reuse detection). The family id is
-- the access token's `sid` claim, so revoking a family also ends the access
-- tokens issued from it.
CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    family_id   uuid NOT NULL,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
-- Retention prunes expired tokens (design §5).
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- Access tokens revoked before their expiry (logout). A row is useless after
-- expires_at (the token is refused as expired anyway) and may be pruned.
CREATE TABLE revoked_tokens (
    jti         uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires_at);

-- Invitations: `cli_` + 32 random bytes shown once, stored as SHA-256.
-- Accepted once, by registering with the invited email.
CREATE TABLE invitations (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    email        text NOT NULL,
    role         text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    token_hash   bytea NOT NULL UNIQUE,
    invited_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz
);
CREATE INDEX invitations_tenant ON invitations (tenant_id, id);

-- Failed logins per email (known or not, so a lockout reveals nothing about
-- which emails exist): `failures` within the window that started at
-- `window_started_at`; at the threshold the email is locked until
-- `locked_until` and the count starts again.
CREATE TABLE login_lockouts (
    email              text PRIMARY KEY,
    failures           integer NOT NULL,
    window_started_at  timestamptz NOT NULL,
    locked_until       timestamptz
);
