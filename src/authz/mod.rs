//! Authorization decisions over an [`Org`]: effective grants, `can`, `why`, bulk queries, fixes.
//!
//! Pure functions of the indexed model; no I/O. The semantics follow DESIGN.md:
//! users hold their direct grants plus those of `rolesEnabled` groups they belong to;
//! client-credentials clients hold their `roleDivisions`; a division-aware permission needs a
//! grant in the target's division or in `*`; others need a grant in any division. A permission the
//! catalog does not list is treated as division-aware, and decisions say so.
//! Access policies (ABAC DENY) are not part of `can`: they belong to the explanation of an
//! operation, which weighs them separately.

mod compare;
mod decision;
mod diff;
mod explain;
mod explanation;
mod policy;
mod query;
mod question;
mod reach;
mod steps;
mod verdict;
mod words;

pub use compare::{
    baseline_differences, check_error_body, explain_baseline, grants_with, role_has, same_subject,
    same_target, BaselineAnswer, BodyCheck,
};
pub use decision::{other_holders, Awareness, Decision, Fix};
pub use diff::{diff, subject_key, DiffOptions, OrgDiff, RoleDiff, SubjectDiff, SubjectKey};
pub use explain::{
    explain, target_of, CatalogUsed, Explanation, PermissionCheck, Question, Status, Step,
    TargetVerdict,
};
pub use policy::{policy_applies, policy_covers, policy_covers_any, policy_hits};
pub use query::{
    access_of, who_can, Access, AccessGrant, DivisionHolders, Holder, Queries, QueryError,
    SubjectKind, WhoCan, WhoCanQuery,
};
pub use question::{resolve_subject, resolve_target, ExplainInputError, TargetObject};
pub use reach::{can_reach, unit_targets};
pub use verdict::{combine, Combined, Denial, Outcome, Verdict};
pub use words::{
    grant_phrase, held_grant_phrase, scope_phrase, subject_phrase, target_phrase, target_text,
};

use crate::model::{GrantRef, Org, Permission, Scope, SubjectRef};

/// Where a permission is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Anywhere: a grant in any division will do.
    Any,
    /// In one division (by index).
    Division(u32),
    /// In every division, present and future: only a `*` grant covers it.
    All,
}

/// How a subject came to hold a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Granted to the subject itself.
    Direct,
    /// Inherited from a group (index) with `rolesEnabled`.
    Group(u32),
}

/// One grant a subject effectively holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveGrant {
    /// The role and where it applies.
    pub grant: GrantRef,
    /// Direct or through a group.
    pub via: Via,
}

/// Whether a client uses the client-credentials grant, the only one whose roles apply.
#[must_use]
pub fn is_client_credentials(org: &Org, client: u32) -> bool {
    org.snapshot()
        .oauth_clients
        .get(client as usize)
        .is_some_and(|c| c.authorized_grant_type == "CLIENT-CREDENTIALS")
}

/// Every grant a subject effectively holds, in a stable order (direct first).
#[must_use]
pub fn effective_grants(org: &Org, subject: SubjectRef) -> Vec<EffectiveGrant> {
    let mut out: Vec<EffectiveGrant> = org
        .direct_grants(subject)
        .iter()
        .map(|&grant| EffectiveGrant {
            grant,
            via: Via::Direct,
        })
        .collect();
    if let SubjectRef::User(u) = subject {
        for &g in org.groups_of(u) {
            if !group_passes_roles(org, g) {
                continue;
            }
            for &grant in org.direct_grants(SubjectRef::Group(g)) {
                out.push(EffectiveGrant {
                    grant,
                    via: Via::Group(g),
                });
            }
        }
    }
    out
}

fn group_passes_roles(org: &Org, group: u32) -> bool {
    org.snapshot()
        .groups
        .get(group as usize)
        .is_some_and(|g| g.roles_enabled)
}

