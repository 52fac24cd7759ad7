//! GitHub Actions workflow commands (`--format github`): one `::error`/`::warning`/`::notice`
//! line per finding, rule error and rule that did not run, so a workflow run annotates the
//! snapshot or rule file without a SARIF upload; the summary line last.
//!
//! A workflow command is one line whose properties and message are percent-encoded as the
//! runner decodes them (`%`, CR, LF; in properties also `:` and `,`), so no org name or rule
//! message can end the line early or start a command of its own.

use std::fmt::Write as _;

use super::{summary_line, ReportContext};
use crate::engine::{CheckReport, Severity};

/// The annotation level GitHub shows for a severity: errors fail the eye, notices do not.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "notice",
    }
}

/// A message: encoded as the runner decodes it, then made visible by the one sanitiser.
fn data(s: &str) -> String {
    // Line breaks are encoded first (the runner shows them as breaks); every other control
    // character is then made visible, and none of this can produce a raw line break.
    crate::text::visible(
        &s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A"),
    )
    .into_owned()
}

/// A property value (`file`, `title`): as [`data`], and `:` and `,` too, which end a property.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Render the report as workflow commands.
#[must_use]
pub fn render_github(report: &CheckReport, ctx: &ReportContext<'_>) -> String {
    let mut out = String::new();
    for o in super::worst_first(report) {
        let (file, line) = super::sarif::anchor(&o.meta, ctx);
        for f in &o.findings {
            let mut tags = String::new();
            if f.is_unknown() {
                tags.push_str(" [unknown]");
            }
            if f.waiver.as_ref().is_some_and(|w| !w.expired) {
                tags.push_str(" [waived]");
            }
            if f.new == Some(true) {
                tags.push_str(" [new]");
            }
            // Findings that do not count against the gate are notices, whatever their severity.
            let lvl = if ctx.counts(f) {
                level(f.severity)
            } else {
                "notice"
            };
            let mut msg = format!("{} `{}`: {}", f.subject.kind, f.subject.name, f.message);
            if let Some(fix) = &f.fix {
                let _ = write!(msg, "\nfix: {fix}");
            }
            let _ = writeln!(
                out,
                "::{lvl} file={},line={line},title={}::{}",
                property(&file),
                property(&format!(
                    "{} {} [{}]{tags}",
                    o.meta.id, o.meta.name, f.severity
                )),
                data(&msg)
            );
        }
        if let Some(reason) = &o.not_run {
            let _ = writeln!(
                out,
                "::warning file={},line={line},title={}::{}",
                property(&file),
                property(&format!("{} {} not run", o.meta.id, o.meta.name)),
                data(reason)
            );
        }
    }
    for e in report.errors() {
        let file = e.file.strip_prefix("builtin:").unwrap_or(&e.file);
        let _ = writeln!(
            out,
            "::error file={},line={},col={},title={}::{}",
            property(&super::sarif::uri(file)),
            e.line.max(1),
            e.column.max(1),
            property(&format!(
                "rolecall {} error{}",
                e.kind,
                e.rule_id
                    .as_deref()
                    .map(|r| format!(" in {r}"))
                    .unwrap_or_default()
            )),
            data(&e.message)
        );
    }
    out.push_str(&crate::text::visible(&summary_line(report, ctx)));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newline_or_separator_in_a_name_cannot_end_the_command() {
        assert_eq!(data("a\nb%c"), "a%0Ab%25c");
        assert_eq!(property("x:y,z"), "x%3Ay%2Cz");
        // A line feed made visible first never reaches the runner as a new line.
        assert!(!data("evil\n::error::forged").contains('\n'));
    }
}
