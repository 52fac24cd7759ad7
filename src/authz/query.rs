//! Access queries: who holds a permission where ([`who_can`]) and what one subject reaches
//! ([`access_of`]). Answers for the CLI (`who-can`, `access`), the HTML report's access map and
//! rules (`org.who_can`).
//!
//! No second authorization algorithm: holders come from the same effective grants, `covers`
//! and division awareness as [`can`](super::can), so a subject listed in a division is exactly
//! one `can` allows there (a property test holds the two together). Access policies are not part
//! of `can`; they are named per holder (an active DENY that covers the permission and applies to
//! the subject), never silently folded in, and `explain` weighs their conditions.

use super::{
    awareness, covers, effective_grants, is_client_credentials, role_grants, sign_in_problem,
    Awareness, EffectiveGrant, Target, Via,
};
use super::{gaps, unread};
use crate::model::{Org, Pattern, Permission, Scope, SubjectRef};

/// A kind of subject, for filtering (`--kind user|group|client`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectKind {
    /// Users (direct grants and those of their `rolesEnabled` groups).
    User,
    /// Groups (their own grants).
    Group,
    /// OAuth clients (client-credentials only: other grant types act as a user).
    Client,
}

impl SubjectKind {
    /// The kind of a subject.
    #[must_use]
    pub fn of(s: SubjectRef) -> Self {
        match s {
            SubjectRef::User(_) => Self::User,
            SubjectRef::Group(_) => Self::Group,
            SubjectRef::Client(_) => Self::Client,
        }
    }

    /// `user`, `group`, `client`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
            Self::Client => "client",
        }
    }

    /// Parse `user`, `group` or `client`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Self::User),
            "group" => Some(Self::Group),
            "client" => Some(Self::Client),
            _ => None,
        }
    }
}

/// Datasets whose gaps leave a who-can answer incomplete: the subjects and their grants, and the
/// catalog that says whether the permission is division-aware.
const WHO_CAN_DATA: [&str; 6] = [
    "roles",
    "grants",
    "groups",
    "oauthClients",
    "users",
    "permissionCatalog",
];

/// What [`who_can`] is asked.
#[derive(Debug, Clone, Default)]
pub struct WhoCanQuery<'a> {
    /// `domain:entity:action` (a `*` part asks for the wildcard grant itself).
    pub permission: &'a str,
    /// Only these divisions (indexes); empty = every division.
    pub divisions: Vec<u32>,
    /// Only these kinds; empty = every kind.
    pub kinds: Vec<SubjectKind>,
}

/// One subject that holds the permission somewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The subject.
    pub subject: SubjectRef,
    /// Every grant through which it holds the permission (any scope), direct first.
    pub grants: Vec<EffectiveGrant>,
    /// Why it cannot get a token, if it cannot: it holds the permission but cannot use it.
    pub sign_in: Option<&'static str>,
    /// Active DENY access policies (indexes) that cover the permission and apply to the subject:
    /// calls may get 403 `authz.policy.denied` despite the grants (`explain` weighs conditions).
    pub denied_by: Vec<u32>,
}

impl Holder {
    /// The grants that give the permission at `target`.
    pub fn grants_at(
        &self,
        target: Target,
        aware: bool,
    ) -> impl Iterator<Item = &EffectiveGrant> + '_ {
        self.grants
            .iter()
            .filter(move |g| covers(g.grant.scope, target, aware))
    }

    /// Whether every grant that gives it at `target` comes through a group.
    #[must_use]
    pub fn only_through_groups(&self, target: Target, aware: bool) -> bool {
        self.grants_at(target, aware)
            .all(|g| matches!(g.via, Via::Group(_)))
    }
}

/// The holders in one division (or, for a permission that is not division-aware and no
/// divisions asked, in any division).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DivisionHolders {
    /// The division (index); `None` = any division.
    pub division: Option<u32>,
    /// Indexes into [`WhoCan::holders`].
    pub holders: Vec<u32>,
}

impl DivisionHolders {
    /// The target this bucket answers for.
    #[must_use]
    pub fn target(&self) -> Target {
        self.division.map_or(Target::Any, Target::Division)
    }
}

/// The answer of [`who_can`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhoCan {
    /// The permission asked.
    pub permission: String,
    /// What the catalog says of its divisions (`Unknown`: not in the catalog, matched literally
    /// and treated as division-aware).
    pub awareness: Awareness,
    /// Every subject holding it in at least one asked division, users then groups then
    /// clients, by name.
    pub holders: Vec<Holder>,
    /// Per asked division, who holds it there.
    pub divisions: Vec<DivisionHolders>,
    /// What the answer leans on or lacks, in plain words (catalog, gaps, policies).
    pub notes: Vec<String>,
}

