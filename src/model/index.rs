//! [`Org`]: an immutable, indexed view of one snapshot.
//!
//! Built once per snapshot and shared behind an `Arc`. Objects are addressed by dense `u32`
//! indexes into the snapshot's arrays; lookups by id and name are hash maps. Grants are joined
//! to subjects and roles here; deciding what they allow is `authz`'s job.

use std::collections::HashMap;

use super::perm::{patterns_of, Pattern};
use super::snapshot::{OrgSnapshot, ALL_DIVISIONS};
use super::usage::{Acc, OpUse, Usage, UsageIndex};

/// Where a grant applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// `*`: every division, present and future.
    All,
    /// One division, by index.
    Division(u32),
}

/// A user, group or OAuth client, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubjectRef {
    /// `PC_USER`.
    User(u32),
    /// `PC_GROUP`.
    Group(u32),
    /// `PC_OAUTH_CLIENT`.
    Client(u32),
}

/// A role granted to a subject in a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GrantRef {
    /// Role index.
    pub role: u32,
    /// Where it applies.
    pub scope: Scope,
}

const KINDS: usize = 8;

/// Which kind of object a lookup is for (an index into the per-kind maps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Division,
    Role,
    User,
    Group,
    Client,
    BusinessUnit,
    ManagementUnit,
    Policy,
}

/// The indexed org. Cheap to query, never mutated after [`Org::new`].
#[derive(Debug)]
pub struct Org {
    snap: OrgSnapshot,
    by_id: [HashMap<Box<str>, u32>; KINDS],
    by_name: [HashMap<Box<str>, u32>; KINDS],
    home: Option<u32>,
    role_patterns: Vec<Vec<Pattern>>,
    division_aware: HashMap<Box<str>, bool>,
    user_grants: Vec<Vec<GrantRef>>,
    group_grants: Vec<Vec<GrantRef>>,
    client_grants: Vec<Vec<GrantRef>>,
    user_groups: Vec<Vec<u32>>,
    role_holders: Vec<Vec<(SubjectRef, Scope)>>,
    mu_bu: Vec<Option<u32>>,
    agent_mu: HashMap<u32, u32>,
    warnings: Vec<String>,
    usage: std::sync::OnceLock<UsageIndex>,
    operations: std::sync::OnceLock<super::snapshot::OperationIndex>,
}

impl Org {
    /// Index a snapshot. Never fails: references to objects that are not in the snapshot are
    /// skipped and listed in [`Org::warnings`].
    #[must_use]
    pub fn new(snap: OrgSnapshot) -> Self {
        let mut org = Self {
            by_id: Default::default(),
            by_name: Default::default(),
            home: None,
            role_patterns: snap.roles.iter().map(patterns_of).collect(),
            division_aware: snap
                .permission_catalog
                .iter()
                .map(|p| {
                    (
                        format!("{}:{}:{}", p.domain, p.entity_type, p.action).into_boxed_str(),
                        p.division_aware,
                    )
                })
                .collect(),
            user_grants: vec![Vec::new(); snap.users.len()],
            group_grants: vec![Vec::new(); snap.groups.len()],
            client_grants: vec![Vec::new(); snap.oauth_clients.len()],
            user_groups: vec![Vec::new(); snap.users.len()],
            role_holders: vec![Vec::new(); snap.roles.len()],
            mu_bu: Vec::new(),
            agent_mu: HashMap::new(),
            warnings: super::validate::object_warnings(&snap),
            snap: OrgSnapshot::default(),
            usage: std::sync::OnceLock::new(),
            operations: std::sync::OnceLock::new(),
        };
        org.index_names(&snap);
        org.home = snap.divisions.iter().position(|d| d.home_division).map(idx);
        org.snap = snap;
        org.join_grants();
        org.join_members();
        for (m, mu) in org.snap.management_units.iter().enumerate() {
            for u in &mu.user_ids {
                if let Some(ui) = org.lookup_id(Kind::User, u) {
                    org.agent_mu.insert(ui, idx(m));
                }
            }
        }
        org.mu_bu = (0..org.snap.management_units.len())
            .map(|i| {
                let mu = &org.snap.management_units[i];
                let bu = mu.business_unit.as_ref()?;
                org.lookup_id(Kind::BusinessUnit, &bu.id)
            })
            .collect();
        org
    }

