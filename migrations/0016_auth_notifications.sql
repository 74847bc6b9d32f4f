-- 0016: every change to who a credential is notifies `catalytic_auth` in
-- the changing transaction (issue 17). Each api process caches API keys and
-- access-token sessions in memory (api/src/auth/principals.rs) and drops an
-- entry when its notification arrives, so a revoked key or session, a role
-- change or a plan change reaches every replica at commit. Triggers rather
-- than calls in the Rust writers: a writer added later (an admin script, a
-- psql session, another service) cannot forget to notify.
--
-- Payloads name what changed: `key:<prefix>`, `tenant:<id>`, `user:<id>`,
-- `sid:<refresh family>`, `jti:<access token>`. PostgreSQL folds identical
-- payloads within one transaction, so revoking a refresh family of many
-- rows sends one notification. Only columns a cached principal depends on
-- fire: `last_used_at` stamps and refresh rotations (`used_at`) do not.

-- One function for every table: TG_ARGV[0] is the payload's kind,
-- TG_ARGV[1] the column that names what changed (read through to_jsonb, so
-- one body serves all). An UPDATE notifies the old and the new name (the
-- same one, folded, unless the name itself changed).
CREATE FUNCTION notify_auth_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('catalytic_auth', TG_ARGV[0] || ':' || (to_jsonb(OLD) ->> TG_ARGV[1]));
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('catalytic_auth', TG_ARGV[0] || ':' || (to_jsonb(NEW) ->> TG_ARGV[1]));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER api_keys_notify_auth
    AFTER INSERT OR DELETE OR UPDATE OF prefix, key_hmac, tenant_id, scope, expires_at, revoked_at
    ON api_keys FOR EACH ROW EXECUTE FUNCTION notify_auth_change('key', 'prefix');

CREATE TRIGGER tenants_notify_auth
    AFTER DELETE OR UPDATE OF id, plan ON tenants
    FOR EACH ROW EXECUTE FUNCTION notify_auth_change('tenant', 'id');

CREATE TRIGGER users_notify_auth
    AFTER DELETE OR UPDATE OF id, tenant_id, role ON users
    FOR EACH ROW EXECUTE FUNCTION notify_auth_change('user', 'id');

-- A family is revoked (logout, refresh-token reuse): its access tokens end.
CREATE TRIGGER refresh_tokens_notify_auth
    AFTER UPDATE OF revoked_at ON refresh_tokens
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION notify_auth_change('sid', 'family_id');

-- An access token is revoked (logout).
CREATE TRIGGER revoked_tokens_notify_auth
    AFTER INSERT ON revoked_tokens
    FOR EACH ROW EXECUTE FUNCTION notify_auth_change('jti', 'jti');
