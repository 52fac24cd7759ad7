//! [`Finding`]: one problem a rule reported about one object.

use serde::Serialize;

use super::meta::Severity;

/// The Genesys object a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
}

impl Finding {
    /// Stable identity across runs: rule id + object kind + object id + message.
    #[must_use]
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.rule_id, self.subject.kind, self.subject.id, self.message
        )
    }
}
