//! Access questions about a change: whether the client that deploys it may make the calls
//! the provider makes for it ([`plan_access`]), and who gains a permission through it
//! ([`new_access`], the `--deny-new-access` gate).
//!
//! The provider's calls per resource are a table ([`PROVIDER_CALLS`]) read from the provider's
//! proxies (`genesyscloud/<resource>/*_proxy.go` in MyPureCloud/terraform-provider-genesyscloud
//! v1.84.1); a test checks every entry against the API description. Their permissions come
//! from the operation catalog, and the answers reuse the verdict algebra.

use std::collections::BTreeSet;

use serde::Serialize;

use super::{Causes, ChangeSet, Edit, PlannedGrant, SubjectKind, AUTH_SETTINGS, PLANNED_PREFIX};
use crate::authz::{
    can, combine, effective_grants, is_admin_equivalent, role_grants, same_subject,
    sign_in_problem, subject_phrase, subjects_with, why, Denial, Outcome, Target, Verdict,
};
use crate::catalog::Catalog;
use crate::model::{Org, Permission, Scope, SubjectRef, ALL_DIVISIONS};

/// When the provider makes a call for a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallWhen {
    /// Creating it.
    Create,
    /// Updating it.
    Update,
    /// Destroying it.
    Delete,
    /// Reading it back after every write.
    Read,
    /// For each grant a subject gains.
    GrantAdded,
    /// For each grant a subject loses.
    GrantRemoved,
}

/// One Platform API call the provider makes for a resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProviderCall {
    /// The resource type, e.g. `genesyscloud_auth_role`.
    pub resource: &'static str,
    /// When.
    pub when: CallWhen,
    /// `METHOD /api/v2/…` template.
    pub operation: &'static str,
}

const fn call(resource: &'static str, when: CallWhen, operation: &'static str) -> ProviderCall {
    ProviderCall {
        resource,
        when,
        operation,
    }
}

