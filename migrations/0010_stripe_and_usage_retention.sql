-- 0010: Stripe and the rest of issue 7's billing. The tenant ↔ Stripe
-- customer mapping with the payment-failure count that suspends a tenant
-- (4 consecutive failed invoices; a paid one lifts it); the ids of Stripe
-- events already processed, so a redelivered event has no second effect;
-- the Billing Meter export marker on each hourly rollup; operation and
-- attempts on usage events; and how far usage events have been pruned.

CREATE TABLE stripe_customers (
    tenant_id                     uuid PRIMARY KEY REFERENCES tenants (id),
    customer_id                   text NOT NULL UNIQUE,
    subscription_id               text,
    -- invoice.payment_failed events since the last invoice.paid.
    consecutive_payment_failures  integer NOT NULL DEFAULT 0,
    -- Set at the 4th consecutive failure: the tenant's submits are refused.
    suspended_at                  timestamptz,
    updated_at                    timestamptz NOT NULL DEFAULT now()
);

-- One row per Stripe event id handled (inserted in the transaction that
-- applied it): Stripe delivers at least once.
CREATE TABLE stripe_events (
    id           text PRIMARY KEY,
    event_type   text NOT NULL,
    outcome      text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);

-- The Billing Meter export: what has been sent to Stripe for the hour. A
-- re-roll after the export (a late event) leaves the row due again, and
-- only the difference is sent.
ALTER TABLE usage_hourly
    ADD COLUMN meter_sent_jobs        bigint NOT NULL DEFAULT 0,
    ADD COLUMN meter_sent_cpu_visits  bigint NOT NULL DEFAULT 0,
    ADD COLUMN meter_sent_gpu_ms      bigint NOT NULL DEFAULT 0,
    ADD COLUMN meter_exported_at      timestamptz;
CREATE INDEX usage_hourly_meter_due ON usage_hourly (hour)
    WHERE meter_exported_at IS NULL;

-- Issue 7: a usage event names the operation and the attempts it took.
-- Nullable: events written before this migration do not know them.
ALTER TABLE usage_events
    ADD COLUMN operation  text,
    ADD COLUMN attempts   integer;

-- Usage events of finalised periods older than the retention window are
-- pruned; hours before this instant are never re-rolled again (their
-- events are gone, a re-roll would shrink them).
ALTER TABLE billing_state
    ADD COLUMN usage_pruned_before timestamptz NOT NULL DEFAULT '1970-01-01T00:00:00Z';
