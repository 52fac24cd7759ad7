//! How explanations word subjects, targets, divisions and grants: "client `wfm-sync`",
//! "management unit `EU Agents` (division `Support EU`)", "in all divisions", "role `R` in
//! division `D` through group `G`". One place, so `why`, `explain`, the comparisons and the host
//! API (`grant.to_string()`) say the same thing the same way.

use super::question::TargetObject;
use super::{EffectiveGrant, Target, Via};
use crate::model::{GrantRef, Org, Scope, SubjectRef};

/// `client `name``, `user `name``, `group `name``.
#[must_use]
pub fn subject_phrase(org: &Org, subject: SubjectRef) -> String {
    let kind = match subject {
        SubjectRef::User(_) => "user",
        SubjectRef::Group(_) => "group",
        SubjectRef::Client(_) => "client",
    };
    format!("{kind} `{}`", org.subject_name(subject))
}

/// "in division `X`" or "in all divisions".
#[must_use]
pub fn scope_phrase(org: &Org, scope: Scope) -> String {
    match scope {
        Scope::All => "in all divisions".to_owned(),
        s @ Scope::Division(_) => format!("in division `{}`", org.scope_name(s)),
    }
}

/// "in division `X`", "in all divisions" or "in any division".
#[must_use]
pub fn target_phrase(org: &Org, target: Target) -> String {
    match target {
        Target::Any => "in any division".to_owned(),
        Target::All => scope_phrase(org, Scope::All),
        Target::Division(d) => scope_phrase(org, Scope::Division(d)),
    }
}

/// Describe a target: "management unit `EU Agents` (division `Support EU`)".
#[must_use]
pub fn target_text(org: &Org, t: TargetObject) -> String {
    let s = org.snapshot();
    let div = |d: Option<u32>| {
        d.map_or_else(
            || "no division".to_owned(),
            |d| format!("division `{}`", org.scope_name(Scope::Division(d))),
        )
    };
    let unit = |kind: &str, name: Option<&str>, d: Option<u32>| {
        format!("{kind} `{}` ({})", name.unwrap_or("?"), div(d))
    };
    match t {
        TargetObject::Division(d) => div(Some(d)),
        TargetObject::ManagementUnit(m) => unit(
            "management unit",
            s.management_units.get(m as usize).map(|x| x.name.as_str()),
            org.mu_division(m),
        ),
        TargetObject::BusinessUnit(b) => unit(
            "business unit",
            s.business_units.get(b as usize).map(|x| x.name.as_str()),
            org.bu_division(b),
        ),
    }
}

/// "role `R` in division `D`" / "role `R` in all divisions".
#[must_use]
pub fn grant_phrase(org: &Org, g: &GrantRef) -> String {
    let role = org
        .snapshot()
        .roles
        .get(g.role as usize)
        .map_or("?", |r| r.name.as_str());
    format!("role `{role}` {}", scope_phrase(org, g.scope))
}

/// A grant as the subject holds it: [`grant_phrase`], and "through group `G`" when inherited.
#[must_use]
pub fn held_grant_phrase(org: &Org, g: &EffectiveGrant) -> String {
    let grant = grant_phrase(org, &g.grant);
    match g.via {
        Via::Direct => grant,
        Via::Group(grp) => format!(
            "{grant} through group `{}`",
            org.subject_name(SubjectRef::Group(grp))
        ),
    }
}
