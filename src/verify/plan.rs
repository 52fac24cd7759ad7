//! Which (subject, permission) pairs `verify` asks about: users chosen so that every way of
//! holding access in the snapshot is asked once (direct grants, each role-holding group, `*`
//! grants, wildcard role permissions, a group that passes no roles, no grants at all), the
//! fetching client itself through `…/paged/me`, and the permissions rules use and roles grant;
//! bounded by `--max-requests`. Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::VerifyError;
use crate::authz::{effective_grants, subjects_with, Target};
use crate::model::{Org, Permission, Scope, SubjectRef};

/// How to choose the pairs.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Only these users (ids or emails); empty = chosen to cover every way of holding access.
    pub subjects: Vec<String>,
    /// Only these permissions; empty = the rules' and the roles' permissions.
    pub permissions: Vec<String>,
    /// Permissions the loaded rules and ACC001 expectations use (asked first).
    pub rule_permissions: Vec<String>,
    /// The fetching OAuth client's id, asked about through `…/paged/me`; `None` = no such pairs.
    pub caller: Option<String>,
    /// The most requests to send, the token request included.
    pub max_requests: usize,
    /// Whether a token request is needed (client credentials) and counts against the limit.
    pub token_request: bool,
}

/// A way of holding access that a chosen user stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case", tag = "way", content = "group")]
pub enum Way {
    /// Grants made to the user.
    Direct,
    /// A grant made to the user in one division (not `*`): the division check of a direct
    /// grant, which a user holding only `*` grants never exercises.
    DirectInDivision,
    /// Grants of a `rolesEnabled` group (index) the user is in.
    Group(u32),
    /// Grants of a group without `rolesEnabled` (rolecall passes none of them on).
    GroupWithoutRoles(u32),
    /// A grant in `*`.
    AllDivisions,
    /// A role permission with a wildcard.
    Wildcard,
    /// No grants at all.
    NoGrants,
    /// Holds a permission no other chosen user holds.
    Holder,
    /// Named with `--subjects`.
    Named,
    /// The fetching client itself (`…/paged/me`).
    Caller,
}

/// Who a pair asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Asked {
    /// A user, by `…/paged/{userId}`.
    User(u32),
    /// The fetching client, by `…/paged/me`.
    Caller(u32),
}

impl Asked {
    /// The subject in the model.
    #[must_use]
    pub fn subject(self) -> SubjectRef {
        match self {
            Self::User(u) => SubjectRef::User(u),
            Self::Caller(c) => SubjectRef::Client(c),
        }
    }
}

/// One question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// Who.
    pub asked: Asked,
    /// Which permission.
    pub permission: String,
    /// The most pages to read for it (see [`pages_for`]).
    pub pages: usize,
}

/// The chosen pairs and what they cost.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The pairs, in the order they are asked.
    pub pairs: Vec<Pair>,
    /// The chosen subjects and the ways each stands for.
    pub subjects: Vec<(Asked, Vec<Way>)>,
    /// Distinct permissions in the pairs.
    pub permissions: usize,
    /// The most requests the plan sends (every pair's pages, and the token request).
    pub requests: usize,
    /// Pairs left out to stay within `--max-requests`.
    pub left_out: usize,
}

/// Most permissions one wildcard role permission contributes (from the permission catalog).
const PER_WILDCARD: usize = 3;

