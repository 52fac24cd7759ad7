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
#[derive(Debug, Clone)]
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
/// new change is proposed, or `MAX_ROUNDS` (6) rounds. `None` when the explanation proposes no change.
///
/// # Errors
/// When a proposed change cannot be applied (it names an object the org lacks).
pub fn prove_fix(
    org: &Org,
    catalog: &Catalog<'_>,
    q: &Question<'_>,
    ex: &Explanation,
) -> Result<Option<ProvenFix>, ChangeError> {
    if ex.changes.is_empty() {
        return Ok(None);
    }
    let mut changes = ex.changes.clone();
    let mut last = None;
    for _ in 0..MAX_ROUNDS {
        let after = Org::new(apply(org, &set_of(org, q.subject, &changes)?)?.snapshot);
        let again = explain(
            &after,
            &Catalog::for_org(&after).with_origin(catalog.origin().clone()),
            q,
        )
        .map_err(|e| ChangeError::Resource {
            address: "fix".to_owned(),
            line: None,
            message: e.message,
            help: None,
        })?;
        let more: Vec<Fix> = again
            .changes
            .iter()
            .filter(|c| !changes.contains(c))
            .cloned()
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
            Fix::AddPermission { permission, role } => vec![Edit::RolePermissions {
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
