//! Fixes that fix: an explanation's fix is applied to the org with the overlay, the call is
//! explained again on the fixed org, and what still blocks it is added, until the call is
//! allowed or nothing more can be proposed.
//!
//! `authz` proposes each change from what it sees (grant a role here, restore a permission to a
//! role, enable roles on a group, narrow a DENY policy, authorize a scope); only this module can
//! apply changes, so only here can a fix be proven. One proposal is not always enough: an `ALL`
//! requirement missing two permissions, or a grant fix behind which a DENY policy waits, show
//! their second cause only once the first is gone.

use super::{apply, Change, ChangeError, ChangeSet, Edit, PlannedGrant, RoleSpec, SubjectKind};
use crate::authz::{explain, Explanation, Fix, Question, Verdict};
use crate::catalog::Catalog;
use crate::model::{Org, SubjectRef};

/// Most rounds of "apply, explain again": each round fixes at least one more cause, and a call
/// has only a handful (scope, each permission, policies).
const MAX_ROUNDS: usize = 6;

/// A fix, proven against the org.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvenFix {
    /// Every change of the fix, in the order they are needed.
    pub changes: Vec<Fix>,
    /// The verdict with every change applied.
    pub verdict_after: Verdict,
    /// Why the fix falls short, when it does (the explanation's reason on the fixed org).
    pub short_of: Option<String>,
}

impl ProvenFix {
    /// Whether the call is allowed once the fix is applied.
    #[must_use]
    pub fn works(&self) -> bool {
        self.verdict_after == Verdict::Allowed
    }

    /// What the proof says, in words, for reports.
    #[must_use]
    pub fn statement(&self) -> String {
        if self.works() {
            "checked: with these changes applied to the snapshot, rolecall explains the call again and it is allowed".to_owned()
        } else {
            format!(
                "with these changes applied the call would still be {}{}",
                self.verdict_after.as_str(),
                self.short_of
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            )
        }
    }

    /// Put the proven fix into the explanation it was made for: every part, and the proof.
    pub fn attach(&self, ex: &mut Explanation) {
        ex.changes.clone_from(&self.changes);
        ex.fixes = self.changes.iter().map(ToString::to_string).collect();
        ex.fix = (!ex.fixes.is_empty()).then(|| ex.fixes.join("; and "));
        ex.fix_checked = Some(self.statement());
    }
}

/// Complete and prove the fix of `ex`, the explanation of `q` on `org`: apply its changes,
/// explain again, add the changes the new explanation proposes, until the call is allowed, no
/// new change is proposed, or a few rounds. `None` when the explanation proposes no change.
///
/// # Errors
/// When a proposed change cannot be applied (it names an object the org lacks).
pub fn prove_fix(
    org: &Org,
    catalog: &Catalog<'_>,
    q: &Question<'_>,
    ex: &Explanation,
) -> Result<Option<ProvenFix>, ChangeError> {
    prove(org, catalog, q, ex, true)
}

/// [`prove_fix`], on the focused org or (for the test that holds them equal) the whole one.
fn prove(
    org: &Org,
    catalog: &Catalog<'_>,
    q: &Question<'_>,
    ex: &Explanation,
    focused: bool,
) -> Result<Option<ProvenFix>, ChangeError> {
    if ex.changes.is_empty() {
        return Ok(None);
    }
    // The proof runs on the question's own corner of the org (`focus`): copying and indexing
    // every user of a large org for each round would cost a large org's load per answer.
    let subject = q.subject;
    let (small, q) = match focused.then(|| focus(org, catalog, q)).flatten() {
        Some((small, fq)) => (Some(small), fq),
        None => (None, q.clone()),
    };
    let base = small.as_ref().unwrap_or(org);
    let mut changes = ex.changes.clone();
    let mut last = None;
    for _ in 0..MAX_ROUNDS {
        let after = Org::new(apply(base, &set_of(base, q.subject, &changes)?)?.snapshot);
        // The caller's catalog: applying a fix changes no operation.
        let again = explain(&after, catalog, &q).map_err(|e| ChangeError::Resource {
            address: "fix".to_owned(),
            line: None,
            message: e.message,
            help: None,
        })?;
        let more: Vec<Fix> = again
            .changes
            .iter()
            .map(|c| counted_on(org, subject, c))
            .filter(|c| !changes.contains(c))
            .collect();
        let done = again.verdict == Verdict::Allowed || more.is_empty();
        last = Some(again);
        if done {
            break;
        }
        changes.extend(more);
    }
    let Some(after) = last else {
        return Ok(None);
    };
    let short_of = (after.verdict != Verdict::Allowed).then(|| {
        after
            .steps
            .iter()
            .find(|s| {
                s.status != crate::authz::Status::Ok && s.status != crate::authz::Status::Skipped
            })
            .map_or_else(
                || after.verdict_line(),
                |s| format!("{}: {}", s.check, s.detail),
            )
    });
    Ok(Some(ProvenFix {
        changes,
        verdict_after: after.verdict,
        short_of,
    }))
}