/// The calls the provider makes, per resource type (from its proxies, see the module docs).
/// `user_roles` and `group_roles` read the subject's grants, add the missing ones in bulk and
/// remove the others one by one.
pub const PROVIDER_CALLS: [ProviderCall; 24] = [
    call(
        "genesyscloud_auth_role",
        CallWhen::Create,
        "POST /api/v2/authorization/roles",
    ),
    call(
        "genesyscloud_auth_role",
        CallWhen::Update,
        "PUT /api/v2/authorization/roles/{roleId}",
    ),
    call(
        "genesyscloud_auth_role",
        CallWhen::Delete,
        "DELETE /api/v2/authorization/roles/{roleId}",
    ),
    call(
        "genesyscloud_auth_role",
        CallWhen::Read,
        "GET /api/v2/authorization/roles/{roleId}",
    ),
    call(
        "genesyscloud_user_roles",
        CallWhen::Read,
        "GET /api/v2/authorization/subjects/{subjectId}",
    ),
    call(
        "genesyscloud_user_roles",
        CallWhen::GrantAdded,
        "POST /api/v2/authorization/subjects/{subjectId}/bulkadd",
    ),
    call(
        "genesyscloud_user_roles",
        CallWhen::GrantRemoved,
        "DELETE /api/v2/authorization/subjects/{subjectId}/divisions/{divisionId}/roles/{roleId}",
    ),
    call(
        "genesyscloud_group_roles",
        CallWhen::Read,
        "GET /api/v2/authorization/subjects/{subjectId}",
    ),
    call(
        "genesyscloud_group_roles",
        CallWhen::GrantAdded,
        "POST /api/v2/authorization/subjects/{subjectId}/bulkadd",
    ),
    call(
        "genesyscloud_group_roles",
        CallWhen::GrantRemoved,
        "DELETE /api/v2/authorization/subjects/{subjectId}/divisions/{divisionId}/roles/{roleId}",
    ),
    call(
        "genesyscloud_oauth_client",
        CallWhen::Create,
        "POST /api/v2/oauth/clients",
    ),
    call(
        "genesyscloud_oauth_client",
        CallWhen::Update,
        "PUT /api/v2/oauth/clients/{clientId}",
    ),
    call(
        "genesyscloud_oauth_client",
        CallWhen::Delete,
        "DELETE /api/v2/oauth/clients/{clientId}",
    ),
    call(
        "genesyscloud_oauth_client",
        CallWhen::Read,
        "GET /api/v2/oauth/clients/{clientId}",
    ),
    call(
        "genesyscloud_auth_division",
        CallWhen::Create,
        "POST /api/v2/authorization/divisions",
    ),
    call(
        "genesyscloud_auth_division",
        CallWhen::Update,
        "PUT /api/v2/authorization/divisions/{divisionId}",
    ),
    call(
        "genesyscloud_auth_division",
        CallWhen::Delete,
        "DELETE /api/v2/authorization/divisions/{divisionId}",
    ),
    call(
        "genesyscloud_auth_division",
        CallWhen::Read,
        "GET /api/v2/authorization/divisions/{divisionId}",
    ),
    // `organization_authentication_settings`: create and update PATCH the settings (the
    // token timeout, which rolecall does not model, is a separate PUT); delete calls nothing.
    call(
        AUTH_SETTINGS,
        CallWhen::Update,
        "PATCH /api/v2/organizations/authentication/settings",
    ),
    call(
        AUTH_SETTINGS,
        CallWhen::Read,
        "GET /api/v2/organizations/authentication/settings",
    ),
    // Change-file entries are made by hand; these are the calls that make them.
    call(
        "rolecall_grant",
        CallWhen::GrantAdded,
        "POST /api/v2/authorization/subjects/{subjectId}/divisions/{divisionId}/roles/{roleId}",
    ),
    call(
        "rolecall_grant",
        CallWhen::GrantRemoved,
        "DELETE /api/v2/authorization/subjects/{subjectId}/divisions/{divisionId}/roles/{roleId}",
    ),
    call(
        "rolecall_role",
        CallWhen::Update,
        "PUT /api/v2/authorization/roles/{roleId}",
    ),
    call(
        "rolecall_client",
        CallWhen::Update,
        "PUT /api/v2/oauth/clients/{clientId}",
    ),
];

/// The calls for one resource type at one moment.
pub fn provider_calls(
    resource: &str,
    when: CallWhen,
) -> impl Iterator<Item = &'static ProviderCall> + '_ {
    PROVIDER_CALLS
        .iter()
        .filter(move |c| c.resource == resource && c.when == when)
}

/// One check of [`plan_access`]: a call's permission at a place.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AccessCheck {
    /// `METHOD /api/v2/…`.
    pub operation: String,
    /// What was checked, in words (permission and place, or the provider's role rule).
    pub check: String,
    /// `allowed`, `denied`, `may be denied` or `unknown`.
    pub status: &'static str,
    /// Why.
    pub reason: String,
    /// The smallest fix, when not allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// Whether the deploying client may apply one resource change.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceAccess {
    /// The resource address.
    pub address: String,
    /// The combined verdict of its checks.
    pub verdict: Verdict,
    /// Every check.
    pub checks: Vec<AccessCheck>,
}

struct Checker<'a> {
    org: &'a Org,
    catalog: &'a Catalog<'a>,
    deployer: SubjectRef,
    checks: Vec<(AccessCheck, Outcome)>,
}

fn status_of(o: &Outcome) -> &'static str {
    match o {
        Outcome::Allowed | Outcome::Skipped => "allowed",
        Outcome::Denied(_) => "denied",
        Outcome::MayBeDenied(_) => "may be denied",
        Outcome::Unknown(_) | Outcome::NoToken(_) => "unknown",
    }
}

fn denial(code: &str, fix: Option<String>) -> Denial {
    Denial {
        code: code.to_owned(),
        fix,
        ..Denial::default()
    }
}

