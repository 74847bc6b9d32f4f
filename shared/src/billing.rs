//! The money of docs/adr/0003-plans.md, pure: billing periods (UTC calendar months), the
//! base price prorated by seconds across plan changes, included jobs and
//! overage, metered compute, and the one rounding rule. No I/O: the
//! scheduler feeds it rollups and plan history and stores what it returns.
//!
//! Amounts are integers: cents on invoices, micro-cents (10^-6 ¢) inside a
//! line, rounded to cents once per line (half away from zero).

use crate::tenant::Plan;
use chrono::{DateTime, Datelike, TimeZone, Utc};

/// Micro-cents in a cent.
pub const MICRO_PER_CENT: i128 = 1_000_000;
/// CPU compute: 0.01 ¢ (10,000 µ¢) per 10^9 vertex-visits.
pub const CPU_MICRO_PER_GIGA_VISITS: i128 = 10_000;
/// GPU compute: 0.05 ¢ per GPU-second = 50 µ¢ per GPU-millisecond.
pub const GPU_MICRO_PER_MS: i128 = 50;

/// The price of one job beyond the plan's included jobs, in micro-cents.
/// Free refuses jobs past its allowance (402), so it never has overage.
pub fn overage_micro_per_job(plan: Plan) -> i128 {
    match plan {
        Plan::Free => 0,
        Plan::Starter => 200_000,
        Plan::Professional => 100_000,
        Plan::Enterprise => 50_000,
    }
}

/// Micro-cents to cents, rounded half away from zero: the one rounding.
pub fn round_to_cents(micro: i128) -> i64 {
    let half = MICRO_PER_CENT / 2;
    let cents = match micro >= 0 {
        true => (micro + half) / MICRO_PER_CENT,
        false => (micro - half) / MICRO_PER_CENT,
    };
    i64::try_from(cents).unwrap_or(if cents > 0 { i64::MAX } else { i64::MIN })
}

/// A billing period: one UTC calendar month, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Period {
    /// The month containing `t`.
    pub fn containing(t: DateTime<Utc>) -> Period {
        let start = month_start(t.year(), t.month());
        let (y, m) = next_month(t.year(), t.month());
        Period {
            start,
            end: month_start(y, m),
        }
    }

    pub fn next(self) -> Period {
        Period::containing(self.end)
    }

    pub fn seconds(self) -> i64 {
        (self.end - self.start).num_seconds()
    }
}

fn next_month(year: i32, month: u32) -> (i32, u32) {
    match month {
        12 => (year + 1, 1),
        m => (year, m + 1),
    }
}

fn month_start(year: i32, month: u32) -> DateTime<Utc> {
    // Day 1 at midnight exists in every month of every year chrono handles.
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A recorded plan change: from `from` to `to` at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanChange {
    pub at: DateTime<Utc>,
    pub from: Plan,
    pub to: Plan,
}

/// Seconds each plan was in force during `period`, counting from
/// `active_from` (the tenant's creation). `changes` are in time order;
/// `current` is the plan now (used when no change is recorded).
pub fn plan_seconds(
    period: Period,
    active_from: DateTime<Utc>,
    changes: &[PlanChange],
    current: Plan,
) -> Vec<(Plan, i64)> {
    let start = period.start.max(active_from);
    if start >= period.end {
        return Vec::new();
    }
    // The plan in force at `start`: the last change at or before it, else
    // what the first later change moved away from, else the current plan.
    let mut plan = changes
        .iter()
        .rev()
        .find(|c| c.at <= start)
        .map(|c| c.to)
        .or_else(|| changes.iter().find(|c| c.at > start).map(|c| c.from))
        .unwrap_or(current);
    let mut spans: Vec<(Plan, i64)> = Vec::new();
    let mut from = start;
    let mut add = |plan: Plan, secs: i64| match spans.iter_mut().find(|(p, _)| *p == plan) {
        Some((_, s)) => *s += secs,
        None => spans.push((plan, secs)),
    };
    for change in changes.iter().filter(|c| c.at > start && c.at < period.end) {
        add(plan, (change.at - from).num_seconds());
        from = change.at;
        plan = change.to;
    }
    add(plan, (period.end - from).num_seconds());
    spans.retain(|(_, s)| *s > 0);
    spans
}

/// The plan in force at the end of the period's active part: its included
/// jobs and overage price apply to the whole period.
pub fn plan_at(t: DateTime<Utc>, changes: &[PlanChange], current: Plan) -> Plan {
    changes
        .iter()
        .rev()
        .find(|c| c.at <= t)
        .map(|c| c.to)
        .or_else(|| changes.iter().find(|c| c.at > t).map(|c| c.from))
        .unwrap_or(current)
}

/// Billed usage of a period: billable events only (platform failures are
/// not billed), each job once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub billable_jobs: i64,
    pub cpu_vertex_visits: i64,
    pub gpu_compute_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Base,
    Overage,
    ComputeCpu,
    ComputeGpu,
    Adjustment,
}

