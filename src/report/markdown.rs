//! Markdown: a compact table for pull-request comments and CI job summaries, worst first.

use std::fmt::Write as _;

use super::{ReportContext, Summary};
use crate::engine::{CheckReport, Severity};

/// Most rows in the table; the rest are counted.
const MAX_ROWS: usize = 50;

/// Text from a rule or the org, made visible by the one sanitiser and kept inside its table
/// cell (a `|` would start a new one).
fn cell(s: &str) -> String {
    crate::text::visible(s).replace('|', "\\|")
}

/// Render the report as Markdown.
#[must_use]
pub fn render_markdown(report: &CheckReport, ctx: &ReportContext<'_>) -> String {
    let s = Summary::of(report, ctx);
    let counts: Vec<String> = Severity::ALL
        .iter()
        .zip(s.by_severity)
        .filter(|(_, n)| *n > 0)
        .map(|(sev, n)| format!("{n} {sev}"))
        .collect();
    let mut out = format!(
        "### rolecall: {} finding{}{} in `{}`\n\n",
        s.findings,
        if s.findings == 1 { "" } else { "s" },
        if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        },
        cell(&ctx.org.snapshot().organization.name)
    );
    let _ = writeln!(
        out,
        "_{}_\n",
        cell(&super::verification_line(ctx.org.snapshot()))
    );
    let mut findings: Vec<_> = report.findings().collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule_id.cmp(&b.rule_id))
    });
    if !findings.is_empty() {
        out.push_str("| severity | rule | subject | finding | fix |\n|---|---|---|---|---|\n");
        for f in findings.iter().take(MAX_ROWS) {
            let mut sev = f.severity.to_string();
            if f.is_unknown() {
                sev.push_str(" · unknown");
            }
            if f.new == Some(true) {
                sev.push_str(" · new");
            }
            if f.waiver.as_ref().is_some_and(|w| !w.expired) {
                sev.push_str(" · waived");
            }
            let _ = writeln!(
                out,
                "| {} | {} | {} `{}` | {} | {} |",
                sev,
                cell(&f.rule_id),
                f.subject.kind,
                cell(&f.subject.name),
                cell(&f.message),
                cell(f.fix.as_deref().unwrap_or(""))
            );
        }
        if findings.len() > MAX_ROWS {
            let _ = writeln!(out, "\n… and {} more findings.", findings.len() - MAX_ROWS);
        }
        out.push('\n');
    }
    let not_run: Vec<_> = report.not_run().collect();
    if !not_run.is_empty() {
        let _ = writeln!(out, "**{} rule(s) not run:**\n", not_run.len());
        for (o, reason) in not_run {
            let _ = writeln!(
                out,
                "- {} {}: {}",
                cell(&o.meta.id),
                cell(&o.meta.name),
                cell(reason)
            );
        }
        out.push('\n');
    }
    let errors: Vec<_> = report.errors().collect();
    if !errors.is_empty() {
        let _ = writeln!(out, "**{} rule error(s):**\n", errors.len());
        for e in errors {
            let _ = writeln!(
                out,
                "- `{}` {}: {}",
                cell(&e.location()),
                e.kind,
                cell(&e.message)
            );
        }
        out.push('\n');
    }
    for n in &report.notes {
        let _ = writeln!(out, "> {}", cell(n));
    }
    let _ = writeln!(
        out,
        "{} rule{}{} · {} failing{}{}",
        s.rules,
        if s.rules == 1 { "" } else { "s" },
        if s.not_run > 0 {
            format!(" ({} not run)", s.not_run)
        } else {
            String::new()
        },
        s.failing,
        if s.waived > 0 {
            format!(" · {} waived", s.waived)
        } else {
            String::new()
        },
        s.new.map(|n| format!(" · {n} new")).unwrap_or_default()
    );
    out
}
