-- 0005: API keys with scopes, expiry and last use (issue 4), and operator
-- keys for the platform's /v1/admin/* endpoints, which belong to no tenant.

-- 'read' keys act as viewers, 'write' keys as members (design §4 roles).
ALTER TABLE api_keys ADD COLUMN scope text NOT NULL DEFAULT 'write' CHECK (scope IN ('read', 'write'));
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;

-- Operator keys: `clo_` + 64 hex, HMAC-SHA256 under the same server secret
-- as tenant keys, made by `catalytic-api admin create-operator-key`.
CREATE TABLE operator_keys (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    prefix      text NOT NULL UNIQUE,
    key_hmac    bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