/// Choose the pairs.
///
/// # Errors
/// A `--subjects` entry the snapshot lacks, a `--permissions` entry that is not a concrete
/// `domain:entity:action`, or a limit too small for a single pair.
pub fn plan(org: &Org, o: &PlanOptions) -> Result<Plan, VerifyError> {
    let perms = permissions(org, o)?;
    let mut chosen = if o.subjects.is_empty() {
        cover_ways(org)
    } else {
        named(org, &o.subjects)?
    };
    let caller = o.caller.as_deref().and_then(|id| org.client(id));
    // Pairs per subject: the permissions its grants give (any way), and one it lacks, so both
    // a "yes" and a "no" of each way are asked.
    let mut per_subject: Vec<Vec<String>> = chosen
        .iter()
        .map(|(asked, _)| relevant(org, asked.subject(), &perms))
        .collect();
    // A permission no chosen user's pairs ask about: add a holder of it, when there is one.
    if o.subjects.is_empty() {
        let asked: BTreeSet<&str> = per_subject.iter().flatten().map(String::as_str).collect();
        let missing: Vec<String> = perms
            .iter()
            .filter(|p| !asked.contains(p.as_str()))
            .cloned()
            .collect();
        for p in missing {
            let holder = subjects_with(org, &p, Target::Any)
                .into_iter()
                .find_map(|s| match s {
                    SubjectRef::User(u) if active(org, u) => Some(u),
                    _ => None,
                });
            if let Some(u) = holder {
                match chosen.iter().position(|(a, _)| *a == Asked::User(u)) {
                    Some(i) => per_subject[i].push(p),
                    None => {
                        chosen.push((Asked::User(u), vec![Way::Holder]));
                        per_subject.push(vec![p]);
                    }
                }
            }
        }
    }
    if let Some(c) = caller {
        chosen.push((Asked::Caller(c), vec![Way::Caller]));
        per_subject.push(perms.clone());
    }
    let fixed = usize::from(o.token_request);
    let room = o.max_requests.saturating_sub(fixed);
    if room == 0 {
        return Err(VerifyError::TooFewRequests {
            max: o.max_requests,
            needed: fixed + 1,
        });
    }
    // Round-robin over subjects, so a limit keeps every way asked about at least once.
    // Stops at the limit: a large org's candidate pairs are counted, never all built.
    let total: usize = per_subject.iter().map(Vec::len).sum();
    let mut pairs = Vec::with_capacity(total.min(room));
    let mut spent = 0;
    let longest = per_subject.iter().map(Vec::len).max().unwrap_or(0);
    'rounds: for k in 0..longest {
        for ((asked, _), list) in chosen.iter().zip(&per_subject) {
            if spent >= room {
                break 'rounds;
            }
            let Some(p) = list.get(k) else { continue };
            let pages = pages_for(org, asked.subject(), p);
            // A pair that does not fit is left out; a later, shorter one may still fit.
            if spent + pages <= room {
                spent += pages;
                pairs.push(Pair {
                    asked: *asked,
                    permission: p.clone(),
                    pages,
                });
            }
        }
    }
    let left_out = total - pairs.len();
    if pairs.is_empty() {
        // Agreement on nothing is no agreement: say so instead of a clean result.
        return Err(VerifyError::NothingToAsk);
    }
    let kept: BTreeSet<Asked> = pairs.iter().map(|p| p.asked).collect();
    chosen.retain(|(a, _)| kept.contains(a));
    let permissions = pairs
        .iter()
        .map(|p| p.permission.as_str())
        .collect::<BTreeSet<_>>()
        .len();
    Ok(Plan {
        requests: fixed + spent,
        pairs,
        subjects: chosen,
        permissions,
        left_out,
    })
}

/// Pages a pair may read: as many as rolecall's answer needs (one when it says every division:
/// the first page then says `allDivsPermitted` and the rest adds nothing). A platform answer
/// longer than that lists more divisions than rolecall's: a disagreement, seen without reading
/// the rest.
#[must_use]
pub fn pages_for(org: &Org, subject: SubjectRef, permission: &str) -> usize {
    let Some(perm) = Permission::parse(permission) else {
        return 1;
    };
    let m = super::model_answer(org, subject, &perm);
    if m.all {
        1
    } else {
        m.divisions
            .len()
            .max(1)
            .div_ceil(crate::fetch::plan::page_size::DIVISIONS_PERMITTED)
    }
}

fn active(org: &Org, user: u32) -> bool {
    org.snapshot()
        .users
        .get(user as usize)
        .is_some_and(|u| u.state == "active")
}

/// The permissions to ask about: `--permissions`, or the rules' first and then those the
/// roles grant (concrete ones, and a few catalog permissions per wildcard), without repeats.
fn permissions(org: &Org, o: &PlanOptions) -> Result<Vec<String>, VerifyError> {
    if !o.permissions.is_empty() {
        for p in &o.permissions {
            let ok = Permission::parse(p).is_some_and(|x| {
                x.domain != "*" && x.entity != "*" && x.action != "*" && !p.contains(['/', '?'])
            });
            if !ok {
                return Err(VerifyError::BadPermission(p.clone()));
            }
        }
        return Ok(dedup(o.permissions.clone()));
    }
    let snap = org.snapshot();
    let mut out: Vec<String> = o
        .rule_permissions
        .iter()
        .filter(|p| Permission::parse(p).is_some() && !p.contains('*'))
        .cloned()
        .collect();
    for role in 0..snap.roles.len() {
        let role = u32::try_from(role).unwrap_or(u32::MAX);
        for pat in org.role_patterns(role) {
            match (&pat.entity, &pat.action) {
                (Some(e), Some(a)) => out.push(format!("{}:{e}:{a}", pat.domain)),
                _ => out.extend(
                    snap.permission_catalog
                        .iter()
                        .map(|c| format!("{}:{}:{}", c.domain, c.entity_type, c.action))
                        .filter(|c| Permission::parse(c).is_some_and(|p| pat.matches(&p)))
                        .take(PER_WILDCARD),
                ),
            }
        }
    }
    Ok(dedup(out))
}

