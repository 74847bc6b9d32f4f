//! The report's picture: the cumulative distribution of submit and
//! submit→terminal latency, as a self-contained SVG (log-scale milliseconds
//! on x, fraction of jobs on y). Hand-written: two polylines and axes do not
//! need a plotting crate.

use crate::report::Report;
use std::fmt::Write as _;

const W: f64 = 720.0;
const H: f64 = 420.0;
const LEFT: f64 = 60.0;
const BOTTOM: f64 = 50.0;
const TOP: f64 = 40.0;
const RIGHT: f64 = 40.0;

/// The SVG document for `report`.
pub fn svg(report: &Report) -> String {
    let all = report
        .submit_cdf_ms
        .iter()
        .chain(&report.end_to_end_cdf_ms)
        .copied()
        .filter(|v| *v > 0.0);
    let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo <= hi {
        (
            10f64.powf(lo.log10().floor()),
            10f64.powf(hi.log10().ceil().max(lo.log10().floor() + 1.0)),
        )
    } else {
        (0.1, 1000.0)
    };
    let x = |ms: f64| {
        LEFT + (ms.max(lo).log10() - lo.log10()) / (hi.log10() - lo.log10()) * (W - LEFT - RIGHT)
    };
    let y = |f: f64| H - BOTTOM - f * (H - BOTTOM - TOP);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(out, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let title = format!(
        "{} · {} · {:.0} jobs/s completed · {} errors",
        report.mode,
        report.mix,
        report.completed_per_s,
        report.error_count()
    );
    let _ = write!(
        out,
        r#"<text x="{LEFT}" y="24" font-size="14">{}</text>"#,
        escape(&title)
    );
    let mut decade = lo;
    while decade <= hi * 1.000_001 {
        let px = x(decade);
        let _ = write!(
            out,
            r##"<line x1="{px:.1}" y1="{:.1}" x2="{px:.1}" y2="{:.1}" stroke="#ddd"/><text x="{px:.1}" y="{:.1}" text-anchor="middle">{decade} ms</text>"##,
            y(0.0),
            y(1.0),
            y(0.0) + 18.0
        );
        decade *= 10.0;
    }
    for f in [0.0, 0.5, 0.9, 1.0] {
        let py = y(f);
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end">{f}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            py + 4.0
        );
    }
    for (points, colour, label, row) in [
        (&report.submit_cdf_ms, "#2563eb", "submit (202)", 0.0),
        (
            &report.end_to_end_cdf_ms,
            "#dc2626",
            "submit → terminal",
            1.0,
        ),
    ] {
        let n = points.len();
        if n > 0 {
            let path: Vec<String> = points
                .iter()
                .enumerate()
                .map(|(i, &ms)| format!("{:.1},{:.1}", x(ms), y((i + 1) as f64 / n as f64)))
                .collect();
            let _ = write!(
                out,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
                path.join(" ")
            );
        }
        let ly = TOP + 14.0 + row * 16.0;
        let _ = write!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="12" height="3" fill="{colour}"/><text x="{:.1}" y="{:.1}">{label}</text>"#,
            W - RIGHT - 150.0,
            ly - 4.0,
            W - RIGHT - 134.0,
            ly
        );
    }
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">latency (log scale); y: fraction of jobs at or below</text></svg>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 10.0
    );
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
