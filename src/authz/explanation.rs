//! What an explanation says: the checks in order with their status, each permission's check,
//! the policies weighed, the verdict with its 403 code and fix, the assumptions, and which
//! operation catalog described the call. Built by `explain` (the fold over `steps`).

use serde::Serialize;

use super::question::TargetObject;
use super::verdict::{Outcome, Verdict};
use super::words::target_text;
use crate::catalog::Origin;
use crate::model::Org;

/// The code of the 401 a caller outside the org's IP allow-list gets, before any permission is
/// weighed.
pub const IP_NOT_AUTHORIZED: &str = "ip.not.authorized";

/// The per-agent failure of an agent move, reported in its 202 answer rather than as a 403.
pub const PER_AGENT_CODE: &str = "SourceManagementUnitNotAuthorized";

/// The answer for one candidate target of a question asked without one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetVerdict {
    /// The target, e.g. "management unit `EU Agents` (division `Support EU`)".
    pub target: String,
    /// The division that decides it (for a management unit, its own).
    pub division: Option<String>,
    /// The verdict there.
    pub verdict: Verdict,
    /// The 403 code there, if denied.
    pub code: Option<String>,
    /// Other codes the service may answer there.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternative_codes: Vec<String>,
    /// The division ids whose grants would decide it (the unit's and its business unit's).
    #[serde(skip)]
    pub division_ids: Vec<String>,
    /// Why, in a few words: the first check that did not allow it.
    pub reason: String,
}

impl TargetVerdict {
    pub(super) fn of(org: &Org, t: TargetObject, ex: &Explanation) -> Self {
        let division = match t {
            TargetObject::Division(d) => Some(d),
            TargetObject::ManagementUnit(m) => org.mu_division(m),
            TargetObject::BusinessUnit(b) => org.bu_division(b),
        }
        .and_then(|d| org.snapshot().divisions.get(d as usize))
        .map(|d| d.name.clone());
        // The check that decided: a failure first, else the first undecided one.
        let reason = ex
            .steps
            .iter()
            .find(|s| s.status == Status::Fail)
            .or_else(|| ex.steps.iter().find(|s| s.status == Status::Unknown))
            .map_or_else(String::new, |s| format!("{}: {}", s.check, s.detail));
        Self {
            target: target_text(org, t),
            division,
            verdict: ex.verdict,
            code: ex.code.clone(),
            alternative_codes: ex.alternative_codes.clone(),
            division_ids: ex.division_ids.clone(),
            reason,
        }
    }
}

/// Which operation catalog answered the question, for the reader to judge how current it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogUsed {
    /// Where its operations come from.
    pub origin: Origin,
    /// How many operations it holds.
    pub operations: usize,
    /// Whether the built-in catalog answered because the snapshot's own lacks the operation
    /// (then `primary` says how many operations the snapshot's own catalog has).
    pub fell_back: bool,
    /// Operations in the snapshot's own catalog when it fell back.
    pub primary: usize,
}

impl CatalogUsed {
    /// In words, with its age at `now`.
    #[must_use]
    pub fn describe(&self, now: std::time::SystemTime) -> String {
        let text = self.origin.describe(self.operations, now);
        if !self.fell_back {
            text
        } else if self.primary == 0 {
            format!("{text}: {}", crate::catalog::NO_OWN_CATALOG)
        } else {
            format!(
                "{text}: the snapshot's own catalog ({} operations) does not list this operation",
                self.primary
            )
        }
    }
}

/// The outcome of one check, as reports show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Passed.
    Ok,
    /// Failed.
    Fail,
    /// Could not be decided (or may fail).
    Unknown,
    /// Does not apply.
    Skipped,
}

impl Status {
    /// How an [`Outcome`] is shown.
    #[must_use]
    pub fn of(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Allowed => Self::Ok,
            Outcome::Skipped => Self::Skipped,
            Outcome::Denied(_) | Outcome::NoToken(_) => Self::Fail,
            Outcome::MayBeDenied(_) | Outcome::Unknown(_) => Self::Unknown,
        }
    }
}

