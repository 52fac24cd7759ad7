//! [`Decision`]: why a subject can or cannot use a permission somewhere, and the smallest fix.

use std::fmt;

use super::words::{held_grant_phrase, subject_phrase, target_phrase};
use super::{
    awareness, covers, effective_grants, is_client_credentials, role_grants, EffectiveGrant, Target,
};
use crate::model::{Org, Permission, Scope, SubjectRef};

/// What the permission catalog says about a permission's divisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awareness {
    /// Grants apply only to objects in their division.
    Aware,
    /// A grant in any division applies everywhere.
    NotAware,
    /// Not in the catalog: treated as division-aware, the stricter reading.
    Unknown,
}

impl Awareness {
    /// Whether decisions treat the permission as division-aware.
    #[must_use]
    pub fn treated_as_aware(self) -> bool {
        !matches!(self, Self::NotAware)
    }

    /// Lowercase word for reports: `aware`, `not-aware`, `unknown`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aware => "aware",
            Self::NotAware => "not-aware",
            Self::Unknown => "unknown",
        }
    }
}

/// The smallest change that would make a denied decision allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// Grant an existing role (that includes the permission) to the subject at the target.
    GrantRole {
        /// Role name.
        role: String,
        /// `client `x``-style subject phrase.
        subject: String,
        /// Where: a division name, or `None` for all divisions.
        division: Option<String>,
        /// Whether the subject already holds the role elsewhere.
        already_held: bool,
    },
    /// Add the permission to a role the subject already holds at the target.
    AddPermission {
        /// The permission.
        permission: String,
        /// Role name.
        role: String,
        /// How many other subjects hold the role (the change widens their access too).
        others: usize,
    },
    /// No role grants the permission and the subject holds none at the target.
    CreateRole {
        /// The permission.
        permission: String,
        /// Subject phrase.
        subject: String,
        /// Where, as for [`Fix::GrantRole`].
        division: Option<String>,
    },
    /// The client is not client-credentials: roles do not apply to it.
    NotClientCredentials {
        /// Client name.
        client: String,
        /// Its grant type.
        grant_type: String,
    },
    /// The permission string is not `domain:entity:action`.
    InvalidPermission(String),
    /// A group the user belongs to holds a role that gives the permission at the target, but
    /// does not pass its roles to members (`rolesEnabled` is off): turning it on is the change
    /// its grant was made for.
    EnableGroupRoles {
        /// Group name.
        group: String,
        /// Subject phrase of the member.
        subject: String,
    },
    /// An active DENY access policy blocks the call: no grant can help.
    NarrowPolicy {
        /// Policy name.
        policy: String,
        /// Subject phrase.
        subject: String,
    },
    /// A user-context client lacks a scope the operation needs.
    AuthorizeScope {
        /// The scope.
        scope: String,
        /// Client name.
        client: String,
    },
}

impl fmt::Display for Fix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = |d: &Option<String>| match d {
            Some(d) => format!("in division `{d}`"),
            None => "in all divisions".to_owned(),
        };
        match self {
            Self::GrantRole {
                role,
                subject,
                division,
                already_held,
            } => {
                write!(f, "grant role `{role}` to {subject} {}", place(division))?;
                if *already_held {
                    write!(f, " (it already holds the role elsewhere)")?;
                }
                Ok(())
            }
            Self::AddPermission {
                permission,
                role,
                others,
            } => {
                write!(f, "add `{permission}` to role `{role}`")?;
                match others {
                    0 => Ok(()),
                    1 => write!(f, " (1 other subject holds the role and gains it too)"),
                    n => write!(f, " ({n} other subjects hold the role and gain it too)"),
                }
            }
            Self::CreateRole {
                permission,
                subject,
                division,
            } => write!(
                f,
                "create a role with `{permission}` and grant it to {subject} {}",
                place(division)
            ),
            Self::NotClientCredentials { client, grant_type } => write!(
                f,
                "client `{client}` uses the `{grant_type}` grant, so it acts with the signed-in user's roles limited by its scopes; give the user the permission, or use a client-credentials client"
            ),
            Self::InvalidPermission(p) => write!(f, "`{p}` is not a `domain:entity:action` permission"),
            Self::EnableGroupRoles { group, subject } => write!(
                f,
                "enable roles on group `{group}` (its roles do not pass to members such as {subject} while `rolesEnabled` is off)"
            ),
            Self::NarrowPolicy { policy, subject } => write!(
                f,
                "narrow access policy `{policy}` (its subject, condition or applyToClients) so it no longer matches {subject}, or deactivate it"
            ),
            Self::AuthorizeScope { scope, client } => {
                write!(f, "authorize scope `{scope}` for client `{client}`")
            }
        }
    }
}

