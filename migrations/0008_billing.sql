-- 0008: billing (issue 7, design §3 and §5). Usage events are rolled up per
-- tenant and UTC hour into usage_hourly (recomputed from the events, so a
-- duplicated or late event re-rolls to the same totals); invoices are drafts
-- per tenant and UTC month kept up to date from the rollups, finalised an
-- hour after the month ends and then immutable; numbers are gap-free per
-- year (a counter row updated in the finalising transaction). plan_changes
-- records each plan change, for proration by seconds.

-- When an event was written, as opposed to when its job finished: the
-- rollup re-rolls the hours of events recorded since its watermark, which
-- finds late events whose occurred_at is long past.
ALTER TABLE usage_events ADD COLUMN recorded_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX usage_events_recorded ON usage_events (recorded_at);

CREATE TABLE plan_changes (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    from_plan   text NOT NULL,
    to_plan     text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX plan_changes_tenant ON plan_changes (tenant_id, changed_at);

-- Billed quantities count billable events only (platform failures are not
-- billed); `jobs` counts every event. GPU is device = 'gpu', the rest CPU.
CREATE TABLE usage_hourly (
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    hour               timestamptz NOT NULL,
    jobs               bigint NOT NULL,
    billable_jobs      bigint NOT NULL,
    vertex_visits      bigint NOT NULL,
    cpu_vertex_visits  bigint NOT NULL,
    cpu_compute_ms     bigint NOT NULL,
    gpu_compute_ms     bigint NOT NULL,
    rolled_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, hour)
);

-- One row: usage_events.recorded_at up to which hours have been re-rolled.
CREATE TABLE billing_state (
    singleton         boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    rollup_watermark  timestamptz NOT NULL DEFAULT '1970-01-01T00:00:00Z'
);
INSERT INTO billing_state DEFAULT VALUES;

CREATE TABLE invoices (
    id                      uuid PRIMARY KEY,
    tenant_id               uuid NOT NULL REFERENCES tenants (id),
    period_start            timestamptz NOT NULL,
    period_end              timestamptz NOT NULL,
    status                  text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'finalized')),
    number                  text UNIQUE,
    currency                text NOT NULL DEFAULT 'usd',
    total_cents             bigint NOT NULL DEFAULT 0,
    -- Exact value of the period's own usage lines: frozen at finalisation,
    -- the baseline late events are measured against.
    usage_micro_cents       bigint NOT NULL DEFAULT 0,
    -- Late usage of earlier finalised periods this invoice carries.
    adjustment_micro_cents  bigint NOT NULL DEFAULT 0,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    finalized_at            timestamptz,
    UNIQUE (tenant_id, period_start),
    CONSTRAINT finalized_has_number CHECK (
        (status = 'finalized') = (number IS NOT NULL AND finalized_at IS NOT NULL))
);
CREATE INDEX invoices_tenant ON invoices (tenant_id, id DESC);

CREATE TABLE invoice_lines (
    invoice_id          uuid NOT NULL REFERENCES invoices (id),
    position            integer NOT NULL,
    kind                text NOT NULL
                        CHECK (kind IN ('base', 'overage', 'compute_cpu', 'compute_gpu', 'adjustment')),
    description         text NOT NULL,
    quantity            bigint NOT NULL,
    amount_micro_cents  bigint NOT NULL,
    amount_cents        bigint NOT NULL,
    PRIMARY KEY (invoice_id, position)
);

-- Gap-free numbering: the finalising transaction bumps its year's row.
CREATE TABLE invoice_counters (
    year         integer PRIMARY KEY,
    last_number  bigint NOT NULL
);

-- A finalised invoice and its lines never change (design §3).
CREATE FUNCTION refuse_finalized_invoice_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'invoices' THEN
        IF OLD.status = 'finalized' THEN
            RAISE EXCEPTION 'invoice % is finalised and immutable', OLD.id;
        END IF;
        RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF EXISTS (SELECT 1 FROM invoices
               WHERE id = CASE TG_OP WHEN 'INSERT' THEN NEW.invoice_id ELSE OLD.invoice_id END
                     AND status = 'finalized') THEN
        RAISE EXCEPTION 'lines of a finalised invoice are immutable';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION refuse_finalized_invoice_change();
CREATE TRIGGER invoice_lines_immutable BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION refuse_finalized_invoice_change();