/// One permission of the operation, checked against the subject's grants.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionCheck {
    /// The permission.
    pub permission: String,
    /// `aware`, `not-aware` or `unknown` per the catalog.
    pub division_aware: &'static str,
    /// Where it was needed, e.g. "in division `Support EU`".
    pub needed: String,
    /// Whether the subject's grants cover it.
    pub status: Status,
    /// The grant that gives it, or what is missing.
    pub reason: String,
    /// The smallest fix when missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The same fix as a change, for proving it ([`Explanation::changes`]).
    #[serde(skip)]
    pub change: Option<super::Fix>,
    /// Whether the subject holds it in some other division (decides the 403 code).
    #[serde(skip)]
    pub held_elsewhere: bool,
}

/// One step of the platform's evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// `scope`, `permissions`, `divisions`, `policies`, `agents`, `coverage`.
    pub check: &'static str,
    /// Its outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
}

/// A full explanation.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// `METHOD path-template`.
    pub operation: String,
    /// The operationId.
    pub operation_id: String,
    /// `ANY`/`ALL` and the permissions, as declared.
    pub requirement: Option<(String, Vec<String>)>,
    /// The subject, e.g. "client `wfm-sync`".
    pub subject: String,
    /// The target, e.g. "management unit `EU Agents` (division `Support EU`)".
    pub target: Option<String>,
    /// The evaluation steps, in order.
    pub steps: Vec<Step>,
    /// Each permission's check.
    pub permissions: Vec<PermissionCheck>,
    /// Every active DENY policy that applies to the subject or targets what the call needs, and
    /// whether it is the cause.
    pub policies: Vec<String>,
    /// Snapshot coverage gaps that limit certainty.
    pub gaps: Vec<String>,
    /// Checks that could not be decided (`check: what is missing`), listed even beside a
    /// certain denial.
    pub unverified: Vec<String>,
    /// For a question without a target: the answer for each candidate target.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TargetVerdict>,
    /// For a question without a target: the answer in one line, e.g. "denied for 1 of 3
    /// management units: management unit `EU Agents` (division `Support EU`)".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    /// Assumptions taken where the facts are unconfirmed.
    pub assumptions: Vec<String>,
    /// The answer.
    pub verdict: Verdict,
    /// The 403 code the API would return.
    pub code: Option<String>,
    /// Other codes the API may use for the same failure.
    pub alternative_codes: Vec<String>,
    /// The smallest fix: every part of it, joined (a call blocked by a missing grant and a
    /// DENY policy needs both changed).
    pub fix: Option<String>,
    /// The parts of the fix, one change each, in words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<String>,
    /// The parts of the fix as changes, to apply and prove.
    #[serde(skip)]
    pub changes: Vec<super::Fix>,
    /// What proving the fix found (`change::prove_fix`: applied to the org and explained
    /// again), when it was proven.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_checked: Option<String>,
    /// The operation catalog that described the operation.
    pub catalog: CatalogUsed,
    /// Division ids the failure concerns (to compare with an error body).
    #[serde(skip)]
    pub division_ids: Vec<String>,
}

impl Explanation {
    /// Whether the answer is undecided: unknown, may be denied, or depending on the target
    /// without any target certainly denied. An undecided answer is a question, not a finding.
    #[must_use]
    pub fn undecided(&self) -> bool {
        match self.verdict {
            Verdict::Unknown | Verdict::MayBeDenied => true,
            Verdict::DependsOnTarget => !self.targets.iter().any(|t| t.verdict == Verdict::Denied),
            _ => false,
        }
    }

    /// The verdict in one line: "DENIED: 403 `code` (the service may answer `x` instead)".
    #[must_use]
    pub fn verdict_line(&self) -> String {
        use std::fmt::Write as _;
        let mut out = self.verdict.as_str().to_uppercase();
        if let Some(h) = &self.headline {
            let _ = write!(out, " ({h})");
        }
        if let Some(code) = &self.code {
            if code == PER_AGENT_CODE {
                // Agent moves answer 202 and fail per agent: not a 403.
                let _ = write!(out, ": 202 with `{code}` for the agents");
            } else {
                let _ = write!(out, ": 403 `{code}`");
            }
            if !self.alternative_codes.is_empty() {
                let alts: Vec<String> = self
                    .alternative_codes
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect();
                let _ = write!(
                    out,
                    " (the service may answer {} instead)",
                    alts.join(" or ")
                );
            }
        }
        out
    }
}
