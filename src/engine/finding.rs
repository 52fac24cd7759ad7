//! [`Finding`]: one problem a rule reported about one object.

use serde::Serialize;

use super::meta::Severity;

/// The Genesys object a finding is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectKey {
    /// `user`, `group`, `client`, `role`, `division`, `policy`, `business-unit`,
    /// `management-unit` or `org`.
    pub kind: &'static str,
    /// The object's id.
    pub id: String,
    /// The object's name.
    pub name: String,
}

/// One reported problem.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The rule that reported it.
    pub rule_id: String,
    /// The rule's severity.
    pub severity: Severity,
    /// What it is about.
    pub subject: ObjectKey,
    /// What is wrong.
    pub message: String,
    /// The smallest fix, when the rule gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Supporting facts (grants, policies, divisions).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// The waiver that accepts it, if any (see `rolecall.toml`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<super::finish::WaiverMark>,
    /// With `--baseline-findings`: whether the baseline lacked it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<bool>,
    /// With `--plan`: whether the change makes this finding new, resolves it, or leaves it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_change: Option<PlanChange>,
    /// With `--plan`: the resource addresses that touch the finding's object.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caused_by: Vec<String>,
    /// `unknown` when the rule could not decide (missing data, an unconfirmed fact); absent for
    /// a problem found.
    #[serde(skip_serializing_if = "FindingStatus::is_found")]
    pub status: FindingStatus,
}

/// How a finding of the org after a planned change relates to the org before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanChange {
    /// Only the after-org has it.
    New,
    /// Only the before-org has it: the change resolves it.
    Resolved,
    /// Both have it.
    Unchanged,
}

impl PlanChange {
    /// The JSON word: `new`, `resolved`, `unchanged`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Resolved => "resolved",
            Self::Unchanged => "unchanged",
        }
    }
}

/// Whether a finding is a problem found or a question the rule could not decide. An unknown
/// finding keeps its rule's severity and fails `--fail-on` like any other (an audit gate fails
/// closed) unless unknowns are allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingStatus {
    /// A problem the rule found.
    #[default]
    Found,
    /// The rule could not decide.
    Unknown,
}

impl FindingStatus {
    /// Whether this is a found problem (the default, not written out).
    #[must_use]
    pub fn is_found(&self) -> bool {
        *self == Self::Found
    }
}

impl Finding {
    /// Stable identity across runs: rule id + object kind + object id + message. Rules write
    /// messages from the object's data, so the same problem gives the same key.
    #[must_use]
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.rule_id, self.subject.kind, self.subject.id, self.message
        )
    }

    /// The key as a short stable hash (FNV-1a, 64 bits, hex), for SARIF fingerprints.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.key().bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }

    /// Whether the finding counts against `--fail-on`: not waived (or the waiver expired), and
    /// new when a baseline was given.
    #[must_use]
    pub fn counts(&self) -> bool {
        self.waiver.as_ref().is_none_or(|w| w.expired) && self.new != Some(false)
    }

    /// Whether the rule could not decide this one.
    #[must_use]
    pub fn is_unknown(&self) -> bool {
        self.status == FindingStatus::Unknown
    }
}
