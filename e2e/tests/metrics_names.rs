//! Issue 7: every metric a dashboard or an alert rule names is one the
//! processes really emit. Runs the three real binaries, takes one job end
//! to end, scrapes `/metrics` of each process, and compares with the names
//! read from the PromQL of `monitoring/dashboards/*.json` (`expr` fields)
//! and `monitoring/alerts.yml` (`expr:` keys). A histogram's `_bucket`,
//! `_sum` and `_count` series count as its base name on both sides.

use catalytic_e2e::{Binary, Client, Env, wait_ready};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

const READY: Duration = Duration::from_secs(30);
const FINISH: Duration = Duration::from_secs(60);

/// PromQL words that look like identifiers but name no series (besides
/// `LABEL_LISTS`): binary operators and modifiers, and the aggregation
/// operators, which may be followed by `by (…)` before their `(`.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];
/// Modifiers whose parenthesised list holds label names, not series.
const LABEL_LISTS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];
/// Series Prometheus makes itself when it scrapes: no process emits them.
const SYNTHETIC: &[&str] = &[
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

fn base_name(name: &str) -> &str {
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(name)
}

/// Skips from the opening `open` at `i` past its matching `close`,
/// stepping over quoted strings.
fn skip_group(chars: &[char], mut i: usize, open: char, close: char) -> usize {
    let mut depth = 0;
    while i < chars.len() {
        match chars[i] {
            '"' | '\'' | '`' => i = skip_string(chars, i),
            c if c == open => {
                depth += 1;
                i += 1;
            }
            c if c == close => {
                depth -= 1;
                i += 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    i
}

fn skip_string(chars: &[char], i: usize) -> usize {
    let quote = chars[i];
    let mut j = i + 1;
    while j < chars.len() && chars[j] != quote {
        j += if chars[j] == '\\' { 2 } else { 1 };
    }
    j + 1
}

/// The series names a PromQL expression selects: identifiers that are not
/// functions (followed by `(`), keywords, label names (inside `{…}` or a
/// `by (…)` list), durations (`[…]`), numbers or `$variables`.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i = skip_string(&chars, i);
        } else if c == '{' {
            i = skip_group(&chars, i, '{', '}');
        } else if c == '[' {
            i = skip_group(&chars, i, '[', ']');
        } else if c == '$' || c.is_ascii_digit() {
            // A dashboard variable, a number or a duration (5m, 1e3, 0.95).
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_.".contains(chars[i])) {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_:".contains(chars[i])) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let call = chars.get(next) == Some(&'(');
            if LABEL_LISTS.contains(&word.as_str()) && call {
                i = skip_group(&chars, next, '(', ')');
            } else if !call
                && !KEYWORDS.contains(&word.to_lowercase().as_str())
                && !LABEL_LISTS.contains(&word.as_str())
            {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

/// Every `expr` value in a dashboard's JSON.
fn dashboard_exprs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr", Value::String(expr)) => out.push(expr.clone()),
                    _ => dashboard_exprs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| dashboard_exprs(v, out)),
        _ => {}
    }
}

/// Every `expr:` of an alert rules file: inline, or a `|` / `>` block of
/// the lines indented deeper than the key.
fn rule_exprs(yaml: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut exprs = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let indent = line.len() - line.trim_start().len();
        i += 1;
        let Some(rest) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        let rest = rest.trim();
        if !rest.starts_with('|') && !rest.starts_with('>') {
            exprs.push(rest.trim_matches(|c| c == '"' || c == '\'').to_owned());
            continue;
        }
        let mut block = Vec::new();
        while i < lines.len()
            && (lines[i].trim().is_empty() || lines[i].len() - lines[i].trim_start().len() > indent)
        {
            block.push(lines[i].trim());
            i += 1;
        }
        exprs.push(block.join(" "));
    }
    exprs
}

fn monitoring_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../monitoring")
}

/// (source file, expression) of every dashboard and rule expression.
fn named_metrics() -> anyhow::Result<BTreeSet<(String, String)>> {
    let dir = monitoring_dir();
    let mut sources: Vec<(String, Vec<String>)> = Vec::new();
    for entry in std::fs::read_dir(dir.join("dashboards"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let mut exprs = Vec::new();
            dashboard_exprs(
                &serde_json::from_str(&std::fs::read_to_string(&path)?)?,
                &mut exprs,
            );
            anyhow::ensure!(!exprs.is_empty(), "{} has no expr", path.display());
            sources.push((path.display().to_string(), exprs));
        }
    }
    let rules = dir.join("alerts.yml");
    sources.push((
        rules.display().to_string(),
        rule_exprs(&std::fs::read_to_string(&rules)?),
    ));
    let mut named = BTreeSet::new();
    for (file, exprs) in sources {
        for expr in exprs {
            for name in metric_names(&expr) {
                if !SYNTHETIC.contains(&name.as_str()) {
                    named.insert((base_name(&name).to_owned(), file.clone()));
                }
            }
        }
    }
    Ok(named)
}