/// Whether a grant's scope covers a target, given the permission's division awareness.
#[must_use]
pub fn covers(scope: Scope, target: Target, division_aware: bool) -> bool {
    match (target, scope) {
        (Target::Any, _) | (_, Scope::All) => true,
        (Target::All, Scope::Division(_)) => false,
        (Target::Division(_), Scope::Division(_)) if !division_aware => true,
        (Target::Division(t), Scope::Division(d)) => t == d,
    }
}

/// Division awareness of a permission per the snapshot's catalog.
#[must_use]
pub fn awareness(org: &Org, permission: &str) -> Awareness {
    match org.division_aware(permission) {
        Some(true) => Awareness::Aware,
        Some(false) => Awareness::NotAware,
        None => Awareness::Unknown,
    }
}

/// Whether a role grants a permission (wildcards honoured).
#[must_use]
pub fn role_grants(org: &Org, role: u32, permission: &Permission<'_>) -> bool {
    org.role_patterns(role)
        .iter()
        .any(|p| p.matches(permission))
}

/// Why a subject cannot get a token, if it cannot: a disabled or inactive OAuth client (the
/// platform invalidates or stops issuing its tokens), or an inactive or deleted user. Groups
/// never sign in themselves. Rules that recommend granting something skip such subjects.
#[must_use]
pub fn sign_in_problem(org: &Org, subject: SubjectRef) -> Option<&'static str> {
    let snap = org.snapshot();
    match subject {
        SubjectRef::Client(c) => match snap.oauth_clients.get(c as usize)?.state.as_str() {
            "disabled" => {
                Some("the client is disabled: its tokens are invalid and it gets no new ones")
            }
            "inactive" => {
                Some("the client is inactive: it gets no new tokens and is due for deletion")
            }
            _ => None,
        },
        SubjectRef::User(u) => match snap.users.get(u as usize)?.state.as_str() {
            "inactive" => Some("the user is inactive and cannot sign in"),
            "deleted" => Some("the user is deleted and cannot sign in"),
            _ => None,
        },
        SubjectRef::Group(_) => None,
    }
}

/// Permission domains whose full wildcard (`domain:*:*`) is admin-level: whoever holds one can
/// change roles and grants, users, or OAuth clients, and so give itself anything.
pub const ADMIN_DOMAINS: [&str; 3] = ["authorization", "directory", "oauth"];

/// The full-domain wildcards (`domain:*:*`) a role grants in `domains`, as strings.
#[must_use]
pub fn admin_wildcards(org: &Org, role: u32, domains: &[&str]) -> Vec<String> {
    org.role_patterns(role)
        .iter()
        .filter(|p| p.is_full_wildcard() && domains.contains(&&*p.domain))
        .map(ToString::to_string)
        .collect()
}

/// Whether a role is admin-equivalent: it holds an admin-level wildcard, or it can grant roles
/// or edit them (either lets its holder give itself anything). Never the smallest fix.
#[must_use]
pub fn is_admin_equivalent(org: &Org, role: u32) -> bool {
    !admin_wildcards(org, role, &ADMIN_DOMAINS).is_empty()
        || ["authorization:grant:add", "authorization:role:edit"]
            .iter()
            .filter_map(|p| Permission::parse(p))
            .any(|p| role_grants(org, role, &p))
}

/// Whether granting `role` to fix a missing `perm` would hand out more admin power than the
/// permission itself: admin-level wildcards always do; a role that can grant roles or edit them
/// does unless that is exactly what is asked for (then any fix gives it).
pub(crate) fn widens_admin(org: &Org, role: u32, perm: &Permission<'_>) -> bool {
    if !admin_wildcards(org, role, &ADMIN_DOMAINS).is_empty() {
        return true;
    }
    let asked_is_admin = ["authorization:grant:add", "authorization:role:edit"]
        .iter()
        .filter_map(|p| Permission::parse(p))
        .any(|p| p.domain == perm.domain && p.entity == perm.entity && p.action == perm.action);
    is_admin_equivalent(org, role) && !asked_is_admin
}

