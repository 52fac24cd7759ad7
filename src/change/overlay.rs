//! Applying a [`ChangeSet`] to an org: a copy of its snapshot with the changes made, in order,
//! and which resource address touched which object ([`Causes`]). The org it reads is untouched.
//!
//! Grant edits are collected per subject and written in one pass over the snapshot's grants,
//! so a plan of a thousand `user_roles` costs one walk of a large org's grants, not a thousand.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::err::conflict;
use super::{policies_of, ChangeError, ChangeSet, Edit, PlannedGrant, SubjectKind};
use serde::Serialize;

use crate::authz::{effective_grants, OrgDiff, Via};
use crate::model::{
    Division, Grant, OAuthClient, Org, OrgSnapshot, Permission, Role, RoleDivision, SubjectRef,
    ALL_DIVISIONS,
};

/// The org after the change, and where each difference comes from.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The after-org's snapshot (index it with [`Org::new`]).
    pub snapshot: OrgSnapshot,
    /// Which resource addresses touched which object.
    pub causes: Causes,
    /// What applying leaned on that the change does not state.
    pub notes: Vec<String>,
}

/// Resource addresses by the object they touch (`role`, `division`, `client`, `user`, `group`,
/// with the object's id in the after-org).
#[derive(Debug, Clone, Default)]
pub struct Causes {
    by_object: HashMap<(String, String), Vec<String>>,
}

impl Causes {
    fn add(&mut self, kind: &'static str, id: &str, address: &str) {
        let list = self
            .by_object
            .entry((kind.to_owned(), id.to_owned()))
            .or_default();
        if !list.iter().any(|a| a == address) {
            list.push(address.to_owned());
        }
    }

    /// The addresses that touched one object directly.
    #[must_use]
    pub fn of(&self, kind: &str, id: &str) -> &[String] {
        self.by_object
            .get(&(kind.to_owned(), id.to_owned()))
            .map_or(&[], Vec::as_slice)
    }

    /// The addresses that change what an object of a finding (kind and id, as findings name
    /// them) can do: for a subject, those that touched it, a role it holds (before or after), or
    /// a group it inherits roles from; for other objects, those that touched it.
    #[must_use]
    pub fn for_object(&self, before: &Org, after: &Org, kind: &str, id: &str) -> Vec<String> {
        let mut out: BTreeSet<String> = self.of(kind, id).iter().cloned().collect();
        for org in [before, after] {
            let subject = match kind {
                "user" => org.user(id).map(SubjectRef::User),
                "group" => org.group(id).map(SubjectRef::Group),
                "client" => org.client(id).map(SubjectRef::Client),
                _ => None,
            };
            let Some(s) = subject else { continue };
            let snap = org.snapshot();
            for g in effective_grants(org, s) {
                if let Some(r) = snap.roles.get(g.grant.role as usize) {
                    out.extend(self.of("role", &r.id).iter().cloned());
                }
                if let Via::Group(gi) = g.via {
                    if let Some(gr) = snap.groups.get(gi as usize) {
                        out.extend(self.of("group", &gr.id).iter().cloned());
                    }
                }
            }
        }
        out.into_iter().collect()
    }