impl Checker<'_> {
    fn push(&mut self, operation: &str, check: String, reason: String, outcome: Outcome) {
        let fix = match &outcome {
            Outcome::Denied(d) | Outcome::MayBeDenied(d) => d.fix.clone(),
            _ => None,
        };
        self.checks.push((
            AccessCheck {
                operation: operation.to_owned(),
                check,
                status: status_of(&outcome),
                reason,
                fix,
            },
            outcome,
        ));
    }

    /// Check one call; `divisions` are the division ids a grant call involves (empty: the
    /// call acts on no division's object).
    fn call(&mut self, operation: &str, divisions: &[String]) {
        let Some(m) = self.catalog.find(operation) else {
            self.push(
                operation,
                "its permissions".to_owned(),
                "the operation is in neither the snapshot's catalog nor the built-in one"
                    .to_owned(),
                Outcome::Unknown("operation not in the catalog".to_owned()),
            );
            return;
        };
        let Some(req) = m.operation.permissions.clone() else {
            return;
        };
        let list: Vec<&str> = req.list.iter().map(String::as_str).collect();
        if req.kind == "ANY"
            && list.iter().any(|p| {
                can(self.org, self.deployer, p, Target::Any)
                    && divisions.iter().all(|d| self.held_in(p, d))
            })
        {
            return;
        }
        let code = if req.kind == "ANY" {
            "missing.any.permissions"
        } else {
            "missing.permissions"
        };
        for p in if req.kind == "ANY" {
            &list[..list.len().min(1)]
        } else {
            &list[..]
        } {
            if !can(self.org, self.deployer, p, Target::Any) {
                let fix = why(self.org, self.deployer, p, Target::Any)
                    .fix
                    .map(|f| f.to_string());
                self.push(
                    operation,
                    format!("`{p}`"),
                    format!(
                        "no role of {} grants `{p}`",
                        subject_phrase(self.org, self.deployer)
                    ),
                    Outcome::Denied(denial(code, fix)),
                );
                continue;
            }
            for d in divisions {
                if self.held_in(p, d) {
                    continue;
                }
                let place = self.place(d);
                let fix = self.grant_fix(p, d);
                self.push(
                    operation,
                    format!("`{p}` in {place}"),
                    "held only in other divisions; the platform checks the grant permission in each division involved when the org setting `authorizationGrantDivisionAware` is on, which the snapshot does not record".to_owned(),
                    Outcome::MayBeDenied(denial("missing.division.permission", fix)),
                );
            }
        }
        if !self.checks.iter().any(|(c, _)| c.operation == operation) {
            self.push(
                operation,
                format!("{} `{}`", req.kind, req.list.join("`, `")),
                "held".to_owned(),
                Outcome::Allowed,
            );
        }
    }

    /// Whether the deployer holds `perm` through a grant in division `d` (or in all).
    fn held_in(&self, perm: &str, d: &str) -> bool {
        let Some(p) = Permission::parse(perm) else {
            return false;
        };
        let scope = self.org.scope_of(d);
        effective_grants(self.org, self.deployer).iter().any(|g| {
            (g.grant.scope == Scope::All || Some(g.grant.scope) == scope)
                && role_grants(self.org, g.grant.role, &p)
        })
    }

    fn place(&self, d: &str) -> String {
        match self.org.scope_of(d) {
            Some(Scope::All) => "all divisions".to_owned(),
            Some(s) => format!("division `{}`", self.org.scope_name(s)),
            None if d.starts_with(PLANNED_PREFIX) => {
                format!("the division `{d}` the change creates")
            }
            None => format!("division `{d}`"),
        }
    }

    fn grant_fix(&self, perm: &str, d: &str) -> Option<String> {
        // A division the org has: the one fix rule `authz` uses (never an admin-equivalent
        // role, a held role extended before a second one).
        if let Some(Scope::Division(i)) = self.org.scope_of(d) {
            return why(self.org, self.deployer, perm, Target::Division(i))
                .fix
                .map(|f| f.to_string());
        }
        let p = Permission::parse(perm)?;
        // No fix hands the deployer an admin-equivalent role, nor any role in all divisions
        // where one division is asked about.
        let role = effective_grants(self.org, self.deployer)
            .into_iter()
            .find(|g| {
                role_grants(self.org, g.grant.role, &p)
                    && !is_admin_equivalent(self.org, g.grant.role)
            })?;
        let name = &self
            .org
            .snapshot()
            .roles
            .get(role.grant.role as usize)?
            .name;
        let place = match self.org.scope_of(d) {
            Some(Scope::Division(_)) | None => self.place(d),
            Some(Scope::All) => "all divisions".to_owned(),
        };
        Some(format!(
            "grant role `{name}` to {} in {place} (it already holds the role elsewhere)",
            subject_phrase(self.org, self.deployer)
        ))
    }

    /// The provider's rule for clients: it assigns a client only roles the deploying client
    /// itself holds (`docs/resources/oauth_client.md`, `roles`).
    fn client_roles(&mut self, operation: &str, roles: &[PlannedGrant], after: &Org) {
        let held: BTreeSet<&str> = effective_grants(self.org, self.deployer)
            .iter()
            .filter_map(|g| {
                self.org
                    .snapshot()
                    .roles
                    .get(g.grant.role as usize)
                    .map(|r| r.id.as_str())
            })
            .collect();
        let role_name = |id: &str| {
            after
                .role(id)
                .and_then(|i| after.snapshot().roles.get(i as usize))
                .map_or(id.to_owned(), |r| r.name.clone())
        };
        let mut seen = BTreeSet::new();
        for g in roles {
            let id = after
                .role(&g.role)
                .and_then(|i| after.snapshot().roles.get(i as usize))
                .map_or(g.role.as_str(), |r| r.id.as_str());
            let name = role_name(id);
            let check = format!("the deployer holds role `{name}`");
            if held.contains(id) || !seen.insert(id.to_owned()) {
                continue;
            }
            let reason = if id.starts_with(PLANNED_PREFIX) {
                "the role is created by this change, so the deploying client cannot hold it yet; the provider assigns it to the deployer itself only when a user runs it (purecloud-builtin), not a client-credentials client".to_owned()
            } else {
                "the provider gives a client only roles the deploying client itself holds"
                    .to_owned()
            };
            // No fix hands the deployer an admin-equivalent role.
            let fix = after
                .role(id)
                .filter(|&r| !is_admin_equivalent(after, r) && !id.starts_with(PLANNED_PREFIX))
                .map(|_| {
                    format!(
                        "grant role `{name}` to {} first",
                        subject_phrase(self.org, self.deployer)
                    )
                });
            self.push(
                operation,
                check,
                reason,
                Outcome::Denied(denial("missing.permissions", fix)),
            );
        }
    }
}