/// The base names of the series one `/metrics` page renders.
async fn scrape(url: &str) -> anyhow::Result<BTreeSet<String>> {
    let text = reqwest::get(url).await?.error_for_status()?.text().await?;
    Ok(text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(|name| base_name(name).to_owned())
        .collect())
}

#[test]
fn metric_names_are_read_from_promql() {
    let names = |e: &str| metric_names(e).into_iter().collect::<Vec<_>>();
    assert_eq!(
        names(
            r#"histogram_quantile(0.95, sum by (le, route) (rate(a_seconds_bucket{x="y}"}[5m]))) or max by (route) (a_seconds{quantile="0.95"})"#
        ),
        ["a_seconds", "a_seconds_bucket"]
    );
    assert_eq!(
        names("sum(rate(x_total[$__rate_interval])) / on (job) group_left (v) b > 3 * c offset 1h"),
        ["b", "c", "x_total"]
    );
    assert_eq!(names(r#"absent(up{job=~"catalytic-.*"} == 1)"#), ["up"]);
    assert_eq!(
        rule_exprs(
            "  - alert: A\n    expr: |\n      sum(a)\n        / sum(b) > 1\n    for: 5m\n  - alert: B\n    expr: max(c) > 2\n"
        ),
        ["sum(a) / sum(b) > 1", "max(c) > 2"]
    );
}

#[tokio::test]
async fn every_metric_in_dashboards_and_alerts_is_scraped_after_a_job() -> anyhow::Result<()> {
    let named = named_metrics()?;
    anyhow::ensure!(named.len() > 10, "too few names read: {named:?}");

    let env = Env::new().await?;
    let key = env.bootstrap("starter")?;
    let api = env.spawn(Binary::Api, &[])?;
    let worker = env.spawn(Binary::Worker, &[])?;
    let scheduler = env.spawn(
        Binary::Scheduler,
        &[("CATALYTIC_AUTOSCALE__INTERVAL_MS", "200")],
    )?;
    let api_probe = format!("http://127.0.0.1:{}", env.api_probe_port);
    let worker_probe = format!("http://127.0.0.1:{}", env.worker_probe_port);
    let scheduler_probe = format!("http://127.0.0.1:{}", env.scheduler_probe_port);
    for ready in [env.api_url(), worker_probe.clone(), scheduler_probe.clone()] {
        wait_ready(&format!("{ready}/readyz"), READY).await?;
    }
    let client = Client::new(env.api_url(), key);
    let id = client
        .submit(
            &json!({"lattice": {"dimensions": 2, "size": 8}, "operation": "shortest_path",
                        "params": {"start": [0, 0], "end": [7, 7]}}),
        )
        .await?;
    let job = client.wait_terminal(&id, FINISH).await?;
    assert_eq!(job["status"], "succeeded", "{job}");

    let mut scraped = BTreeSet::new();
    let mut by_process = Vec::new();
    for (process, base) in [
        ("api", api_probe),
        ("worker", worker_probe),
        ("scheduler", scheduler_probe),
    ] {
        let families = scrape(&format!("{base}/metrics")).await?;
        scraped.extend(families.iter().cloned());
        by_process.push((process, families));
    }
    // Issue 19: each process exports its own families only. The scaling
    // signal comes from the scheduler alone (a 0 from an api or worker pod
    // would read as "no workers needed" to KEDA's max()); every process has
    // its build info and the standard process metrics.
    let scaling = [
        "catalytic_desired_workers",
        "catalytic_class_desired_workers",
        "catalytic_queue_ready_messages",
        "catalytic_jobs_running",
        "catalytic_oldest_queued_job_seconds",
        "catalytic_dlq_depth_messages",
        "catalytic_outbox_lag_seconds",
    ];
    for (process, families) in &by_process {
        for common in [
            "catalytic_build_info",
            "process_resident_memory_bytes",
            "process_cpu_seconds_total",
        ] {
            assert!(families.contains(common), "{process} lacks {common}");
        }
        for name in scaling {
            assert_eq!(
                families.contains(name),
                *process == "scheduler",
                "{name} on the {process}"
            );
        }
        let own = match *process {
            "api" => "catalytic_http_requests_total",
            "worker" => "catalytic_worker_jobs_in_flight",
            _ => "catalytic_outbox_published_total",
        };
        for (other, families) in &by_process {
            assert_eq!(
                families.contains(own),
                other == process,
                "{own} on the {other}"
            );
        }
    }
    let missing: Vec<String> = named
        .iter()
        .filter(|(name, _)| !scraped.contains(name))
        .map(|(name, file)| format!("{name} (in {file})"))
        .collect();
    assert!(
        missing.is_empty(),
        "named in monitoring/ but emitted by no process: {missing:#?}"
    );
    drop((api, worker, scheduler));
    env.teardown().await
}