    fn index_names(&mut self, snap: &OrgSnapshot) {
        fn add<'a>(org: &mut Org, kind: Kind, items: impl Iterator<Item = (&'a str, &'a str)>) {
            for (i, (id, name)) in items.enumerate() {
                org.by_id[kind as usize].insert(id.into(), idx(i));
                // First object wins a duplicated name; ids stay unambiguous.
                org.by_name[kind as usize]
                    .entry(name.into())
                    .or_insert(idx(i));
            }
        }
        add(
            self,
            Kind::Division,
            snap.divisions
                .iter()
                .map(|d| (d.id.as_str(), d.name.as_str())),
        );
        add(
            self,
            Kind::Role,
            snap.roles.iter().map(|d| (d.id.as_str(), d.name.as_str())),
        );
        add(
            self,
            Kind::Group,
            snap.groups.iter().map(|d| (d.id.as_str(), d.name.as_str())),
        );
        add(
            self,
            Kind::Client,
            snap.oauth_clients
                .iter()
                .map(|d| (d.id.as_str(), d.name.as_str())),
        );
        add(
            self,
            Kind::BusinessUnit,
            snap.business_units
                .iter()
                .map(|d| (d.id.as_str(), d.name.as_str())),
        );
        add(
            self,
            Kind::ManagementUnit,
            snap.management_units
                .iter()
                .map(|d| (d.id.as_str(), d.name.as_str())),
        );
        add(
            self,
            Kind::Policy,
            snap.access_policies
                .iter()
                .map(|d| (d.id.as_str(), d.name.as_str())),
        );
        // Users are looked up by email (case-insensitive), which unlike display names is unique.
        for (i, u) in snap.users.iter().enumerate() {
            self.by_id[Kind::User as usize].insert(u.id.as_str().into(), idx(i));
            if let Some(email) = &u.email {
                self.by_name[Kind::User as usize]
                    .entry(email.to_ascii_lowercase().into())
                    .or_insert(idx(i));
            }
        }
    }

    fn join_grants(&mut self) {
        let mut warnings = Vec::new();
        let mut resolved = Vec::with_capacity(self.snap.grants.len());
        for g in &self.snap.grants {
            let subject = match g.subject_type.as_str() {
                "PC_USER" => self
                    .lookup_id(Kind::User, &g.subject_id)
                    .map(SubjectRef::User),
                "PC_GROUP" => self
                    .lookup_id(Kind::Group, &g.subject_id)
                    .map(SubjectRef::Group),
                "PC_OAUTH_CLIENT" => self
                    .lookup_id(Kind::Client, &g.subject_id)
                    .map(SubjectRef::Client),
                _ => None,
            };
            let role = self.lookup_id(Kind::Role, &g.role_id);
            let scope = self.scope_of(&g.division_id);
            match (subject, role, scope) {
                (Some(s), Some(r), Some(sc)) => resolved.push((s, GrantRef { role: r, scope: sc })),
                _ => warnings.push(format!(
                    "grant of role `{}` to {} `{}` in division `{}` refers to an object that is not in the snapshot",
                    g.role_id, g.subject_type, g.subject_id, g.division_id
                )),
            }
        }
        // A client-credentials client's grants are its `roleDivisions`; grant rows for clients
        // (from subjectgrants) usually repeat them, so they are merged without duplicates.
        for (i, c) in self.snap.oauth_clients.iter().enumerate() {
            for rd in &c.role_divisions {
                match (
                    self.lookup_id(Kind::Role, &rd.role_id),
                    self.scope_of(&rd.division_id),
                ) {
                    (Some(r), Some(sc)) => {
                        resolved.push((SubjectRef::Client(idx(i)), GrantRef { role: r, scope: sc }))
                    }
                    _ => warnings.push(format!(
                        "client `{}` has role `{}` in division `{}`, which is not in the snapshot",
                        c.name, rd.role_id, rd.division_id
                    )),
                }
            }
        }
        for (subject, grant) in resolved {
            let list = match subject {
                SubjectRef::User(i) => &mut self.user_grants[i as usize],
                SubjectRef::Group(i) => &mut self.group_grants[i as usize],
                SubjectRef::Client(i) => &mut self.client_grants[i as usize],
            };
            if !list.contains(&grant) {
                list.push(grant);
                self.role_holders[grant.role as usize].push((subject, grant.scope));
            }
        }
        self.warnings.extend(warnings);
    }

    fn join_members(&mut self) {
        for (gi, g) in self.snap.groups.iter().enumerate() {
            for m in &g.member_ids {
                match self.lookup_id(Kind::User, m) {
                    Some(u) => self.user_groups[u as usize].push(idx(gi)),
                    None => self.warnings.push(format!(
                        "group `{}` lists member `{m}`, who is not in the snapshot",
                        g.name
                    )),
                }
            }
        }
    }

    fn lookup_id(&self, kind: Kind, id: &str) -> Option<u32> {
        self.by_id[kind as usize].get(id).copied()
    }

    fn lookup(&self, kind: Kind, key: &str) -> Option<u32> {
        self.lookup_id(kind, key)
            .or_else(|| self.by_name[kind as usize].get(key).copied())
    }

    /// Resolve a division id (or `*`) to a grant scope.
    #[must_use]
    pub fn scope_of(&self, division_id: &str) -> Option<Scope> {
        if division_id == ALL_DIVISIONS {
            return Some(Scope::All);
        }
        self.lookup_id(Kind::Division, division_id)
            .map(Scope::Division)
    }

    /// The snapshot this index was built from.
    #[must_use]
    pub fn snapshot(&self) -> &OrgSnapshot {
        &self.snap
    }

    /// The snapshot's own operations indexed for lookups, built on first use (a server asks
    /// for it with every question).
    pub fn operations(&self) -> &super::snapshot::OperationIndex {
        self.operations
            .get_or_init(|| super::snapshot::OperationIndex::of(&self.snap.operations))
    }

    /// The usage dataset indexed by subject, built on first use; `None` when the snapshot has
    /// no usage (it was not fetched).
    #[must_use]
    pub fn usage(&self) -> Option<&UsageIndex> {
        let usage = self.snap.usage.as_deref()?;
        Some(self.usage.get_or_init(|| UsageIndex::build(self, usage)))
    }

    /// A client by id only (usage rows name ids).
    #[must_use]
    pub fn client_by_id(&self, id: &str) -> Option<u32> {
        self.lookup_id(Kind::Client, id)
    }

    /// A user by id only.
    #[must_use]
    pub fn user_by_id(&self, id: &str) -> Option<u32> {
        self.lookup_id(Kind::User, id)
    }

    /// Problems found while indexing (dangling references).
    #[must_use]
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The home division, if the snapshot marks one.
    #[must_use]
    pub fn home_division(&self) -> Option<u32> {
        self.home
    }

    /// Division by id or name.
    #[must_use]
    pub fn division(&self, key: &str) -> Option<u32> {
        self.lookup(Kind::Division, key)
    }
    /// Role by id or name.
    #[must_use]
    pub fn role(&self, key: &str) -> Option<u32> {
        self.lookup(Kind::Role, key)
    }
    /// User by id or email (case-insensitive).
    #[must_use]
    pub fn user(&self, key: &str) -> Option<u32> {
        self.lookup_id(Kind::User, key).or_else(|| {
            self.by_name[Kind::User as usize]
                .get(key.to_ascii_lowercase().as_str())
                .copied()
        })
    }
    /// Group by id or name.
    #[must_use]
    pub fn group(&self, key: &str) -> Option<u32> {
        self.lookup(Kind::Group, key)
    }
    /// OAuth client by id or name.
    #[must_use]
    pub fn client(&self, key: &str) -> Option<u32> {
        self.lookup(Kind::Client, key)
    }
    /// Business unit by id or name.
    #[must_use]
    pub fn business_unit(&self, key: &str) -> Option<u32> {
        self.lookup(Kind::BusinessUnit, key)
    }
    /// Management unit by id or name.
    #[must_use]
    pub fn management_unit(&self, key: &str) -> Option<u32> {
        self.lookup(Kind::ManagementUnit, key)
    }
    /// Access policy by id or name.
    #[must_use]
    pub fn policy(&self, key: &str) -> Option<u32> {
        self.lookup(Kind::Policy, key)
    }

    /// Division of a management unit.
    #[must_use]
    pub fn mu_division(&self, mu: u32) -> Option<u32> {
        let d = self
            .snap
            .management_units
            .get(mu as usize)?
            .division
            .as_ref()?;
        self.lookup_id(Kind::Division, &d.id)
    }
    /// Business unit of a management unit.
    #[must_use]
    pub fn mu_business_unit(&self, mu: u32) -> Option<u32> {
        self.mu_bu.get(mu as usize).copied().flatten()
    }
    /// The management unit a user is an agent of, when the snapshot lists unit members.
    #[must_use]
    pub fn agent_management_unit(&self, user: u32) -> Option<u32> {
        self.agent_mu.get(&user).copied()
    }

    /// Division of a business unit.
    #[must_use]
    pub fn bu_division(&self, bu: u32) -> Option<u32> {
        let d = self
            .snap
            .business_units
            .get(bu as usize)?
            .division
            .as_ref()?;
        self.lookup_id(Kind::Division, &d.id)
    }
    /// A user's own division.
    #[must_use]
    pub fn user_division(&self, user: u32) -> Option<u32> {
        let d = self.snap.users.get(user as usize)?.division.as_ref()?;
        self.lookup_id(Kind::Division, &d.id)
    }

    /// Expanded permission patterns of a role.
    #[must_use]
    pub fn role_patterns(&self, role: u32) -> &[Pattern] {
        self.role_patterns
            .get(role as usize)
            .map_or(&[], Vec::as_slice)
    }

    /// Direct grants of a subject (for users, without group inheritance).
    #[must_use]
    pub fn direct_grants(&self, subject: SubjectRef) -> &[GrantRef] {
        let list = match subject {
            SubjectRef::User(i) => self.user_grants.get(i as usize),
            SubjectRef::Group(i) => self.group_grants.get(i as usize),
            SubjectRef::Client(i) => self.client_grants.get(i as usize),
        };
        list.map_or(&[], Vec::as_slice)
    }

    /// Groups a user is a member of (whether or not they pass roles on).
    #[must_use]
    pub fn groups_of(&self, user: u32) -> &[u32] {
        self.user_groups
            .get(user as usize)
            .map_or(&[], Vec::as_slice)
    }

    /// Subjects holding a role directly, with where.
    #[must_use]
    pub fn role_holders(&self, role: u32) -> &[(SubjectRef, Scope)] {
        self.role_holders
            .get(role as usize)
            .map_or(&[], Vec::as_slice)
    }

    /// `Some(aware)` from the permission catalog, `None` when the catalog does not list it.
    #[must_use]
    pub fn division_aware(&self, permission: &str) -> Option<bool> {
        self.division_aware.get(permission).copied()
    }

    /// Members of a group, as user indexes.
    pub fn group_members(&self, group: u32) -> impl Iterator<Item = u32> + '_ {
        self.snap
            .groups
            .get(group as usize)
            .into_iter()
            .flat_map(|g| g.member_ids.iter())
            .filter_map(|m| self.lookup_id(Kind::User, m))
    }

    /// Display name of a subject.
    #[must_use]
    pub fn subject_name(&self, subject: SubjectRef) -> &str {
        let s = &self.snap;
        match subject {
            SubjectRef::User(i) => s.users.get(i as usize).map_or("?", |u| u.name.as_str()),
            SubjectRef::Group(i) => s.groups.get(i as usize).map_or("?", |g| g.name.as_str()),
            SubjectRef::Client(i) => s
                .oauth_clients
                .get(i as usize)
                .map_or("?", |c| c.name.as_str()),
        }
    }

    /// Id of a subject.
    #[must_use]
    pub fn subject_id(&self, subject: SubjectRef) -> &str {
        let s = &self.snap;
        match subject {
            SubjectRef::User(i) => s.users.get(i as usize).map_or("?", |u| u.id.as_str()),
            SubjectRef::Group(i) => s.groups.get(i as usize).map_or("?", |g| g.id.as_str()),
            SubjectRef::Client(i) => s
                .oauth_clients
                .get(i as usize)
                .map_or("?", |c| c.id.as_str()),
        }
    }

    /// Name of a scope: the division's name, or `all divisions`.
    #[must_use]
    pub fn scope_name(&self, scope: Scope) -> &str {
        match scope {
            Scope::All => "all divisions",
            Scope::Division(d) => self
                .snap
                .divisions
                .get(d as usize)
                .map_or("?", |d| d.name.as_str()),
        }
    }
}