/// Whether `deployer` (a subject of `before`) may make the calls the provider makes to apply
/// each change of `set` (which turns `before` into `after`), one answer per address in plan
/// order.
#[must_use]
pub fn plan_access(
    (before, after): (&Org, &Org),
    set: &ChangeSet,
    deployer: SubjectRef,
    catalog: &Catalog<'_>,
) -> Vec<ResourceAccess> {
    let mut out: Vec<ResourceAccess> = Vec::new();
    for c in &set.changes {
        let mut ck = Checker {
            org: before,
            catalog,
            deployer,
            checks: Vec::new(),
        };
        if let Some(why) = sign_in_problem(before, deployer) {
            ck.push(
                "(sign-in)",
                "the deployer can get a token".to_owned(),
                why.to_owned(),
                Outcome::NoToken(why.to_owned()),
            );
        } else {
            edit_calls(&mut ck, before, after, &c.edit);
        }
        let verdict = combine(ck.checks.iter().map(|(a, o)| (a.check.as_str(), o))).verdict;
        let checks: Vec<AccessCheck> = ck.checks.into_iter().map(|(a, _)| a).collect();
        match out.iter_mut().find(|r| r.address == c.address) {
            // A replacement is two edits of one address: one answer.
            Some(r) => {
                r.checks.extend(checks);
                if r.verdict == Verdict::Allowed || verdict == Verdict::Denied {
                    r.verdict = verdict;
                }
            }
            None => out.push(ResourceAccess {
                address: c.address.clone(),
                verdict,
                checks,
            }),
        }
    }
    // A change rolecall could not read is one whose calls it cannot check: unknown, so the
    // gate fails on it as on a denial.
    for u in &set.unknown {
        let check = AccessCheck {
            operation: "(reading the plan)".to_owned(),
            check: format!("`{}`", u.field),
            status: "unknown",
            reason: u.reason.clone(),
            fix: None,
        };
        match out.iter_mut().find(|r| r.address == u.address) {
            Some(r) => {
                r.checks.push(check);
                if r.verdict != Verdict::Denied {
                    r.verdict = Verdict::Unknown;
                }
            }
            None => out.push(ResourceAccess {
                address: u.address.clone(),
                verdict: Verdict::Unknown,
                checks: vec![check],
            }),
        }
    }
    out
}

