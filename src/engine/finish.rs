//! The finishing step every command applies to a [`CheckReport`] after the rules ran: waivers
//! (accepted findings with a reason and an expiry) and the findings baseline (which findings
//! are new). One place, so `check`, `watch` and later commands cannot disagree about what
//! counts.
//!
//! Waived findings stay in reports, marked; expired waivers turn their findings back on with a
//! note; waivers that match nothing are reported so they can be removed.

use std::collections::HashSet;

use serde::Serialize;

use super::{CheckReport, Finding};

/// The `format` of `rolecall check --format json` reports, which a findings baseline must be.
pub const CHECK_FORMAT: &str = "rolecall.check/1";

/// One accepted finding pattern from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    /// Rule id.
    pub rule: String,
    /// `kind:glob` (e.g. `client:ci-*`) or a glob on the object's name or id.
    pub subject: String,
    /// Why it is accepted.
    pub reason: String,
    /// Last day it applies, `YYYY-MM-DD` (a real calendar date: see [`valid_date`]).
    pub expires: String,
}

/// How a finding relates to a waiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaiverMark {
    /// The waiver's reason.
    pub reason: String,
    /// Its expiry date.
    pub expires: String,
    /// Whether it has expired (the finding counts again).
    pub expired: bool,
}

/// Fingerprints of the findings of an earlier report: findings it lacks are new.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    known: HashSet<String>,
}

impl Baseline {
    /// Read the fingerprints of a `rolecall check --format json` report.
    ///
    /// # Errors
    /// A message when the text is not JSON or not such a report.
    pub fn from_json_report(text: &str) -> Result<Self, String> {
        let doc: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("it is not JSON: {e}"))?;
        if doc["format"] != CHECK_FORMAT {
            return Err(format!("it is not a `{CHECK_FORMAT}` report"));
        }
        Ok(Self {
            known: doc["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["fingerprint"].as_str().map(str::to_owned))
                .collect(),
        })
    }

    /// A baseline of these findings (for tests and embedders comparing two runs).
    #[must_use]
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Self {
        Self {
            known: findings.into_iter().map(Finding::fingerprint).collect(),
        }
    }

    /// Whether the baseline has this finding.
    #[must_use]
    pub fn contains(&self, f: &Finding) -> bool {
        self.known.contains(&f.fingerprint())
    }
}

/// What the finishing step applies: resolved once with the settings.
#[derive(Debug, Clone, Default)]
pub struct Finish {
    /// Accepted findings.
    pub waivers: Vec<Waiver>,
    /// An earlier report: only findings it lacks are new (and only new ones fail).
    pub baseline: Option<Baseline>,
}

impl Finish {
    /// Mark waived and new findings, and add notes about expired and unused waivers. `today` is
    /// `YYYY-MM-DD` (see [`today`]); a waiver applies through its expiry day.
    pub fn apply(&self, report: &mut CheckReport, today: &str) {
        let notes = apply_waivers(report, &self.waivers, today);
        report.notes.extend(notes);
        if let Some(b) = &self.baseline {
            for f in report
                .outcomes
                .iter_mut()
                .flat_map(|o| o.findings.iter_mut())
            {
                f.new = Some(!b.contains(f));
            }
        }
    }
}

/// Compare the report of the org after a planned change with the report of the org before it:
/// mark each finding `new` or `unchanged`, list the before-org's findings the change resolves
/// in `after.resolved`, and attribute the new and resolved ones to the resource addresses
/// `causes` names for their object (kind, id). With `new_only`, only new findings count against `--fail-on`, through the
/// same mark a findings baseline sets.
pub fn mark_plan_changes(
    after: &mut CheckReport,
    before: &CheckReport,
    new_only: bool,
    causes: impl Fn(&str, &str) -> Vec<String>,
) {
    let known = Baseline::of(before.findings());
    for f in after
        .outcomes
        .iter_mut()
        .flat_map(|o| o.findings.iter_mut())
    {
        let was = known.contains(f);
        f.plan_change = Some(if was {
            super::PlanChange::Unchanged
        } else {
            super::PlanChange::New
        });
        // Only what the change makes new is attributed to it.
        if !was {
            f.caused_by = causes(f.subject.kind, &f.subject.id);
        }
        if new_only {
            f.new = Some(!was);
        }
    }
    let now = Baseline::of(after.findings());
    after.resolved = before
        .findings()
        .filter(|f| !now.contains(f))
        .map(|f| {
            let mut f = f.clone();
            f.plan_change = Some(super::PlanChange::Resolved);
            f.caused_by = causes(f.subject.kind, &f.subject.id);
            f.new = None;
            f
        })
        .collect();
}

