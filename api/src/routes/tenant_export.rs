//! `GET /v1/tenant/export` (issue 20): everything the tenant has stored, as
//! one JSON document, streamed: the tenant, its users, API keys (never a
//! secret), lattices, webhook endpoints (never a secret), schedules,
//! stored concurrency limits, invoices with their lines, and every job with its result, each in the
//! shape its own route answers. Read in pages of `PAGE` rows, so an export
//! of millions of jobs holds one page in memory. The document ends with
//! `"complete": true`: a stream cut by an error mid-way lacks it (the
//! status line was already sent), so a reader can tell.

use crate::audit::{self, Action, Actor, ClientIp};
use crate::auth::TenantScope;
use crate::db;
use crate::error::{ApiError, Problem};
use crate::responses::{JobOut, TenantOut, UserOut};
use crate::routes::concurrency_keys::ConcurrencyKeyOut;
use crate::routes::webhook_endpoints::EndpointOut;
use crate::routes::{api_keys::ApiKeyOut, invoices, lattices, schedules};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use catalytic_shared::db::{DbError, job_queries::JobFilter};
use catalytic_shared::ids::TenantId;
use catalytic_shared::tenant::Role;
use serde::Serialize;
use std::future::Future;
use tokio::sync::mpsc;
use tracing::Instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Rows read per query.
pub const PAGE: i64 = 500;
/// Bytes gathered before a chunk goes out.
const CHUNK: usize = 256 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_tenant))
}

/// Everything the tenant stored, as one streamed JSON document (owners and
/// admins). The export itself is recorded in the audit log.
#[utoipa::path(get, path = "/v1/tenant/export", tag = "tenant", security(("api_key" = [])),
    responses(
        (status = 200, description = "a JSON object: `format`, `exported_at`, `tenant`, `users`, `api_keys`, `lattices`, `webhook_endpoints`, `schedules`, `concurrency_keys`, `invoices`, `jobs`, and last `complete: true` (absent when the stream was cut)", content_type = "application/json"),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "needs the admin role", body = Problem, content_type = "application/problem+json"),
    ))]
