//! `diff`: differences in effective access between two orgs, objects matched by name.
//!
//! Users are matched by email, everything else by name. Effective access is compared as the
//! set of (granted permission pattern, division name) per subject, so a renamed id or a role
//! split differently but granting the same thing is not a difference.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::{effective_grants, role_has};
use crate::model::{Org, Scope, SubjectRef};

/// What to compare.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Only this subject (as resolved in the base org).
    pub subject: Option<SubjectRef>,
    /// Only these permissions (e.g. those an operation needs).
    pub permissions: Option<Vec<String>>,
}

/// A subject whose effective access differs.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SubjectDiff {
    /// `user`, `group` or `client`.
    pub kind: &'static str,
    /// Name (email for users).
    pub name: String,
    /// `permission in division` present only in the other org.
    pub gained: Vec<String>,
    /// `permission in division` present only in the base org.
    pub lost: Vec<String>,
}

/// A role whose permissions differ.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RoleDiff {
    /// Role name.
    pub name: String,
    /// Permissions only the other org's role has.
    pub added: Vec<String>,
    /// Permissions only the base org's role has.
    pub removed: Vec<String>,
}

/// All differences, base → other.
#[derive(Debug, Clone, Serialize, Default)]
pub struct OrgDiff {
    /// Per-subject access changes.
    pub subjects: Vec<SubjectDiff>,
    /// Subjects present in only one org (`+ kind name` / `- kind name`).
    pub subjects_only: Vec<String>,
    /// Roles whose permission sets differ (or exist on one side only).
    pub roles: Vec<RoleDiff>,
    /// Grants added (`+`) and removed (`-`).
    pub grants: Vec<String>,
    /// Divisions added and removed.
    pub divisions: Vec<String>,
    /// Access policies added, removed or changed.
    pub policies: Vec<String>,
    /// MFA and IP allow-list changes.
    pub settings: Vec<String>,
}

impl OrgDiff {
    /// Whether nothing differs.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.subjects.is_empty()
            && self.subjects_only.is_empty()
            && self.roles.is_empty()
            && self.grants.is_empty()
            && self.divisions.is_empty()
            && self.policies.is_empty()
            && self.settings.is_empty()
    }
}

fn kind(s: SubjectRef) -> &'static str {
    match s {
        SubjectRef::User(_) => "user",
        SubjectRef::Group(_) => "group",
        SubjectRef::Client(_) => "client",
    }
}

/// The name subjects are matched by: email for users, name otherwise.
fn match_name(org: &Org, s: SubjectRef) -> String {
    match s {
        SubjectRef::User(u) => org
            .snapshot()
            .users
            .get(u as usize)
            .map(|x| {
                x.email
                    .clone()
                    .unwrap_or_else(|| x.name.clone())
                    .to_ascii_lowercase()
            })
            .unwrap_or_default(),
        _ => org.subject_name(s).to_owned(),
    }
}

fn scope_text(org: &Org, scope: Scope) -> String {
    match scope {
        Scope::All => "all divisions".to_owned(),
        s @ Scope::Division(_) => format!("`{}`", org.scope_name(s)),
    }
}

fn all_subjects(org: &Org) -> impl Iterator<Item = SubjectRef> + '_ {
    let s = org.snapshot();
    let n = |len: usize| 0..u32::try_from(len).unwrap_or(u32::MAX);
    n(s.users.len())
        .map(SubjectRef::User)
        .chain(n(s.groups.len()).map(SubjectRef::Group))
        .chain(n(s.oauth_clients.len()).map(SubjectRef::Client))
}

