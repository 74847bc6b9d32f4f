//! What an unverified account may not do (issue 20): upgrade a plan,
//! invite people, or add webhook endpoints. Each would let an address
//! nobody has proved to own send mail, money or requests elsewhere. A user
//! session needs its own email verified; an API key acts for the tenant
//! and needs a verified owner in it. Checked by the few routes concerned,
//! with one read each (they are rare).

use super::TenantScope;
use crate::db::account_tokens;
use crate::error::ApiError;
use crate::state::AppState;

/// 403 with what to do, unless the caller may `what` ("invite", …).
pub async fn require(state: &AppState, scope: &TenantScope, what: &str) -> Result<(), ApiError> {
    let mut conn = state.db.acquire().await?;
    let user = scope.user.map(|u| u.user_id);
    if account_tokens::verified_actor(&mut conn, scope.tenant_id, user).await? {
        return Ok(());
    }
    Err(ApiError::Forbidden(match user {
        Some(_) => format!(
            "verify your email address before you {what}: follow the link mailed to you, or ask for a new one with POST /v1/auth/verify-email/resend"
        ),
        None => format!(
            "an owner of this tenant must verify their email address before an API key can {what}"
        ),
    }))
}