impl LineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Base => "base",
            LineKind::Overage => "overage",
            LineKind::ComputeCpu => "compute_cpu",
            LineKind::ComputeGpu => "compute_gpu",
            LineKind::Adjustment => "adjustment",
        }
    }
}

/// One invoice line: exact micro-cents and the cents it rounds to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub kind: LineKind,
    pub description: String,
    pub quantity: i64,
    pub amount_micro_cents: i128,
    pub amount_cents: i64,
}

impl Line {
    fn new(kind: LineKind, description: String, quantity: i64, micro: i128) -> Line {
        Line {
            kind,
            description,
            quantity,
            amount_micro_cents: micro,
            amount_cents: round_to_cents(micro),
        }
    }
}

/// The base price, each plan's monthly price times its share of the
/// period's seconds, summed and rounded once. Quantity: seconds billed.
pub fn base_line(period: Period, spans: &[(Plan, i64)]) -> Line {
    let total = i128::from(period.seconds().max(1));
    let micro: i128 = spans
        .iter()
        .map(|&(plan, secs)| {
            i128::from(plan.limits().price_cents_per_month) * MICRO_PER_CENT * i128::from(secs)
                / total
        })
        .sum();
    let names: Vec<String> = spans
        .iter()
        .map(|(p, s)| format!("{p} {s}/{total} s"))
        .collect();
    let seconds = spans.iter().map(|(_, s)| *s).sum();
    Line::new(
        LineKind::Base,
        format!("base price ({})", names.join(", ")),
        seconds,
        micro,
    )
}

/// The usage lines of a period: overage jobs past the plan's included
/// jobs, CPU vertex-visits, GPU milliseconds.
pub fn usage_lines(plan: Plan, usage: Usage) -> [Line; 3] {
    let included = i64::try_from(plan.limits().jobs_included_per_month).unwrap_or(i64::MAX);
    let over = (usage.billable_jobs - included).max(0);
    let cpu = i128::from(usage.cpu_vertex_visits) * CPU_MICRO_PER_GIGA_VISITS / 1_000_000_000;
    let gpu = i128::from(usage.gpu_compute_ms) * GPU_MICRO_PER_MS;
    [
        Line::new(
            LineKind::Overage,
            format!("{over} jobs beyond the {included} included in {plan}"),
            over,
            i128::from(over) * overage_micro_per_job(plan),
        ),
        Line::new(
            LineKind::ComputeCpu,
            "CPU compute, vertex-visits".to_owned(),
            usage.cpu_vertex_visits,
            cpu,
        ),
        Line::new(
            LineKind::ComputeGpu,
            "GPU compute, milliseconds".to_owned(),
            usage.gpu_compute_ms,
            gpu,
        ),
    ]
}

/// Exact value of a period's usage lines, in micro-cents: what a finalised
/// invoice froze, and what later events are measured against.
pub fn usage_value_micro(plan: Plan, usage: Usage) -> i128 {
    usage_lines(plan, usage)
        .iter()
        .map(|l| l.amount_micro_cents)
        .sum()
}

/// An adjustment line carrying late usage of finalised periods.
pub fn adjustment_line(micro: i128) -> Line {
    Line::new(
        LineKind::Adjustment,
        "usage recorded after earlier invoices were finalised".to_owned(),
        1,
        micro,
    )
}

