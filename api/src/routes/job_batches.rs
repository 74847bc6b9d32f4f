//! Bulk submit (issue 17): `POST /v1/jobs/batch` takes up to 1,000 jobs in
//! one request. Each item is validated like a single submit and answered
//! in its own slot (its id, or its problem with fields named `jobs[i].…`);
//! the valid ones are stored through the same group commit as single
//! submits, admitted in order against the plan's quotas. One
//! `Idempotency-Key` covers the whole body, and a replay answers the same
//! results. The request counts as one request per job against the
//! tenant's rate limit.

use crate::auth::TenantScope;
use crate::db;
use crate::enqueue::{self, Submit};
use crate::error::{ApiError, Problem};
use crate::idempotency::{self, IdempotencyKey};
use crate::job_request::JobIn;
use crate::json::ApiJson;
use crate::limits::enforce::RateSlot;
use crate::limits::rate::Rate;
use crate::responses::{BulkAccepted, BulkItem};
use crate::state::AppState;
use crate::submit_batch::{self, Item, Submission};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use catalytic_shared::db::jobs::NewJob;
use catalytic_shared::ids::{JobId, LatticeId};
use catalytic_shared::job::LatticeDef;
use catalytic_shared::tenant::Role;
use serde::Deserialize;
use std::collections::HashMap;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The most jobs one bulk submit may carry.
pub const MAX_JOBS: usize = 1000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(submit_jobs))
}

/// A bulk submit: 1 to 1,000 jobs, each the body of a single submit.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)] // The schema of the body; the handler reads it item by item.
pub struct BulkIn {
    pub jobs: Vec<JobIn>,
}

