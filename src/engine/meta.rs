//! Rule metadata: `const RULE` and the `//!` documentation, read without running the script.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    #[default]
    Info,
    /// Minor.
    Low,
    /// Should be fixed.
    Medium,
    /// Breaks something or opens a real risk.
    High,
    /// Fix now.
    Critical,
}

impl Severity {
    /// All severities, most severe first.
    pub const ALL: [Self; 5] = [
        Self::Critical,
        Self::High,
        Self::Medium,
        Self::Low,
        Self::Info,
    ];

    /// Lowercase name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown severity `{s}`: expected critical, high, medium, low or info")
            })
    }
}

/// The documentation sections every rule must have.
pub const REQUIRED_SECTIONS: [&str; 3] = ["What it does", "Why is this bad?", "How to fix"];

/// A rule's identity and documentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleMeta {
    /// `<AREA><NNN>`, e.g. `WFM001`.
    pub id: String,
    /// kebab-case name of the bad pattern.
    pub name: String,
    /// Severity of its findings.
    pub severity: Severity,
    /// Tags for `--select`/`--ignore`.
    pub tags: Vec<String>,
    /// `stable`, `preview` or `removed`.
    pub status: String,
    /// First line of the docs.
    pub summary: String,
    /// The whole `//!` text, Markdown.
    pub docs: String,
    /// Where the rule came from: a file path, or `builtin:rules/…`.
    pub source: String,
    /// Line of `const RULE` in the source (1-based; 0 when unknown).
    pub line: usize,
    /// Snapshot datasets the rule reads (`RULE.needs`, e.g. `["accessPolicies"]`). When the
    /// snapshot could not read one, the rule reports "unknown" instead of running.
    pub needs: Vec<String>,
    /// The parameter keys the rule reads (`RULE.params`, e.g. `["permissions"]`); `None` when
    /// its `RULE` does not say, so any key is accepted. A rule whose `check` takes no
    /// parameters has none. Configuration naming another key is an error.
    pub params: Option<Vec<String>>,
    /// Parameter keys the rule cannot run without (`RULE.requires`, e.g.
    /// `["required_cidrs"]`): when one is absent or empty the rule is reported "not run" with
    /// the reason, never as passing.
    pub requires: Vec<String>,
}

impl RuleMeta {
    /// The text of one `## Section` of the docs, trimmed; `None` if absent.
    #[must_use]
    pub fn section(&self, title: &str) -> Option<String> {
        section(&self.docs, title)
    }

    /// Whether the rule is selected by an id or tag (case-insensitive; `ALL` matches every rule;
    /// a prefix such as `WFM` matches `WFM001`).
    #[must_use]
    pub fn matches_selector(&self, selector: &str) -> bool {
        selector.eq_ignore_ascii_case("all")
            || self.id.eq_ignore_ascii_case(selector)
            || (selector.len() < self.id.len()
                && self
                    .id
                    .get(..selector.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(selector))
                && selector.chars().all(|c| c.is_ascii_alphanumeric()))
            || self.name.eq_ignore_ascii_case(selector)
            || self.tags.iter().any(|t| t.eq_ignore_ascii_case(selector))
    }
}

#[cfg(test)]
impl RuleMeta {
    /// A rule's metadata with only what tests set: id, name, severity and tags.
    pub(crate) fn for_test(id: &str, name: &str, severity: Severity, tags: &[&str]) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            severity,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            status: "stable".into(),
            summary: String::new(),
            docs: String::new(),
            source: String::new(),
            line: 0,
            needs: Vec::new(),
            params: None,
            requires: Vec::new(),
        }
    }
}

pub(crate) fn section(docs: &str, title: &str) -> Option<String> {
    let mut lines = docs.lines();
    lines.find(|l| l.trim_start_matches('#').trim() == title && l.starts_with("##"))?;
    let body: Vec<&str> = lines.take_while(|l| !l.starts_with("## ")).collect();
    Some(body.join("\n").trim().to_owned())
}

/// Turn Rhai's doc-comment text into plain Markdown: drop the `//!` markers.
pub(crate) fn clean_docs(raw: &str) -> String {
    raw.lines()
        .map(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix("//!").unwrap_or(l);
            l.strip_prefix(' ').unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_found_by_title() {
        let docs = "Summary.\n\n## What it does\nFinds x.\n\n## Why is this bad?\nBecause.\n## How to fix\nDo y.";
        assert_eq!(section(docs, "What it does").unwrap(), "Finds x.");
        assert_eq!(section(docs, "How to fix").unwrap(), "Do y.");
        assert!(section(docs, "Example").is_none());
    }

    #[test]
    fn severity_parses_and_orders() {
        assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
        assert!(Severity::Critical > Severity::Low);
        assert!("urgent".parse::<Severity>().is_err());
    }

    #[test]
    fn selectors_match_id_prefix_tag_and_name() {
        let m = RuleMeta::for_test(
            "WFM001",
            "wfm-client-division-gap",
            Severity::High,
            &["oauth"],
        );
        for yes in [
            "WFM001",
            "wfm001",
            "WFM",
            "oauth",
            "wfm-client-division-gap",
            "all",
        ] {
            assert!(m.matches_selector(yes), "{yes}");
        }
        for no in ["WFM002", "OAU", "mfa", "W-"] {
            assert!(!m.matches_selector(no), "{no}");
        }
    }
}