/// A planned change rolecall could not read completely, as the rules see it: its address, what
/// could not be read (naming the address and the field), and the snapshot datasets it could
/// alter.
#[derive(Debug, Clone, Copy)]
pub struct PlanUnknown<'a> {
    /// The resource address.
    pub address: &'a str,
    /// What could not be read, e.g. `` `genesyscloud_user_roles.x`: `roles` is marked sensitive``.
    pub what: &'a str,
    /// The datasets (`RULE.needs` names) the change could alter.
    pub datasets: &'a [&'a str],
}

/// With `--plan`: a rule whose data a planned change could alter, where rolecall could not read
/// the change, cannot decide. It gets one unknown finding per such change, on the org, new and
/// caused by the change's address, at the rule's severity: an audit gate fails closed on what
/// it could not check, as it does on a snapshot's coverage gaps (`--allow-unknown` lets it
/// pass). A rule that declares no `needs` could read anything. Added after the finishing step:
/// no waiver or baseline hides a change nobody could read.
pub fn mark_plan_unknowns(
    after: &mut CheckReport,
    org: (&str, &str),
    unknown: &[PlanUnknown<'_>],
    new_only: bool,
) {
    for o in &mut after.outcomes {
        for u in unknown {
            let needs = &o.meta.needs;
            if !needs.is_empty() && !needs.iter().any(|n| u.datasets.contains(&n.as_str())) {
                continue;
            }
            o.findings.push(Finding {
                rule_id: o.meta.id.clone(),
                severity: o.meta.severity,
                status: super::FindingStatus::Unknown,
                subject: super::ObjectKey {
                    kind: "org",
                    id: org.0.to_owned(),
                    name: org.1.to_owned(),
                },
                message: format!(
                    "unknown: {}; the planned change could alter what this rule reads",
                    u.what
                ),
                fix: Some("review the change by hand, or plan it so rolecall can read it: values not sensitive, known at plan time, of resource types it models".to_owned()),
                plan_change: Some(super::PlanChange::New),
                caused_by: vec![u.address.to_owned()],
                new: new_only.then_some(true),
                ..Finding::default()
            });
        }
    }
}

/// Whether `s` is a `YYYY-MM-DD` date that exists on the calendar (`2027-02-31` does not).
#[must_use]
pub fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
    {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (num(0..4), num(5..7), num(8..10));
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// Today's date (UTC) as `YYYY-MM-DD`.
#[must_use]
pub fn today() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .chars()
        .take(10)
        .collect()
}

fn matches(w: &Waiver, f: &Finding) -> bool {
    if !w.rule.eq_ignore_ascii_case(&f.rule_id) {
        return false;
    }
    let glob = super::glob_match;
    match w.subject.split_once(':') {
        Some((kind, pat)) if kind == f.subject.kind => {
            glob(pat, &f.subject.name) || glob(pat, &f.subject.id)
        }
        Some(_) => false,
        None => glob(&w.subject, &f.subject.name) || glob(&w.subject, &f.subject.id),
    }
}

/// Mark waived findings and return notes: expired waivers and waivers that match nothing.
/// Dates compare as `YYYY-MM-DD` text.
fn apply_waivers(report: &mut CheckReport, waivers: &[Waiver], today: &str) -> Vec<String> {
    let mut used = vec![false; waivers.len()];
    for o in &mut report.outcomes {
        for f in &mut o.findings {
            if let Some((i, w)) = waivers.iter().enumerate().find(|(_, w)| matches(w, f)) {
                used[i] = true;
                f.waiver = Some(WaiverMark {
                    reason: w.reason.clone(),
                    expires: w.expires.clone(),
                    expired: today > w.expires.as_str(),
                });
            }
        }
    }
    let mut notes = Vec::new();
    for (w, used) in waivers.iter().zip(used) {
        if !used {
            notes.push(format!(
                "waiver for {} `{}` matches no finding: remove it",
                w.rule, w.subject
            ));
        } else if today > w.expires.as_str() {
            notes.push(format!(
                "waiver for {} `{}` expired on {}: its findings count again",
                w.rule, w.subject, w.expires
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{ObjectKey, RuleMeta, RuleOutcome};

    #[test]
    fn dates_are_calendar_dates() {
        assert!(valid_date("2027-03-31"));
        assert!(valid_date("2028-02-29"), "a leap year");
        assert!(valid_date("2000-02-29"), "divisible by 400");
        assert!(!valid_date("2027-02-29"));
        assert!(!valid_date("1900-02-29"), "divisible by 100, not 400");
        assert!(!valid_date("2027-02-31"));
        assert!(!valid_date("2027-04-31"));
        assert!(!valid_date("2027-13-01"));
        assert!(!valid_date("2027-00-10"));
        assert!(!valid_date("2027-01-00"));
        assert!(!valid_date("27-03-31"));
        assert!(!valid_date("2027-1-011"));
        assert!(!valid_date("soon"));
        assert!(!valid_date("２０２７-01-01"), "non-ASCII digits");
        assert_eq!(today().len(), 10);
        assert!(valid_date(&today()));
    }

    fn report_with(subjects: &[&str]) -> CheckReport {
        let findings = subjects
            .iter()
            .map(|s| Finding {
                rule_id: "OAU002".into(),
                subject: ObjectKey {
                    kind: "client",
                    id: format!("id-{s}"),
                    name: (*s).to_owned(),
                },
                message: "holds admin".into(),
                ..Finding::default()
            })
            .collect();
        CheckReport {
            outcomes: vec![RuleOutcome {
                meta: std::sync::Arc::new(RuleMeta::for_test(
                    "OAU002",
                    "x",
                    crate::engine::Severity::High,
                    &[],
                )),
                findings,
                error: None,
                elapsed: std::time::Duration::ZERO,
                gaps_read: Vec::new(),
                log: Vec::new(),
                not_run: None,
            }],
            load_errors: Vec::new(),
            elapsed: std::time::Duration::ZERO,
            notes: Vec::new(),
            resolved: Vec::new(),
        }
    }

    #[test]
    fn waivers_mark_expire_and_report_unused() {
        let waiver = |subject: &str, expires: &str| Waiver {
            rule: "oau002".into(),
            subject: subject.into(),
            reason: "migration".into(),
            expires: expires.into(),
        };
        let mut r = report_with(&["ci-deployer", "other"]);
        let finish = Finish {
            waivers: vec![
                waiver("client:ci-*", "2027-03-31"),
                waiver("user:*", "2027-03-31"),
            ],
            baseline: None,
        };
        finish.apply(&mut r, "2027-03-31");
        let f = &r.outcomes[0].findings;
        assert!(f[0].waiver.as_ref().is_some_and(|w| !w.expired));
        assert!(!f[0].counts());
        assert!(f[1].waiver.is_none() && f[1].counts());
        assert_eq!(
            r.notes,
            ["waiver for oau002 `user:*` matches no finding: remove it"]
        );
        let mut r = report_with(&["ci-deployer"]);
        finish.apply(&mut r, "2027-04-01");
        assert!(r.outcomes[0].findings[0].counts(), "expired: counts again");
        assert!(r.notes.iter().any(|n| n.contains("expired on 2027-03-31")));
    }

    #[test]
    fn a_planned_change_marks_new_unchanged_and_resolved_findings() {
        let before = report_with(&["a", "b"]);
        let mut after = report_with(&["b", "c"]);
        mark_plan_changes(&mut after, &before, true, |kind, id| {
            vec![format!("{kind}/{id}")]
        });
        let marks: Vec<_> = after
            .findings()
            .map(|f| {
                (
                    f.subject.name.as_str(),
                    f.plan_change,
                    f.new,
                    f.caused_by.clone(),
                )
            })
            .collect();
        assert_eq!(
            marks,
            [
                (
                    "b",
                    Some(super::super::PlanChange::Unchanged),
                    Some(false),
                    vec![]
                ),
                (
                    "c",
                    Some(super::super::PlanChange::New),
                    Some(true),
                    vec!["client/id-c".to_owned()]
                ),
            ]
        );
        assert_eq!(after.resolved.len(), 1);
        let a = &after.resolved[0];
        assert_eq!(a.subject.name, "a");
        assert_eq!(a.plan_change, Some(super::super::PlanChange::Resolved));
        assert_eq!(a.caused_by, ["client/id-a"]);
        assert!(
            !after
                .findings()
                .any(|f| f.subject.name == "b" && f.counts()),
            "unchanged does not fail with new_only"
        );
        let mut all = report_with(&["b"]);
        mark_plan_changes(&mut all, &before, false, |_, _| Vec::new());
        assert!(
            all.findings().all(Finding::counts),
            "without new_only every finding counts"
        );
    }

    #[test]
    fn a_baseline_marks_new_findings() {
        let before = report_with(&["a"]);
        let mut after = report_with(&["a", "b"]);
        let finish = Finish {
            waivers: Vec::new(),
            baseline: Some(Baseline::of(before.findings())),
        };
        finish.apply(&mut after, "2027-01-01");
        let new: Vec<Option<bool>> = after.findings().map(|f| f.new).collect();
        assert_eq!(new, [Some(false), Some(true)]);
        let text = format!(
            r#"{{"format": "{CHECK_FORMAT}", "findings": [{{"fingerprint": "{}"}}]}}"#,
            before.outcomes[0].findings[0].fingerprint()
        );
        assert_eq!(
            Baseline::from_json_report(&text).unwrap(),
            Baseline::of(before.findings())
        );
        assert!(Baseline::from_json_report("{}")
            .unwrap_err()
            .contains("not a `rolecall.check/1` report"));
        assert!(Baseline::from_json_report("nope")
            .unwrap_err()
            .contains("not JSON"));
    }
}