    /// The addresses behind each entry of a diff of `before` and `after` (subjects, subjects
    /// in one org only, roles), in the diff's order.
    #[must_use]
    pub fn for_diff(&self, before: &Org, after: &Org, d: &OrgDiff) -> DiffCauses {
        let subject = |kind: &str, name: &str| -> Vec<String> {
            let id = [after, before].into_iter().find_map(|org| {
                let snap = org.snapshot();
                match kind {
                    "user" => org.user(name).map(|i| snap.users[i as usize].id.clone()),
                    "group" => org.group(name).map(|i| snap.groups[i as usize].id.clone()),
                    "client" => org
                        .client(name)
                        .map(|i| snap.oauth_clients[i as usize].id.clone()),
                    _ => None,
                }
            });
            id.map(|id| self.for_object(before, after, kind, &id))
                .unwrap_or_default()
        };
        DiffCauses {
            subjects: d
                .subjects
                .iter()
                .map(|s| subject(s.kind, &s.name))
                .collect(),
            subjects_only: d
                .subjects_only
                .iter()
                .map(|line| {
                    // `+ kind `name`: …`, as the diff words it.
                    let kind = line.split_whitespace().nth(1).unwrap_or("");
                    let name = line.split('`').nth(1).unwrap_or("");
                    subject(kind, name)
                })
                .collect(),
            roles: d
                .roles
                .iter()
                .map(|r| {
                    [after, before]
                        .into_iter()
                        .find_map(|org| {
                            org.role(&r.name)
                                .map(|i| org.snapshot().roles[i as usize].id.clone())
                        })
                        .map(|id| self.of("role", &id).to_vec())
                        .unwrap_or_default()
                })
                .collect(),
        }
    }

    /// Whether nothing was touched.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_object.is_empty()
    }
}

/// The addresses behind each entry of an [`OrgDiff`], section by section, in its order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffCauses {
    /// Per entry of `subjects`.
    pub subjects: Vec<Vec<String>>,
    /// Per entry of `subjects_only`.
    pub subjects_only: Vec<Vec<String>>,
    /// Per entry of `roles`.
    pub roles: Vec<Vec<String>>,
}

type GrantKey = (String, String);

/// Grant edits of one user or group, applied after every change is read.
#[derive(Debug, Default)]
struct SubjectEdit {
    /// Set by an authoritative resource: the whole grant set.
    replace: Option<Vec<GrantKey>>,
    add: Vec<GrantKey>,
    remove: HashSet<GrantKey>,
}

struct State<'a> {
    before: &'a Org,
    snap: OrgSnapshot,
    roles: HashMap<String, usize>,
    divisions: HashMap<String, usize>,
    clients: HashMap<String, usize>,
    deleted: HashSet<(&'static str, String)>,
    edits: HashMap<(SubjectKind, String), SubjectEdit>,
    causes: Causes,
    notes: Vec<String>,
    /// The before-org's grants as (type, subject, role, division), built at the first revoke so
    /// that each revoke's check is a lookup, not a walk of every grant.
    direct: std::cell::OnceCell<HashSet<[String; 4]>>,
}

/// Apply `set` to `before`, in order.
///
/// # Errors
/// A [`ChangeError`] naming the resource address when a change needs an object the org (and
/// the change) does not have, or contradicts the org.
pub fn apply(before: &Org, set: &ChangeSet) -> Result<Applied, ChangeError> {
    let snap = before.snapshot().clone();
    let mut st = State {
        before,
        snap,
        roles: HashMap::new(),
        divisions: HashMap::new(),
        clients: HashMap::new(),
        deleted: HashSet::new(),
        edits: HashMap::new(),
        causes: Causes::default(),
        notes: Vec::new(),
        direct: std::cell::OnceCell::new(),
    };
    for c in &set.changes {
        st.edit(&c.address, &c.edit)
            .map_err(|e| e.at_line(c.line))?;
    }
    st.finish();
    Ok(Applied {
        snapshot: st.snap,
        causes: st.causes,
        notes: st.notes,
    })
}

fn unknown(address: &str, kind: &'static str, key: &str) -> ChangeError {
    ChangeError::UnknownObject {
        address: address.to_owned(),
        line: None,
        kind,
        key: key.to_owned(),
    }
}

