//! Writing into the mail outbox (migration 0030, `crate::mail`). Always
//! inside the caller's transaction, so the message commits with the change
//! it reports. The scheduler's side (claim, attempts, outcome) is
//! `scheduler::db::mail`.

use super::DbError;
use crate::ids::TenantId;
use crate::mail::Mail;
use crate::tenant::Role;
use sqlx::PgConnection;

fn stored(mail: &Mail) -> Result<(String, serde_json::Value), DbError> {
    mail.to_stored()
        .map_err(|e| DbError::Corrupt(format!("a mail's params do not serialise: {e}")))
}

/// Queues `mail` to one address.
pub async fn enqueue(
    conn: &mut PgConnection,
    tenant: Option<TenantId>,
    to: &str,
    mail: &Mail,
) -> Result<(), DbError> {
    let (template, params) = stored(mail)?;
    sqlx::query!(
        "INSERT INTO mail_messages (id, tenant_id, to_address, template, params)
         VALUES ($1, $2, $3, $4, $5)",
        uuid::Uuid::now_v7(),
        tenant.map(|t| t.as_uuid()),
        to,
        template,
        params,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Queues `mail` to every user of `tenant` with at least `role` (owners
/// and admins for `Role::Admin`); the number of messages queued.
pub async fn enqueue_to_members(
    conn: &mut PgConnection,
    tenant: TenantId,
    role: Role,
    mail: &Mail,
) -> Result<u64, DbError> {
    let (template, params) = stored(mail)?;
    let roles: Vec<String> = Role::ALL
        .into_iter()
        .filter(|r| r.at_least(role))
        .map(|r| r.as_str().to_owned())
        .collect();
    let done = sqlx::query!(
        "INSERT INTO mail_messages (id, tenant_id, to_address, template, params)
         SELECT gen_random_uuid(), u.tenant_id, u.email, $3, $4
         FROM users u WHERE u.tenant_id = $1 AND u.role = ANY($2)",
        tenant as TenantId,
        &roles,
        template,
        params,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
