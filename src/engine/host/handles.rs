//! Handle types: what scripts hold instead of data. Each is an `Arc<Org>` plus an index.
//!
//! Handles never copy org data into Rhai values; getters read through the shared model. Lists
//! are lazy ranges or id vectors that scripts iterate with `for`.

use std::marker::PhantomData;
use std::sync::Arc;

use crate::authz::EffectiveGrant;
use crate::engine::finding::ObjectKey;
use crate::model::{Org, Scope, SubjectRef};

/// The whole org, as `org` in `fn check(org)`.
#[derive(Clone)]
pub struct OrgH(pub Arc<Org>);

/// Org security settings (`org.settings`).
#[derive(Clone)]
pub struct SettingsH(pub Arc<Org>);

/// A division, or the `*` pseudo-division ("all divisions").
#[derive(Clone)]
pub struct DivisionH {
    pub(crate) org: Arc<Org>,
    pub(crate) scope: Scope,
}

/// A grant a subject effectively holds.
#[derive(Clone)]
pub struct GrantH {
    pub(crate) org: Arc<Org>,
    pub(crate) grant: EffectiveGrant,
}

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            pub(crate) org: Arc<Org>,
            pub(crate) i: u32,
        }
    };
}

handle!(/// A role.
    RoleH);
handle!(/// A user.
    UserH);
handle!(/// A group.
    GroupH);
handle!(/// An OAuth client.
    ClientH);
handle!(/// An access (ABAC) policy.
    PolicyH);
handle!(/// A WFM business unit.
    BusinessUnitH);
handle!(/// A WFM management unit.
    ManagementUnitH);

/// A handle built from an index, which knows what object it names.
pub trait Handle: Clone + Send + Sync + 'static {
    /// Wrap index `i`.
    fn make(org: Arc<Org>, i: u32) -> Self;
    /// Kind, id and name for findings.
    fn key(&self) -> ObjectKey;
}

fn key(kind: &'static str, id: &str, name: &str) -> ObjectKey {
    ObjectKey {
        kind,
        id: id.to_owned(),
        name: name.to_owned(),
    }
}

macro_rules! impl_handle {
    ($t:ident, $kind:literal, $field:ident) => {
        impl Handle for $t {
            fn make(org: Arc<Org>, i: u32) -> Self {
                Self { org, i }
            }
            fn key(&self) -> ObjectKey {
                match self.org.snapshot().$field.get(self.i as usize) {
                    Some(x) => key($kind, &x.id, &x.name),
                    None => key($kind, "?", "?"),
                }
            }
        }
    };
}

impl_handle!(RoleH, "role", roles);
impl_handle!(UserH, "user", users);
impl_handle!(GroupH, "group", groups);
impl_handle!(ClientH, "client", oauth_clients);
impl_handle!(PolicyH, "policy", access_policies);
impl_handle!(BusinessUnitH, "business-unit", business_units);
impl_handle!(ManagementUnitH, "management-unit", management_units);

impl DivisionH {
    pub(crate) fn key(&self) -> ObjectKey {
        match self.scope {
            Scope::All => key("division", "*", "all divisions"),
            Scope::Division(d) => match self.org.snapshot().divisions.get(d as usize) {
                Some(x) => key("division", &x.id, &x.name),
                None => key("division", "?", "?"),
            },
        }
    }
}

impl OrgH {
    pub(crate) fn key(&self) -> ObjectKey {
        let o = &self.0.snapshot().organization;
        key("org", &o.id, &o.name)
    }
}

/// Users, groups and clients: the subjects of grants.
pub trait Subject: Handle {
    /// The model reference.
    fn subject(&self) -> SubjectRef;
    /// The shared org.
    fn org(&self) -> &Arc<Org>;
}

impl Subject for UserH {
    fn subject(&self) -> SubjectRef {
        SubjectRef::User(self.i)
    }
    fn org(&self) -> &Arc<Org> {
        &self.org
    }
}
impl Subject for GroupH {
    fn subject(&self) -> SubjectRef {
        SubjectRef::Group(self.i)
    }
    fn org(&self) -> &Arc<Org> {
        &self.org
    }
}
impl Subject for ClientH {
    fn subject(&self) -> SubjectRef {
        SubjectRef::Client(self.i)
    }
    fn org(&self) -> &Arc<Org> {
        &self.org
    }
}

/// A lazy list of handles: all objects of a kind, or a computed selection.
#[derive(Clone)]
pub struct List<H> {
    org: Arc<Org>,
    items: Items,
    _kind: PhantomData<fn() -> H>,
}