/// The org a proof is explained on, and the question in its terms: the whole org but its
/// users, of whom it keeps the subject, the agents moved, and for each role one other user who
/// holds it directly (a fix that would extend a role asks whether anyone else holds it); the
/// grants of the users kept, and every group's and client's. What a subject may do depends on
/// its own grants, its groups' and the org's roles, divisions, units, policies and settings, all
/// kept whole, so the call is answered there as on the whole org (a test holds the two to the
/// same answers). `None` when the subject or an agent is not found by id (then the whole org).
fn focus<'q>(org: &Org, catalog: &Catalog<'_>, q: &Question<'q>) -> Option<(Org, Question<'q>)> {
    let crate::model::OrgSnapshot {
        format,
        fetched_at,
        source,
        organization,
        divisions,
        roles,
        users,
        groups,
        oauth_clients,
        grants,
        access_policies,
        auth_settings,
        business_units,
        management_units,
        permission_catalog,
        operations,
        usage: _,
        coverage,
        verification,
    } = org.snapshot();
    let mut keep: std::collections::BTreeSet<u32> = q.agents.iter().copied().collect();
    if let SubjectRef::User(u) = q.subject {
        keep.insert(u);
    }
    for r in 0..roles.len() {
        let other = u32::try_from(r).ok().and_then(|r| {
            org.role_holders(r).iter().find_map(|(s, _)| match *s {
                SubjectRef::User(u) if *s != q.subject => Some(u),
                _ => None,
            })
        });
        keep.extend(other);
    }
    let kept: Vec<crate::model::User> = keep
        .iter()
        .filter_map(|&u| users.get(u as usize).cloned())
        .collect();
    let ids: std::collections::HashSet<&str> = kept.iter().map(|u| u.id.as_str()).collect();
    let kept_only = |members: &[String]| -> Vec<String> {
        members
            .iter()
            .filter(|m| ids.contains(m.as_str()))
            .cloned()
            .collect()
    };
    let small = Org::new(crate::model::OrgSnapshot {
        format: format.clone(),
        fetched_at: fetched_at.clone(),
        source: source.clone(),
        organization: organization.clone(),
        divisions: divisions.clone(),
        roles: roles.clone(),
        // Memberships of users not kept would only be warnings about missing users.
        groups: groups
            .iter()
            .map(|g| crate::model::Group {
                id: g.id.clone(),
                name: g.name.clone(),
                state: g.state.clone(),
                roles_enabled: g.roles_enabled,
                member_ids: kept_only(&g.member_ids),
            })
            .collect(),
        oauth_clients: oauth_clients.clone(),
        // Every group's and client's grants, and the kept users' (from the index, in the
        // snapshot's order: no walk of every user grant).
        grants: grants
            .iter()
            .filter(|g| g.subject_type != "PC_USER")
            .cloned()
            .chain(keep.iter().flat_map(|&u| {
                let id = users.get(u as usize).map_or("", |x| x.id.as_str());
                org.direct_grants(SubjectRef::User(u))
                    .iter()
                    .map(move |g| crate::model::Grant {
                        subject_id: id.to_owned(),
                        subject_type: "PC_USER".to_owned(),
                        role_id: roles
                            .get(g.role as usize)
                            .map_or_else(String::new, |r| r.id.clone()),
                        division_id: match g.scope {
                            crate::model::Scope::All => crate::model::ALL_DIVISIONS.to_owned(),
                            crate::model::Scope::Division(d) => divisions
                                .get(d as usize)
                                .map_or_else(String::new, |d| d.id.clone()),
                        },
                    })
            }))
            .collect(),
        access_policies: access_policies.clone(),
        auth_settings: auth_settings.clone(),
        business_units: business_units.clone(),
        management_units: management_units
            .iter()
            .map(|mu| crate::model::ManagementUnit {
                id: mu.id.clone(),
                name: mu.name.clone(),
                business_unit: mu.business_unit.clone(),
                division: mu.division.clone(),
                user_ids: kept_only(&mu.user_ids),
            })
            .collect(),
        permission_catalog: permission_catalog.clone(),
        operations: operations.clone(),
        // Usage decides nothing an explanation says.
        usage: None,
        coverage: coverage.clone(),
        verification: verification.clone(),
        users: kept,
    });
    // Groups and clients are kept whole, in order: only users are found again.
    let subject = match q.subject {
        SubjectRef::User(_) => SubjectRef::User(small.user_by_id(org.subject_id(q.subject))?),
        other => other,
    };
    let agents = q
        .agents
        .iter()
        .map(|&a| small.user_by_id(org.subject_id(SubjectRef::User(a))))
        .collect::<Option<Vec<u32>>>()?;
    // The object acted on, found on the whole org: a user named in the path may not be kept.
    let q = Question {
        subject,
        agents,
        target: crate::authz::target_of(org, catalog, q),
        ..q.clone()
    };
    Some((small, q))
}

