//! What subjects really call: the usage dataset (`model::Usage`) joined with the operation
//! catalog (which permissions each call needs) and `explain` (whether each call is allowed).
//!
//! [`observed`] lists a subject's calls with the catalog operation each matched; [`rightsize`]
//! proposes a role holding only what those calls need and proves it by replaying every call
//! through `explain` on the org with the proposal applied (`change::apply`); [`impact`] replays
//! one org's observed calls in another org (dev → prod), or across a planned change.
//!
//! Usage has no division and no object ids: it says which operations, never where. So a
//! proposal keeps the divisions the subject holds today, and a call that acts on one object is
//! answered for every candidate target, as `explain` does without a target.

mod impact;
mod rightsize;

use std::collections::BTreeSet;

pub use impact::{impact, CallImpact, Class, Impact, ImpactOptions, SubjectImpact};
pub use rightsize::{rightsize, CallProof, Need, Rightsize};

use crate::authz::{effective_grants, Explanation, Verdict};
use crate::catalog::usage::Matches;
use crate::catalog::Catalog;
use crate::model::{OpUse, Org, Permission, Requirement, SubjectRef};

/// Why usage could not be analysed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum UsageError {
    /// The snapshot has no usage dataset.
    #[error("the snapshot of org `{org}` has no API usage, so what its subjects call is unknown")]
    #[diagnostic(
        code(rolecall::usage::missing),
        help("fetch it with `rolecall fetch --usage DAYS` (needs `usage:organization:view`)")
    )]
    NoUsage {
        /// The org's name.
        org: String,
    },
    /// A subject or operation could not be resolved.
    #[error("{message}")]
    #[diagnostic(code(rolecall::usage::input))]
    Input {
        /// What is wrong.
        message: String,
        /// What to do.
        #[help]
        help: String,
    },
    /// The proposal or plan could not be applied.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Change(#[from] crate::change::ChangeError),
}

/// One operation a subject called, and the catalog operation it matched.
#[derive(Debug, Clone)]
pub struct Call {
    /// The counts over the window.
    pub usage: OpUse,
    /// `METHOD /path` of the catalog operation, or `None` when the template matched nothing.
    pub operation: Option<String>,
    /// The requirement enforced (the enforcement table's over the description's).
    pub requirement: Option<Requirement>,
}

/// A subject's calls over the usage window.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Every call, sorted by template.
    pub calls: Vec<Call>,
    /// The usage interval.
    pub interval: String,
    /// Days it spans.
    pub days: u32,
}

impl Observed {
    /// Calls whose template matched no catalog operation, as `METHOD template`.
    #[must_use]
    pub fn unmatched(&self) -> Vec<String> {
        self.calls
            .iter()
            .filter(|c| c.operation.is_none())
            .map(|c| c.usage.call())
            .collect()
    }

    /// Calls with 4xx answers other than 429: failing today.
    #[must_use]
    pub fn failing(&self) -> Vec<&Call> {
        self.calls
            .iter()
            .filter(|c| c.usage.failing() > 0)
            .collect()
    }
}

/// The template matches of an org's usage, or [`UsageError::NoUsage`].
///
/// # Errors
/// When the snapshot has no usage dataset.
pub fn matches(org: &Org, catalog: &Catalog<'_>) -> Result<Matches, UsageError> {
    let usage = org
        .snapshot()
        .usage
        .as_deref()
        .ok_or_else(|| no_usage(org))?;
    Ok(Matches::of(catalog, usage))
}

fn no_usage(org: &Org) -> UsageError {
    UsageError::NoUsage {
        org: org.snapshot().organization.name.clone(),
    }
}

/// A subject's observed calls, each with its catalog operation and requirement.
///
/// # Errors
/// When the snapshot has no usage dataset.
pub fn observed(
    org: &Org,
    catalog: &Catalog<'_>,
    matches: &Matches,
    s: SubjectRef,
) -> Result<Observed, UsageError> {
    let index = org.usage().ok_or_else(|| no_usage(org))?;
    let usage = org.snapshot().usage.as_deref();
    let calls = index
        .of(s)
        .iter()
        .map(|u| {
            let operation = matches.operation(&u.method, &u.template).map(str::to_owned);
            let requirement = operation
                .as_deref()
                .and_then(|op| crate::catalog::usage::requirement(catalog, op));
            Call {
                usage: u.clone(),
                operation,
                requirement,
            }
        })
        .collect();
    Ok(Observed {
        calls,
        interval: usage.map(|u| u.interval.clone()).unwrap_or_default(),
        days: usage.map_or(0, |u| u.days),
    })
}

