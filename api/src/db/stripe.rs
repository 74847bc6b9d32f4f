//! SQL of Stripe webhooks in (issue 7): processed event ids, the tenant ↔
//! customer mapping, and the payment-failure count that suspends a tenant.
//! Every function runs inside the one transaction that handles an event,
//! which begins with [`record_event`]: a redelivered event finds its id
//! taken and changes nothing.

use catalytic_shared::db::DbError;
use catalytic_shared::ids::TenantId;
use sqlx::{PgConnection, PgPool};

/// Records the event id; false when it was already processed. A concurrent
/// delivery of the same event waits on the key until this transaction ends.
pub async fn record_event(
    conn: &mut PgConnection,
    id: &str,
    event_type: &str,
) -> Result<bool, DbError> {
    let rows = sqlx::query!(
        "INSERT INTO stripe_events (id, event_type, outcome) VALUES ($1, $2, 'processing')
         ON CONFLICT (id) DO NOTHING",
        id,
        event_type,
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(rows == 1)
}

/// What the event did, for the operator reading the table.
pub async fn set_outcome(conn: &mut PgConnection, id: &str, outcome: &str) -> Result<(), DbError> {
    sqlx::query!(
        "UPDATE stripe_events SET outcome = $2 WHERE id = $1",
        id,
        outcome
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// How linking a customer to a tenant went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Linked,
    UnknownTenant,
    /// The customer is already another tenant's: left as it is.
    CustomerTaken,
}

/// Maps the tenant to the customer (replacing an earlier customer of the
/// tenant), keeping the subscription when the event names none.
pub async fn link_customer(
    conn: &mut PgConnection,
    tenant: TenantId,
    customer: &str,
    subscription: Option<&str>,
) -> Result<Link, DbError> {
    // Checked first, not left to the constraints: a violation would abort
    // the transaction that also records the event id.
    let row = sqlx::query!(
        r#"SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1) AS "tenant!",
                  (SELECT tenant_id FROM stripe_customers WHERE customer_id = $2) AS "owner: TenantId""#,
        tenant as TenantId,
        customer,
    )
    .fetch_one(&mut *conn)
    .await?;
    if !row.tenant {
        return Ok(Link::UnknownTenant);
    }
    if row.owner.is_some_and(|owner| owner != tenant) {
        return Ok(Link::CustomerTaken);
    }
    sqlx::query!(
        "INSERT INTO stripe_customers (tenant_id, customer_id, subscription_id) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id) DO UPDATE SET customer_id = EXCLUDED.customer_id,
             subscription_id = coalesce(EXCLUDED.subscription_id, stripe_customers.subscription_id),
             updated_at = now()",
        tenant as TenantId,
        customer,
        subscription,
    )
    .execute(conn)
    .await?;
    Ok(Link::Linked)
}

/// The tenant a customer belongs to, if it is mapped.
pub async fn tenant_of(
    conn: &mut PgConnection,
    customer: &str,
) -> Result<Option<TenantId>, DbError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT tenant_id AS "tenant_id: TenantId" FROM stripe_customers WHERE customer_id = $1"#,
        customer
    )
    .fetch_optional(conn)
    .await?)
}

pub async fn set_subscription(
    conn: &mut PgConnection,
    tenant: TenantId,
    subscription: &str,
) -> Result<(), DbError> {
    sqlx::query!(
        "UPDATE stripe_customers SET subscription_id = $2, updated_at = now() WHERE tenant_id = $1",
        tenant as TenantId,
        subscription,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A customer's payment standing after an invoice event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub tenant: TenantId,
    pub consecutive_failures: i32,
    pub suspended: bool,
    /// The event changed whether the tenant is suspended.
    pub changed: bool,
}

/// One more failed payment; the `suspend_at`-th consecutive one suspends.
/// None when the customer is not mapped to a tenant.
pub async fn payment_failed(
    conn: &mut PgConnection,
    customer: &str,
    suspend_at: i32,
) -> Result<Option<Standing>, DbError> {
    let row = sqlx::query!(
        r#"WITH old AS (SELECT tenant_id, suspended_at FROM stripe_customers
                        WHERE customer_id = $1 FOR UPDATE)
           UPDATE stripe_customers s
           SET consecutive_payment_failures = s.consecutive_payment_failures + 1,
               suspended_at = CASE WHEN s.consecutive_payment_failures + 1 >= $2
                                   THEN coalesce(s.suspended_at, now()) ELSE s.suspended_at END,
               updated_at = now()
           FROM old WHERE s.tenant_id = old.tenant_id
           RETURNING s.tenant_id AS "tenant: TenantId", s.consecutive_payment_failures,
                     s.suspended_at IS NOT NULL AS "suspended!",
                     old.suspended_at IS NOT NULL AS "was_suspended!""#,
        customer,
        suspend_at,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| Standing {
        tenant: r.tenant,
        consecutive_failures: r.consecutive_payment_failures,
        suspended: r.suspended,
        changed: r.suspended != r.was_suspended,
    }))
}

/// A paid invoice: the failure count restarts and any suspension lifts.
pub async fn payment_succeeded(
    conn: &mut PgConnection,
    customer: &str,
) -> Result<Option<Standing>, DbError> {
    let row = sqlx::query!(
        r#"WITH old AS (SELECT tenant_id, suspended_at FROM stripe_customers
                        WHERE customer_id = $1 FOR UPDATE)
           UPDATE stripe_customers s
           SET consecutive_payment_failures = 0, suspended_at = NULL, updated_at = now()
           FROM old WHERE s.tenant_id = old.tenant_id
           RETURNING s.tenant_id AS "tenant: TenantId",
                     old.suspended_at IS NOT NULL AS "was_suspended!""#,
        customer,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| Standing {
        tenant: r.tenant,
        consecutive_failures: 0,
        suspended: false,
        changed: r.was_suspended,
    }))
}

/// The tenant's Stripe customer, when one is linked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub customer_id: String,
    /// The last subscription an event named (kept after it is cancelled).
    pub subscription_id: Option<String>,
}

pub async fn customer_of(pool: &PgPool, tenant: TenantId) -> Result<Option<Customer>, DbError> {
    Ok(sqlx::query_as!(
        Customer,
        "SELECT customer_id, subscription_id FROM stripe_customers WHERE tenant_id = $1",
        tenant as TenantId
    )
    .fetch_optional(pool)
    .await?)
}
