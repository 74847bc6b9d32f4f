//! `GET /v1/invoices` and `GET /v1/invoices/{id}`: the tenant's invoices
//! (docs/adr/0003-plans.md), drafts included, with their lines. Written only by the
//! scheduler's billing round; read-only here, and viewers may read.

use crate::auth::TenantScope;
use crate::error::{ApiError, Problem};
use crate::pagination::PageQuery;
use crate::query::ApiQuery;
use crate::responses::{InvoiceLineOut, InvoiceOut, InvoicePage};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use catalytic_shared::db::{
    self,
    billing::{InvoiceRow, LineRow},
};
use catalytic_shared::ids::InvoiceId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_invoices))
        .routes(routes!(get_invoice))
}

pub(crate) fn out(r: InvoiceRow, lines: Option<Vec<LineRow>>) -> InvoiceOut {
    InvoiceOut {
        id: r.id.into(),
        status: r.status,
        number: r.number,
        period_start: r.period_start,
        period_end: r.period_end,
        currency: r.currency,
        total_cents: r.total_cents,
        finalized_at: r.finalized_at,
        updated_at: r.updated_at,
        lines: lines.map(|lines| {
            lines
                .into_iter()
                .map(|l| InvoiceLineOut {
                    kind: l.kind,
                    description: l.description,
                    quantity: l.quantity,
                    amount_cents: l.amount_cents,
                })
                .collect()
        }),
    }
}

/// The tenant's invoices, newest first.
#[utoipa::path(get, path = "/v1/invoices", tag = "billing", params(PageQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "one page of the tenant's invoices, newest first, drafts included, without their lines", body = InvoicePage),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "bad `limit` or `cursor`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_invoices(
    State(state): State<AppState>,
    scope: TenantScope,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<InvoicePage>, ApiError> {
    let page = query.parse::<InvoiceId>()?;
    let mut rows =
        db::billing::list_invoices(&state.db, scope.tenant_id, page.after, page.fetch()).await?;
    let next_cursor = page.finish(&mut rows, |r| r.id.as_uuid());
    Ok(Json(InvoicePage {
        items: rows.into_iter().map(|r| out(r, None)).collect(),
        next_cursor,
    }))
}

/// One invoice with its lines.
#[utoipa::path(get, path = "/v1/invoices/{id}", tag = "billing", params(("id" = uuid::Uuid, Path)),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "the invoice with its lines", body = InvoiceOut),
        (status = 401, description = "missing or invalid API key or access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such invoice for this tenant", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_invoice(
    State(state): State<AppState>,
    scope: TenantScope,
    Path(id): Path<String>,
) -> Result<Json<InvoiceOut>, ApiError> {
    let id: InvoiceId = crate::error::path_id(&id, "invoice")?;
    let row = db::billing::get_invoice(&state.db, scope.tenant_id, id)
        .await?
        .ok_or(ApiError::NotFound("invoice"))?;
    let lines = db::billing::invoice_lines(&state.db, row.id).await?;
    Ok(Json(out(row, Some(lines))))
}
