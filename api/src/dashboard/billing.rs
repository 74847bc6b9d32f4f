//! Usage and invoices: the last 30 days of usage per UTC day
//! (`/v1/usage`) and the tenant's invoices with their lines
//! (`/v1/invoices`). Viewers may read both.

use super::backend::{Backend, with_query};
use super::layout::{Nav, page, tenant_error, when, when_opt};
use super::session::TenantSession;
use crate::responses::{InvoiceOut, InvoicePage, UsageOut};
use crate::state::AppState;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use chrono::{Duration, DurationRound, Utc};
use maud::{Markup, html};

pub fn router() -> Router<AppState> {
    Router::new().route("/dashboard/billing", get(show_billing))
}

/// Days of usage shown.
const USAGE_DAYS: i64 = 30;

async fn show_billing(
    session: TenantSession,
    Extension(backend): Extension<Backend>,
) -> Result<Response, Response> {
    // Whole UTC days, today included.
    let to = Utc::now()
        .duration_trunc(Duration::days(1))
        .unwrap_or_else(|_| Utc::now())
        + Duration::days(1);
    let from = to - Duration::days(USAGE_DAYS);
    let (from, to) = (from.to_rfc3339(), to.to_rfc3339());
    let path = with_query(
        "/v1/usage",
        &[("from", &from), ("to", &to), ("granularity", "day")],
    );
    let usage: UsageOut = backend
        .get(&path, &session.token)
        .await
        .into_result()
        .map_err(tenant_error)?;
    let invoices: InvoicePage = backend
        .get("/v1/invoices?limit=24", &session.token)
        .await
        .into_result()
        .map_err(tenant_error)?;
    let body = html! {
        h2 { "Usage, last " (USAGE_DAYS) " days (UTC days)" }
        @if usage.buckets.is_empty() {
            p.empty { "No usage in this period." }
        } @else {
            table #usage {
                thead { tr { th { "Day" } th.num { "Jobs" } th.num { "Billable" } th.num { "Vertex-visits" } th.num { "CPU ms" } th.num { "GPU ms" } } }
                tbody {
                    @for b in &usage.buckets {
                        tr {
                            td { (b.start.format("%Y-%m-%d")) }
                            td.num { (b.jobs) } td.num { (b.billable_jobs) } td.num { (b.vertex_visits) }
                            td.num { (b.cpu_compute_ms) } td.num { (b.gpu_compute_ms) }
                        }
                    }
                }
            }
        }
        p.note { "Usage is rolled up by the scheduler's billing round, so the last hour may lag." }
        h2 { "Invoices" }
        @if invoices.items.is_empty() {
            p.empty { "No invoices yet: a draft appears after the first billing round." }
        } @else {
            table #invoices {
                thead { tr { th { "Period" } th { "Number" } th { "Status" } th.num { "Total" } th { "Finalised" } th { "Updated" } } }
                tbody { @for i in &invoices.items { (invoice_row(i)) } }
            }
        }
    };
    Ok(page(
        "Usage & invoices",
        Nav::Tenant {
            csrf: &session.csrf,
        },
        body,
    )
    .into_response())
}

fn invoice_row(invoice: &InvoiceOut) -> Markup {
    html! {
        tr {
            td { (invoice.period_start.format("%Y-%m")) }
            td { (invoice.number.as_deref().unwrap_or("—")) }
            td { span class=(format!("badge {}", invoice.status)) { (invoice.status) } }
            td.num { (money(invoice.total_cents)) " " (invoice.currency) }
            td { (when_opt(&invoice.finalized_at)) }
            td { (when(&invoice.updated_at)) }
        }
    }
}

/// Cents as `12.34`.
fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:02}",
        cents.unsigned_abs() / 100,
        cents.unsigned_abs() % 100
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn cents_read_as_money() {
        assert_eq!(super::money(0), "0.00");
        assert_eq!(super::money(2900), "29.00");
        assert_eq!(super::money(-5), "-0.05");
    }
}
