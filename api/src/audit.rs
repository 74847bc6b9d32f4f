//! The audit log (issue 20): who did what to a tenant's account, from
//! which address, and when. A record is written in the transaction of the
//! change it describes (`record`), so a committed change always has its
//! record and a rolled-back one never does. Append-only: no route edits
//! it, and the table refuses updates and deletes (migration 0030) except
//! the scheduler's one-year retention. Read with `GET /v1/audit-log`.

use crate::auth::TenantScope;
use crate::db::audit::{self, NewEvent};
pub use crate::limits::client_ip::ClientIp;
use catalytic_shared::db::DbError;
use catalytic_shared::ids::{ApiKeyId, TenantId, UserId};
use sqlx::PgConnection;

/// Every kind of record. The names are the API's (`action`), grouped by
/// what they concern, so `?action=user.` lists a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    SignIn,
    SignInFailed,
    PasswordChanged,
    PasswordReset,
    Registered,
    EmailVerified,
    Joined,
    Invited,
    RoleChanged,
    UserRemoved,
    ApiKeyCreated,
    ApiKeyRevoked,
    PlanChanged,
    EndpointCreated,
    EndpointUpdated,
    EndpointDeleted,
    EndpointSecretRotated,
    Exported,
    DeletionScheduled,
    DeletionCancelled,
    ConcurrencyLimitSet,
    ConcurrencyLimitDeleted,
}

impl Action {
    pub const ALL: [Action; 22] = [
        Action::SignIn,
        Action::SignInFailed,
        Action::PasswordChanged,
        Action::PasswordReset,
        Action::Registered,
        Action::EmailVerified,
        Action::Joined,
        Action::Invited,
        Action::RoleChanged,
        Action::UserRemoved,
        Action::ApiKeyCreated,
        Action::ApiKeyRevoked,
        Action::PlanChanged,
        Action::EndpointCreated,
        Action::EndpointUpdated,
        Action::EndpointDeleted,
        Action::EndpointSecretRotated,
        Action::Exported,
        Action::DeletionScheduled,
        Action::DeletionCancelled,
        Action::ConcurrencyLimitSet,
        Action::ConcurrencyLimitDeleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::SignIn => "auth.sign_in",
            Action::SignInFailed => "auth.sign_in_failed",
            Action::PasswordChanged => "auth.password_changed",
            Action::PasswordReset => "auth.password_reset",
            Action::Registered => "user.registered",
            Action::EmailVerified => "user.email_verified",
            Action::Joined => "user.joined",
            Action::Invited => "user.invited",
            Action::RoleChanged => "user.role_changed",
            Action::UserRemoved => "user.removed",
            Action::ApiKeyCreated => "api_key.created",
            Action::ApiKeyRevoked => "api_key.revoked",
            Action::PlanChanged => "tenant.plan_changed",
            Action::EndpointCreated => "webhook_endpoint.created",
            Action::EndpointUpdated => "webhook_endpoint.updated",
            Action::EndpointDeleted => "webhook_endpoint.deleted",
            Action::EndpointSecretRotated => "webhook_endpoint.secret_rotated",
            Action::Exported => "tenant.exported",
            Action::DeletionScheduled => "tenant.deletion_scheduled",
            Action::DeletionCancelled => "tenant.deletion_cancelled",
            Action::ConcurrencyLimitSet => "concurrency_key.limit_set",
            Action::ConcurrencyLimitDeleted => "concurrency_key.limit_deleted",
        }
    }

    /// Whether `filter` (an action, or a family ending in `.`) names any.
    pub fn filter_matches_any(filter: &str) -> bool {
        Action::ALL.iter().any(|a| match filter.strip_suffix('.') {
            Some(family) => a.as_str().split('.').next() == Some(family),
            None => a.as_str() == filter,
        })
    }
}

/// Who acted: a user (session), an API key, both unknown (a sign-in
/// failure names the account acted on, not an actor), or the system.
#[derive(Debug, Clone, Copy, Default)]
pub struct Actor {
    pub user: Option<UserId>,
    pub key: Option<ApiKeyId>,
}

impl Actor {
    pub fn of(scope: &TenantScope) -> Self {
        Actor {
            user: scope.user.map(|u| u.user_id),
            key: scope.api_key_id,
        }
    }

    pub fn user(id: UserId) -> Self {
        Actor {
            user: Some(id),
            key: None,
        }
    }
}

/// How a mail names who acted: the user's email, or "an API key".
pub async fn actor_email(conn: &mut PgConnection, scope: &TenantScope) -> Result<String, DbError> {
    Ok(match scope.user {
        Some(u) => audit::user_email(conn, u.user_id.as_uuid())
            .await?
            .unwrap_or_else(|| "a removed user".to_owned()),
        None => "an API key".to_owned(),
    })
}

/// One record, in the caller's transaction.
pub async fn record(
    conn: &mut PgConnection,
    tenant: TenantId,
    action: Action,
    actor: Actor,
    ip: ClientIp,
    target: Option<&str>,
    details: serde_json::Value,
) -> Result<(), DbError> {
    audit::insert(
        conn,
        &NewEvent {
            tenant,
            action: action.as_str(),
            actor_user: actor.user.map(|u| u.as_uuid()),
            actor_key: actor.key.map(|k| k.as_uuid()),
            ip: ip.0,
            target,
            details,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_have_distinct_names_the_table_accepts() {
        let mut names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        assert!(names.iter().all(|n| {
            n.len() <= 60
                && n.chars()
                    .all(|c| c.is_ascii_lowercase() || "_.".contains(c))
        }));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
    }

    #[test]
    fn filters_name_an_action_or_a_family() {
        assert!(Action::filter_matches_any("user.role_changed"));
        assert!(Action::filter_matches_any("user."));
        assert!(!Action::filter_matches_any("user"));
        assert!(!Action::filter_matches_any("nope."));
    }
}
