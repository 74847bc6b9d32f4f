//! Tenant erasure (issue 20): a due tenant loses its jobs (queued and
//! running ones cancelled first), keys, users, lattices, webhooks, stored
//! concurrency limits, mail and audit log; its invoices, usage and the tenant row stay; a tenant not
//! yet due, or another tenant, keeps everything.

use crate::harness::{claim, queued_job, tenant};
use catalytic_scheduler::erasure::Erasure;
use catalytic_shared::ids::TenantId;
use catalytic_shared::testkit::TestDatabase;
use std::time::Duration;

async fn count(db: &TestDatabase, table: &str, tenant: TenantId) -> anyhow::Result<i64> {
    // Table names are this test's own literals.
    let sql = format!("SELECT count(*) FROM {table} WHERE tenant_id = $1");
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_uuid())
        .fetch_one(&db.pool)
        .await?)
}

/// A user, an API key, a lattice, a stored concurrency limit, an audit
/// record, a mail and an invoice.
async fn furnish(db: &TestDatabase, tenant: TenantId) -> anyhow::Result<()> {
    let t = tenant.as_uuid();
    for sql in [
        "INSERT INTO users (id, tenant_id, email, password_hash, role)
         VALUES (gen_random_uuid(), $1, $1::text || '@example.com', 'x', 'owner')",
        "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hmac, scope)
         VALUES (gen_random_uuid(), $1, 'k', left(md5($1::text), 12), '\\x00', 'write')",
        "INSERT INTO lattices (id, tenant_id, name, definition, vertices)
         VALUES (gen_random_uuid(), $1, 'grid', '{\"sizes\": [2]}', 2)",
        "INSERT INTO concurrency_key_limits (tenant_id, concurrency_key, max_concurrency)
         VALUES ($1, 'exports', 2)",
        "INSERT INTO audit_events (id, tenant_id, action) VALUES (gen_random_uuid(), $1, 'auth.sign_in')",
        "INSERT INTO mail_messages (id, tenant_id, to_address, template, params)
         VALUES (gen_random_uuid(), $1, 'a@example.com', 'welcome', '{}')",
        "INSERT INTO invoices (id, tenant_id, period_start, period_end, status, currency)
         VALUES (gen_random_uuid(), $1, '2026-11-01', '2026-12-01', 'draft', 'usd')",
    ] {
        sqlx::query(sql).bind(t).execute(&db.pool).await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_due_tenant_is_erased_but_its_invoices_and_other_tenants_stay() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let doomed = tenant(&db.pool).await?;
    let kept = tenant(&db.pool).await?;
    let not_yet = tenant(&db.pool).await?;
    for t in [doomed, kept, not_yet] {
        furnish(&db, t).await?;
        queued_job(&db, t, 3).await?;
        let running = queued_job(&db, t, 3).await?;
        claim(&db, running, 1).await?;
    }
    sqlx::query(
        "UPDATE tenants SET deletion_requested_at = now() - interval '8 days',
                            erase_at = now() - interval '1 day' WHERE id = $1",
    )
    .bind(doomed.as_uuid())
    .execute(&db.pool)
    .await?;
    sqlx::query(
        "UPDATE tenants SET deletion_requested_at = now(), erase_at = now() + interval '7 days'
         WHERE id = $1",
    )
    .bind(not_yet.as_uuid())
    .execute(&db.pool)
    .await?;

    let erasure = Erasure {
        pool: db.pool.clone(),
        interval: Duration::from_secs(3600),
    };
    assert_eq!(erasure.run_once().await?, 1);
    for table in [
        "jobs",
        "job_outbox",
        "users",
        "api_keys",
        "lattices",
        "concurrency_key_limits",
        "audit_events",
        "mail_messages",
    ] {
        assert_eq!(
            count(&db, table, doomed).await?,
            0,
            "{table} of the erased tenant"
        );
        assert!(
            count(&db, table, kept).await? > 0,
            "{table} of another tenant"
        );
        assert!(
            count(&db, table, not_yet).await? > 0,
            "{table} of a tenant not yet due"
        );
    }
    assert_eq!(
        count(&db, "invoices", doomed).await?,
        1,
        "invoices are kept"
    );
    let (name, erased): (String, bool) =
        sqlx::query_as("SELECT name, erased_at IS NOT NULL FROM tenants WHERE id = $1")
            .bind(doomed.as_uuid())
            .fetch_one(&db.pool)
            .await?;
    assert_eq!((name.as_str(), erased), ("erased tenant", true));
    assert_eq!(erasure.run_once().await?, 0, "nothing left to do");
    db.drop_database().await
}