impl WhoCan {
    /// Whether the answer treats the permission as division-aware.
    #[must_use]
    pub fn aware(&self) -> bool {
        self.awareness.treated_as_aware()
    }
}

/// A query that cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("`{permission}` is not a `domain:entity:action` permission")]
#[diagnostic(
    code(rolecall::query::permission),
    help("give a permission such as `wfm:agent:edit`; `*` stands for every entity or action")
)]
pub struct QueryError {
    permission: String,
}

/// Who holds `q.permission`, per division.
///
/// Works role-first (roles that grant it, their holders, members of `rolesEnabled` groups), so
/// its cost follows the grants of matching roles, not the number of subjects.
///
/// # Errors
/// When the permission is not `domain:entity:action`.
pub fn who_can(org: &Org, q: &WhoCanQuery<'_>) -> Result<WhoCan, QueryError> {
    let perm = Permission::parse(q.permission).ok_or_else(|| QueryError {
        permission: q.permission.to_owned(),
    })?;
    let awareness = awareness(org, q.permission);
    let aware = awareness.treated_as_aware();
    let holders = collect_holders(org, &perm, &q.kinds);
    let buckets: Vec<Option<u32>> = if !q.divisions.is_empty() {
        let mut seen = Vec::new();
        for &d in &q.divisions {
            if !seen.contains(&Some(d)) {
                seen.push(Some(d));
            }
        }
        seen
    } else if aware {
        (0..org.snapshot().divisions.len())
            .filter_map(|d| u32::try_from(d).ok())
            .map(Some)
            .collect()
    } else {
        vec![None]
    };
    let (mut holders, divisions) = bucket(holders, buckets, aware, org.snapshot().divisions.len());
    let denying = denying_policies(org, q.permission);
    if !denying.is_empty() {
        let policies = &org.snapshot().access_policies;
        for h in &mut holders {
            h.denied_by = denying
                .iter()
                .copied()
                .filter(|&p| {
                    policies
                        .get(p as usize)
                        .is_some_and(|p| super::policy_applies(org, p, h.subject))
                })
                .collect();
        }
    }
    let notes = who_can_notes(org, q.permission, awareness, &holders);
    Ok(WhoCan {
        permission: q.permission.to_owned(),
        awareness,
        holders,
        divisions,
        notes,
    })
}

/// Sort holders into the asked divisions in one pass over their grants (the same reading as
/// `covers`: a `*` grant, or any grant of a permission that is not division-aware, covers every
/// division; another grant only its own). Holders reaching no asked division are dropped.
fn bucket(
    holders: Vec<Holder>,
    buckets: Vec<Option<u32>>,
    aware: bool,
    n_divisions: usize,
) -> (Vec<Holder>, Vec<DivisionHolders>) {
    let mut pos: Vec<Option<usize>> = vec![None; n_divisions];
    for (b, d) in buckets.iter().enumerate() {
        if let Some(slot) = d.and_then(|d| pos.get_mut(d as usize)) {
            *slot = Some(b);
        }
    }
    let mut lists: Vec<Vec<u32>> = vec![Vec::new(); buckets.len()];
    let mut kept = Vec::with_capacity(holders.len());
    for h in holders {
        let Ok(idx) = u32::try_from(kept.len()) else {
            break;
        };
        let everywhere = !aware || h.grants.iter().any(|g| g.grant.scope == Scope::All);
        let mut reached = false;
        if everywhere {
            for l in &mut lists {
                l.push(idx);
                reached = true;
            }
        } else {
            for g in &h.grants {
                let Scope::Division(d) = g.grant.scope else {
                    continue;
                };
                if let Some(b) = pos.get(d as usize).copied().flatten() {
                    if lists[b].last() != Some(&idx) {
                        lists[b].push(idx);
                    }
                    reached = true;
                }
            }
        }
        if reached {
            kept.push(h);
        }
    }
    let divisions = buckets
        .into_iter()
        .zip(lists)
        .map(|(division, holders)| DivisionHolders { division, holders })
        .collect();
    (kept, divisions)
}