#[derive(Clone)]
enum Items {
    All(u32),
    Some(Arc<[u32]>),
}

impl<H: Handle> List<H> {
    pub(crate) fn all(org: &Arc<Org>, len: usize) -> Self {
        Self {
            org: Arc::clone(org),
            items: Items::All(u32::try_from(len).unwrap_or(u32::MAX)),
            _kind: PhantomData,
        }
    }
    pub(crate) fn of(org: &Arc<Org>, ids: Vec<u32>) -> Self {
        Self {
            org: Arc::clone(org),
            items: Items::Some(ids.into()),
            _kind: PhantomData,
        }
    }
    pub(crate) fn len(&self) -> usize {
        match &self.items {
            Items::All(n) => *n as usize,
            Items::Some(v) => v.len(),
        }
    }
    pub(crate) fn get(&self, i: usize) -> Option<H> {
        let idx = match &self.items {
            Items::All(n) => u32::try_from(i).ok().filter(|i| i < n)?,
            Items::Some(v) => *v.get(i)?,
        };
        Some(H::make(Arc::clone(&self.org), idx))
    }
}

/// Iterator over a [`List`].
pub struct ListIter<H> {
    list: List<H>,
    next: usize,
}

impl<H: Handle> Iterator for ListIter<H> {
    type Item = H;
    fn next(&mut self) -> Option<H> {
        let item = self.list.get(self.next)?;
        self.next += 1;
        Some(item)
    }
}

impl<H: Handle> IntoIterator for List<H> {
    type Item = H;
    type IntoIter = ListIter<H>;
    fn into_iter(self) -> ListIter<H> {
        ListIter {
            list: self,
            next: 0,
        }
    }
}

/// A lazy list of mixed subjects (users, groups, clients), as bulk queries return.
#[derive(Clone)]
pub struct SubjectList {
    org: Arc<Org>,
    items: Arc<[SubjectRef]>,
}

impl SubjectList {
    pub(crate) fn new(org: &Arc<Org>, items: Vec<SubjectRef>) -> Self {
        Self {
            org: Arc::clone(org),
            items: items.into(),
        }
    }
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
    /// Object keys of every subject, without materialising handles.
    pub(crate) fn keys(&self) -> impl Iterator<Item = ObjectKey> + '_ {
        self.items.iter().map(|&s| {
            let org = Arc::clone(&self.org);
            match s {
                SubjectRef::User(i) => UserH { org, i }.key(),
                SubjectRef::Group(i) => GroupH { org, i }.key(),
                SubjectRef::Client(i) => ClientH { org, i }.key(),
            }
        })
    }
    pub(crate) fn get(&self, i: usize) -> Option<rhai::Dynamic> {
        let org = Arc::clone(&self.org);
        Some(match *self.items.get(i)? {
            SubjectRef::User(i) => rhai::Dynamic::from(UserH { org, i }),
            SubjectRef::Group(i) => rhai::Dynamic::from(GroupH { org, i }),
            SubjectRef::Client(i) => rhai::Dynamic::from(ClientH { org, i }),
        })
    }
}

/// Iterator over a [`SubjectList`].
pub struct SubjectIter {
    list: SubjectList,
    next: usize,
}

impl Iterator for SubjectIter {
    type Item = rhai::Dynamic;
    fn next(&mut self) -> Option<rhai::Dynamic> {
        let item = self.list.get(self.next)?;
        self.next += 1;
        Some(item)
    }
}

impl IntoIterator for SubjectList {
    type Item = rhai::Dynamic;
    type IntoIter = SubjectIter;
    fn into_iter(self) -> SubjectIter {
        SubjectIter {
            list: self,
            next: 0,
        }
    }
}

/// One holder of a permission, as `org.who_can(perm, division)` returns it: the subject and
/// the grants that give the permission there.
#[derive(Clone)]
pub struct HoldingH {
    pub(crate) org: Arc<Org>,
    pub(crate) subject: SubjectRef,
    pub(crate) grants: Arc<[EffectiveGrant]>,
    pub(crate) denied_by: Arc<[u32]>,
}

impl HoldingH {
    /// The subject as its own handle.
    pub(crate) fn subject_dynamic(&self) -> rhai::Dynamic {
        SubjectList::new(&self.org, vec![self.subject])
            .get(0)
            .unwrap_or(rhai::Dynamic::UNIT)
    }
}
