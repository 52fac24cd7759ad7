//! JUnit XML: one test case per rule, a `<failure>` per counting finding, an `<error>` for a
//! rule that errored. CI systems show it as a test report.

use std::fmt::Write as _;

use super::ReportContext;
use crate::engine::CheckReport;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            // Bidi overrides and other invisible controls: the same character, as a reference a
            // viewer shows instead of obeying (the one sanitiser's list of unsafe characters).
            c if crate::text::is_unsafe(c) && !c.is_ascii() => {
                let _ = write!(out, "&#x{:x};", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Render the report as JUnit XML. Counts are of test cases, as JUnit defines them: a rule
/// with counting findings is one failed case (one `<failure>` listing them all), a rule that
/// errored one error, a rule that did not run one skipped case; `tests` counts every case, so
/// `failures + errors + skipped <= tests` always holds.
#[must_use]
pub fn render_junit(report: &CheckReport, ctx: &ReportContext<'_>) -> String {
    let counted =
        |o: &crate::engine::RuleOutcome| o.findings.iter().filter(|f| ctx.counts(f)).count();
    let errors =
        report.outcomes.iter().filter(|o| o.error.is_some()).count() + report.load_errors.len();
    let failures = report
        .outcomes
        .iter()
        .filter(|o| o.error.is_none() && counted(o) > 0)
        .count();
    let skipped = report
        .outcomes
        .iter()
        .filter(|o| o.error.is_none() && o.not_run.is_some())
        .count();
    let tests = report.outcomes.len() + report.load_errors.len();
    let secs = report.elapsed.as_secs_f64();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"rolecall\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{secs:.3}\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"rolecall check: {}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{secs:.3}\">",
        esc(&ctx.org.snapshot().organization.name),
    );
    for o in &report.outcomes {
        let _ = write!(
            out,
            "    <testcase name=\"{} {}\" classname=\"rolecall.{}\" time=\"{:.3}\">",
            esc(&o.meta.id),
            esc(&o.meta.name),
            esc(o.meta.tags.first().map_or("rules", String::as_str)),
            o.elapsed.as_secs_f64()
        );
        let mut body = String::new();
        let failing: Vec<&crate::engine::Finding> =
            o.findings.iter().filter(|f| ctx.counts(f)).collect();
        if let Some(first) = failing.first() {
            let mut detail = String::new();
            for f in &failing {
                if !detail.is_empty() {
                    detail.push_str("\n\n");
                }
                let _ = write!(
                    detail,
                    "{}{} `{}`: {}",
                    if f.is_unknown() { "[unknown] " } else { "" },
                    f.subject.kind,
                    f.subject.name,
                    f.message
                );
                if let Some(fix) = &f.fix {
                    let _ = write!(detail, "\nfix: {fix}");
                }
                for e in &f.evidence {
                    let _ = write!(detail, "\nevidence: {e}");
                }
            }
            let headline = format!(
                "{} `{}`: {}",
                first.subject.kind, first.subject.name, first.message
            );
            let message = match failing.len() {
                1 => headline,
                n => format!("{n} findings; first: {headline}"),
            };
            // Unknown only when the rule could decide none of them.
            let kind = if failing.iter().all(|f| f.is_unknown()) {
                format!("{} unknown", o.meta.severity)
            } else {
                o.meta.severity.to_string()
            };
            let _ = write!(
                body,
                "\n      <failure message=\"{}\" type=\"{kind}\">{}</failure>",
                esc(&message),
                esc(&detail)
            );
        }
        if let Some(e) = &o.error {
            let _ = write!(
                body,
                "\n      <error message=\"{}\" type=\"{}\">{}\n{}</error>",
                esc(&e.message),
                e.kind,
                esc(&e.location()),
                esc(&e.snippet)
            );
        }
        if let Some(reason) = &o.not_run {
            let _ = write!(
                body,
                "\n      <skipped message=\"not run: {}\"/>",
                esc(reason)
            );
        }
        let waived: Vec<String> = o
            .findings
            .iter()
            .filter(|f| !ctx.counts(f))
            .map(|f| {
                format!(
                    "not counted ({}): {} `{}`: {}",
                    if f.new == Some(false) {
                        "in baseline"
                    } else if f.counts() {
                        "unknown, allowed"
                    } else {
                        "waived"
                    },
                    f.subject.kind,
                    f.subject.name,
                    f.message
                )
            })
            .collect();
        if !waived.is_empty() {
            let _ = write!(
                body,
                "\n      <system-out>{}</system-out>",
                esc(&waived.join("\n"))
            );
        }
        if body.is_empty() {
            out.push_str("</testcase>\n");
        } else {
            let _ = write!(out, "{body}\n    </testcase>\n");
        }
    }
    for e in &report.load_errors {
        let _ = writeln!(
            out,
            "    <testcase name=\"{}\" classname=\"rolecall.load\" time=\"0\">\n      <error message=\"{}\" type=\"{}\">{}</error>\n    </testcase>",
            esc(&e.file),
            esc(&e.message),
            e.kind,
            esc(&e.location())
        );
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
