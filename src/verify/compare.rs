//! rolecall's side of a verify pair (the divisions in which a subject holds a permission,
//! computed by `authz` from the snapshot) and its comparison with the platform's answer,
//! with the likeliest cause of a disagreement in plain words.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::authz::{awareness, effective_grants, held_grant_phrase, Awareness, Via};
use crate::model::{Org, Permission, Scope, SubjectRef};

/// What rolecall's model says one subject holds one permission in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelAnswer {
    /// Divisions (indexes) of the grants that give the permission.
    pub divisions: BTreeSet<u32>,
    /// Whether a `*` grant gives it (every division, present and future).
    pub all: bool,
    /// The grants that give it, as `(grant, whether only a wildcard matched)`.
    pub grants: Vec<(crate::authz::EffectiveGrant, bool)>,
}

/// The grants of `subject` whose role grants `permission`, and the divisions they cover.
///
/// A client that is not client-credentials holds nothing through roles (its calls run as a
/// user): the answer is empty, as `authz::can` says.
#[must_use]
pub fn model_answer(org: &Org, subject: SubjectRef, permission: &Permission<'_>) -> ModelAnswer {
    let mut out = ModelAnswer {
        divisions: BTreeSet::new(),
        all: false,
        grants: Vec::new(),
    };
    if let SubjectRef::Client(c) = subject {
        if !crate::authz::is_client_credentials(org, c) {
            return out;
        }
    }
    for g in effective_grants(org, subject) {
        let patterns = org.role_patterns(g.grant.role);
        let mut exact = false;
        let mut wild = false;
        for p in patterns.iter().filter(|p| p.matches(permission)) {
            if p.entity.is_some() && p.action.is_some() {
                exact = true;
            } else {
                wild = true;
            }
        }
        if !exact && !wild {
            continue;
        }
        match g.grant.scope {
            Scope::All => out.all = true,
            Scope::Division(d) => {
                out.divisions.insert(d);
            }
        }
        out.grants.push((g, !exact));
    }
    out
}

/// The platform's answer, as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformSide {
    /// Division ids listed.
    pub division_ids: Vec<String>,
    /// `allDivsPermitted`.
    pub all_divs_permitted: bool,
    /// Whether every page was read. A listing longer than the pages rolecall's answer needs
    /// was cut short: it lists more divisions than rolecall does.
    pub complete: bool,
}

/// Why the two sides differ, most likely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// The org changed after the snapshot was read.
    StaleSnapshot,
    /// The platform treats the permission as permitted everywhere (or nowhere) where the
    /// catalog's division-awareness says otherwise.
    DivisionAwareness,
    /// The divisions in question come only through a group (or a group without `rolesEnabled`).
    GroupInheritance,
    /// The divisions in question come only through a wildcard role permission.
    Wildcard,
    /// `*` grants read differently: the model says every division and the platform does not.
    AllDivisions,
}

impl Cause {
    /// The cause in plain words.
    #[must_use]
    pub fn words(self) -> &'static str {
        match self {
            Self::StaleSnapshot => {
                "the snapshot is older than a change of roles or grants: fetch again and verify"
            }
            Self::DivisionAwareness => {
                "the permission's division-awareness differs from the catalog's: the platform \
                 answers as for a permission that applies everywhere"
            }
            Self::GroupInheritance => {
                "group inheritance is read differently: the divisions in question come through a \
                 group only"
            }
            Self::Wildcard => {
                "a wildcard role permission is read differently: the divisions in question come \
                 through a wildcard only"
            }
            Self::AllDivisions => {
                "the `*` division is read differently: rolecall counts a `*` grant as every \
                 division and the platform does not say `allDivsPermitted`"
            }
        }
    }
}

/// The two answers side by side and the likeliest cause, or `None` when they agree.
///
/// They agree when both say every division is permitted (the listed divisions are then not
/// compared), or neither does and the division sets are equal.
#[must_use]
pub fn disagreement(
    org: &Org,
    subject: SubjectRef,
    permission: &Permission<'_>,
    model: &ModelAnswer,
    platform: &PlatformSide,
) -> Option<Cause> {
    let listed: BTreeSet<Option<u32>> = platform
        .division_ids
        .iter()
        .map(|id| org.division(id))
        .collect();
    if platform.all_divs_permitted && model.all {
        return None;
    }
    let platform_set: BTreeSet<u32> = listed.iter().flatten().copied().collect();
    if platform.complete
        && !platform.all_divs_permitted
        && !model.all
        && platform_set == model.divisions
    {
        // A division the snapshot lacks cannot equal a model division: counted below.
        if !listed.contains(&None) {
            return None;
        }
    }
    Some(likely_cause(
        org, subject, permission, model, platform, &listed,
    ))
}

fn likely_cause(
    org: &Org,
    subject: SubjectRef,
    permission: &Permission<'_>,
    model: &ModelAnswer,
    platform: &PlatformSide,
    listed: &BTreeSet<Option<u32>>,
) -> Cause {
    // A division the snapshot has never seen: the org changed since.
    if listed.contains(&None) {
        return Cause::StaleSnapshot;
    }
    let platform_set: BTreeSet<u32> = listed.iter().flatten().copied().collect();
    if model.all && !platform.all_divs_permitted {
        return Cause::AllDivisions;
    }
    let aware = awareness(org, &permission.to_string());
    if platform.all_divs_permitted && !model.all && !model.grants.is_empty() {
        if aware != Awareness::Aware {
            return Cause::DivisionAwareness;
        }
        return Cause::StaleSnapshot;
    }
    // Divisions the model has and the platform lacks: how did the model get them?
    let missing: BTreeSet<u32> = model.divisions.difference(&platform_set).copied().collect();
    if !missing.is_empty() {
        let giving: Vec<_> = model
            .grants
            .iter()
            .filter(|(g, _)| matches!(g.grant.scope, Scope::Division(d) if missing.contains(&d)))
            .collect();
        if giving.iter().all(|(g, _)| matches!(g.via, Via::Group(_))) {
            return Cause::GroupInheritance;
        }
        if giving.iter().all(|(_, wild)| *wild) {
            return Cause::Wildcard;
        }
    }
    // Divisions the platform has and the model lacks: a group whose roles rolecall does not
    // pass on (no `rolesEnabled`) would give them.
    let extra: BTreeSet<u32> = platform_set.difference(&model.divisions).copied().collect();
    if !extra.is_empty() || platform.all_divs_permitted {
        if let SubjectRef::User(u) = subject {
            let from_quiet_group = org.groups_of(u).iter().any(|&g| {
                !org.snapshot()
                    .groups
                    .get(g as usize)
                    .is_some_and(|x| x.roles_enabled)
                    && org
                        .direct_grants(SubjectRef::Group(g))
                        .iter()
                        .any(|gr| crate::authz::role_grants(org, gr.role, permission))
            });
            if from_quiet_group {
                return Cause::GroupInheritance;
            }
        }
    }
    Cause::StaleSnapshot
}

/// The grants of a model answer in words ("role `R` in division `D` through group `G`", with
/// "(by a wildcard)" when only a wildcard matched).
#[must_use]
pub fn grant_words(org: &Org, model: &ModelAnswer) -> Vec<String> {
    model
        .grants
        .iter()
        .map(|(g, wild)| {
            let phrase = held_grant_phrase(org, g);
            if *wild {
                format!("{phrase} (by a wildcard)")
            } else {
                phrase
            }
        })
        .collect()
}