/// Sum of the lines' cents: an invoice's total.
pub fn total_cents(lines: &[Line]) -> i64 {
    lines.iter().map(|l| l.amount_cents).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn periods_are_utc_calendar_months() {
        let p = Period::containing(at(2026, 12, 31) + chrono::Duration::hours(23));
        assert_eq!((p.start, p.end), (at(2026, 12, 1), at(2027, 1, 1)));
        assert_eq!(Period::containing(at(2028, 2, 10)).seconds(), 29 * 86_400);
        assert_eq!(p.next().start, at(2027, 1, 1));
    }

    #[test]
    fn rounding_is_half_away_from_zero_once() {
        assert_eq!(round_to_cents(499_999), 0);
        assert_eq!(round_to_cents(500_000), 1);
        assert_eq!(round_to_cents(-500_000), -1);
        assert_eq!(round_to_cents(-499_999), 0);
    }

    #[test]
    fn a_full_month_on_one_plan_costs_its_price() {
        let p = Period::containing(at(2026, 3, 5));
        let spans = plan_seconds(p, at(2025, 1, 1), &[], Plan::Starter);
        assert_eq!(spans, vec![(Plan::Starter, 31 * 86_400)]);
        assert_eq!(base_line(p, &spans).amount_cents, 2_900);
    }

    #[test]
    fn free_to_professional_on_the_16th_of_april_bills_half() {
        let p = Period::containing(at(2026, 4, 1));
        let change = PlanChange {
            at: at(2026, 4, 16),
            from: Plan::Free,
            to: Plan::Professional,
        };
        let spans = plan_seconds(p, at(2025, 1, 1), &[change], Plan::Professional);
        assert_eq!(
            spans,
            vec![(Plan::Free, 15 * 86_400), (Plan::Professional, 15 * 86_400)]
        );
        assert_eq!(base_line(p, &spans).amount_cents, 4_950);
        assert_eq!(plan_at(p.end, &[change], Plan::Free), Plan::Professional);
    }

    #[test]
    fn proration_rounds_once_over_the_summed_shares() {
        // Starter for 1 s then professional: 2900/2592000 + 9900*2591999/2592000 ¢.
        let p = Period::containing(at(2026, 4, 1));
        let c = PlanChange {
            at: at(2026, 4, 1) + chrono::Duration::seconds(1),
            from: Plan::Starter,
            to: Plan::Professional,
        };
        let spans = plan_seconds(p, at(2025, 1, 1), &[c], Plan::Professional);
        assert_eq!(base_line(p, &spans).amount_cents, 9_900);
    }

    #[test]
    fn a_tenant_created_mid_month_pays_from_creation() {
        let p = Period::containing(at(2026, 4, 1));
        let spans = plan_seconds(p, at(2026, 4, 16), &[], Plan::Professional);
        assert_eq!(base_line(p, &spans).amount_cents, 4_950);
        assert!(plan_seconds(p, at(2026, 5, 2), &[], Plan::Starter).is_empty());
    }

    #[test]
    fn starter_overage_and_metered_compute_by_hand() {
        let usage = Usage {
            billable_jobs: 10_003,
            cpu_vertex_visits: 25_000_000_000,
            gpu_compute_ms: 12_345,
        };
        let [over, cpu, gpu] = usage_lines(Plan::Starter, usage);
        // 3 × 0.2 ¢ = 0.6 ¢ → 1 ¢.
        assert_eq!((over.quantity, over.amount_micro_cents), (3, 600_000));
        assert_eq!(over.amount_cents, 1);
        // 25 × 0.01 ¢ = 0.25 ¢ → 0 ¢.
        assert_eq!((cpu.amount_micro_cents, cpu.amount_cents), (250_000, 0));
        // 12.345 s × 0.05 ¢ = 0.61725 ¢ → 1 ¢.
        assert_eq!((gpu.amount_micro_cents, gpu.amount_cents), (617_250, 1));
        assert_eq!(usage_value_micro(Plan::Starter, usage), 1_467_250);
    }

    #[test]
    fn free_has_no_overage_and_enterprise_is_cheapest() {
        let usage = Usage {
            billable_jobs: 2_000_000,
            ..Usage::default()
        };
        assert_eq!(usage_lines(Plan::Free, usage)[0].amount_cents, 0);
        // 1,000,000 × 0.05 ¢ = 50,000 ¢.
        assert_eq!(usage_lines(Plan::Enterprise, usage)[0].amount_cents, 50_000);
    }
}
