//! Waivers: accepted findings with a reason and an expiry. Waived findings stay in reports,
//! marked; expired waivers turn their findings back on with a note; unused waivers are reported.

use serde::Serialize;

use crate::engine::{CheckReport, Finding};

/// One accepted finding pattern from the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    /// Rule id.
    pub rule: String,
    /// `kind:glob` (e.g. `client:ci-*`) or a glob on the object's name or id.
    pub subject: String,
    /// Why it is accepted.
    pub reason: String,
    /// Last day it applies, `YYYY-MM-DD`.
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

/// Whether `s` is a `YYYY-MM-DD` date.
pub(crate) fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && s.chars()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&s[5..7].parse::<u8>().unwrap_or(0))
        && (1..=31).contains(&s[8..10].parse::<u8>().unwrap_or(0))
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
    let glob = crate::engine::glob_match;
    match w.subject.split_once(':') {
        Some((kind, pat)) if kind == f.subject.kind => {
            glob(pat, &f.subject.name) || glob(pat, &f.subject.id)
        }
        Some(_) => false,
        None => glob(&w.subject, &f.subject.name) || glob(&w.subject, &f.subject.id),
    }
}

/// Mark waived findings and return notes: expired waivers and waivers that match nothing.
/// Dates compare as `YYYY-MM-DD` text; a waiver applies through its expiry day.
pub fn apply_waivers(report: &mut CheckReport, waivers: &[Waiver], today: &str) -> Vec<String> {
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

    #[test]
    fn dates() {
        assert!(valid_date("2027-03-31"));
        assert!(!valid_date("2027-13-01"));
        assert!(!valid_date("27-03-31"));
        assert!(!valid_date("soon"));
        assert_eq!(today().len(), 10);
        assert!(valid_date(&today()));
    }
}