/// The answer to "can subject S use permission P at target T", with its reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the subject's roles allow it.
    pub allowed: bool,
    /// The permission asked about.
    pub permission: String,
    /// Where it was asked about.
    pub target: Target,
    /// Division awareness per the catalog.
    pub awareness: Awareness,
    /// The grant that allows it.
    pub granted_by: Option<EffectiveGrant>,
    /// Grants that include the permission but in other divisions.
    pub held_elsewhere: Vec<EffectiveGrant>,
    /// The smallest fix when denied.
    pub fix: Option<Fix>,
}

impl Decision {
    /// A one-line reason, e.g. "granted by role `X` in division `Y`".
    #[must_use]
    pub fn reason(&self, org: &Org) -> String {
        let mut out = if let Some(g) = &self.granted_by {
            format!("granted by {}", held_grant_phrase(org, g))
        } else if let Some(Fix::NotClientCredentials { .. } | Fix::InvalidPermission(_)) = &self.fix
        {
            self.fix
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default()
        } else if self.held_elsewhere.is_empty() {
            format!("no role held grants `{}`", self.permission)
        } else {
            let places: Vec<String> = self
                .held_elsewhere
                .iter()
                .map(|g| held_grant_phrase(org, g))
                .collect();
            format!(
                "`{}` is held only through {} (not {})",
                self.permission,
                places.join(", "),
                target_phrase(org, self.target)
            )
        };
        if self.awareness == Awareness::Unknown {
            out.push_str(
                "; the permission catalog does not list it, so it was treated as division-aware",
            );
        }
        out
    }
}

pub(super) fn decide(org: &Org, subject: SubjectRef, permission: &str, target: Target) -> Decision {
    let awareness = awareness(org, permission);
    let mut d = Decision {
        allowed: false,
        permission: permission.to_owned(),
        target,
        awareness,
        granted_by: None,
        held_elsewhere: Vec::new(),
        fix: None,
    };
    let Some(perm) = Permission::parse(permission) else {
        d.fix = Some(Fix::InvalidPermission(permission.to_owned()));
        return d;
    };
    if let SubjectRef::Client(c) = subject {
        if !is_client_credentials(org, c) {
            let grant_type = org
                .snapshot()
                .oauth_clients
                .get(c as usize)
                .map_or_else(String::new, |c| c.authorized_grant_type.clone());
            d.fix = Some(Fix::NotClientCredentials {
                client: org.subject_name(subject).to_owned(),
                grant_type,
            });
            return d;
        }
    }
    let aware = awareness.treated_as_aware();
    let grants = effective_grants(org, subject);
    for g in &grants {
        if !role_grants(org, g.grant.role, &perm) {
            continue;
        }
        if covers(g.grant.scope, target, aware) {
            d.allowed = true;
            d.granted_by = Some(*g);
            return d;
        }
        d.held_elsewhere.push(*g);
    }
    d.fix = Some(smallest_fix(
        org,
        subject,
        &perm,
        target,
        &grants,
        &d.held_elsewhere,
    ));
    d
}

