//! The human report: findings grouped by rule, rule errors with source snippets, a summary line.

use std::fmt::Write as _;

use super::{human_age, human_ms, ReportContext, Summary};
use crate::engine::{CheckReport, Finding, PlanChange, RuleError, RuleOutcome, Severity};
// Every piece of text from rules, org data or file names goes through `v` (the one sanitiser).
use crate::text::visible as v;

/// Most findings shown per rule without `--verbose`: a terminal is read by a person, and a rule
/// that reports thousands (or a runaway one) would bury the rest of the report.
const MAX_SHOWN: usize = 100;

/// Presentation switches for the human report.
#[derive(Debug, Clone, Copy, Default)]
pub struct HumanOptions {
    /// Use ANSI colors.
    pub color: bool,
    /// Show per-rule timings and what rules printed.
    pub verbose: bool,
}

fn paint(on: bool, code: &str, text: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn severity_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
        Severity::Info => "2",
    }
}

/// Render the report for a terminal.
#[must_use]
pub fn render_human(report: &CheckReport, ctx: &ReportContext<'_>, opts: HumanOptions) -> String {
    let c = opts.color;
    let mut out = String::new();
    // Worst first: the reader's attention goes to the top of the report.
    let outcomes = super::worst_first(report);
    let planned = !report.resolved.is_empty() || report.findings().any(|f| f.plan_change.is_some());
    if planned {
        // Grouped by what the change does to them; within a group, worst rule first.
        for (group, title) in [
            (PlanChange::New, "new with the change"),
            (PlanChange::Resolved, "resolved by the change"),
            (PlanChange::Unchanged, "unchanged by the change"),
        ] {
            let pool: Vec<&Finding> = if group == PlanChange::Resolved {
                report.resolved.iter().collect()
            } else {
                report
                    .findings()
                    .filter(|f| f.plan_change == Some(group))
                    .collect()
            };
            let _ = writeln!(out, "{} ({}):\n", paint(c, "1", title), pool.len());
            for o in &outcomes {
                let fs: Vec<&Finding> = pool
                    .iter()
                    .copied()
                    .filter(|f| f.rule_id == o.meta.id)
                    .collect();
                if !fs.is_empty() {
                    write_rule(&mut out, o, &fs, opts);
                }
            }
        }
    } else {
        for o in outcomes {
            if o.findings.is_empty() && o.error.is_none() && !opts.verbose {
                continue;
            }
            write_rule(&mut out, o, &o.findings.iter().collect::<Vec<_>>(), opts);
        }
    }
    // Rules that did not run are never silent: a clean result from them would be a lie.
    let not_run: Vec<_> = report.not_run().collect();
    if !not_run.is_empty() {
        let _ = writeln!(out, "{}", paint(c, "33", "not run:"));
        for (o, reason) in not_run {
            let _ = writeln!(
                out,
                "  {} {}: {}",
                v(&o.meta.id),
                v(&o.meta.name),
                v(reason)
            );
        }
        out.push('\n');
    }
    for e in report.errors() {
        render_error(&mut out, e, c);
    }
    let gaps: Vec<_> = ctx
        .org
        .snapshot()
        .coverage
        .iter()
        .filter(|g| g.status != "ok")
        .collect();
    if !gaps.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            paint(
                c,
                "33",
                "coverage gaps (rules that need this data report unknown, not clean):"
            )
        );
        for g in gaps {
            if g.status == "missing" {
                let _ = writeln!(out, "  {}: not in the snapshot file", v(&g.dataset));
                continue;
            }
            let _ = write!(out, "  {} ({})", v(&g.endpoint), v(&g.dataset));
            if let Some(s) = g.http_status {
                let _ = write!(out, ": {s}");
            }
            if let Some(code) = &g.error_code {
                let _ = write!(out, " `{}`", v(code));
            }
            if let Some(p) = &g.permission {
                let _ = write!(out, ", needs `{}`", v(p));
            }
            out.push('\n');
        }
        out.push('\n');
    }
    let warnings = ctx.org.warnings();
    if !warnings.is_empty() {
        let _ = writeln!(out, "{} snapshot warning(s):", warnings.len());
        for w in warnings.iter().take(10) {
            let _ = writeln!(out, "  {}", v(&w.to_string()));
        }
        if warnings.len() > 10 {
            let _ = writeln!(
                out,
                "  … and {} more (see --format json)",
                warnings.len() - 10
            );
        }
        out.push('\n');
    }
    for n in &report.notes {
        let _ = writeln!(out, "{} {}", paint(c, "33", "note:"), v(n));
    }
    if !report.notes.is_empty() {
        out.push('\n');
    }
    // The summary stays the last line: it is what a CI log's reader sees first.
    out.push_str(&super::verification_line(ctx.org.snapshot()));
    out.push('\n');
    out.push_str(&summary_line(report, ctx));
    out.push('\n');
    out
}