// INVARIANT: snapshot arrays are indexed by u32; 4 billion objects of one kind is far beyond any
// org (Genesys caps users in the hundreds of thousands), so truncation cannot occur in practice.
#[expect(clippy::cast_possible_truncation, reason = "see INVARIANT above")]
fn idx(i: usize) -> u32 {
    i as u32
}

fn subject_key(s: SubjectRef) -> (u8, u32) {
    match s {
        SubjectRef::User(i) => (0, i),
        SubjectRef::Group(i) => (1, i),
        SubjectRef::Client(i) => (2, i),
    }
}

impl UsageIndex {
    /// Index a snapshot's usage rows by subject. A row of a user-context client counts for the
    /// client and for the user it ran as.
    #[must_use]
    pub fn build(org: &Org, usage: &Usage) -> Self {
        // Each caller is looked up once, each day ranked once: a row is then a few indexes.
        let callers: Vec<[Option<SubjectRef>; 2]> = usage
            .callers
            .iter()
            .map(|c| {
                [
                    c.client_id
                        .as_deref()
                        .and_then(|id| org.client_by_id(id))
                        .map(SubjectRef::Client),
                    c.user_id
                        .as_deref()
                        .and_then(|id| org.user_by_id(id))
                        .map(SubjectRef::User),
                ]
            })
            .collect();
        let mut by_rank: Vec<u32> = (0..idx(usage.dates.len())).collect();
        by_rank.sort_by(|&a, &b| usage.dates[a as usize].cmp(&usage.dates[b as usize]));
        let mut rank = vec![0_u32; usage.dates.len()];
        for (r, &i) in by_rank.iter().enumerate() {
            rank[i as usize] = idx(r);
        }
        let mut index = Self::default();
        let mut acc: HashMap<(u8, u32), Vec<Acc>> = HashMap::new();
        let mut slots: HashMap<((u8, u32), u32), usize> = HashMap::new();
        for r in &usage.rows {
            let subjects = callers.get(r.caller as usize).copied().unwrap_or_default();
            if subjects.iter().all(Option::is_none) {
                index.unattributed += 1;
            }
            let day = rank.get(r.date as usize).copied().unwrap_or_default();
            for key in subjects.into_iter().flatten().map(subject_key) {
                let list = acc.entry(key).or_default();
                let at = *slots.entry((key, r.template)).or_insert_with(|| {
                    list.push(Acc::new(r.template, day));
                    list.len() - 1
                });
                if let Some(a) = list.get_mut(at) {
                    a.add(&r.counts, day);
                }
            }
        }
        index.by_subject = acc
            .into_iter()
            .map(|(key, list)| {
                let mut ops: Vec<OpUse> = list
                    .into_iter()
                    .map(|a| a.finish(usage, &by_rank))
                    .collect();
                ops.sort_by(|a, b| (&a.template, &a.method).cmp(&(&b.template, &b.method)));
                (key, ops)
            })
            .collect();
        index
    }

    /// The operations a subject called (empty when it called none).
    #[must_use]
    pub fn of(&self, s: SubjectRef) -> &[OpUse] {
        self.by_subject
            .get(&subject_key(s))
            .map_or(&[], Vec::as_slice)
    }

    /// The subjects with any usage.
    pub fn subjects(&self) -> impl Iterator<Item = SubjectRef> + '_ {
        self.by_subject.keys().map(|&(k, i)| match k {
            0 => SubjectRef::User(i),
            1 => SubjectRef::Group(i),
            _ => SubjectRef::Client(i),
        })
    }
}
