//! `GET /v1/usage`: the tenant's rolled-up usage (docs/adr/0003-plans.md), per UTC hour,
//! day or month. Read from `usage_hourly`, so it lags the events by at most
//! one billing round (`billing.rollup_interval_secs`). Viewers may read.

use crate::auth::TenantScope;
use crate::error::{ApiError, FieldError, Problem};
use crate::query::ApiQuery;
use crate::responses::{UsageBucketOut, UsageOut};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use catalytic_shared::db;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The widest range one request may cover.
pub const MAX_RANGE_DAYS: i64 = 366;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_usage))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// RFC 3339 instant; hours starting at or after it are counted.
    pub from: Option<String>,
    /// RFC 3339 instant, after `from`, at most 366 days later; hours
    /// starting before it are counted.
    pub to: Option<String>,
    /// `hour`, `day` or `month` (UTC buckets); default `day`.
    pub granularity: Option<String>,
}

/// A validated usage request.
struct UsageRange {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    granularity: &'static str,
}

impl TryFrom<&UsageQuery> for UsageRange {
    type Error = ApiError;

    /// Every invalid parameter is named at once.
    fn try_from(q: &UsageQuery) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let mut instant = |name: &str, value: &Option<String>| match value.as_deref() {
            None => {
                errors.push(FieldError::new(name, "required (RFC 3339)"));
                None
            }
            Some(v) => match DateTime::parse_from_rfc3339(v) {
                Ok(t) => Some(t.with_timezone(&Utc)),
                Err(_) => {
                    errors.push(FieldError::new(name, "not an RFC 3339 instant"));
                    None
                }
            },
        };
        let from = instant("from", &q.from);
        let to = instant("to", &q.to);
        let granularity = match q.granularity.as_deref().unwrap_or("day") {
            "hour" => Some("hour"),
            "day" => Some("day"),
            "month" => Some("month"),
            _ => {
                errors.push(FieldError::new("granularity", "must be hour, day or month"));
                None
            }
        };
        if let (Some(from), Some(to)) = (from, to) {
            if to <= from {
                errors.push(FieldError::new("to", "must be after from"));
            } else if to - from > chrono::Duration::days(MAX_RANGE_DAYS) {
                errors.push(FieldError::new(
                    "to",
                    format!("at most {MAX_RANGE_DAYS} days after from"),
                ));
            }
        }
        match (from, to, granularity) {
            (Some(from), Some(to), Some(granularity)) if errors.is_empty() => Ok(UsageRange {
                from,
                to,
                granularity,
            }),
            _ => Err(ApiError::Validation(errors)),
        }
    }
}

/// The tenant's usage in `[from, to)`, per UTC hour, day or month.
#[utoipa::path(get, path = "/v1/usage", tag = "billing", params(UsageQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "the usage in `[from, to)`: one bucket per UTC hour, day or month that has any, oldest first", body = UsageOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "bad or missing `from`, `to` or `granularity`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_usage(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiQuery(query): ApiQuery<UsageQuery>,
) -> Result<Json<UsageOut>, ApiError> {
    let range = UsageRange::try_from(&query)?;
    let buckets = db::billing::usage_buckets(
        &state.db,
        scope.tenant_id,
        range.from,
        range.to,
        range.granularity,
    )
    .await?;
    let stored = db::result_parts::stored_bytes(&state.db, scope.tenant_id).await?;
    Ok(Json(UsageOut {
        from: range.from,
        to: range.to,
        granularity: range.granularity.to_owned(),
        buckets: buckets.into_iter().map(UsageBucketOut::from).collect(),
        stored_result_bytes: stored,
        stored_result_limit_bytes: scope.plan.limits().result_storage_bytes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(from: Option<&str>, to: Option<&str>, g: Option<&str>) -> UsageQuery {
        UsageQuery {
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
            granularity: g.map(str::to_owned),
        }
    }

    fn named(q: &UsageQuery) -> Vec<String> {
        match UsageRange::try_from(q) {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn every_bad_parameter_is_named() {
        assert_eq!(
            named(&query(None, Some("x"), Some("week"))),
            ["from", "to", "granularity"]
        );
        assert_eq!(
            named(&query(
                Some("2026-03-02T00:00:00Z"),
                Some("2026-03-01T00:00:00Z"),
                None
            )),
            ["to"]
        );
        assert_eq!(
            named(&query(
                Some("2025-01-01T00:00:00Z"),
                Some("2026-03-01T00:00:00Z"),
                None
            )),
            ["to"]
        );
    }

    #[test]
    fn a_good_range_defaults_to_days() {
        let q = query(
            Some("2026-03-01T00:00:00Z"),
            Some("2026-04-01T00:00:00+02:00"),
            None,
        );
        assert!(matches!(UsageRange::try_from(&q), Ok(r) if r.granularity == "day"));
    }
}