/// Submit up to 1,000 jobs at once. Each item is validated and admitted
/// like a single submit, in order, and answered in its slot of `results`.
#[utoipa::path(
    post, path = "/v1/jobs/batch", tag = "jobs",
    request_body = BulkIn,
    params(("Idempotency-Key" = Option<String>, Header,
            description = "1–255 visible ASCII characters, for the whole body; the same key and body within 24 h answer the same results")),
    security(("api_key" = [])),
    responses(
        (status = 202, description = "at least one job accepted and durable: one result per item, in order (or, with a known Idempotency-Key and the same body, the earlier results)", body = BulkAccepted,
         headers(("Idempotent-Replayed" = String, description = "`true` when an earlier bulk submit with this Idempotency-Key is answered again"))),
        (status = 400, description = "the body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "no job accepted: the free plan's monthly jobs are used", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "viewers may only read", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the Idempotency-Key was used with another body in the last 24 h", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "the body exceeds api.max_body_bytes", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`jobs` is missing, empty or over 1,000 items, or no job was accepted and some were invalid: `errors` names every invalid field as `jobs[i].…`, and `results` holds one result per item", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "the tenant's rate cannot take this many jobs now (each job counts as a request), or no job accepted: the queued-jobs cap is reached", body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
async fn submit_jobs(
    State(state): State<AppState>,
    scope: TenantScope,
    rate_slot: Option<Extension<RateSlot>>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    scope.require(Role::Member)?;
    let key = IdempotencyKey::from_request(&headers, &body)?;
    if let Some(key) = &key
        && let Some(record) = key.record(&state.db, scope.tenant_id).await?
    {
        return replayed(key, record.results);
    }
    let items = jobs_of(body)?;
    spend_rate(&state, &scope, rate_slot, items.len()).await?;

    let mut lattices: HashMap<uuid::Uuid, Option<LatticeDef>> = HashMap::new();
    let mut prepared = Vec::with_capacity(items.len());
    // Each item's job id (None: refused), for `depends_on` by index.
    let mut earlier: Vec<Option<JobId>> = Vec::with_capacity(items.len());
    for (i, raw) in items.into_iter().enumerate() {
        let at = format!("jobs[{i}]");
        let item = async {
            let job: JobIn = crate::json::parse(raw.to_string().as_bytes())?;
            let stored = match job.lattice_id {
                None => None,
                Some(id) => {
                    let def = match lattices.get(&id) {
                        Some(def) => def.clone(),
                        None => {
                            let row = db::lattices::get(
                                &state.db,
                                scope.tenant_id,
                                LatticeId::from_uuid(id),
                            )
                            .await?;
                            let def = row.map(|r| r.definition()).transpose()?;
                            lattices.insert(id, def.clone());
                            def
                        }
                    };
                    let def = def.ok_or(ApiError::NotFound("lattice"))?;
                    Some((LatticeId::from_uuid(id), def))
                }
            };
            enqueue::from_request(scope.tenant_id, scope.plan, job, stored, Some(&earlier))
        }
        .await;
        earlier.push(item.as_ref().ok().map(|job| job.id));
        prepared.push(match item {
            Ok(job) => Item::Job(Box::new(job)),
            Err(e) => Item::Refused(e.within(&at)),
        });
    }
    refuse_missing_parents(&state, &scope, &mut prepared).await?;
    let valid = prepared
        .iter()
        .filter(|i| matches!(i, Item::Job(_)))
        .count();
    let states: Vec<_> = prepared.iter().map(Item::state).collect();
    let outcomes = match valid {
        // Nothing to store: no transaction.
        0 => prepared
            .into_iter()
            .map(|item| match item {
                Item::Refused(e) => Err(e),
                Item::Job(_) => Err(ApiError::Internal(anyhow::anyhow!("uncounted job"))),
            })
            .collect(),
        _ => {
            let submission = Submission {
                tenant: scope.tenant_id,
                plan: scope.plan,
                items: prepared,
                idempotency: key.clone(),
                bulk: true,
            };
            match enqueue::call(&state.submits, submission).await {
                Ok(outcomes) => outcomes,
                Err(Submit::Refused(e)) => return Err(e),
                Err(Submit::KeyTaken) => return taken(&state, &scope, key.as_ref()).await,
            }
        }
    };
    for refusal in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        refusal.record();
    }
    state.job_events.accepted(
        outcomes.iter().filter_map(|o| match o {
            Ok(enqueue::Placed::Stored(id)) => Some(*id),
            _ => None,
        }),
        scope.tenant_id,
    );
    let results = submit_batch::bulk_answer(&outcomes, &states);
    let accepted = results.iter().filter(|r| r.id.is_some()).count();
    tracing::info!(jobs = results.len(), accepted, "bulk submit answered");
    match accepted {
        0 => Ok(none_accepted(results)),
        _ => Ok((StatusCode::ACCEPTED, Json(BulkAccepted::new(results))).into_response()),
    }
}

/// Refuses, in its slot, each item that names by id a parent that is not
/// one of the tenant's jobs: one query for the whole request.
async fn refuse_missing_parents(
    state: &AppState,
    scope: &TenantScope,
    prepared: &mut [Item],
) -> Result<(), ApiError> {
    let jobs: Vec<(usize, &NewJob)> = prepared
        .iter()
        .enumerate()
        .filter_map(|(i, item)| match item {
            Item::Job(job) => Some((i, &**job)),
            Item::Refused(_) => None,
        })
        .collect();
    let refs: Vec<&NewJob> = jobs.iter().map(|(_, job)| *job).collect();
    let missing = enqueue::missing_parents(&state.db, scope.tenant_id, &refs).await?;
    let refused: Vec<(usize, ApiError)> = jobs
        .iter()
        .zip(missing)
        .filter_map(|((i, _), refusal)| refusal.map(|e| (*i, e)))
        .collect();
    // An item naming a refused item by index is refused too, as a child of
    // an item refused for its fields is (`enqueue::from_request`); indexes
    // name earlier items only, so one pass in order reaches every one.
    let mut gone: HashMap<JobId, usize> = HashMap::new();
    for (i, refusal) in refused {
        if let Item::Job(job) = &prepared[i] {
            gone.insert(job.id, i);
        }
        prepared[i] = Item::Refused(refusal.within(&format!("jobs[{i}]")));
    }
    for (i, item) in prepared.iter_mut().enumerate() {
        let Item::Job(job) = &*item else {
            continue;
        };
        let orphaned = job.parents.as_ref().and_then(|p| {
            p.ids
                .iter()
                .enumerate()
                .find_map(|(j, id)| gone.get(id).map(|k| (j, *k)))
        });
        if let Some((j, k)) = orphaned {
            gone.insert(job.id, i);
            let refusal =
                ApiError::field(format!("depends_on[{j}]"), format!("item {k} was refused"));
            *item = Item::Refused(refusal.within(&format!("jobs[{i}]")));
        }
    }
    Ok(())
}

/// The body's `jobs`: 1 to `MAX_JOBS` items, nothing else beside them.
fn jobs_of(body: serde_json::Value) -> Result<Vec<serde_json::Value>, ApiError> {
    let serde_json::Value::Object(mut fields) = body else {
        return Err(ApiError::field("body", "must be an object with `jobs`"));
    };
    let jobs = fields.remove("jobs");
    if let Some(unknown) = fields.keys().next() {
        return Err(ApiError::field(
            unknown.clone(),
            "unknown field; expected only `jobs`",
        ));
    }
    let Some(serde_json::Value::Array(jobs)) = jobs else {
        return Err(ApiError::field(
            "jobs",
            "required: an array of 1 to 1000 jobs",
        ));
    };
    if jobs.is_empty() || jobs.len() > MAX_JOBS {
        return Err(ApiError::field(
            "jobs",
            format!("must hold 1 to {MAX_JOBS} jobs, got {}", jobs.len()),
        ));
    }
    Ok(jobs)
}

/// Each job counts as one request against the tenant's rate: the request
/// itself was counted when it was authenticated, so `jobs - 1` more are
/// spent here, all or none.
async fn spend_rate(
    state: &AppState,
    scope: &TenantScope,
    rate_slot: Option<Extension<RateSlot>>,
    jobs: usize,
) -> Result<(), ApiError> {
    let per_minute = scope.plan.limits().requests_per_minute;
    let jobs = u32::try_from(jobs).unwrap_or(u32::MAX);
    if jobs > per_minute {
        return Err(ApiError::field(
            "jobs",
            format!(
                "the {} plan allows {per_minute} requests per minute and each job counts as one; send at most {per_minute} jobs per request",
                scope.plan
            ),
        ));
    }
    if jobs <= 1 {
        return Ok(());
    }
    let decision = state
        .rate_limiter
        .check_n(
            &format!("tenant:{}", scope.tenant_id),
            Rate::per_minute(per_minute),
            jobs - 1,
        )
        .await;
    if let Some(Extension(slot)) = rate_slot {
        slot.set(decision);
    }
    match decision.allowed {
        true => Ok(()),
        false => Err(ApiError::TooManyRequests {
            message: format!(
                "the {} plan allows {} requests per minute and each job of a bulk submit counts as one; {} remain; retry in {} s",
                scope.plan, decision.limit, decision.remaining, decision.retry_after_secs
            ),
            limit: "requests_per_tenant",
            retry_after: Some(decision.retry_after_secs.max(1)),
        }),
    }
}

/// A replay: the stored results, as first answered.
fn replayed(
    key: &IdempotencyKey,
    results: Option<serde_json::Value>,
) -> Result<Response, ApiError> {
    // A record without results was made by a single submit: its body was
    // another, whatever the hash says.
    let results: Vec<BulkItem> = match results {
        Some(r) => serde_json::from_value(r).map_err(|e| ApiError::Internal(e.into()))?,
        None => {
            return Err(ApiError::Conflict(format!(
                "{} {:?} was used for a single submit in the last 24 hours",
                idempotency::HEADER,
                key.key
            )));
        }
    };
    tracing::info!("idempotent bulk submit replayed");
    let mut response = (StatusCode::ACCEPTED, Json(BulkAccepted::new(results))).into_response();
    response.headers_mut().insert(
        idempotency::REPLAYED_HEADER,
        HeaderValue::from_static("true"),
    );
    Ok(response)
}

/// A concurrent bulk submit with the same key committed first.
async fn taken(
    state: &AppState,
    scope: &TenantScope,
    key: Option<&IdempotencyKey>,
) -> Result<Response, ApiError> {
    let Some(key) = key else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "idempotency conflict without a key"
        )));
    };
    match key.record(&state.db, scope.tenant_id).await? {
        Some(record) => replayed(key, record.results),
        None => Err(ApiError::Conflict(format!(
            "{} {:?} is being used by a concurrent request; retry",
            idempotency::HEADER,
            key.key
        ))),
    }
}

