//! `check --statistics`: findings counted per rule, most first, as ruff's `--statistics`
//! prints them (a table, or `rolecall.statistics/1` JSON). Rules that did not run or errored
//! are listed too, so an empty table never hides them.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::{ReportContext, Summary};
use crate::engine::{CheckReport, RuleOutcome};

/// The `format` tag of the JSON statistics.
pub const STATISTICS_FORMAT: &str = "rolecall.statistics/1";

/// The rules with findings, most findings first (then worst, then id), and the others that
/// must be seen: errored or not run.
fn rows(report: &CheckReport) -> Vec<&RuleOutcome> {
    let mut rows: Vec<&RuleOutcome> = super::worst_first(report)
        .into_iter()
        .filter(|o| !o.findings.is_empty() || o.error.is_some() || o.not_run.is_some())
        .collect();
    // Stable: equal counts keep the worst-first order.
    rows.sort_by_key(|o| std::cmp::Reverse(o.findings.len()));
    rows
}

fn status(o: &RuleOutcome) -> &'static str {
    if o.error.is_some() {
        "error"
    } else if o.not_run.is_some() {
        "not-run"
    } else {
        "ok"
    }
}

/// The statistics as a table for a terminal.
#[must_use]
pub fn render_statistics(report: &CheckReport, ctx: &ReportContext<'_>) -> String {
    let mut out = String::new();
    for o in rows(report) {
        let failing = o.findings.iter().filter(|f| ctx.counts(f)).count();
        let note = match (status(o), failing == o.findings.len()) {
            ("error", _) => " (rule error)".to_owned(),
            ("not-run", _) => " (not run)".to_owned(),
            (_, true) => String::new(),
            (_, false) => format!(" ({failing} counting)"),
        };
        let _ = writeln!(
            out,
            "{:>6}  {:<7} {:<8} {}{note}",
            o.findings.len(),
            crate::text::visible(&o.meta.id),
            o.meta.severity.as_str(),
            crate::text::visible(&o.meta.name),
        );
    }
    let s = Summary::of(report, ctx);
    let _ = writeln!(
        out,
        "{:>6}  findings in total, {} failing",
        s.findings, s.failing
    );
    out
}

/// The statistics as a JSON document, `rolecall.statistics/1`.
#[must_use]
pub fn statistics_json(report: &CheckReport, ctx: &ReportContext<'_>) -> Value {
    let s = Summary::of(report, ctx);
    let rules: Vec<Value> = rows(report)
        .into_iter()
        .map(|o| {
            json!({
                "id": o.meta.id,
                "name": o.meta.name,
                "severity": o.meta.severity.as_str(),
                "count": o.findings.len(),
                "failing": o.findings.iter().filter(|f| ctx.counts(f)).count(),
                "status": status(o),
                "reason": o.not_run,
            })
        })
        .collect();
    json!({
        "format": STATISTICS_FORMAT,
        "findings": s.findings,
        "failing": s.failing,
        "rules": rules,
    })
}