/// A change proposed on the focused org, with what it says of the whole org: extending a role
/// tells how many others hold it, counted where they all are.
fn counted_on(whole: &Org, subject: SubjectRef, fix: &Fix) -> Fix {
    match fix {
        Fix::AddPermission {
            permission, role, ..
        } => Fix::AddPermission {
            permission: permission.clone(),
            role: role.clone(),
            others: whole
                .role(role)
                .map_or(0, |r| crate::authz::other_holders(whole, r, subject)),
        },
        other => other.clone(),
    }
}

/// The change set that makes `fixes` for `subject`.
fn set_of(org: &Org, subject: SubjectRef, fixes: &[Fix]) -> Result<ChangeSet, ChangeError> {
    let (kind, id) = match subject {
        SubjectRef::Client(_) => (SubjectKind::Client, org.subject_id(subject)),
        SubjectRef::User(_) => (SubjectKind::User, org.subject_id(subject)),
        SubjectRef::Group(_) => (SubjectKind::Group, org.subject_id(subject)),
    };
    let mut changes = Vec::new();
    // A role created for a permission once serves every grant of it.
    let mut created: Vec<String> = Vec::new();
    for (n, f) in fixes.iter().enumerate() {
        let address = format!("fix#{}", n + 1);
        let division = |d: &Option<String>| Some(d.clone().unwrap_or_else(|| "*".to_owned()));
        let edits: Vec<Edit> = match f {
            Fix::GrantRole {
                role, division: d, ..
            } => vec![Edit::Grant {
                kind,
                subject: id.to_owned(),
                grant: PlannedGrant {
                    role: role.clone(),
                    division: division(d),
                },
                revoke: false,
            }],
            Fix::AddPermission {
                permission, role, ..
            } => vec![Edit::RolePermissions {
                role: role.clone(),
                add: vec![permission.clone()],
                remove: Vec::new(),
            }],
            Fix::CreateRole {
                permission,
                division: d,
                ..
            } => {
                let name = format!("rolecall fix: {permission}");
                let mut edits = Vec::new();
                if !created.contains(&name) {
                    created.push(name.clone());
                    edits.push(Edit::PutRole {
                        id: format!("{}{address}", super::PLANNED_PREFIX),
                        create: true,
                        spec: RoleSpec {
                            name: name.clone(),
                            description: None,
                            policies: super::policies_of(
                                std::slice::from_ref(permission),
                                &address,
                            )?,
                        },
                    });
                }
                edits.push(Edit::Grant {
                    kind,
                    subject: id.to_owned(),
                    grant: PlannedGrant {
                        role: name,
                        division: division(d),
                    },
                    revoke: false,
                });
                edits
            }
            Fix::EnableGroupRoles { group, .. } => vec![Edit::GroupRoles {
                group: group.clone(),
                enabled: true,
            }],
            Fix::NarrowPolicy { policy, .. } => vec![Edit::PolicyActive {
                policy: policy.clone(),
                active: false,
            }],
            Fix::AuthorizeScope { scope, client } => vec![Edit::ClientScopes {
                client: client.clone(),
                add: vec![scope.clone()],
            }],
            // Nothing to apply: the fix is advice (another kind of client, a typo).
            Fix::NotClientCredentials { .. } | Fix::InvalidPermission(_) => Vec::new(),
        };
        changes.extend(edits.into_iter().map(|edit| Change {
            address: address.clone(),
            line: None,
            edit,
        }));
    }
    Ok(ChangeSet {
        source: "the proposed fix".to_owned(),
        changes,
        ..ChangeSet::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::TargetObject;

    /// The focused org gives every proof the whole org gives: the same changes (with the
    /// whole org's counts), the same verdict after, the same shortfall. Every client and a
    /// slice of users of a synthetic org, asking writes that are denied in many ways.
    #[test]
    fn proofs_on_the_focused_org_are_the_whole_orgs() {
        let org = Org::new(crate::model::synthetic_org(3_000, 7));
        let catalog = Catalog::for_org(&org);
        let snap = org.snapshot();
        let mut subjects: Vec<SubjectRef> = (0..snap.oauth_clients.len())
            .filter_map(|c| u32::try_from(c).ok().map(SubjectRef::Client))
            .collect();
        subjects.extend((0..3_000_u32).step_by(97).map(SubjectRef::User));
        subjects.extend(
            (0..snap.groups.len().min(20))
                .filter_map(|g| u32::try_from(g).ok().map(SubjectRef::Group)),
        );
        // A user outside the home division, so that where the fix goes depends on finding it.
        let home = snap
            .divisions
            .iter()
            .find(|d| d.home_division)
            .map(|d| d.id.as_str());
        let user_path = format!(
            "PUT /api/v2/users/{}/profile",
            snap.users
                .iter()
                .skip(1_000)
                .find(|u| u
                    .division
                    .as_ref()
                    .is_some_and(|d| Some(d.id.as_str()) != home))
                .map_or("", |u| u.id.as_str())
        );
        let last = |n: usize| u32::try_from(n.saturating_sub(1)).unwrap_or(0);
        let (units, divisions) = (
            last(snap.management_units.len()),
            last(snap.divisions.len()),
        );
        let questions = [
            (
                "POST /api/v2/workforcemanagement/agents",
                Some(TargetObject::ManagementUnit(0)),
            ),
            (
                "POST /api/v2/workforcemanagement/agents",
                Some(TargetObject::ManagementUnit(units)),
            ),
            (
                "PUT /api/v2/routing/queues/q-1",
                Some(TargetObject::Division(divisions)),
            ),
            ("PUT /api/v2/routing/queues/q-1", None),
            ("GET /api/v2/users/u-1", Some(TargetObject::Division(0))),
            // A user named by id in the path (not kept in the focused org), no target given.
            (user_path.as_str(), None),
            ("POST /api/v2/analytics/conversations/details/query", None),
        ];
        let (mut proven, mut errors, mut differing) = (0, 0, Vec::new());
        // Agents moved out of the last unit, found again by id in the focused org.
        let agents: Vec<u32> = snap
            .management_units
            .last()
            .into_iter()
            .flat_map(|mu| &mu.user_ids)
            .filter_map(|id| org.user_by_id(id))
            .take(3)
            .collect();
        assert!(!agents.is_empty());
        for &subject in &subjects {
            for (i, &(op, target)) in questions.iter().enumerate() {
                let q = Question {
                    subject,
                    operation: op,
                    target,
                    agents: if i == 0 { agents.clone() } else { Vec::new() },
                    unread_target: None,
                };
                let Ok(ex) = explain(&org, &catalog, &q) else {
                    continue;
                };
                // Errors too must agree (a proposal naming an object the org lacks).
                let focused = format!("{:?}", prove(&org, &catalog, &q, &ex, true));
                let whole = prove(&org, &catalog, &q, &ex, false);
                proven += usize::from(matches!(whole, Ok(Some(_))));
                errors += usize::from(whole.is_err());
                let whole = format!("{whole:?}");
                if focused != whole {
                    differing.push(format!("{subject:?} {op}: {focused:?} != {whole:?}"));
                }
            }
        }
        assert!(differing.is_empty(), "{differing:#?}");
        assert_eq!(errors, 0, "every proposal names objects the org has");
        assert!(
            proven > 100,
            "only {proven} fixes were proven: the test asks too little"
        );
    }

    /// A user named by id in the path is found on the whole org: its division decides where
    /// the fix goes, though the focused org does not keep that user.
    #[test]
    fn a_user_named_in_the_path_decides_the_target_of_the_proof() {
        let mut snap = crate::model::OrgBuilder::new("t")
            .division("Home")
            .division("Support EU")
            .role("Editor", &["directory:user:edit"])
            .catalog("directory:user:edit", true)
            .client("sync", "CLIENT-CREDENTIALS", &[])
            .user("Ana", "ana@x.example", "active")
            .operation(
                "PUT",
                "/api/v2/users/{userId}",
                "ANY",
                &["directory:user:edit"],
                &[],
            )
            .build();
        snap.users[0].division = Some(crate::model::IdRef {
            id: crate::model::OrgBuilder::division_id("Support EU"),
            name: Some("Support EU".to_owned()),
        });
        let org = Org::new(snap);
        let catalog = Catalog::for_org(&org);
        let path = format!("PUT /api/v2/users/{}", org.snapshot().users[0].id);
        let q = Question {
            subject: SubjectRef::Client(0),
            operation: &path,
            target: None,
            agents: Vec::new(),
            unread_target: None,
        };
        let ex = explain(&org, &catalog, &q).unwrap();
        let whole = prove(&org, &catalog, &q, &ex, false).unwrap().unwrap();
        assert!(whole.works(), "{whole:?}");
        assert_eq!(
            whole.changes.len(),
            1,
            "one grant, in the user's division: {whole:?}"
        );
        assert_eq!(prove(&org, &catalog, &q, &ex, true).unwrap(), Some(whole));
    }

    /// A later round that proposes extending a role another user holds counts that user, as
    /// the whole org does, not only the holders the focused org kept.
    #[test]
    fn a_later_round_counts_every_other_holder() {
        let mut b = crate::model::OrgBuilder::new("t")
            .division("Home")
            .role("Agent Reader", &["wfm:agent:view"])
            .role("Unit Reader", &["wfm:managementUnit:view"])
            .client("sync", "CLIENT-CREDENTIALS", &[("Agent Reader", "Home")]);
        for i in 0..4 {
            let email = format!("u{i}@x.example");
            b = b.user(&format!("u{i}"), &email, "active").grant_user(
                &email,
                "Agent Reader",
                "Home",
            );
        }
        let org = Org::new(
            b.operation(
                "POST",
                "/api/v2/things",
                "ALL",
                &["wfm:agent:edit", "wfm:managementUnit:view"],
                &[],
            )
            .build(),
        );
        let catalog = Catalog::for_org(&org);
        let q = Question {
            subject: SubjectRef::Client(0),
            operation: "POST /api/v2/things",
            target: Some(TargetObject::Division(0)),
            agents: Vec::new(),
            unread_target: None,
        };
        let ex = explain(&org, &catalog, &q).unwrap();
        let focused = prove(&org, &catalog, &q, &ex, true).unwrap();
        let whole = prove(&org, &catalog, &q, &ex, false).unwrap();
        assert_eq!(focused, whole);
        let counts: Vec<usize> = whole
            .iter()
            .flat_map(|p| &p.changes)
            .filter_map(|c| match c {
                Fix::AddPermission { others, .. } => Some(*others),
                _ => None,
            })
            .collect();
        assert!(counts.contains(&4), "{whole:?}");
    }
}