/// No job accepted: a problem whose status is the items' common one (429
/// when every item met the queued-jobs cap) or 422, naming every invalid
/// field, with the per-item `results` beside.
fn none_accepted(results: Vec<BulkItem>) -> Response {
    let problems: Vec<&Problem> = results.iter().filter_map(|r| r.error.as_ref()).collect();
    let first = problems.first().map_or(422, |p| p.status);
    let status = match problems.iter().all(|p| p.status == first) {
        true => first,
        false => 422,
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    let problem = Problem {
        kind: match status {
            StatusCode::UNPROCESSABLE_ENTITY => "https://catalytic.dev/problems/validation",
            _ => "https://catalytic.dev/problems/bulk-refused",
        }
        .to_owned(),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail: format!(
            "none of the {} jobs was accepted; see results",
            results.len()
        ),
        limit: problems
            .first()
            .and_then(|p| p.limit.clone())
            .filter(|_| status != StatusCode::UNPROCESSABLE_ENTITY),
        errors: problems
            .iter()
            .flat_map(|p| p.errors.iter().cloned())
            .collect(),
    };
    let mut body = serde_json::to_value(problem).unwrap_or_default();
    if let (Some(map), Ok(results)) = (body.as_object_mut(), serde_json::to_value(&results)) {
        map.insert("results".to_owned(), results);
    }
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    // The only per-item 429 is the queued-jobs cap.
    if status == StatusCode::TOO_MANY_REQUESTS
        && let Ok(value) =
            HeaderValue::from_str(&crate::limits::quota::QUEUE_FULL_RETRY_SECS.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}
