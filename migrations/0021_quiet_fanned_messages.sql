-- 0021: wake the webhook fan-out only for messages it has work for
-- (issue 17). A terminal transition writes its webhook message already
-- fanned out when the tenant has no endpoint for it (shared/src/db/jobs.rs,
-- `finish_many`); notifying the fan-out of such an insert would only run an
-- empty round. The trigger now looks at the inserted rows (a transition
-- table) and notifies when one of them still needs fanning out.
CREATE OR REPLACE FUNCTION webhook_messages_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows WHERE fanned_out_at IS NULL) THEN
        PERFORM pg_notify('webhook_messages', '');
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER webhook_messages_notify ON webhook_messages;
CREATE TRIGGER webhook_messages_notify AFTER INSERT ON webhook_messages
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_messages_notify();