async fn export_tenant(
    State(state): State<AppState>,
    scope: TenantScope,
    ip: ClientIp,
) -> Result<Response, ApiError> {
    scope.require(Role::Admin)?;
    let tenant = scope.tenant_id;
    let (name, plan) = db::accounts::tenant_summary(&state.db, tenant)
        .await?
        .ok_or(ApiError::NotFound("tenant"))?;
    let mut conn = state.db.acquire().await?;
    audit::record(
        &mut conn,
        tenant,
        Action::Exported,
        Actor::of(&scope),
        ip,
        None,
        serde_json::json!({}),
    )
    .await?;
    drop(conn);
    let head = TenantOut {
        id: tenant.as_uuid(),
        name,
        plan: plan.as_str().to_owned(),
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let span = tracing::info_span!("tenant_export", tenant_id = %tenant);
    tokio::spawn(
        async move {
            let mut out = Writer {
                tx,
                buf: Vec::new(),
            };
            match write_export(&state, tenant, &head, &mut out).await {
                Ok(()) => tracing::info!("tenant exported"),
                Err(Stop::Gone) => tracing::info!("export abandoned by the client"),
                Err(Stop::Failed(e)) => {
                    tracing::error!(error = %e, "export failed mid-stream");
                    let _ = out.tx.send(Err(std::io::Error::other(e))).await;
                }
            }
        }
        .instrument(span),
    );
    let chunks = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let filename = format!("attachment; filename=\"catalytic-export-{tenant}.json\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}

/// Why writing stopped early.
enum Stop {
    /// The client went away: nothing more to do.
    Gone,
    /// A query or a stored row failed: the stream is cut.
    Failed(String),
}

impl From<DbError> for Stop {
    fn from(e: DbError) -> Self {
        Stop::Failed(e.to_string())
    }
}

impl From<ApiError> for Stop {
    fn from(e: ApiError) -> Self {
        Stop::Failed(e.to_string())
    }
}

/// Gathers JSON text and sends it in chunks of about `CHUNK` bytes.
struct Writer {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl Writer {
    fn raw(&mut self, text: &str) {
        self.buf.extend_from_slice(text.as_bytes());
    }

    fn value<T: Serialize>(&mut self, value: &T) -> Result<(), Stop> {
        serde_json::to_writer(&mut self.buf, value).map_err(|e| Stop::Failed(e.to_string()))
    }

    async fn flush(&mut self, at_least: usize) -> Result<(), Stop> {
        if self.buf.len() < at_least {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx.send(Ok(chunk)).await.map_err(|_| Stop::Gone)
    }
}

/// `,"name":[` rows fetched page by page, each written as `out(row)` `]`.
async fn section<Row, Out, Id, Fetch, Fut>(
    w: &mut Writer,
    name: &str,
    mut fetch: Fetch,
    id: impl Fn(&Row) -> Id,
    out: impl Fn(Row) -> Result<Out, ApiError>,
) -> Result<(), Stop>
where
    Out: Serialize,
    Fetch: FnMut(Option<Id>) -> Fut,
    Fut: Future<Output = Result<Vec<Row>, DbError>>,
{
    w.raw(&format!(",\"{name}\":["));
    let mut after = None;
    let mut first = true;
    loop {
        let rows = fetch(after.take()).await?;
        let full = rows.len() as i64 == PAGE;
        after = rows.last().map(&id);
        for row in rows {
            if !first {
                w.raw(",");
            }
            first = false;
            w.value(&out(row)?)?;
        }
        w.flush(CHUNK).await?;
        if !full {
            break;
        }
    }
    w.raw("]");
    Ok(())
}

async fn write_export(
    state: &AppState,
    tenant: TenantId,
    head: &TenantOut,
    w: &mut Writer,
) -> Result<(), Stop> {
    let pool = &state.db;
    w.raw("{\"format\":\"catalytic-export/1\",\"exported_at\":");
    w.value(&chrono::Utc::now())?;
    w.raw(",\"tenant\":");
    w.value(head)?;
    section(
        w,
        "users",
        |after| db::accounts::list_users(pool, tenant, after, PAGE),
        |r| r.id,
        UserOut::try_from,
    )
    .await?;
    section(
        w,
        "api_keys",
        |after| catalytic_shared::db::tenants::list_api_keys(pool, tenant, after, PAGE),
        |r| r.id,
        |r| Ok(ApiKeyOut::from(r)),
    )
    .await?;
    section(
        w,
        "lattices",
        |after| db::lattices::list(pool, tenant, after, PAGE),
        |r| r.id,
        lattices::out,
    )
    .await?;
    section(
        w,
        "webhook_endpoints",
        |after| catalytic_shared::db::webhooks::list_endpoints(pool, tenant, after, PAGE),
        |r| r.id,
        |r| Ok(EndpointOut::from(r)),
    )
    .await?;
    // At most the plan's schedule cap (1,000): one read.
    let all_schedules: Vec<_> = db::schedules::list(pool, tenant)
        .await?
        .into_iter()
        .map(schedules::out)
        .collect();
    w.raw(",\"schedules\":");
    w.value(&all_schedules)?;
    // At most 1,000 stored limits: one read.
    let mut conn = pool.acquire().await.map_err(DbError::from)?;
    let limits: Vec<ConcurrencyKeyOut> = catalytic_shared::db::concurrency_keys::list(
        &mut conn,
        tenant,
        None,
        catalytic_shared::db::concurrency_keys::MAX_PER_TENANT,
    )
    .await?
    .into_iter()
    .map(ConcurrencyKeyOut::from)
    .collect();
    drop(conn);
    w.raw(",\"concurrency_keys\":");
    w.value(&limits)?;
    section(
        w,
        "invoices",
        |after| async move {
            let rows =
                catalytic_shared::db::billing::list_invoices(pool, tenant, after, PAGE).await?;
            let mut with_lines = Vec::with_capacity(rows.len());
            for row in rows {
                let lines = catalytic_shared::db::billing::invoice_lines(pool, row.id).await?;
                with_lines.push((row, lines));
            }
            Ok(with_lines)
        },
        |(r, _)| r.id,
        |(r, lines)| Ok(invoices::out(r, Some(lines))),
    )
    .await?;
    let everything = JobFilter::default();
    section(
        w,
        "jobs",
        |after| catalytic_shared::db::job_queries::list(pool, tenant, &everything, after, PAGE),
        |r| r.id,
        |r| Ok(JobOut::from(r)),
    )
    .await?;
    w.raw(",\"complete\":true}");
    w.flush(0).await
}
