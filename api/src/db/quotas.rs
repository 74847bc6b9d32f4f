//! The api's own quota count: stored lattices. The submit's counts and the
//! decision on them are shared with the scheduler's cron fires
//! (`catalytic_shared::db::quotas`, re-exported here).

use catalytic_shared::db::DbError;
pub use catalytic_shared::db::quotas::{
    SubmitCounts, begin_locked, counts_month, lock_tenant, lock_tenants, submit_counts,
};
use catalytic_shared::ids::TenantId;
use sqlx::PgConnection;

/// Live (not deleted) lattices of the tenant.
pub async fn live_lattices(conn: &mut PgConnection, tenant: TenantId) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM lattices WHERE tenant_id = $1 AND deleted_at IS NULL"#,
        tenant as TenantId
    )
    .fetch_one(&mut *conn)
    .await?)
}
