//! The tenant's audit log: who signed in, changed a password, invited,
//! changed a role, made or revoked a key, … Read-only, for admins.

use crate::client::{Client, page_query};
use crate::error::Error;
use crate::types::{AuditEvent, AuditFilter, Page};

impl Client {
    /// `GET /v1/audit-log?action=&actor_user_id=&since=&until=&limit=&cursor=`:
    /// one page of records, newest first (403 below the admin role; a bad
    /// filter is a 422 naming it).
    pub async fn audit_log(
        &self,
        filter: &AuditFilter,
        limit: Option<u32>,
        cursor: Option<uuid::Uuid>,
    ) -> Result<Page<AuditEvent>, Error> {
        let mut query = page_query(limit, cursor);
        query.extend(filter.query());
        self.get_json("/v1/audit-log", &query, "audit log").await
    }
}
