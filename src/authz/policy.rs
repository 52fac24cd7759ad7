//! Access policies (ABAC): whom a policy applies to, which permissions it covers, and which of
//! a subject's grants it hits. The one definition `explain`, `diff` and rules (POL001 through
//! `policy.applies_to`, `policy.covers`, `policy.hits`) share.
//!
//! Facts: a policy is `{targetResource (domain:entity:action), subject {type, id}, effect,
//! condition, active, applyToClients}`; an active matching `DENY` blocks a call even when roles
//! allow it; `applyToClients` decides whether a policy for all subjects also covers OAuth
//! clients. That a policy whose subject *is* one client applies to that client whatever
//! `applyToClients` says is rolecall's reading, not a documented fact.

use super::{effective_grants, EffectiveGrant};
use crate::model::{AccessPolicy, Org, Pattern, Permission, SubjectRef};

/// A policy target (`domain:entity:action`, `*` allowed in entity and action) as a pattern.
fn target_pattern(target: &str) -> Option<Pattern> {
    let t = Permission::parse(target)?;
    Some(Pattern {
        domain: t.domain.into(),
        entity: (t.entity != "*").then(|| t.entity.into()),
        action: (t.action != "*").then(|| t.action.into()),
    })
}

/// Whether a policy's target covers `permission` (wildcards in the target honoured).
#[must_use]
pub fn policy_covers(target: &str, permission: &str) -> bool {
    policy_covers_any(target, &[permission])
}

/// Whether a policy's target covers any of `required`.
///
/// Borrowed parts only: this runs for every DENY policy of the org in every explanation (and
/// for every target of a per-target one), so it allocates nothing.
#[must_use]
pub fn policy_covers_any(target: &str, required: &[&str]) -> bool {
    let Some(t) = Permission::parse(target) else {
        return false;
    };
    let part = |mine: &str, theirs: &str| mine == "*" || mine == theirs;
    required
        .iter()
        .filter_map(|r| Permission::parse(r))
        .any(|r| t.domain == r.domain && part(t.entity, r.entity) && part(t.action, r.action))
}

/// Whether a policy applies to a subject: by its subject type and id (a group policy reaches
/// the group's members), and for OAuth clients only when it names the client or, for a policy
/// for all subjects, when `applyToClients` is on. Whether it is active or a DENY is not asked.
#[must_use]
pub fn policy_applies(org: &Org, p: &AccessPolicy, s: SubjectRef) -> bool {
    let id = p.subject.id.as_deref();
    let subject_id = org.subject_id(s);
    match (p.subject.kind.as_str(), s) {
        ("ALL", SubjectRef::Client(_)) => p.apply_to_clients,
        ("ALL", _) => true,
        ("CLIENT", SubjectRef::Client(_))
        | ("USER", SubjectRef::User(_))
        | ("GROUP", SubjectRef::Group(_)) => id.is_none_or(|i| i == subject_id),
        ("GROUP", SubjectRef::User(u)) => {
            id.is_some_and(|i| org.group(i).is_some_and(|g| org.groups_of(u).contains(&g)))
        }
        _ => false,
    }
}

/// The subject's grants whose role holds a permission the policy's target covers, or that
/// covers all of it (a role with `analytics:*:*` is hit by a policy on
/// `analytics:conversationDetail:view`, and a role with that permission by a policy on
/// `analytics:*:*`). Empty when the policy does not apply to the subject.
#[must_use]
pub fn policy_hits(org: &Org, p: &AccessPolicy, s: SubjectRef) -> Vec<EffectiveGrant> {
    let Some(target) = target_pattern(&p.target_resource) else {
        return Vec::new();
    };
    if !policy_applies(org, p, s) {
        return Vec::new();
    }
    effective_grants(org, s)
        .into_iter()
        .filter(|g| {
            org.role_patterns(g.grant.role)
                .iter()
                .any(|r| overlap(r, &target))
        })
        .collect()
}

/// Whether two permission patterns share at least one permission.
fn overlap(a: &Pattern, b: &Pattern) -> bool {
    let part = |x: &Option<Box<str>>, y: &Option<Box<str>>| match (x, y) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    };
    a.domain == b.domain && part(&a.entity, &b.entity) && part(&a.action, &b.action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OrgBuilder;

    fn org() -> Org {
        Org::new(
            OrgBuilder::new("t")
                .division("Home")
                .role("Exporter", &["analytics:conversationDetail:view"])
                .role("Analyst", &["analytics:*:*"])
                .role("Other", &["routing:queue:view"])
                .client("exp", "CLIENT-CREDENTIALS", &[("Exporter", "Home")])
                .client("wild", "CLIENT-CREDENTIALS", &[("Analyst", "Home")])
                .client("none", "CLIENT-CREDENTIALS", &[("Other", "Home")])
                .policy(
                    "exact",
                    "analytics:conversationDetail:view",
                    "DENY",
                    "ALL",
                    true,
                )
                .policy("wide", "analytics:*:*", "DENY", "ALL", true)
                .policy("users only", "analytics:*:*", "DENY", "ALL", false)
                .build(),
        )
    }

    fn client(org: &Org, name: &str) -> SubjectRef {
        SubjectRef::Client(org.client(name).unwrap())
    }

    #[test]
    fn targets_cover_with_wildcards() {
        assert!(policy_covers(
            "analytics:*:*",
            "analytics:conversationDetail:view"
        ));
        assert!(policy_covers(
            "analytics:conversationDetail:*",
            "analytics:conversationDetail:view"
        ));
        assert!(!policy_covers(
            "analytics:conversationDetail:view",
            "analytics:conversationDetail:edit"
        ));
        assert!(!policy_covers("not a permission", "analytics:x:y"));
    }

    #[test]
    fn hits_see_wildcards_on_either_side_and_respect_apply_to_clients() {
        let org = org();
        let policies = &org.snapshot().access_policies;
        let hits = |p: usize, c: &str| policy_hits(&org, &policies[p], client(&org, c)).len();
        assert_eq!(hits(0, "exp"), 1);
        assert_eq!(
            hits(0, "wild"),
            1,
            "a wildcard role is hit by an exact policy"
        );
        assert_eq!(hits(1, "exp"), 1, "a wildcard policy hits an exact role");
        assert_eq!(hits(1, "none"), 0);
        assert_eq!(hits(2, "exp"), 0, "applyToClients is off");
    }
}
