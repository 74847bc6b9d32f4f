//! The audit log's SQL (migration 0030): one insert, in the transaction of
//! the change it records, and the tenant's pages newest first. There is no
//! update or delete here, and the table's trigger refuses both.

use catalytic_shared::db::DbError;
use catalytic_shared::ids::TenantId;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// One record to write. The actor's email is looked up by the insert (as
/// it is now: the record keeps it if the user is removed later).
#[derive(Debug)]
pub struct NewEvent<'a> {
    pub tenant: TenantId,
    pub action: &'a str,
    pub actor_user: Option<uuid::Uuid>,
    pub actor_key: Option<uuid::Uuid>,
    pub ip: Option<std::net::IpAddr>,
    pub target: Option<&'a str>,
    pub details: serde_json::Value,
}

pub async fn insert(conn: &mut PgConnection, event: &NewEvent<'_>) -> Result<(), DbError> {
    sqlx::query!(
        "INSERT INTO audit_events
             (id, tenant_id, action, actor_user_id, actor_key_id, actor_email, ip, target, details)
         VALUES ($1, $2, $3, $4, $5, (SELECT email FROM users WHERE id = $4), $6::text::inet, $7, $8)",
        uuid::Uuid::now_v7(),
        event.tenant as TenantId,
        event.action,
        event.actor_user,
        event.actor_key,
        event.ip.map(|ip| ip.to_string()),
        event.target,
        event.details,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn user_email(
    conn: &mut PgConnection,
    user: uuid::Uuid,
) -> Result<Option<String>, DbError> {
    Ok(
        sqlx::query_scalar!("SELECT email FROM users WHERE id = $1", user)
            .fetch_optional(conn)
            .await?,
    )
}

#[derive(Debug, Clone)]
pub struct EventRow {
    pub id: uuid::Uuid,
    pub at: DateTime<Utc>,
    pub action: String,
    pub actor_user_id: Option<uuid::Uuid>,
    pub actor_key_id: Option<uuid::Uuid>,
    pub actor_email: Option<String>,
    pub ip: Option<String>,
    pub target: Option<String>,
    pub details: serde_json::Value,
}

/// What a page is filtered by; `None` does not filter.
#[derive(Debug, Default)]
pub struct Filter {
    /// An action, or an action family ending in `.` (`user.`).
    pub action: Option<String>,
    pub actor_user: Option<uuid::Uuid>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Newest first, `limit` rows older than `before` (a cursor).
pub async fn page(
    conn: &mut PgConnection,
    tenant: TenantId,
    filter: &Filter,
    before: Option<uuid::Uuid>,
    limit: i64,
) -> Result<Vec<EventRow>, DbError> {
    let (exact, family) = match &filter.action {
        Some(a) if a.ends_with('.') => (None, Some(format!("{a}%"))),
        Some(a) => (Some(a.clone()), None),
        None => (None, None),
    };
    Ok(sqlx::query_as!(
        EventRow,
        r#"SELECT id, at, action, actor_user_id, actor_key_id, actor_email,
                  host(ip) AS ip, target, details
           FROM audit_events
           WHERE tenant_id = $1
             AND ($2::uuid IS NULL OR id < $2)
             AND ($3::text IS NULL OR action = $3)
             AND ($4::text IS NULL OR action LIKE $4)
             AND ($5::uuid IS NULL OR actor_user_id = $5)
             AND ($6::timestamptz IS NULL OR at >= $6)
             AND ($7::timestamptz IS NULL OR at < $7)
           ORDER BY id DESC
           LIMIT $8"#,
        tenant as TenantId,
        before,
        exact,
        family,
        filter.actor_user,
        filter.since,
        filter.until,
        limit,
    )
    .fetch_all(conn)
    .await?)
}