fn dedup(list: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    list.into_iter()
        .filter(|p| seen.insert(p.clone()))
        .collect()
}

/// Users for `--subjects`.
fn named(org: &Org, keys: &[String]) -> Result<Vec<(Asked, Vec<Way>)>, VerifyError> {
    let mut out: Vec<(Asked, Vec<Way>)> = Vec::new();
    for k in keys {
        let u = org
            .user(k)
            .ok_or_else(|| VerifyError::UnknownSubject(k.clone()))?;
        if !out.iter().any(|(a, _)| *a == Asked::User(u)) {
            out.push((Asked::User(u), vec![Way::Named]));
        }
    }
    Ok(out)
}

/// The ways one user holds access.
fn ways_of(org: &Org, user: u32) -> Vec<Way> {
    let mut ways = Vec::new();
    let grants = effective_grants(org, SubjectRef::User(user));
    let direct = org.direct_grants(SubjectRef::User(user));
    if !direct.is_empty() {
        ways.push(Way::Direct);
    }
    if direct.iter().any(|g| matches!(g.scope, Scope::Division(_))) {
        ways.push(Way::DirectInDivision);
    }
    for &g in org.groups_of(user) {
        if org.direct_grants(SubjectRef::Group(g)).is_empty() {
            continue;
        }
        let enabled = org
            .snapshot()
            .groups
            .get(g as usize)
            .is_some_and(|x| x.roles_enabled);
        ways.push(if enabled {
            Way::Group(g)
        } else {
            Way::GroupWithoutRoles(g)
        });
    }
    if grants.iter().any(|g| g.grant.scope == Scope::All) {
        ways.push(Way::AllDivisions);
    }
    if grants.iter().any(|g| {
        org.role_patterns(g.grant.role)
            .iter()
            .any(|p| p.entity.is_none() || p.action.is_none())
    }) {
        ways.push(Way::Wildcard);
    }
    if grants.is_empty() && !ways.contains(&Way::Direct) {
        ways.push(Way::NoGrants);
    }
    ways
}

/// One active user per way of holding access, greedily in snapshot order.
fn cover_ways(org: &Org) -> Vec<(Asked, Vec<Way>)> {
    let mut covered: BTreeMap<Way, u32> = BTreeMap::new();
    let mut out = Vec::new();
    for u in 0..org.snapshot().users.len() {
        let u = u32::try_from(u).unwrap_or(u32::MAX);
        if !active(org, u) {
            continue;
        }
        let new: Vec<Way> = ways_of(org, u)
            .into_iter()
            .filter(|w| !covered.contains_key(w))
            .collect();
        if new.is_empty() {
            continue;
        }
        for w in &new {
            covered.insert(*w, u);
        }
        out.push((Asked::User(u), new));
    }
    out
}

/// The permissions a subject's grants give (through any group, passing roles or not), then one
/// it lacks.
fn relevant(org: &Org, subject: SubjectRef, perms: &[String]) -> Vec<String> {
    let mut roles: BTreeSet<u32> = effective_grants(org, subject)
        .iter()
        .map(|g| g.grant.role)
        .collect();
    if let SubjectRef::User(u) = subject {
        for &g in org.groups_of(u) {
            roles.extend(
                org.direct_grants(SubjectRef::Group(g))
                    .iter()
                    .map(|x| x.role),
            );
        }
    }
    let (held, lacking): (Vec<&String>, Vec<&String>) = perms.iter().partition(|p| {
        Permission::parse(p).is_some_and(|perm| {
            roles
                .iter()
                .any(|&r| crate::authz::role_grants(org, r, &perm))
        })
    });
    let mut out: Vec<String> = held.into_iter().cloned().collect();
    out.extend(lacking.into_iter().next().cloned());
    out
}