fn edit_calls(ck: &mut Checker<'_>, before: &Org, after: &Org, edit: &Edit) {
    let run = |ck: &mut Checker<'_>, ty: &str, when: CallWhen, divisions: &[String]| {
        for c in provider_calls(ty, when) {
            ck.call(c.operation, divisions);
        }
    };
    let crud = |create: bool| {
        if create {
            CallWhen::Create
        } else {
            CallWhen::Update
        }
    };
    match edit {
        Edit::PutRole { create, .. } => {
            run(ck, "genesyscloud_auth_role", crud(*create), &[]);
            run(ck, "genesyscloud_auth_role", CallWhen::Read, &[]);
        }
        Edit::DeleteRole { .. } => run(ck, "genesyscloud_auth_role", CallWhen::Delete, &[]),
        Edit::PutDivision { create, .. } => {
            run(ck, "genesyscloud_auth_division", crud(*create), &[]);
            run(ck, "genesyscloud_auth_division", CallWhen::Read, &[]);
        }
        Edit::DeleteDivision { .. } => run(ck, "genesyscloud_auth_division", CallWhen::Delete, &[]),
        Edit::PutClient { create, spec, .. } => {
            run(ck, "genesyscloud_oauth_client", crud(*create), &[]);
            run(ck, "genesyscloud_oauth_client", CallWhen::Read, &[]);
            let op = if *create {
                "POST /api/v2/oauth/clients"
            } else {
                "PUT /api/v2/oauth/clients/{clientId}"
            };
            ck.client_roles(op, &spec.roles, after);
        }
        Edit::DeleteClient { .. } => run(ck, "genesyscloud_oauth_client", CallWhen::Delete, &[]),
        Edit::SetGrants { kind, subject, .. } => {
            let t = if *kind == SubjectKind::Group {
                "genesyscloud_group_roles"
            } else {
                "genesyscloud_user_roles"
            };
            let (added, removed) = grant_changes(before, after, *kind, subject);
            run(ck, t, CallWhen::Read, &[]);
            if !added.is_empty() {
                run(ck, t, CallWhen::GrantAdded, &added);
            }
            if !removed.is_empty() {
                run(ck, t, CallWhen::GrantRemoved, &removed);
            }
        }
        Edit::Grant {
            kind: SubjectKind::Client,
            ..
        }
        | Edit::ClientState { .. } => run(ck, "rolecall_client", CallWhen::Update, &[]),
        Edit::Grant { grant, revoke, .. } => {
            let d = division_of(before, after, grant);
            run(
                ck,
                "rolecall_grant",
                if *revoke {
                    CallWhen::GrantRemoved
                } else {
                    CallWhen::GrantAdded
                },
                &d,
            );
        }
        Edit::RolePermissions { .. } => run(ck, "rolecall_role", CallWhen::Update, &[]),
        Edit::GroupRoles { .. } => run(ck, "genesyscloud_group", CallWhen::Update, &[]),
        Edit::PolicyActive { .. } | Edit::ClientScopes { .. } => {
            run(ck, "rolecall_unmodelled", CallWhen::Update, &[])
        }
        Edit::PutAuthSettings(_) => {
            run(ck, AUTH_SETTINGS, CallWhen::Update, &[]);
            run(ck, AUTH_SETTINGS, CallWhen::Read, &[]);
        }
    }
}

