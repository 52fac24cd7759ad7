//! Reporters: turn a [`CheckReport`] into human or machine output.
//!
//! Reporters return strings or values and never print; the CLI decides where output goes.
//! One file per format.

mod diff;
mod escape;
mod explain;
mod github;
mod html;
mod human;
mod json;
mod junit;
mod markdown;
mod plan;
mod query;
mod rules;
mod sarif;
mod statistics;
mod usage;
mod verify;

use std::time::{Duration, SystemTime};

pub use diff::{diff_json, render_diff, render_diff_attributed};
pub use escape::escape;
pub use explain::{explanation_json, render_baseline, render_explanation};
pub use github::render_github;
pub use html::{render_html, HtmlOptions, HTML_DATA_FORMAT};
pub use human::{render_human, summary_line, HumanOptions};
pub use json::{render_json, write_json, JSON_FORMAT};
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use plan::{plan_access_json, render_gates, render_plan_access, GateResult};
pub use query::{
    access_json, render_access, render_who_can, who_can_csv, who_can_json, ACCESS_FORMAT,
    WHO_CAN_FORMAT,
};
pub use rules::{json_document, rule_json, rules_json, RULES_FORMAT, RULE_FORMAT};
pub use sarif::render_sarif;
pub use statistics::{render_statistics, statistics_json, STATISTICS_FORMAT};
pub use usage::{
    held_used_section, impact_html, impact_json, impact_markdown, render_impact, render_rightsize,
    rightsize_json, IMPACT_FORMAT, RIGHTSIZE_FORMAT,
};
pub use verify::{
    render_plan, render_verify, verification_line, verify_headline, verify_json, VERIFY_FORMAT,
};

use crate::engine::{CheckReport, Severity};
use crate::model::Org;

/// Everything a reporter needs besides the findings: where the data came from.
#[derive(Debug, Clone)]
pub struct ReportContext<'a> {
    /// The org that was checked.
    pub org: &'a Org,
    /// `sample`, `snapshot`, `live`…
    pub source_kind: String,
    /// The snapshot file, when there was one.
    pub source_path: Option<String>,
    /// The threshold at or above which findings fail the run (`None` = never).
    pub fail_on: Option<Severity>,
    /// "Now", for the snapshot's age (a parameter so tests are reproducible).
    pub now: SystemTime,
    /// `--allow-unknown`: findings a rule could not decide do not fail the run.
    pub allow_unknown: bool,
}

impl ReportContext<'_> {
    /// Whether a finding counts against the gate: not waived, new with a baseline, and not an
    /// unknown one when unknowns are allowed.
    #[must_use]
    pub fn counts(&self, f: &crate::engine::Finding) -> bool {
        f.counts() && !(self.allow_unknown && f.is_unknown())
    }

    /// How old the snapshot is, if it records when it was fetched.
    #[must_use]
    pub fn age(&self) -> Option<Duration> {
        let at = self.org.snapshot().fetched_at.as_deref()?;
        let t = humantime::parse_rfc3339_weak(at).ok()?;
        Some(self.now.duration_since(t).unwrap_or_default())
    }
}

/// Counts for the summary line and the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Findings per severity, most severe first (same order as [`Severity::ALL`]).
    pub by_severity: [usize; 5],
    /// All findings.
    pub findings: usize,
    /// Rules selected for the run (those that did not run included).
    pub rules: usize,
    /// Rules that did not run (a required parameter absent, or the rule's own `not_run`).
    pub not_run: usize,
    /// Rule errors (load and run time).
    pub errors: usize,
    /// Findings at or above the threshold that count (not waived; new, with a baseline).
    pub failing: usize,
    /// Findings accepted by an unexpired waiver.
    pub waived: usize,
    /// With a findings baseline: findings it lacked.
    pub new: Option<usize>,
    /// Findings a rule could not decide (included in `findings`).
    pub unknown: usize,
}

impl Summary {
    /// Count a report against the context's threshold.
    #[must_use]
    pub fn of(report: &CheckReport, ctx: &ReportContext<'_>) -> Self {
        let fail_on = ctx.fail_on;
        let mut s = Self {
            rules: report.outcomes.len(),
            not_run: report
                .outcomes
                .iter()
                .filter(|o| o.not_run.is_some())
                .count(),
            errors: report.errors().count(),
            ..Self::default()
        };
        for f in report.findings() {
            s.findings += 1;
            if let Some(i) = Severity::ALL.iter().position(|x| *x == f.severity) {
                s.by_severity[i] += 1;
            }
            if f.waiver.as_ref().is_some_and(|w| !w.expired) {
                s.waived += 1;
            }
            if let Some(new) = f.new {
                *s.new.get_or_insert(0) += usize::from(new);
            }
            s.unknown += usize::from(f.is_unknown());
            if ctx.counts(f) && fail_on.is_some_and(|t| f.severity >= t) {
                s.failing += 1;
            }
        }
        s
    }
}

/// The rules' outcomes worst first (severity, then id): the order every human-facing report
/// shows them in, because the reader's attention goes to the top.
#[must_use]
pub fn worst_first(report: &CheckReport) -> Vec<&crate::engine::RuleOutcome> {
    let mut outcomes: Vec<_> = report.outcomes.iter().collect();
    outcomes.sort_by(|a, b| {
        b.meta
            .severity
            .cmp(&a.meta.severity)
            .then_with(|| a.meta.id.cmp(&b.meta.id))
    });
    outcomes
}

/// "3 days", "5 hours", "just now".
#[must_use]
pub fn human_age(age: Duration) -> String {
    let s = age.as_secs();
    let (n, unit) = match s {
        0..=59 => return "just now".to_owned(),
        60..=3599 => (s / 60, "minute"),
        3600..=86_399 => (s / 3600, "hour"),
        _ => (s / 86_400, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// Milliseconds with one decimal below 10 ms.
#[must_use]
pub fn human_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}