/// Whether a subject's roles let it use `permission` at `target`.
///
/// Returns `false` for malformed permission strings and for clients that are not
/// client-credentials (their calls run as a user, limited by scopes).
#[must_use]
pub fn can(org: &Org, subject: SubjectRef, permission: &str, target: Target) -> bool {
    let Some(perm) = Permission::parse(permission) else {
        return false;
    };
    if let SubjectRef::Client(c) = subject {
        if !is_client_credentials(org, c) {
            return false;
        }
    }
    let aware = awareness(org, permission).treated_as_aware();
    let check = |g: &GrantRef| covers(g.scope, target, aware) && role_grants(org, g.role, &perm);
    if org.direct_grants(subject).iter().any(check) {
        return true;
    }
    match subject {
        SubjectRef::User(u) => org.groups_of(u).iter().any(|&g| {
            group_passes_roles(org, g) && org.direct_grants(SubjectRef::Group(g)).iter().any(check)
        }),
        _ => false,
    }
}

/// Every subject that can use `permission` at `target`, sorted (users, then groups, then
/// clients). Members of `rolesEnabled` groups are included as users.
///
/// Works role-first (roles that grant the permission, then their holders), so its cost is
/// proportional to the grants of matching roles, not to the number of subjects.
#[must_use]
pub fn subjects_with(org: &Org, permission: &str, target: Target) -> Vec<SubjectRef> {
    let Some(perm) = Permission::parse(permission) else {
        return Vec::new();
    };
    let aware = awareness(org, permission).treated_as_aware();
    let snap = org.snapshot();
    let mut users = vec![false; snap.users.len()];
    let mut groups = vec![false; snap.groups.len()];
    let mut clients = vec![false; snap.oauth_clients.len()];
    for role in 0..org_len(snap.roles.len()) {
        if !role_grants(org, role, &perm) {
            continue;
        }
        for &(subject, scope) in org.role_holders(role) {
            if !covers(scope, target, aware) {
                continue;
            }
            match subject {
                SubjectRef::User(u) => users[u as usize] = true,
                SubjectRef::Group(g) => {
                    groups[g as usize] = true;
                    if group_passes_roles(org, g) {
                        for u in org.group_members(g) {
                            users[u as usize] = true;
                        }
                    }
                }
                SubjectRef::Client(c) => clients[c as usize] = is_client_credentials(org, c),
            }
        }
    }
    let pick = |flags: &[bool], f: fn(u32) -> SubjectRef| {
        flags
            .iter()
            .enumerate()
            .filter(|(_, &on)| on)
            .map(move |(i, _)| f(org_len(i)))
            .collect::<Vec<_>>()
    };
    let mut out = pick(&users, SubjectRef::User);
    out.extend(pick(&groups, SubjectRef::Group));
    out.extend(pick(&clients, SubjectRef::Client));
    out
}

/// Explain a `can` decision: the grant that gives it, or what is missing and the smallest fix.
#[must_use]
pub fn why(org: &Org, subject: SubjectRef, permission: &str, target: Target) -> Decision {
    decision::decide(org, subject, permission, target)
}

// INVARIANT: see `model::index` — object counts fit in u32.
#[expect(clippy::cast_possible_truncation, reason = "object counts fit in u32")]
fn org_len(n: usize) -> u32 {
    n as u32
}

/// The coverage gaps of these datasets (what the snapshot could not read).
pub(crate) fn gaps<'a>(
    org: &'a Org,
    datasets: &'a [&str],
) -> impl Iterator<Item = &'a crate::model::Coverage> {
    org.snapshot()
        .coverage
        .iter()
        .filter(move |c| c.status != "ok" && datasets.contains(&c.dataset.as_str()))
}

/// A gap in words: the dataset, the endpoint, its status and the permission that reads it.
pub(crate) fn unread(c: &crate::model::Coverage) -> String {
    let status = c.http_status.map(|s| format!(", {s}")).unwrap_or_default();
    let needs = c
        .permission
        .as_deref()
        .map(|p| format!(", needs `{p}`"))
        .unwrap_or_default();
    format!(
        "`{}` could not be read ({}{status}{needs})",
        c.dataset, c.endpoint
    )
}

#[cfg(test)]
mod tests;