/// Every subject whose grants give `perm` in some scope, with those grants.
fn collect_holders(org: &Org, perm: &Permission<'_>, kinds: &[SubjectKind]) -> Vec<Holder> {
    let snap = org.snapshot();
    let wanted = |k: SubjectKind| kinds.is_empty() || kinds.contains(&k);
    // Grants per subject, indexed densely: users, then groups, then clients.
    let (nu, ng) = (snap.users.len(), snap.groups.len());
    let mut found: Vec<Vec<EffectiveGrant>> = vec![Vec::new(); nu + ng + snap.oauth_clients.len()];
    let slot = |s: SubjectRef| match s {
        SubjectRef::User(u) => u as usize,
        SubjectRef::Group(g) => nu + g as usize,
        SubjectRef::Client(c) => nu + ng + c as usize,
    };
    for role in (0..snap.roles.len()).filter_map(|r| u32::try_from(r).ok()) {
        if !role_grants(org, role, perm) {
            continue;
        }
        for &(subject, scope) in org.role_holders(role) {
            let grant = crate::model::GrantRef { role, scope };
            match subject {
                SubjectRef::Group(g) => {
                    if wanted(SubjectKind::Group) {
                        found[slot(subject)].push(EffectiveGrant {
                            grant,
                            via: Via::Direct,
                        });
                    }
                    let passes = snap.groups.get(g as usize).is_some_and(|x| x.roles_enabled);
                    if passes && wanted(SubjectKind::User) {
                        for u in org.group_members(g) {
                            found[slot(SubjectRef::User(u))].push(EffectiveGrant {
                                grant,
                                via: Via::Group(g),
                            });
                        }
                    }
                }
                SubjectRef::Client(c) if !is_client_credentials(org, c) => {}
                s if wanted(SubjectKind::of(s)) => found[slot(s)].push(EffectiveGrant {
                    grant,
                    via: Via::Direct,
                }),
                _ => {}
            }
        }
    }
    let subject_at = |i: usize| -> Option<SubjectRef> {
        let i32_ = |x: usize| u32::try_from(x).ok();
        if i < nu {
            i32_(i).map(SubjectRef::User)
        } else if i < nu + ng {
            i32_(i - nu).map(SubjectRef::Group)
        } else {
            i32_(i - nu - ng).map(SubjectRef::Client)
        }
    };
    let mut out: Vec<Holder> = found
        .into_iter()
        .enumerate()
        .filter(|(_, g)| !g.is_empty())
        .filter_map(|(i, mut grants)| {
            let subject = subject_at(i)?;
            // Direct grants first, then by group, as `effective_grants` orders them.
            grants.sort_by_key(|g| match g.via {
                Via::Direct => (0, 0),
                Via::Group(x) => (1, x),
            });
            grants.dedup();
            Some(Holder {
                subject,
                grants,
                sign_in: sign_in_problem(org, subject),
                denied_by: Vec::new(),
            })
        })
        .collect();
    let rank = |s: SubjectRef| match s {
        SubjectRef::User(_) => 0,
        SubjectRef::Group(_) => 1,
        SubjectRef::Client(_) => 2,
    };
    out.sort_by(|a, b| {
        rank(a.subject)
            .cmp(&rank(b.subject))
            .then_with(|| org.subject_name(a.subject).cmp(org.subject_name(b.subject)))
            .then_with(|| a.subject.cmp(&b.subject))
    });
    out
}

/// Active DENY policies covering `permission` (whom each applies to is asked per holder).
fn denying_policies(org: &Org, permission: &str) -> Vec<u32> {
    org.snapshot()
        .access_policies
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            p.active
                && p.effect.eq_ignore_ascii_case("DENY")
                && super::policy_covers(&p.target_resource, permission)
        })
        .filter_map(|(i, _)| u32::try_from(i).ok())
        .collect()
}

fn who_can_notes(org: &Org, permission: &str, a: Awareness, holders: &[Holder]) -> Vec<String> {
    let mut notes = Vec::new();
    match a {
        Awareness::Unknown => notes.push(format!(
            "`{permission}` is not in the snapshot's permission catalog: it was matched literally and treated as division-aware"
        )),
        Awareness::NotAware => notes.push(format!(
            "`{permission}` is not division-aware: a grant in any division covers every division"
        )),
        Awareness::Aware => {}
    }
    notes.extend(gaps(org, &WHO_CAN_DATA).map(|c| {
        format!(
            "{}: holders through that data are missing from this answer",
            unread(c)
        )
    }));
    if let Some(gap) = gaps(org, &["accessPolicies"]).next() {
        notes.push(format!(
            "{}: a DENY policy may block some holders",
            unread(gap)
        ));
    }
    if holders.iter().any(|h| !h.denied_by.is_empty()) {
        notes.push(
            "holders marked `denied by policy` have an active DENY access policy covering the permission; `rolecall explain` weighs its condition".to_owned(),
        );
    }
    if holders.iter().any(|h| h.sign_in.is_some()) {
        notes.push(
            "holders marked `cannot sign in` hold the permission but cannot get a token to use it"
                .to_owned(),
        );
    }
    notes
}