/// What a subject holds: the distinct permissions its roles grant (wildcards counted as the
/// catalog permissions they cover), the roles, and the patterns as granted.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Held {
    /// Distinct permissions held: catalog permissions covered, or patterns when the snapshot
    /// has no permission catalog.
    pub permissions: usize,
    /// Role names, distinct.
    pub roles: Vec<String>,
    /// Permission patterns granted, distinct, sorted.
    pub patterns: Vec<String>,
}

/// What a subject holds through every grant it has (direct and through groups).
#[must_use]
pub fn held(org: &Org, s: SubjectRef) -> Held {
    let snap = org.snapshot();
    let mut roles = BTreeSet::new();
    let mut patterns = Vec::new();
    let mut role_ids = BTreeSet::new();
    for g in effective_grants(org, s) {
        if role_ids.insert(g.grant.role) {
            if let Some(r) = snap.roles.get(g.grant.role as usize) {
                roles.insert(r.name.clone());
            }
            patterns.extend(org.role_patterns(g.grant.role).iter().cloned());
        }
    }
    let permissions = if snap.permission_catalog.is_empty() {
        patterns
            .iter()
            .map(ToString::to_string)
            .collect::<BTreeSet<_>>()
            .len()
    } else {
        snap.permission_catalog
            .iter()
            .filter(|c| {
                let p = Permission {
                    domain: &c.domain,
                    entity: &c.entity_type,
                    action: &c.action,
                };
                patterns.iter().any(|pat| pat.matches(&p))
            })
            .count()
    };
    Held {
        permissions,
        roles: roles.into_iter().collect(),
        patterns: patterns
            .iter()
            .map(ToString::to_string)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    }
}

/// The permissions one call needs of this subject: for `ALL`, every one; for `ANY`, the first
/// alternative the subject holds today (else the first listed), with the others kept as
/// alternatives.
#[must_use]
pub fn need_of(org: &Org, s: SubjectRef, req: &Requirement) -> Need {
    if req.kind.eq_ignore_ascii_case("ALL") {
        return Need {
            kind: "ALL".to_owned(),
            chosen: req.list.clone(),
            alternatives: Vec::new(),
        };
    }
    let held = req
        .list
        .iter()
        .find(|p| crate::authz::can(org, s, p, crate::authz::Target::Any));
    let chosen = held.or_else(|| req.list.first()).cloned();
    Need {
        kind: "ANY".to_owned(),
        alternatives: req
            .list
            .iter()
            .filter(|p| Some(*p) != chosen.as_ref())
            .cloned()
            .collect(),
        chosen: chosen.into_iter().collect(),
    }
}

/// Held against used, for the picture in the HTML report: what the subject holds, and the
/// distinct permissions its observed calls need.
#[must_use]
pub fn held_and_used(org: &Org, obs: &Observed, s: SubjectRef) -> (Held, Vec<String>) {
    let mut used = BTreeSet::new();
    for c in &obs.calls {
        if let Some(r) = &c.requirement {
            used.extend(need_of(org, s, r).chosen);
        }
    }
    (held(org, s), used.into_iter().collect())
}

/// Targets (or the whole call) denied: every one for a certain denial or a subject without a
/// token.
fn denied_count(ex: &Explanation) -> usize {
    match ex.verdict {
        Verdict::Denied | Verdict::CannotAuthenticate => usize::MAX,
        Verdict::DependsOnTarget => ex
            .targets
            .iter()
            .filter(|t| t.verdict == Verdict::Denied)
            .count(),
        _ => 0,
    }
}

/// Targets (or the whole call) allowed.
fn allowed_count(ex: &Explanation) -> usize {
    match ex.verdict {
        Verdict::Allowed => usize::MAX,
        Verdict::DependsOnTarget => ex
            .targets
            .iter()
            .filter(|t| t.verdict == Verdict::Allowed)
            .count(),
        _ => 0,
    }
}

/// Whether a call is worse off in `after` than in `before`: denied somewhere it was not, or no
/// longer certainly allowed somewhere it was.
#[must_use]
pub fn regressed(before: &Explanation, after: &Explanation) -> bool {
    denied_count(after) > denied_count(before) || allowed_count(after) < allowed_count(before)
}

#[cfg(test)]
mod tests;
