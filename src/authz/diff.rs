//! `diff`: differences in effective access between two orgs, objects matched by name.
//!
//! Users are matched by email, everything else by name. Effective access is compared as the
//! set of (granted permission pattern, division name) per subject, so a renamed id or a role
//! split differently but granting the same thing is not a difference.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::{effective_grants, role_has};
use crate::model::{Org, Pattern, Scope, SubjectRef};

/// What to compare.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Only this subject, by the key subjects are matched by (see [`subject_key`]): it may
    /// exist in either org.
    pub subject: Option<SubjectKey>,
    /// Only these permissions (e.g. those an operation needs).
    pub permissions: Option<Vec<String>>,
}

/// How subjects are matched across orgs: kind, and email (users) or name.
pub type SubjectKey = (&'static str, String);

/// The key a subject is matched by in another org.
#[must_use]
pub fn subject_key(org: &Org, s: SubjectRef) -> SubjectKey {
    (kind(s), match_name(org, s))
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
    /// What the subject can do in the other org that the base org's grants did not already
    /// allow (effective access: a grant moved from all divisions to one, or a role that lost
    /// permissions, gains nothing), as `permission in division`. What access gates count.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub widened: Vec<String>,
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
    /// Datasets readable in one snapshot and not in the other.
    pub coverage: Vec<String>,
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
            && self.coverage.is_empty()
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

/// Effective access as (pattern, division name; `None` = all divisions).
fn held(
    org: &Org,
    s: SubjectRef,
    permissions: Option<&[String]>,
) -> Vec<(Pattern, Option<String>)> {
    let mut out = Vec::new();
    for g in effective_grants(org, s) {
        let place = match g.grant.scope {
            Scope::All => None,
            d @ Scope::Division(_) => Some(org.scope_name(d).to_owned()),
        };
        match permissions {
            // Narrowed to permissions: each asked permission the role grants.
            Some(perms) => {
                for asked in perms.iter().filter(|x| role_has(org, g.grant.role, x)) {
                    if let Some(q) = pattern_of(asked) {
                        out.push((q, place.clone()));
                    }
                }
            }
            None => {
                for p in org.role_patterns(g.grant.role) {
                    out.push((p.clone(), place.clone()));
                }
            }
        }
    }
    out
}

fn pattern_of(text: &str) -> Option<Pattern> {
    let mut parts = text.split(':');
    let (d, e, a) = (parts.next()?, parts.next()?, parts.next()?);
    let part = |x: &str| (x != "*").then(|| Box::from(x));
    Some(Pattern {
        domain: d.into(),
        entity: part(e),
        action: part(a),
    })
}

/// What `after` can do that `before` could not: each of the after-subject's (pattern, place)
/// that no before-grant covers (a pattern covering it, in all divisions or the same one).
fn widened(
    (base, b): (&Org, SubjectRef),
    (other, o): (&Org, SubjectRef),
    permissions: Option<&[String]>,
) -> Vec<String> {
    let before = held(base, b, permissions);
    let mut out: BTreeSet<String> = BTreeSet::new();
    for (p, place) in held(other, o, permissions) {
        let covered = before
            .iter()
            .any(|(bp, bplace)| bp.covers_pattern(&p) && (bplace.is_none() || *bplace == place));
        if !covered {
            let at = place.map_or_else(|| "all divisions".to_owned(), |d| format!("`{d}`"));
            out.insert(format!("`{p}` in {at}"));
        }
    }
    out.into_iter().collect()
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
    // Two subjects with one name: the first is the one matched, as the snapshot's warning says
    // (and as `--as` looks names up); the later ones are left out of the comparison.
    let mut others: HashMap<(&'static str, String), SubjectRef> = HashMap::new();
    for s in all_subjects(other) {
        others.entry((kind(s), match_name(other, s))).or_insert(s);
    }
    let mut seen: BTreeSet<SubjectKey> = BTreeSet::new();
    let mut matched = 0usize;
    let mut grants_b: BTreeSet<String> = BTreeSet::new();
    let mut grants_o: BTreeSet<String> = BTreeSet::new();
    let wanted = |key: &SubjectKey| opts.subject.as_ref().is_none_or(|k| k == key);
    let perms = opts.permissions.as_deref();
    for s in all_subjects(base) {
        let key = subject_key(base, s);
        if !wanted(&key) || !seen.insert(key.clone()) {
            continue;
        }
        let Some(&o) = others.get(&key) else {
            if let Some(line) = only_in(base, s, perms) {
                d.subjects_only.push(format!("- {line}"));
            }
            continue;
        };
        matched += 1;
        let (sb, so) = (signature(base, s), signature(other, o));
        // With an operation, only grants of roles that give one of its permissions matter.
        for (r, place) in sb
            .iter()
            .filter(|g| !so.contains(g) && role_gives(base, &g.0, perms))
        {
            grants_b.insert(format!("{} `{}`: role `{r}` in {place}", key.0, key.1));
        }
        for (r, place) in so
            .iter()
            .filter(|g| !sb.contains(g) && role_gives(other, &g.0, perms))
        {
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
                widened: widened((base, s), (other, o), perms),
            });
        }
    }
    if matched < others.len() {
        let base_keys: BTreeSet<SubjectKey> =
            all_subjects(base).map(|s| subject_key(base, s)).collect();
        for s in all_subjects(other) {
            let key = subject_key(other, s);
            if wanted(&key) && !base_keys.contains(&key) {
                if let Some(line) = only_in(other, s, perms) {
                    d.subjects_only.push(format!("+ {line}"));
                }
            }
        }
    }
    d.grants
        .extend(grants_b.into_iter().map(|g| format!("- {g}")));
    d.grants
        .extend(grants_o.into_iter().map(|g| format!("+ {g}")));

    d.coverage = coverage_changes(base, other);
    // Policies: in a narrowed diff, those that target an asked permission or apply to the
    // asked subject.
    let keep = |org: &Org, p: &crate::model::AccessPolicy| -> bool {
        perms.is_none_or(|ps| {
            let ps: Vec<&str> = ps.iter().map(String::as_str).collect();
            super::policy_covers_any(&p.target_resource, &ps)
        }) && opts.subject.as_ref().is_none_or(|k| {
            all_subjects(org)
                .filter(|s| &subject_key(org, *s) == k)
                .any(|s| super::policy_applies(org, p, s))
        })
    };
    d.policies = policy_changes(base, other, &keep);
    if opts.subject.is_some() || opts.permissions.is_some() {
        // A narrowed diff is about access; org-wide sections would be noise. Roles stay when
        // the subject holds them (in either org) and they give one of the permissions asked.
        let held: BTreeSet<String> = [(base, &bs), (other, &os)]
            .into_iter()
            .flat_map(|(org, _)| {
                all_subjects(org)
                    .filter(|s| wanted(&subject_key(org, *s)))
                    .flat_map(move |s| signature(org, s).into_iter().map(|(r, _)| r))
                    .collect::<Vec<_>>()
            })
            .collect();
        d.roles
            .retain(|r| opts.subject.is_none() || held.contains(&r.name));
        // With an operation, only the changes that touch its permissions.
        if let Some(ps) = perms {
            for r in &mut d.roles {
                let touches = |x: &String| ps.iter().any(|p| covers_text(x, p));
                r.added.retain(touches);
                r.removed.retain(touches);
            }
            d.roles
                .retain(|r| !r.added.is_empty() || !r.removed.is_empty());
        }
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

/// Whether the org's role of this name gives one of `perms` (any role does when none are asked).
fn role_gives(org: &Org, role: &str, perms: Option<&[String]>) -> bool {
    perms.is_none_or(|ps| {
        org.role(role)
            .is_some_and(|r| ps.iter().any(|p| role_has(org, r, p)))
    })
}

/// A subject present in one org only, with its grants ("client `x`: role `R` in `D`, …"), when
/// it matters: it holds a grant (of a role giving one of `perms`, when asked), or it is not a user.
fn only_in(org: &Org, s: SubjectRef, perms: Option<&[String]>) -> Option<String> {
    let (k, name) = subject_key(org, s);
    let grants: Vec<String> = signature(org, s)
        .into_iter()
        .filter(|(r, _)| role_gives(org, r, perms))
        .map(|(r, place)| format!("role `{r}` in {place}"))
        .collect();
    if grants.is_empty() && (perms.is_some() || matches!(s, SubjectRef::User(_))) {
        return None;
    }
    Some(if grants.is_empty() {
        format!("{k} `{name}` (no grants)")
    } else {
        format!("{k} `{name}`: {}", grants.join(", "))
    })
}

/// How many objects a dataset holds, for the coverage comparison.
fn dataset_len(org: &Org, dataset: &str) -> Option<usize> {
    let s = org.snapshot();
    Some(match dataset {
        "divisions" => s.divisions.len(),
        "roles" => s.roles.len(),
        "users" => s.users.len(),
        "groups" => s.groups.len(),
        "oauthClients" => s.oauth_clients.len(),
        "grants" => s.grants.len(),
        "accessPolicies" => s.access_policies.len(),
        "businessUnits" => s.business_units.len(),
        "managementUnits" => s.management_units.len(),
        "permissionCatalog" => s.permission_catalog.len(),
        "operations" => s.operations.len(),
        _ => return None,
    })
}

/// Datasets one snapshot could read and the other could not: "access policies: readable (0) →
/// not readable (403, needs `authorization:policy:view`)". A finding's absence means less when
/// its data was not read, so this is a difference like any other.
fn coverage_changes(base: &Org, other: &Org) -> Vec<String> {
    let state = |org: &Org, dataset: &str| -> String {
        match org
            .snapshot()
            .coverage
            .iter()
            .find(|c| c.dataset == dataset && c.status != "ok")
        {
            Some(c) => {
                let mut why: Vec<String> = c.http_status.iter().map(ToString::to_string).collect();
                if let Some(p) = &c.permission {
                    why.push(format!("needs `{p}`"));
                }
                format!("not readable ({})", why.join(", "))
            }
            None => match dataset_len(org, dataset) {
                Some(n) => format!("readable ({n})"),
                None => "readable".to_owned(),
            },
        }
    };
    crate::model::DATASETS
        .iter()
        .filter_map(|ds| {
            let (b, o) = (state(base, ds), state(other, ds));
            let differs = b.starts_with("not") != o.starts_with("not");
            differs.then(|| format!("`{ds}`: {b} → {o}"))
        })
        .collect()
}

/// Access policies added, removed or changed, by name; `keep` narrows them (a narrowed diff
/// keeps those whose target covers an asked permission, or that apply to the asked subject).
fn policy_changes(
    base: &Org,
    other: &Org,
    keep: &dyn Fn(&Org, &crate::model::AccessPolicy) -> bool,
) -> Vec<String> {
    // Policies one side could not read are not "removed": the coverage line says why.
    let unread = |o: &Org| {
        o.snapshot()
            .coverage
            .iter()
            .any(|c| c.dataset == "accessPolicies" && c.status != "ok")
    };
    if unread(base) || unread(other) {
        return Vec::new();
    }
    let pol = |o: &Org| -> BTreeMap<String, (String, bool)> {
        o.snapshot()
            .access_policies
            .iter()
            .map(|p| {
                let text = format!(
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
                );
                (p.name.clone(), (text, keep(o, p)))
            })
            .collect()
    };
    let (pb, po) = (pol(base), pol(other));
    let mut out = Vec::new();
    for (n, (v, k)) in &po {
        match pb.get(n) {
            None if *k => out.push(format!("+ `{n}`: {v}")),
            Some((b, kb)) if b != v && (*k || *kb) => out.push(format!("~ `{n}`: {b} → {v}")),
            _ => {}
        }
    }
    for (n, (v, k)) in &pb {
        if *k && !po.contains_key(n) {
            out.push(format!("- `{n}`: {v}"));
        }
    }
    out
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
