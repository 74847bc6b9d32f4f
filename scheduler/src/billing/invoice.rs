//! Invoices (docs/adr/0003-plans.md): one per tenant per UTC month. While the month runs
//! and for `billing.finalize_after_secs` after it, the invoice is a draft
//! recomputed each round from the rollups: the base price prorated by
//! seconds across plan changes, overage jobs, metered CPU and GPU compute,
//! and an adjustment for usage of already finalised months recorded after
//! they were finalised. Then it is finalised in one transaction: lines
//! frozen, the next gap-free number of the year taken, immutable after.
//!
//! Adjustments are measured in exact micro-cents: a finalised invoice keeps
//! the value of its own usage lines (`usage_micro_cents`); the draft of a
//! later month carries what all finalised months' usage is worth now minus
//! what they billed, minus what earlier finalised adjustments carried.

use catalytic_shared::billing::{self as money, Line, Period, PlanChange};
use catalytic_shared::db::DbError;
use catalytic_shared::db::billing::{self as sql, BillableTenant, DraftContent};
use catalytic_shared::metrics as m;
use catalytic_shared::tenant::Plan;
use chrono::{DateTime, Datelike, Utc};
use sqlx::{PgConnection, PgPool};
use std::time::Duration;

/// Months one tenant is billed per round at most: a long outage catches up
/// over several rounds instead of one huge one.
pub const MAX_PERIODS_PER_ROUND: usize = 24;

/// What one round did to invoices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Invoiced {
    pub drafts_refreshed: u64,
    pub finalised: u64,
    pub tenants_failed: u64,
}

/// Refreshes every tenant's open drafts, from the month after its last
/// finalised one (or its creation) to the month of `as_of`, and finalises
/// those whose month ended at least `finalize_after` before `as_of`.
pub async fn run_once(
    pool: &PgPool,
    as_of: DateTime<Utc>,
    finalize_after: Duration,
) -> Result<Invoiced, DbError> {
    let mut done = Invoiced::default();
    for tenant in sql::billable_tenants(pool).await? {
        match bill_tenant(pool, &tenant, as_of, finalize_after).await {
            Ok(t) => {
                done.drafts_refreshed += t.drafts_refreshed;
                done.finalised += t.finalised;
            }
            Err(e) => {
                done.tenants_failed += 1;
                metrics::counter!(m::BILLING_ROUND_FAILURES).increment(1);
                tracing::warn!(tenant_id = %tenant.id, error = %e, "billing a tenant failed");
            }
        }
    }
    Ok(done)
}

async fn bill_tenant(
    pool: &PgPool,
    tenant: &BillableTenant,
    as_of: DateTime<Utc>,
    finalize_after: Duration,
) -> Result<Invoiced, DbError> {
    let last = Period::containing(as_of);
    let mut period = Period::containing(tenant.finalised_until.unwrap_or(tenant.created_at));
    let grace = chrono::Duration::from_std(finalize_after)
        .map_err(|_| DbError::Corrupt("billing.finalize_after_secs is out of range".into()))?;
    let mut done = Invoiced::default();
    for _ in 0..MAX_PERIODS_PER_ROUND {
        if period > last {
            break;
        }
        let finalise = period.end + grace <= as_of;
        let mut tx = pool.begin().await?;
        if let Some(invoice) = sql::lock_draft(&mut tx, tenant.id, period).await? {
            let lines = draft_lines(&mut tx, tenant, period, as_of).await?;
            sql::write_draft(&mut tx, invoice, &lines.content()?).await?;
            done.drafts_refreshed += 1;
            if finalise {
                let number = sql::finalise(&mut tx, invoice, as_of.year(), as_of).await?;
                tracing::info!(tenant_id = %tenant.id, %number, "invoice finalised");
                metrics::counter!(m::BILLING_INVOICES_FINALISED).increment(1);
                done.finalised += 1;
            }
        }
        tx.commit().await?;
        period = period.next();
    }
    Ok(done)
}

/// A draft's computed content.
struct Draft {
    lines: Vec<Line>,
    usage_micro: i128,
    adjustment_micro: i128,
}

impl Draft {
    fn content(&self) -> Result<DraftContent<'_>, DbError> {
        let i64_of = |v: i128| {
            i64::try_from(v).map_err(|_| DbError::Corrupt(format!("amount {v} µ¢ overflows")))
        };
        Ok(DraftContent {
            lines: &self.lines,
            total_cents: money::total_cents(&self.lines),
            usage_micro_cents: i64_of(self.usage_micro)?,
            adjustment_micro_cents: i64_of(self.adjustment_micro)?,
        })
    }
}

/// The plan whose allowance and overage price apply to `period`: the one
/// in force at its last second (or now, for the running month).
fn allowance_plan(
    period: Period,
    as_of: DateTime<Utc>,
    changes: &[PlanChange],
    current: Plan,
) -> Plan {
    let last_second = period.end - chrono::Duration::seconds(1);
    money::plan_at(last_second.min(as_of), changes, current)
}

async fn draft_lines(
    conn: &mut PgConnection,
    tenant: &BillableTenant,
    period: Period,
    as_of: DateTime<Utc>,
) -> Result<Draft, DbError> {
    let changes = sql::plan_changes(conn, tenant.id).await?;
    let spans = money::plan_seconds(period, tenant.created_at, &changes, tenant.plan);
    let plan = allowance_plan(period, as_of, &changes, tenant.plan);
    let usage = sql::period_usage(conn, tenant.id, period).await?;
    let mut lines = vec![money::base_line(period, &spans)];
    lines.extend(money::usage_lines(plan, usage));
    let usage_micro = money::usage_value_micro(plan, usage);

    let mut adjustment_micro: i128 = 0;
    for earlier in sql::finalised_before(conn, tenant.id, period.start).await? {
        let plan = allowance_plan(earlier.period, earlier.period.end, &changes, tenant.plan);
        let now_worth = money::usage_value_micro(
            plan,
            sql::period_usage(conn, tenant.id, earlier.period).await?,
        );
        adjustment_micro += now_worth
            - i128::from(earlier.usage_micro_cents)
            - i128::from(earlier.adjustment_micro_cents);
    }
    if adjustment_micro != 0 {
        lines.push(money::adjustment_line(adjustment_micro));
    }
    Ok(Draft {
        lines,
        usage_micro,
        adjustment_micro,
    })
}