/// One grant a subject holds, with the permissions it gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    /// The grant and how it is held.
    pub grant: EffectiveGrant,
    /// The role's permissions (patterns, as granted) that overlap the filter.
    pub permissions: Vec<String>,
}

/// The answer of [`access_of`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// The subject.
    pub subject: SubjectRef,
    /// Why it cannot get a token, if it cannot.
    pub sign_in: Option<&'static str>,
    /// Its grants, per scope: `Scope::All` first, then divisions in snapshot order. Grants
    /// whose role gives nothing matching the filter are left out.
    pub scopes: Vec<(Scope, Vec<AccessGrant>)>,
    /// What the answer leans on or lacks, in plain words.
    pub notes: Vec<String>,
}

/// A `--permission` filter: `domain:entity:action` with `*` for any part (also the domain).
fn glob_pattern(glob: &str) -> Option<[Option<&str>; 3]> {
    fn part(p: Option<&str>) -> Option<Option<&str>> {
        p.map(|s| (s != "*").then_some(s))
    }
    let mut it = glob.split(':');
    let out = [part(it.next())?, part(it.next())?, part(it.next())?];
    it.next().is_none().then_some(out)
}

/// Whether a granted pattern overlaps a filter: every part equal, or a wildcard on either side.
fn overlaps(p: &Pattern, glob: &[Option<&str>; 3]) -> bool {
    let part =
        |have: Option<&str>, want: Option<&str>| have.is_none() || want.is_none() || have == want;
    part(Some(&p.domain), glob[0])
        && part(p.entity.as_deref(), glob[1])
        && part(p.action.as_deref(), glob[2])
}

/// What one subject can do: its effective grants (direct and through groups), per scope, with
/// the permissions each gives, optionally only those overlapping `glob` (`wfm:*:*`,
/// `*:agent:edit`).
///
/// # Errors
/// When `glob` is not three `:`-separated parts.
pub fn access_of(org: &Org, subject: SubjectRef, glob: Option<&str>) -> Result<Access, QueryError> {
    let filter = match glob {
        Some(g) => Some(glob_pattern(g).ok_or_else(|| QueryError {
            permission: g.to_owned(),
        })?),
        None => None,
    };
    let user_context = matches!(subject, SubjectRef::Client(c) if !is_client_credentials(org, c));
    let mut scopes: Vec<(Scope, Vec<AccessGrant>)> = Vec::new();
    for grant in effective_grants(org, subject) {
        let permissions: Vec<String> = org
            .role_patterns(grant.grant.role)
            .iter()
            .filter(|p| filter.as_ref().is_none_or(|f| overlaps(p, f)))
            .map(ToString::to_string)
            .collect();
        // Every grant is listed, one that gives nothing too (a role with no permission
        // policies): "1 grant" while two are held would hide one. A filter drops non-matches.
        if permissions.is_empty() && filter.is_some() {
            continue;
        }
        let item = AccessGrant { grant, permissions };
        match scopes.iter_mut().find(|(s, _)| *s == grant.grant.scope) {
            Some((_, list)) => list.push(item),
            None => scopes.push((grant.grant.scope, vec![item])),
        }
    }
    scopes.sort_by_key(|(s, _)| match s {
        Scope::All => (0, 0),
        Scope::Division(d) => (1, *d),
    });
    let mut notes: Vec<String> = gaps(org, super::steps::grant_data(subject))
        .map(|c| format!("{}: grants held through that data are missing", unread(c)))
        .collect();
    if user_context {
        notes.push("the client does not use client-credentials: its roles do not apply; its calls run as the signed-in user, limited by its scopes".to_owned());
    }
    Ok(Access {
        subject,
        sign_in: sign_in_problem(org, subject),
        scopes: if user_context { Vec::new() } else { scopes },
        notes,
    })
}

/// The queries as methods on [`Org`], for `org.who_can(…)` reading.
pub trait Queries {
    /// See [`who_can`].
    ///
    /// # Errors
    /// When the permission is not `domain:entity:action`.
    fn who_can(&self, q: &WhoCanQuery<'_>) -> Result<WhoCan, QueryError>;
    /// See [`access_of`].
    ///
    /// # Errors
    /// When the filter is not three `:`-separated parts.
    fn access_of(&self, subject: SubjectRef, glob: Option<&str>) -> Result<Access, QueryError>;
}

impl Queries for Org {
    fn who_can(&self, q: &WhoCanQuery<'_>) -> Result<WhoCan, QueryError> {
        who_can(self, q)
    }
    fn access_of(&self, subject: SubjectRef, glob: Option<&str>) -> Result<Access, QueryError> {
        access_of(self, subject, glob)
    }
}

#[cfg(test)]
mod tests;