/// One rule's block: its header, then the given findings (fix, evidence, causes).
fn write_rule(out: &mut String, o: &RuleOutcome, findings: &[&Finding], opts: HumanOptions) {
    let c = opts.color;
    let sev = paint(c, severity_color(o.meta.severity), o.meta.severity.as_str());
    let count = match findings.len() {
        1 => "1 finding".to_owned(),
        n => format!("{n} findings"),
    };
    let _ = write!(
        out,
        "{} {} [{sev}] {count}",
        paint(c, "1", &v(&o.meta.id)),
        v(&o.meta.name)
    );
    if opts.verbose {
        let _ = write!(out, " ({})", human_ms(o.elapsed));
    }
    out.push('\n');
    let shown = if opts.verbose { usize::MAX } else { MAX_SHOWN };
    for f in findings.iter().take(shown) {
        let mut tags = String::new();
        if f.is_unknown() {
            tags.push_str(&paint(c, "1;33", "[unknown] "));
        }
        // With a plan the group heading says new/resolved; the tag is for a findings baseline.
        if f.new == Some(true) && f.plan_change.is_none() {
            tags.push_str(&paint(c, "1", "[new] "));
        }
        match &f.waiver {
            Some(w) if w.expired => {
                let _ = write!(tags, "[waiver expired {}] ", v(&w.expires));
            }
            Some(w) => {
                let label = format!("[waived until {}: {}]", v(&w.expires), v(&w.reason));
                let _ = write!(tags, "{} ", paint(c, "2", &label));
            }
            None => {}
        }
        let _ = writeln!(
            out,
            "  {tags}{} `{}`: {}",
            f.subject.kind,
            v(&f.subject.name),
            v(&f.message)
        );
        if let Some(fix) = &f.fix {
            let _ = writeln!(out, "    {} {}", paint(c, "32", "fix:"), v(fix));
        }
        for e in &f.evidence {
            let _ = writeln!(out, "    {} {}", paint(c, "2", "evidence:"), v(e));
        }
        if !f.caused_by.is_empty() {
            let list: Vec<String> = f.caused_by.iter().map(|a| format!("`{}`", v(a))).collect();
            let _ = writeln!(
                out,
                "    {} {}",
                paint(c, "35", "caused by:"),
                list.join(", ")
            );
        }
    }
    if findings.len() > shown {
        let _ = writeln!(
            out,
            "  … and {} more (`--verbose` or `--format json` shows them all)",
            findings.len() - shown
        );
    }
    if opts.verbose {
        for line in &o.log {
            let _ = writeln!(out, "    {} {}", paint(c, "2", "print:"), v(line));
        }
    }
    out.push('\n');
}

fn render_error(out: &mut String, e: &RuleError, c: bool) {
    let id = e
        .rule_id
        .as_deref()
        .map(|i| format!("[{}]", v(i)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{}: {}: {}",
        paint(c, "1;31", &format!("error{id}")),
        e.kind,
        v(&e.message)
    );
    let _ = writeln!(out, "  --> {}", v(&e.location()));
    if !e.snippet.is_empty() {
        let width = e.line.to_string().len();
        let mut lines = e.snippet.lines();
        if let Some(code) = lines.next() {
            let _ = writeln!(out, "  {:>width$} | {}", e.line, v(code));
        }
        if let Some(caret) = lines.next() {
            let _ = writeln!(out, "  {:>width$} | {}", "", paint(c, "1;31", &v(caret)));
        }
    }
    if let Some(h) = &e.help {
        let _ = writeln!(out, "  help: {}", v(h));
    }
    out.push('\n');
}

/// `14 findings (1 critical, …) from 12 rules in 3.2 ms · 0 errors · source …`.
#[must_use]
pub fn summary_line(report: &CheckReport, ctx: &ReportContext<'_>) -> String {
    let s = Summary::of(report, ctx);
    let parts: Vec<String> = Severity::ALL
        .iter()
        .zip(s.by_severity)
        .filter(|(_, n)| *n > 0)
        .map(|(sev, n)| format!("{n} {sev}"))
        .collect();
    let mut line = format!(
        "{} finding{}",
        s.findings,
        if s.findings == 1 { "" } else { "s" }
    );
    if !parts.is_empty() {
        let _ = write!(line, " ({})", parts.join(", "));
    }
    if s.unknown > 0 {
        let _ = write!(line, ", {} unknown", s.unknown);
    }
    if s.waived > 0 {
        let _ = write!(line, ", {} waived", s.waived);
    }
    if let Some(n) = s.new {
        let _ = write!(line, ", {n} new");
    }
    let not_run = if s.not_run > 0 {
        format!(" ({} not run)", s.not_run)
    } else {
        String::new()
    };
    let _ = write!(
        line,
        " from {} rule{}{not_run} in {} · {} error{}",
        s.rules,
        if s.rules == 1 { "" } else { "s" },
        human_ms(report.elapsed),
        s.errors,
        if s.errors == 1 { "" } else { "s" }
    );
    let snap = ctx.org.snapshot();
    let _ = write!(line, " · {}", ctx.source_kind);
    if let Some(p) = &ctx.source_path {
        let _ = write!(line, " `{}`", v(p));
    }
    let _ = write!(line, " (org `{}`", v(&snap.organization.name));
    match (&snap.fetched_at, ctx.age()) {
        (Some(at), Some(age)) => {
            let _ = write!(line, ", fetched {}, {}", v(at), human_age(age));
        }
        (Some(at), None) => {
            let _ = write!(line, ", fetch time unreadable (`{}`)", v(at));
        }
        _ => line.push_str(", fetch time unknown"),
    }
    line.push(')');
    line
}