fn division_of(before: &Org, after: &Org, g: &PlannedGrant) -> Vec<String> {
    match g.division.as_deref() {
        Some(ALL_DIVISIONS) => vec![ALL_DIVISIONS.to_owned()],
        Some(d) => vec![after
            .division(d)
            .or_else(|| before.division(d))
            .and_then(|i| after.snapshot().divisions.get(i as usize))
            .map_or(d.to_owned(), |x| x.id.clone())],
        None => after
            .home_division()
            .and_then(|i| after.snapshot().divisions.get(i as usize))
            .map(|x| vec![x.id.clone()])
            .unwrap_or_default(),
    }
}

/// Division ids of the grants a user or group gains and loses through the change.
fn grant_changes(
    before: &Org,
    after: &Org,
    kind: SubjectKind,
    subject: &str,
) -> (Vec<String>, Vec<String>) {
    let grants = |org: &Org| -> BTreeSet<(String, String)> {
        let s = match kind {
            SubjectKind::Group => org.group(subject).map(SubjectRef::Group),
            _ => org.user(subject).map(SubjectRef::User),
        };
        let snap = org.snapshot();
        s.map(|s| {
            org.direct_grants(s)
                .iter()
                .filter_map(|g| {
                    let role = snap.roles.get(g.role as usize)?.id.clone();
                    let div = match g.scope {
                        Scope::All => ALL_DIVISIONS.to_owned(),
                        Scope::Division(d) => snap.divisions.get(d as usize)?.id.clone(),
                    };
                    Some((role, div))
                })
                .collect()
        })
        .unwrap_or_default()
    };
    let (b, a) = (grants(before), grants(after));
    let divs = |x: &BTreeSet<(String, String)>, y: &BTreeSet<(String, String)>| -> Vec<String> {
        x.difference(y)
            .map(|(_, d)| d.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    (divs(&a, &b), divs(&b, &a))
}

/// A subject that gains a permission in a division through the change.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AccessGain {
    /// `client `x``-style phrase.
    pub subject: String,
    /// The permission.
    pub permission: String,
    /// The division's name.
    pub division: String,
    /// The resource addresses that cause it.
    pub causes: Vec<String>,
}

/// Who can use `permission` in `division` (by name; every division when `None`) after the
/// change and could not before (AWS Access Analyzer's `CheckAccessNotGranted`).
///
/// # Errors
/// When the division is in neither org.
pub fn new_access(
    (before, after): (&Org, &Org),
    causes: &Causes,
    permission: &str,
    division: Option<&str>,
) -> Result<Vec<AccessGain>, String> {
    let targets: Vec<u32> = match division {
        Some(d) => vec![after
            .division(d)
            .ok_or_else(|| format!("division `{d}` is not in the org after the change"))?],
        None => (0..u32::try_from(after.snapshot().divisions.len()).unwrap_or(u32::MAX)).collect(),
    };
    let mut out = Vec::new();
    for t in targets {
        let name = after.scope_name(Scope::Division(t)).to_owned();
        // A division the change creates is covered before it only by `*` grants (all
        // divisions, present and future).
        let before_target = before.division(&name).map_or(Target::All, Target::Division);
        for s in subjects_with(after, permission, Target::Division(t)) {
            let had = same_subject(after, s, before)
                .is_some_and(|b| can(before, b, permission, before_target));
            if had {
                continue;
            }
            let (kind, id) = match s {
                SubjectRef::User(i) => ("user", after.subject_id(SubjectRef::User(i))),
                SubjectRef::Group(i) => ("group", after.subject_id(SubjectRef::Group(i))),
                SubjectRef::Client(i) => ("client", after.subject_id(SubjectRef::Client(i))),
            };
            out.push(AccessGain {
                subject: subject_phrase(after, s),
                permission: permission.to_owned(),
                division: name.clone(),
                causes: causes.for_object(before, after, kind, id),
            });
        }
    }
    Ok(out)
}
