//! `OperatorScope`: a platform operator, authenticated by an operator key
//! (`clo_…`, made by `catalytic-api admin create-operator-key`). Only the
//! `/v1/admin/*` handlers take it; tenant credentials never pass it.

use super::api_key::operator_prefix_of;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use catalytic_shared::db;

#[derive(Debug, Clone, Copy)]
pub struct OperatorScope {
    pub key_id: uuid::Uuid,
}

impl FromRequestParts<AppState> for OperatorScope {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let invalid =
            || ApiError::Unauthorized("send an operator key: Authorization: Bearer clo_...");
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(invalid)?;
        let prefix = operator_prefix_of(key).ok_or_else(invalid)?;
        let (key_id, hmac) = db::tenants::find_operator_key(&state.db, prefix)
            .await?
            .ok_or_else(invalid)?;
        match state.api_keys.verify(key, &hmac) {
            true => Ok(OperatorScope { key_id }),
            false => Err(invalid()),
        }
    }
}
