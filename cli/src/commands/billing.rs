//! `usage` and `invoices list|get`.

use super::Context;
use crate::args::{InvoicesCommand, UsageArgs};
use crate::failure::Failure;
use crate::output::{Table, cell, emit, next_page_hint};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// The default span of `usage` without --from.
const DEFAULT_DAYS: i64 = 30;

/// `--from`/`--to` as sent: the defaults are computed here (the API needs
/// both); given values are passed as typed, for the API to judge.
fn range(args: &UsageArgs, now: DateTime<Utc>) -> Result<(String, String), Failure> {
    let to = args
        .to
        .clone()
        .unwrap_or_else(|| now.to_rfc3339_opts(SecondsFormat::Secs, true));
    let from = match &args.from {
        Some(from) => from.clone(),
        None => {
            let end = DateTime::parse_from_rfc3339(&to).map_err(|_| {
                Failure::Usage(format!(
                    "--to {to:?} is not an RFC 3339 instant (like 2026-11-01T00:00:00Z)"
                ))
            })?;
            (end - chrono::Duration::days(DEFAULT_DAYS)).to_rfc3339_opts(SecondsFormat::Secs, true)
        }
    };
    Ok((from, to))
}

pub async fn usage(ctx: &Context, args: UsageArgs) -> Result<(), Failure> {
    let (from, to) = range(&args, Utc::now())?;
    let mut api = ctx.api()?;
    let granularity = args.granularity.clone();
    let usage = api
        .call(|c| {
            let (from, to, granularity) = (&from, &to, granularity.as_deref());
            async move { c.usage(from, to, granularity).await }
        })
        .await?;
    emit(ctx.format(), &usage, |v| {
        Table::of_items(
            &v["buckets"],
            &[
                "START",
                "JOBS",
                "BILLABLE",
                "VERTEX VISITS",
                "CPU MS",
                "GPU MS",
            ],
            &[
                "start",
                "jobs",
                "billable_jobs",
                "vertex_visits",
                "cpu_compute_ms",
                "gpu_compute_ms",
            ],
        )
    })?;
    if ctx.format() == crate::output::OutputFormat::Table && usage.buckets.is_empty() {
        eprintln!("no usage from {} to {}", usage.from, usage.to);
    }
    Ok(())
}

/// Cents as `12.34 USD`.
fn money(cents: &Value, currency: &Value) -> String {
    let cents = cents.as_i64().unwrap_or(0);
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!(
        "{sign}{}.{:02} {}",
        cents / 100,
        cents % 100,
        cell(currency).to_uppercase()
    )
}

fn invoice_row(table: &mut Table, v: &Value) {
    table.row(vec![
        cell(&v["id"]),
        cell(&v["number"]),
        cell(&v["status"]),
        cell(&v["period_start"]),
        cell(&v["period_end"]),
        money(&v["total_cents"], &v["currency"]),
    ]);
}

const INVOICE_HEADER: [&str; 6] = ["ID", "NUMBER", "STATUS", "FROM", "TO", "TOTAL"];

pub async fn invoices(ctx: &Context, command: InvoicesCommand) -> Result<(), Failure> {
    let mut api = ctx.api()?;
    match command {
        InvoicesCommand::List(page) => {
            let listed = api
                .call(|c| async move { c.list_invoices(page.limit, page.cursor).await })
                .await?;
            emit(ctx.format(), &listed, |v| {
                let mut table = Table::new(&INVOICE_HEADER);
                for invoice in v["items"].as_array().into_iter().flatten() {
                    invoice_row(&mut table, invoice);
                }
                table
            })?;
            next_page_hint(ctx.format(), &json!(listed.next_cursor));
            Ok(())
        }
        InvoicesCommand::Get { id } => {
            let invoice = api.call(|c| async move { c.get_invoice(id).await }).await?;
            emit(ctx.format(), &invoice, |v| {
                let mut table = Table::new(&INVOICE_HEADER);
                invoice_row(&mut table, v);
                let mut lines = Table::new(&["LINE", "DESCRIPTION", "QUANTITY", "AMOUNT"]);
                for line in v["lines"].as_array().into_iter().flatten() {
                    lines.row(vec![
                        cell(&line["kind"]),
                        cell(&line["description"]),
                        cell(&line["quantity"]),
                        money(&line["amount_cents"], &v["currency"]),
                    ]);
                }
                // One table per section, a blank line between.
                let mut both = table;
                both.row(Vec::new());
                both.append(lines);
                both
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(from: Option<&str>, to: Option<&str>) -> UsageArgs {
        UsageArgs {
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
            granularity: None,
        }
    }

    #[test]
    fn the_default_range_is_the_last_thirty_days() -> Result<(), Failure> {
        let now = DateTime::parse_from_rfc3339("2026-11-25T17:00:00Z")
            .map_err(|e| Failure::Usage(e.to_string()))?
            .with_timezone(&Utc);
        assert_eq!(
            range(&args(None, None), now)?,
            (
                "2026-10-26T17:00:00Z".to_owned(),
                "2026-11-25T17:00:00Z".to_owned()
            )
        );
        assert_eq!(
            range(&args(Some("x"), Some("y")), now)?,
            ("x".to_owned(), "y".to_owned()),
            "given values go to the API as typed"
        );
        assert!(
            matches!(range(&args(None, Some("soon")), now), Err(Failure::Usage(m)) if m.contains("--to"))
        );
        Ok(())
    }

    #[test]
    fn money_is_cents_with_two_digits() {
        assert_eq!(money(&json!(1234), &json!("usd")), "12.34 USD");
        assert_eq!(money(&json!(-5), &json!("usd")), "-0.05 USD");
    }
}