impl State<'_> {
    /// A lookup by id, or by name among objects created earlier, then the before-org.
    fn find(&self, kind: &'static str, key: &str, address: &str) -> Result<usize, ChangeError> {
        let created = match kind {
            "role" => &self.roles,
            "division" => &self.divisions,
            _ => &self.clients,
        };
        let existing = match kind {
            "role" => self.before.role(key),
            "division" => self.before.division(key),
            _ => self.before.client(key),
        };
        let i = created
            .get(key)
            .copied()
            .or_else(|| existing.map(|i| i as usize))
            .ok_or_else(|| unknown(address, kind, key))?;
        let id = match kind {
            "role" => &self.snap.roles[i].id,
            "division" => &self.snap.divisions[i].id,
            _ => &self.snap.oauth_clients[i].id,
        };
        if self.deleted.contains(&(kind, id.clone())) {
            return Err(conflict(
                address,
                format!("{kind} `{key}` is deleted earlier in the change"),
                None,
            ));
        }
        Ok(i)
    }

    fn division_id(&self, key: Option<&str>, address: &str) -> Result<String, ChangeError> {
        match key {
            Some(ALL_DIVISIONS) => Ok(ALL_DIVISIONS.to_owned()),
            Some(k) => Ok(self.snap.divisions[self.find("division", k, address)?].id.clone()),
            None => self
                .snap
                .divisions
                .iter()
                .find(|d| d.home_division)
                .map(|d| d.id.clone())
                .ok_or_else(|| {
                    conflict(
                        address,
                        "a grant without a division means the home division, and the org has none marked",
                        Some("name the division, or use a snapshot that lists the home division"),
                    )
                }),
        }
    }

    fn grant_key(&self, g: &PlannedGrant, address: &str) -> Result<GrantKey, ChangeError> {
        let role = self.snap.roles[self.find("role", &g.role, address)?]
            .id
            .clone();
        Ok((role, self.division_id(g.division.as_deref(), address)?))
    }

    fn subject_id(
        &self,
        kind: SubjectKind,
        key: &str,
        address: &str,
    ) -> Result<String, ChangeError> {
        let snap = self.before.snapshot();
        match kind {
            SubjectKind::User => self
                .before
                .user(key)
                .map(|u| snap.users[u as usize].id.clone())
                .ok_or_else(|| unknown(address, "user", key)),
            SubjectKind::Group => self
                .before
                .group(key)
                .map(|g| snap.groups[g as usize].id.clone())
                .ok_or_else(|| unknown(address, "group", key)),
            SubjectKind::Client => Ok(self.snap.oauth_clients
                [self.find("client", key, address)?]
            .id
            .clone()),
        }
    }

    fn edit(&mut self, address: &str, edit: &Edit) -> Result<(), ChangeError> {
        match edit {
            Edit::PutRole { id, create, spec } => self.put_role(address, id, *create, spec)?,
            Edit::RolePermissions { role, add, remove } => {
                self.role_permissions(address, role, add, remove)?;
            }
            Edit::PutDivision {
                id,
                create,
                name,
                description,
                home,
            } => {
                self.put_division(address, (id, *create, *home), name, description.as_ref())?;
            }
            Edit::PutClient { id, create, spec } => self.put_client(address, id, *create, spec)?,
            Edit::DeleteRole { id } => self.delete("role", id, address)?,
            Edit::DeleteDivision { id } => self.delete("division", id, address)?,
            Edit::DeleteClient { id } => self.delete("client", id, address)?,
            Edit::ClientState { client, state } => {
                let i = self.find("client", client, address)?;
                let c = &mut self.snap.oauth_clients[i];
                c.state.clone_from(state);
                let id = c.id.clone();
                self.causes.add("client", &id, address);
            }
            Edit::SetGrants {
                kind,
                subject,
                grants,
            } => {
                let id = self.subject_id(*kind, subject, address)?;
                let keys = grants
                    .iter()
                    .map(|g| self.grant_key(g, address))
                    .collect::<Result<Vec<_>, _>>()?;
                self.causes.add(kind.as_str(), &id, address);
                self.edits.insert(
                    (*kind, id),
                    SubjectEdit {
                        replace: Some(keys),
                        ..SubjectEdit::default()
                    },
                );
            }
            Edit::Grant {
                kind,
                subject,
                grant,
                revoke,
            } => {
                self.grant(address, (*kind, subject), grant, *revoke)?;
            }
            Edit::GroupRoles { group, enabled } => {
                let i = self
                    .before
                    .group(group)
                    .ok_or_else(|| unknown(address, "group", group))?
                    as usize;
                let g = &mut self.snap.groups[i];
                g.roles_enabled = *enabled;
                let id = g.id.clone();
                self.causes.add("group", &id, address);
            }
            Edit::PolicyActive { policy, active } => {
                let i = self
                    .snap
                    .access_policies
                    .iter()
                    .position(|p| p.id == *policy)
                    .or_else(|| {
                        self.snap
                            .access_policies
                            .iter()
                            .position(|p| p.name == *policy)
                    })
                    .ok_or_else(|| unknown(address, "policy", policy))?;
                self.snap.access_policies[i].active = *active;
                let o = self.snap.organization.id.clone();
                self.causes.add("org", &o, address);
            }
            Edit::ClientScopes { client, add } => {
                let i = self.find("client", client, address)?;
                let c = &mut self.snap.oauth_clients[i];
                for sc in add {
                    if !c.scope.contains(sc) {
                        c.scope.push(sc.clone());
                    }
                }
                let id = c.id.clone();
                self.causes.add("client", &id, address);
            }
            Edit::PutAuthSettings(spec) => {
                let a = &mut self.snap.auth_settings;
                a.multifactor_authentication_required = spec.mfa_required;
                a.domain_allowlist_enabled = spec.domain_allowlist_enabled;
                a.domain_allowlist.clone_from(&spec.domain_allowlist);
                a.ip_address_allowlist
                    .clone_from(&spec.ip_address_allowlist);
                // Rules report settings on the org.
                let org = self.snap.organization.id.clone();
                self.causes.add("org", &org, address);
            }
        }
        Ok(())
    }

    fn delete(&mut self, kind: &'static str, id: &str, address: &str) -> Result<(), ChangeError> {
        let i = self.find(kind, id, address)?;
        let id = match kind {
            "role" => self.snap.roles[i].id.clone(),
            "division" => self.snap.divisions[i].id.clone(),
            _ => self.snap.oauth_clients[i].id.clone(),
        };
        self.causes.add(kind, &id, address);
        self.deleted.insert((kind, id));
        Ok(())
    }

    fn put_role(
        &mut self,
        address: &str,
        id: &str,
        create: bool,
        spec: &super::RoleSpec,
    ) -> Result<(), ChangeError> {
        let i = if create {
            if self.before.role(&spec.name).is_some() || self.roles.contains_key(&spec.name) {
                return Err(conflict(
                    address,
                    format!("a role named `{}` already exists", spec.name),
                    Some("role names are unique in an org"),
                ));
            }
            self.snap.roles.push(Role {
                id: id.to_owned(),
                ..Role::default()
            });
            let i = self.snap.roles.len() - 1;
            self.roles.insert(id.to_owned(), i);
            self.roles.insert(spec.name.clone(), i);
            i
        } else {
            self.find("role", id, address)?
        };
        let r = &mut self.snap.roles[i];
        r.name.clone_from(&spec.name);
        r.description.clone_from(&spec.description);
        r.permission_policies.clone_from(&spec.policies);
        self.causes.add("role", id, address);
        Ok(())
    }

    fn role_permissions(
        &mut self,
        address: &str,
        role: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<(), ChangeError> {
        let i = self.find("role", role, address)?;
        let r = &mut self.snap.roles[i];
        for p in policies_of(add, address)? {
            match r
                .permission_policies
                .iter_mut()
                .find(|x| x.domain == p.domain && x.entity_name == p.entity_name)
            {
                Some(x) => {
                    for a in p.action_set {
                        if !x.action_set.contains(&a) {
                            x.action_set.push(a);
                        }
                    }
                }
                None => r.permission_policies.push(p),
            }
        }
        for p in remove {
            remove_permission(r, p, address)?;
        }
        let id = r.id.clone();
        self.causes.add("role", &id, address);
        Ok(())
    }

    fn put_division(
        &mut self,
        address: &str,
        (id, create, home): (&str, bool, bool),
        name: &str,
        description: Option<&String>,
    ) -> Result<(), ChangeError> {
        let i = if home {
            self.snap
                .divisions
                .iter()
                .position(|d| d.home_division)
                .ok_or_else(|| unknown(address, "division", "home"))?
        } else if create {
            if self.before.division(name).is_some() || self.divisions.contains_key(name) {
                return Err(conflict(
                    address,
                    format!("a division named `{name}` already exists"),
                    None,
                ));
            }
            self.snap.divisions.push(Division {
                id: id.to_owned(),
                ..Division::default()
            });
            let i = self.snap.divisions.len() - 1;
            self.divisions.insert(id.to_owned(), i);
            self.divisions.insert(name.to_owned(), i);
            i
        } else {
            self.find("division", id, address)?
        };
        let d = &mut self.snap.divisions[i];
        name.clone_into(&mut d.name);
        d.description = description.cloned();
        let id = d.id.clone();
        self.causes.add("division", &id, address);
        Ok(())
    }

    fn put_client(
        &mut self,
        address: &str,
        id: &str,
        create: bool,
        spec: &super::ClientSpec,
    ) -> Result<(), ChangeError> {
        let roles = spec
            .roles
            .iter()
            .map(|g| self.grant_key(g, address))
            .collect::<Result<Vec<_>, _>>()?;
        let i = if create {
            self.snap.oauth_clients.push(OAuthClient {
                id: id.to_owned(),
                ..OAuthClient::default()
            });
            let i = self.snap.oauth_clients.len() - 1;
            self.clients.insert(id.to_owned(), i);
            self.clients.insert(spec.name.clone(), i);
            i
        } else {
            self.find("client", id, address)?
        };
        let c = &mut self.snap.oauth_clients[i];
        c.name.clone_from(&spec.name);
        c.authorized_grant_type.clone_from(&spec.grant_type);
        c.state.clone_from(&spec.state);
        c.scope.clone_from(&spec.scopes);
        c.role_divisions = roles
            .into_iter()
            .map(|(role_id, division_id)| RoleDivision {
                role_id,
                division_id,
            })
            .collect();
        self.causes.add("client", id, address);
        Ok(())
    }

    fn grant(
        &mut self,
        address: &str,
        (kind, subject): (SubjectKind, &str),
        grant: &PlannedGrant,
        revoke: bool,
    ) -> Result<(), ChangeError> {
        let id = self.subject_id(kind, subject, address)?;
        let key = self.grant_key(grant, address)?;
        if revoke && !self.holds(kind, &id, &key, address)? {
            let place = grant.division.as_deref().unwrap_or("the home division");
            return Err(conflict(
                address,
                format!(
                    "{} `{subject}` does not hold role `{}` in `{place}`: the revoke changes nothing",
                    kind.as_str(),
                    grant.role
                ),
                Some("check the role and division against the snapshot; a role held through a group is revoked on the group"),
            ));
        }
        self.causes.add(kind.as_str(), &id, address);
        if kind == SubjectKind::Client {
            let i = self.find("client", &id, address)?;
            let rd = &mut self.snap.oauth_clients[i].role_divisions;
            let same = |r: &RoleDivision| r.role_id == key.0 && r.division_id == key.1;
            if revoke {
                rd.retain(|r| !same(r));
            } else if !rd.iter().any(same) {
                rd.push(RoleDivision {
                    role_id: key.0,
                    division_id: key.1,
                });
            }
            return Ok(());
        }
        let e = self.edits.entry((kind, id)).or_default();
        match (&mut e.replace, revoke) {
            (Some(list), false) => list.push(key),
            (Some(list), true) => list.retain(|k| *k != key),
            (None, false) => {
                e.remove.remove(&key);
                e.add.push(key);
            }
            (None, true) => {
                e.add.retain(|k| *k != key);
                e.remove.insert(key);
            }
        }
        Ok(())
    }

    /// Whether a subject holds `key` directly at this point of the change: as the edits so far
    /// leave it, else as the org before the change has it.
    fn holds(
        &self,
        kind: SubjectKind,
        id: &str,
        key: &GrantKey,
        address: &str,
    ) -> Result<bool, ChangeError> {
        if kind == SubjectKind::Client {
            let c = &self.snap.oauth_clients[self.find("client", id, address)?];
            return Ok(c
                .role_divisions
                .iter()
                .any(|r| r.role_id == key.0 && r.division_id == key.1));
        }
        Ok(match self.edits.get(&(kind, id.to_owned())) {
            Some(SubjectEdit {
                replace: Some(list),
                ..
            }) => list.contains(key),
            Some(e) if e.add.contains(key) => true,
            Some(e) if e.remove.contains(key) => false,
            _ => {
                let direct = self.direct.get_or_init(|| {
                    self.snap
                        .grants
                        .iter()
                        .map(|g| {
                            [
                                g.subject_type.clone(),
                                g.subject_id.clone(),
                                g.role_id.clone(),
                                g.division_id.clone(),
                            ]
                        })
                        .collect()
                });
                direct.contains(&[
                    subject_type(kind).to_owned(),
                    id.to_owned(),
                    key.0.clone(),
                    key.1.clone(),
                ])
            }
        })
    }

    /// Write the grant edits and drop deleted objects (and grants that name them), in one
    /// pass over the grants.
    fn finish(&mut self) {
        // Per kind, so a grant's subject id is looked up without copying it.
        let mut by_kind: [HashMap<String, SubjectEdit>; 2] = Default::default();
        for ((kind, subject), e) in std::mem::take(&mut self.edits) {
            let slot = usize::from(kind == SubjectKind::Group);
            by_kind[slot].insert(subject, e);
        }
        let slot_of = |t: &str| match t {
            "PC_USER" => Some(0),
            "PC_GROUP" => Some(1),
            _ => None,
        };
        // Grants kept for subjects with incremental edits, so additions are not duplicated.
        let mut kept: [HashMap<String, HashSet<GrantKey>>; 2] = Default::default();
        let grants = std::mem::take(&mut self.snap.grants);
        let mut out = Vec::with_capacity(grants.len());
        for g in grants {
            let Some(slot) = slot_of(&g.subject_type) else {
                out.push(g);
                continue;
            };
            match by_kind[slot].get(g.subject_id.as_str()) {
                None => out.push(g),
                Some(e) if e.replace.is_some() => {}
                Some(e) => {
                    let key = (g.role_id.clone(), g.division_id.clone());
                    if !e.remove.contains(&key) {
                        kept[slot]
                            .entry(g.subject_id.clone())
                            .or_default()
                            .insert(key);
                        out.push(g);
                    }
                }
            }
        }
        for (slot, kind) in [(0, SubjectKind::User), (1, SubjectKind::Group)] {
            for (subject, e) in &by_kind[slot] {
                let existing = kept[slot].entry(subject.clone()).or_default();
                for (role_id, division_id) in e.replace.iter().flatten().chain(&e.add) {
                    if existing.insert((role_id.clone(), division_id.clone())) {
                        out.push(Grant {
                            subject_id: subject.clone(),
                            subject_type: subject_type(kind).to_owned(),
                            role_id: role_id.clone(),
                            division_id: division_id.clone(),
                        });
                    }
                }
            }
        }
        self.snap.grants = out;
        self.drop_deleted();
    }

    fn drop_deleted(&mut self) {
        if self.deleted.is_empty() {
            return;
        }
        let gone = |kind: &'static str, id: &str| self.deleted.contains(&(kind, id.to_owned()));
        let before = self.snap.grants.len();
        self.snap
            .grants
            .retain(|g| !gone("role", &g.role_id) && !gone("division", &g.division_id));
        for c in &mut self.snap.oauth_clients {
            c.role_divisions
                .retain(|r| !gone("role", &r.role_id) && !gone("division", &r.division_id));
        }
        self.snap.roles.retain(|r| !gone("role", &r.id));
        self.snap.divisions.retain(|d| !gone("division", &d.id));
        self.snap.oauth_clients.retain(|c| !gone("client", &c.id));
        if self.snap.grants.len() < before {
            self.notes.push(format!(
                "{} grant(s) of deleted roles or in deleted divisions are dropped with them",
                before - self.snap.grants.len()
            ));
        }
    }
}