fn smallest_fix(
    org: &Org,
    subject: SubjectRef,
    perm: &Permission<'_>,
    target: Target,
    grants: &[EffectiveGrant],
    held_elsewhere: &[EffectiveGrant],
) -> Fix {
    let snap = org.snapshot();
    let division = match target {
        Target::Division(d) => Some(org.scope_name(Scope::Division(d)).to_owned()),
        Target::All => None,
        Target::Any => org
            .home_division()
            .map(|h| org.scope_name(Scope::Division(h)).to_owned()),
    };
    let subject_text = subject_phrase(org, subject);
    let role_name = |r: u32| {
        snap.roles
            .get(r as usize)
            .map_or_else(String::new, |r| r.name.clone())
    };
    // A role with admin-level wildcards is never the smallest fix: granting it widens access far
    // past the one missing permission (a dedicated role does not).
    let admin = |r: u32| super::widens_admin(org, r, perm);
    let aware = awareness(org, &perm.to_string()).treated_as_aware();
    // First: a group of the user's was granted the role for this, but does not pass roles on.
    if let SubjectRef::User(u) = subject {
        let disabled = org.groups_of(u).iter().copied().find(|&g| {
            snap.groups
                .get(g as usize)
                .is_some_and(|gr| !gr.roles_enabled)
                && org
                    .direct_grants(SubjectRef::Group(g))
                    .iter()
                    .any(|gr| role_grants(org, gr.role, perm) && covers(gr.scope, target, aware))
        });
        if let Some(g) = disabled {
            return Fix::EnableGroupRoles {
                group: org.subject_name(SubjectRef::Group(g)).to_owned(),
                subject: subject_text,
            };
        }
    }
    // Then: extend a role the subject already holds to the target.
    if let Some(g) = held_elsewhere.iter().find(|g| !admin(g.grant.role)) {
        return Fix::GrantRole {
            role: role_name(g.grant.role),
            subject: subject_text,
            division,
            already_held: true,
        };
    }
    // Then: restore the permission to a role the subject already holds where it is needed and
    // that is about the same thing (it has another action on the same `domain:entity`): a role
    // that lost a permission gets it back, rather than a second, broader role on top.
    // Other holders of a role gain what is added to it: never an admin-level permission
    // (authorization, directory, oauth) through a role anyone else holds.
    let others = |r: u32| other_holders(org, r, subject);
    let admin_level = super::ADMIN_DOMAINS.contains(&perm.domain);
    let may_extend = |r: u32| !admin_level || others(r) == 0;
    let about_it = |r: u32| {
        org.role_patterns(r).iter().any(|p| {
            &*p.domain == perm.domain && p.entity.as_deref().is_some_and(|e| e == perm.entity)
        })
    };
    if let Some(g) = grants.iter().find(|g| {
        covers(g.grant.scope, target, aware)
            && !admin(g.grant.role)
            && about_it(g.grant.role)
            && may_extend(g.grant.role)
    }) {
        return Fix::AddPermission {
            permission: perm.to_string(),
            role: role_name(g.grant.role),
            others: others(g.grant.role),
        };
    }
    // Then: an existing role with the permission, preferring the narrowest.
    let narrowest = (0..snap.roles.len())
        .filter_map(|r| u32::try_from(r).ok())
        .filter(|&r| role_grants(org, r, perm) && !admin(r))
        .min_by_key(|&r| (org.role_patterns(r).len(), role_name(r)));
    if let Some(r) = narrowest {
        return Fix::GrantRole {
            role: role_name(r),
            subject: subject_text,
            division,
            already_held: false,
        };
    }
    if let Some(g) = grants.iter().find(|g| {
        covers(g.grant.scope, target, aware) && !admin(g.grant.role) && may_extend(g.grant.role)
    }) {
        return Fix::AddPermission {
            permission: perm.to_string(),
            role: role_name(g.grant.role),
            others: others(g.grant.role),
        };
    }
    Fix::CreateRole {
        permission: perm.to_string(),
        subject: subject_text,
        division,
    }
}

/// How many subjects other than `subject` hold `role` directly: who else gains what a fix
/// adds to the role.
#[must_use]
pub fn other_holders(org: &Org, role: u32, subject: SubjectRef) -> usize {
    org.role_holders(role)
        .iter()
        .filter(|(s, _)| *s != subject)
        .map(|(s, _)| *s)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}