/// `(role name, division text)` per effective grant: two subjects with the same signature and
/// identical roles have identical access.
fn signature(org: &Org, s: SubjectRef) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = effective_grants(org, s)
        .into_iter()
        .filter_map(|g| {
            let r = org.snapshot().roles.get(g.grant.role as usize)?;
            Some((r.name.clone(), scope_text(org, g.grant.scope)))
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Effective access as `permission in division` strings.
fn access(org: &Org, s: SubjectRef, permissions: Option<&[String]>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for g in effective_grants(org, s) {
        let place = scope_text(org, g.grant.scope);
        match permissions {
            Some(perms) => {
                for p in perms.iter().filter(|p| role_has(org, g.grant.role, p)) {
                    out.insert(format!("`{p}` in {place}"));
                }
            }
            None => {
                for p in org.role_patterns(g.grant.role) {
                    out.insert(format!("`{p}` in {place}"));
                }
            }
        }
    }
    out
}

fn role_set(org: &Org, r: u32) -> BTreeSet<String> {
    org.role_patterns(r)
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Compare two orgs.
#[must_use]
pub fn diff(base: &Org, other: &Org, opts: &DiffOptions) -> OrgDiff {
    let mut d = OrgDiff::default();
    let (bs, os) = (base.snapshot(), other.snapshot());

    // Roles, by name.
    let mut same_role: HashMap<&str, bool> = HashMap::new();
    for (i, r) in bs.roles.iter().enumerate() {
        let bi = u32::try_from(i).unwrap_or(u32::MAX);
        match other.role(&r.name) {
            Some(oi) => {
                let (b, o) = (role_set(base, bi), role_set(other, oi));
                same_role.insert(&r.name, b == o);
                if b != o {
                    d.roles.push(RoleDiff {
                        name: r.name.clone(),
                        added: o.difference(&b).cloned().collect(),
                        removed: b.difference(&o).cloned().collect(),
                    });
                }
            }
            None => d.roles.push(RoleDiff {
                name: r.name.clone(),
                added: Vec::new(),
                removed: role_set(base, bi).into_iter().collect(),
            }),
        }
    }
    for (i, r) in os.roles.iter().enumerate() {
        if base.role(&r.name).is_none() {
            d.roles.push(RoleDiff {
                name: r.name.clone(),
                added: role_set(other, u32::try_from(i).unwrap_or(u32::MAX))
                    .into_iter()
                    .collect(),
                removed: Vec::new(),
            });
        }
    }

    // Subjects and their access.
    let others: HashMap<(&'static str, String), SubjectRef> = all_subjects(other)
        .map(|s| ((kind(s), match_name(other, s)), s))
        .collect();
    let mut matched = 0usize;
    let mut grants_b: BTreeSet<String> = BTreeSet::new();
    let mut grants_o: BTreeSet<String> = BTreeSet::new();
    for s in all_subjects(base) {
        if opts.subject.is_some_and(|x| x != s) {
            continue;
        }
        let key = (kind(s), match_name(base, s));
        let Some(&o) = others.get(&key) else {
            if !signature(base, s).is_empty() || !matches!(s, SubjectRef::User(_)) {
                d.subjects_only.push(format!("- {} `{}`", key.0, key.1));
            }
            continue;
        };
        matched += 1;
        let (sb, so) = (signature(base, s), signature(other, o));
        for (r, place) in sb.iter().filter(|g| !so.contains(g)) {
            grants_b.insert(format!("{} `{}`: role `{r}` in {place}", key.0, key.1));
        }
        for (r, place) in so.iter().filter(|g| !sb.contains(g)) {
            grants_o.insert(format!("{} `{}`: role `{r}` in {place}", key.0, key.1));
        }
        // Same grants of identical roles: identical access, skip the expensive comparison.
        if sb == so
            && sb
                .iter()
                .all(|(r, _)| same_role.get(r.as_str()).copied().unwrap_or(false))
        {
            continue;
        }
        let (ab, ao) = (
            access(base, s, opts.permissions.as_deref()),
            access(other, o, opts.permissions.as_deref()),
        );
        if ab != ao {
            d.subjects.push(SubjectDiff {
                kind: key.0,
                name: key.1,
                gained: ao.difference(&ab).cloned().collect(),
                lost: ab.difference(&ao).cloned().collect(),
            });
        }
    }
    if opts.subject.is_none() && matched < others.len() {
        let base_keys: BTreeSet<(&'static str, String)> = all_subjects(base)
            .map(|s| (kind(s), match_name(base, s)))
            .collect();
        for s in all_subjects(other) {
            let key = (kind(s), match_name(other, s));
            if !base_keys.contains(&key)
                && (!signature(other, s).is_empty() || !matches!(s, SubjectRef::User(_)))
            {
                d.subjects_only.push(format!("+ {} `{}`", key.0, key.1));
            }
        }
    }
    d.grants
        .extend(grants_b.into_iter().map(|g| format!("- {g}")));
    d.grants
        .extend(grants_o.into_iter().map(|g| format!("+ {g}")));

    if opts.subject.is_some() || opts.permissions.is_some() {
        // A narrowed diff is about access; org-wide sections would be noise.
        d.roles.retain(|r| {
            opts.permissions.as_ref().is_none_or(|ps| {
                ps.iter()
                    .any(|p| r.added.iter().chain(&r.removed).any(|x| covers_text(x, p)))
            })
        });
        return d;
    }

    // Divisions.
    let names = |o: &Org| {
        o.snapshot()
            .divisions
            .iter()
            .map(|x| x.name.clone())
            .collect::<BTreeSet<_>>()
    };
    let (db, dof) = (names(base), names(other));
    d.divisions
        .extend(dof.difference(&db).map(|n| format!("+ `{n}`")));
    d.divisions
        .extend(db.difference(&dof).map(|n| format!("- `{n}`")));

    // Policies, by name.
    let pol = |o: &Org| -> BTreeMap<String, String> {
        o.snapshot()
            .access_policies
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    format!(
                        "{} `{}` for {}{}{}",
                        p.effect,
                        p.target_resource,
                        p.subject.kind,
                        if p.apply_to_clients {
                            " incl. clients"
                        } else {
                            ""
                        },
                        if p.active { "" } else { " (inactive)" }
                    ),
                )
            })
            .collect()
    };
    let (pb, po) = (pol(base), pol(other));
    for (n, v) in &po {
        match pb.get(n) {
            None => d.policies.push(format!("+ `{n}`: {v}")),
            Some(b) if b != v => d.policies.push(format!("~ `{n}`: {b} → {v}")),
            _ => {}
        }
    }
    for (n, v) in &pb {
        if !po.contains_key(n) {
            d.policies.push(format!("- `{n}`: {v}"));
        }
    }

    // Settings.
    let (sb, so) = (&bs.auth_settings, &os.auth_settings);
    if sb.multifactor_authentication_required != so.multifactor_authentication_required {
        d.settings.push(format!(
            "MFA required: {} → {}",
            sb.multifactor_authentication_required, so.multifactor_authentication_required
        ));
    }
    for c in so
        .ip_address_allowlist
        .iter()
        .filter(|c| !sb.ip_address_allowlist.contains(c))
    {
        d.settings.push(format!("IP allow-list: + `{c}`"));
    }
    for c in sb
        .ip_address_allowlist
        .iter()
        .filter(|c| !so.ip_address_allowlist.contains(c))
    {
        d.settings.push(format!("IP allow-list: - `{c}`"));
    }
    d
}

/// Whether a pattern text (`wfm:*:edit`) covers a permission text.
fn covers_text(pattern: &str, perm: &str) -> bool {
    let (Some(p), Some(q)) = (
        crate::model::Permission::parse(pattern),
        crate::model::Permission::parse(perm),
    ) else {
        return false;
    };
    p.domain == q.domain
        && (p.entity == "*" || p.entity == q.entity)
        && (p.action == "*" || p.action == q.action)
}