/// A grant's `subjectType` for a subject kind.
fn subject_type(kind: SubjectKind) -> &'static str {
    match kind {
        SubjectKind::User => "PC_USER",
        SubjectKind::Group => "PC_GROUP",
        SubjectKind::Client => "PC_OAUTH_CLIENT",
    }
}

/// Remove one `domain:entity:action` from a role, refusing when only a wildcard grants it.
fn remove_permission(r: &mut Role, p: &str, address: &str) -> Result<(), ChangeError> {
    let Some(Permission {
        domain: d,
        entity: e,
        action: a,
    }) = Permission::parse(p)
    else {
        return Err(super::err::resource(address, super::not_a_permission(p)));
    };
    let mut removed = false;
    for x in &mut r.permission_policies {
        if x.domain == d && x.entity_name == e {
            let n = x.action_set.len();
            x.action_set.retain(|y| y != a);
            removed |= x.action_set.len() < n;
        }
    }
    r.permission_policies.retain(|x| !x.action_set.is_empty());
    let still = r.permission_policies.iter().find(|x| {
        (x.domain == d || x.domain == "*")
            && (x.entity_name == e || x.entity_name == "*")
            && x.action_set.iter().any(|y| y == a || y == "*")
    });
    match (still, removed) {
        (Some(x), _) => Err(conflict(
            address,
            format!(
                "role `{}` still grants `{p}` through `{}:{}:{}`",
                r.name,
                x.domain,
                x.entity_name,
                x.action_set.join(",")
            ),
            Some("remove or narrow that wildcard policy instead"),
        )),
        (None, false) => Err(conflict(
            address,
            format!("role `{}` does not grant `{p}`", r.name),
            None,
        )),
        (None, true) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Change;
    use crate::model::OrgBuilder;

    fn grant(revoke: bool) -> Change {
        Change {
            address: "c.toml#1".to_owned(),
            line: Some(7),
            edit: Edit::Grant {
                kind: SubjectKind::User,
                subject: "dan@x.example".to_owned(),
                grant: PlannedGrant {
                    role: "Viewer".to_owned(),
                    division: None,
                },
                revoke,
            },
        }
    }

    #[test]
    fn a_revoke_needs_the_grant_held_at_that_point_of_the_change() {
        let org = Org::new(
            OrgBuilder::new("o")
                .division("Home")
                .role("Viewer", &["wfm:agent:view"])
                .user("Dan", "dan@x.example", "active")
                .build(),
        );
        let set = |changes: Vec<Change>| ChangeSet {
            changes,
            ..ChangeSet::default()
        };
        // Granted earlier in the same change: the revoke undoes it.
        assert!(apply(&org, &set(vec![grant(false), grant(true)])).is_ok());
        let e = apply(&org, &set(vec![grant(false), grant(true), grant(true)]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "c.toml#1 (line 7): user `dan@x.example` does not hold role `Viewer` in `the home division`: the revoke changes nothing"
        );
    }
}
