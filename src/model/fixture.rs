//! [`OrgBuilder`]: small orgs for tests, examples and documentation, built by name.
//!
//! Ids are derived from names (`division:Support EU` → `div-support-eu`), so tests can refer to
//! objects by name and get stable output. Grants name their role and division by name; `*` means
//! all divisions.

use super::snapshot::{
    AccessPolicy, AuthSettings, BusinessUnit, CatalogPermission, Division, Grant, Group, IdRef,
    ManagementUnit, OAuthClient, OrgSnapshot, Organization, PermissionPolicy, PolicySubject, Role,
    RoleDivision, SnapshotSource, User, ALL_DIVISIONS, FORMAT,
};

/// Builds an [`OrgSnapshot`] by name.
///
/// ```
/// use rolecall::internals::model::OrgBuilder;
/// let snap = OrgBuilder::new("Example")
///     .division("Home")
///     .division("Support EU")
///     .role("WFM Integration", &["wfm:agent:edit"])
///     .client("wfm-sync", "CLIENT-CREDENTIALS", &[("WFM Integration", "Home")])
///     .build();
/// assert_eq!(snap.oauth_clients[0].role_divisions[0].division_id, "div-home");
/// ```
#[derive(Debug, Clone)]
pub struct OrgBuilder {
    snap: OrgSnapshot,
}

/// `Support EU` → `support-eu`.
#[must_use]
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

impl OrgBuilder {
    /// An empty org named `name`, marked as a fixture.
    #[must_use]
    pub fn new(name: &str) -> Self {
        Self {
            snap: OrgSnapshot {
                format: FORMAT.to_owned(),
                fetched_at: Some("2026-01-01T00:00:00Z".to_owned()),
                source: SnapshotSource {
                    kind: "fixture".to_owned(),
                    ..SnapshotSource::default()
                },
                organization: Organization {
                    id: format!("org-{}", slug(name)),
                    name: name.to_owned(),
                    domain: Some(slug(name)),
                    scope_enforcement: None,
                },
                ..OrgSnapshot::default()
            },
        }
    }

    /// Id of a division by name (`*` stays `*`).
    #[must_use]
    pub fn division_id(name: &str) -> String {
        if name == ALL_DIVISIONS {
            ALL_DIVISIONS.to_owned()
        } else {
            format!("div-{}", slug(name))
        }
    }

    /// Add a division; the first one added is the home division.
    #[must_use]
    pub fn division(mut self, name: &str) -> Self {
        let home = self.snap.divisions.is_empty();
        self.snap.divisions.push(Division {
            id: Self::division_id(name),
            name: name.to_owned(),
            description: None,
            home_division: home,
        });
        self
    }

    /// Add a role granting `permissions` (`domain:entity:action`, `*` allowed in entity/action).
    #[must_use]
    pub fn role(mut self, name: &str, permissions: &[&str]) -> Self {
        let mut policies: Vec<PermissionPolicy> = Vec::new();
        for p in permissions {
            let mut parts = p.splitn(3, ':');
            let (d, e, a) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            if let Some(existing) = policies
                .iter_mut()
                .find(|x| x.domain == d && x.entity_name == e)
            {
                existing.action_set.push(a.to_owned());
            } else {
                policies.push(PermissionPolicy {
                    domain: d.to_owned(),
                    entity_name: e.to_owned(),
                    action_set: vec![a.to_owned()],
                    allow_conditions: false,
                });
            }
        }
        self.snap.roles.push(Role {
            id: format!("role-{}", slug(name)),
            name: name.to_owned(),
            description: None,
            permission_policies: policies,
            default: false,
        });
        self
    }

    /// Mark the last role added as the org's default role (the one every user holds).
    #[must_use]
    pub fn default_role(mut self) -> Self {
        if let Some(r) = self.snap.roles.last_mut() {
            r.default = true;
        }
        self
    }

    /// Add a user (`state` is `active`, `inactive` or `deleted`) in the home division.
    #[must_use]
    pub fn user(mut self, name: &str, email: &str, state: &str) -> Self {
        let division = self.snap.divisions.first().map(|d| IdRef {
            id: d.id.clone(),
            name: Some(d.name.clone()),
        });
        self.snap.users.push(User {
            id: format!("user-{}", slug(email)),
            name: name.to_owned(),
            email: Some(email.to_owned()),
            username: Some(email.to_owned()),
            state: state.to_owned(),
            division,
            ..User::default()
        });
        self
    }

    /// Add a group with members (by email).
    #[must_use]
    pub fn group(mut self, name: &str, roles_enabled: bool, member_emails: &[&str]) -> Self {
        self.snap.groups.push(Group {
            id: format!("group-{}", slug(name)),
            name: name.to_owned(),
            state: "active".to_owned(),
            roles_enabled,
            member_ids: member_emails
                .iter()
                .map(|e| format!("user-{}", slug(e)))
                .collect(),
        });
        self
    }

    /// Add an OAuth client with `(role name, division name)` grants.
    #[must_use]
    pub fn client(mut self, name: &str, grant_type: &str, grants: &[(&str, &str)]) -> Self {
        self.snap.oauth_clients.push(OAuthClient {
            id: format!("client-{}", slug(name)),
            name: name.to_owned(),
            description: None,
            authorized_grant_type: grant_type.to_owned(),
            role_divisions: grants
                .iter()
                .map(|(r, d)| RoleDivision {
                    role_id: format!("role-{}", slug(r)),
                    division_id: Self::division_id(d),
                })
                .collect(),
            scope: Vec::new(),
            state: "active".to_owned(),
            date_to_delete: None,
            date_created: None,
        });
        self
    }

    /// Change the state of the last client added (`active`, `disabled`, `inactive`).
    #[must_use]
    pub fn client_state(mut self, state: &str, date_to_delete: Option<&str>) -> Self {
        if let Some(c) = self.snap.oauth_clients.last_mut() {
            c.state = state.to_owned();
            c.date_to_delete = date_to_delete.map(str::to_owned);
        }
        self
    }

    /// Set the scopes of the last client added.
    #[must_use]
    pub fn client_scopes(mut self, scopes: &[&str]) -> Self {
        if let Some(c) = self.snap.oauth_clients.last_mut() {
            c.scope = scopes.iter().map(|s| (*s).to_owned()).collect();
        }
        self
    }

    /// Grant a role to a user (by email) in a division (by name, or `*`).
    #[must_use]
    pub fn grant_user(mut self, email: &str, role: &str, division: &str) -> Self {
        self.snap.grants.push(Grant {
            subject_id: format!("user-{}", slug(email)),
            subject_type: "PC_USER".to_owned(),
            role_id: format!("role-{}", slug(role)),
            division_id: Self::division_id(division),
        });
        self
    }

    /// Grant a role to a group (by name) in a division (by name, or `*`).
    #[must_use]
    pub fn grant_group(mut self, group: &str, role: &str, division: &str) -> Self {
        self.snap.grants.push(Grant {
            subject_id: format!("group-{}", slug(group)),
            subject_type: "PC_GROUP".to_owned(),
            role_id: format!("role-{}", slug(role)),
            division_id: Self::division_id(division),
        });
        self
    }

    /// Add an access policy; `subject_type` is `USER`, `CLIENT`, `GROUP`, `TEAM` or `ALL`.
    #[must_use]
    pub fn policy(
        mut self,
        name: &str,
        target: &str,
        effect: &str,
        subject_type: &str,
        apply_to_clients: bool,
    ) -> Self {
        self.snap.access_policies.push(AccessPolicy {
            id: format!("policy-{}", slug(name)),
            name: name.to_owned(),
            target_resource: target.to_owned(),
            subject: PolicySubject {
                kind: subject_type.to_owned(),
                id: None,
            },
            effect: effect.to_owned(),
            condition: None,
            active: true,
            apply_to_clients,
        });
        self
    }

    /// Set MFA and the IP allow-list.
    #[must_use]
    pub fn settings(mut self, mfa_required: bool, ip_allowlist: &[&str]) -> Self {
        self.snap.auth_settings = AuthSettings {
            multifactor_authentication_required: mfa_required,
            ip_address_allowlist: ip_allowlist.iter().map(|s| (*s).to_owned()).collect(),
            ..AuthSettings::default()
        };
        self
    }

    /// Add a WFM business unit in a division.
    #[must_use]
    pub fn business_unit(mut self, name: &str, division: &str) -> Self {
        self.snap.business_units.push(BusinessUnit {
            id: format!("bu-{}", slug(name)),
            name: name.to_owned(),
            division: Some(IdRef {
                id: Self::division_id(division),
                name: None,
            }),
        });
        self
    }

    /// Add a WFM management unit in a business unit and a division.
    #[must_use]
    pub fn management_unit(mut self, name: &str, business_unit: &str, division: &str) -> Self {
        self.snap.management_units.push(ManagementUnit {
            id: format!("mu-{}", slug(name)),
            name: name.to_owned(),
            business_unit: Some(IdRef {
                id: format!("bu-{}", slug(business_unit)),
                name: None,
            }),
            division: Some(IdRef {
                id: Self::division_id(division),
                name: None,
            }),
            user_ids: Vec::new(),
        });
        self
    }

    /// Put users (by email) into the last management unit added.
    #[must_use]
    pub fn mu_agents(mut self, emails: &[&str]) -> Self {
        if let Some(mu) = self.snap.management_units.last_mut() {
            mu.user_ids
                .extend(emails.iter().map(|e| format!("user-{}", slug(e))));
        }
        self
    }

    /// Add an operation (method, path, `ANY`/`ALL`, permissions, scopes, 403 codes).
    #[must_use]
    pub fn operation(
        mut self,
        method: &str,
        path: &str,
        kind: &str,
        permissions: &[&str],
        scopes: &[&str],
    ) -> Self {
        self.snap.operations.push(super::snapshot::Operation {
            method: method.to_owned(),
            path: path.to_owned(),
            operation_id: format!("{}{}", method.to_ascii_lowercase(), slug(path)),
            permissions: Some(super::snapshot::Requirement {
                kind: kind.to_owned(),
                list: permissions.iter().map(|p| (*p).to_owned()).collect(),
            }),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            error_codes_403: Vec::new(),
        });
        self
    }

    /// Add an access policy limited to one subject (`USER`, `CLIENT`, `GROUP`) by name.
    #[must_use]
    pub fn policy_for(
        mut self,
        name: &str,
        target: &str,
        effect: &str,
        subject_type: &str,
        subject_id: &str,
        apply_to_clients: bool,
    ) -> Self {
        self = self.policy(name, target, effect, subject_type, apply_to_clients);
        if let Some(p) = self.snap.access_policies.last_mut() {
            p.subject.id = Some(subject_id.to_owned());
        }
        self
    }

    /// Limit the last policy to one subject, named as its subject type expects: a client's or
    /// group's name, a user's email. No effect when there is no policy yet.
    #[must_use]
    pub fn policy_subject(mut self, name: &str) -> Self {
        if let Some(p) = self.snap.access_policies.last_mut() {
            let prefix = match p.subject.kind.as_str() {
                "CLIENT" => "client",
                "GROUP" => "group",
                "TEAM" => "team",
                _ => "user",
            };
            p.subject.id = Some(format!("{prefix}-{}", slug(name)));
        }
        self
    }

    /// Give the last policy a condition (kept as data; rolecall does not evaluate conditions).
    #[must_use]
    pub fn policy_condition(mut self, condition: serde_json::Value) -> Self {
        if let Some(p) = self.snap.access_policies.last_mut() {
            p.condition = Some(condition);
        }
        self
    }

    /// Turn the last policy off (`active: false`).
    #[must_use]
    pub fn policy_inactive(mut self) -> Self {
        if let Some(p) = self.snap.access_policies.last_mut() {
            p.active = false;
        }
        self
    }

    /// Add a coverage gap for a dataset (as a 403 would leave it).
    #[must_use]
    pub fn gap(mut self, endpoint: &str, dataset: &str) -> Self {
        self.snap.coverage.push(super::snapshot::Coverage {
            endpoint: endpoint.to_owned(),
            dataset: dataset.to_owned(),
            status: "gap".to_owned(),
            http_status: Some(403),
            error_code: Some("missing.permissions".to_owned()),
            ..super::snapshot::Coverage::default()
        });
        self
    }

    /// Add a permission catalog entry.
    #[must_use]
    pub fn catalog(mut self, permission: &str, division_aware: bool) -> Self {
        let mut parts = permission.splitn(3, ':');
        self.snap.permission_catalog.push(CatalogPermission {
            domain: parts.next().unwrap_or_default().to_owned(),
            entity_type: parts.next().unwrap_or_default().to_owned(),
            action: parts.next().unwrap_or_default().to_owned(),
            division_aware,
        });
        self
    }

    /// Mark usage as read (a 90-day window ending on the fixture's fetch date), with no calls
    /// yet: subjects that call nothing.
    #[must_use]
    pub fn usage_read(mut self) -> Self {
        self.snap.usage.get_or_insert_with(|| {
            std::sync::Arc::new(super::usage::Usage {
                interval: "2025-10-03T00:00:00Z/2026-01-01T00:00:00Z".to_owned(),
                granularity: "Day".to_owned(),
                days: 90,
                ..super::usage::Usage::default()
            })
        });
        self
    }

    /// Add observed calls: `requests` of `METHOD template` by a client (by name) or a user (by
    /// email) on `date`, `failing` of them answered 4xx.
    #[must_use]
    pub fn usage_call(
        mut self,
        subject: &str,
        call: &str,
        date: &str,
        requests: u64,
        failing: u64,
    ) -> Self {
        self = self.usage_read();
        let client_id = self
            .snap
            .oauth_clients
            .iter()
            .find(|c| c.name == subject)
            .map(|c| c.id.clone());
        let user_id = self
            .snap
            .users
            .iter()
            .find(|u| {
                u.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(subject))
            })
            .map(|u| u.id.clone());
        let (method, template) = call.split_once(' ').unwrap_or(("GET", call));
        if let Some(usage) = self.snap.usage.as_mut() {
            let usage = std::sync::Arc::make_mut(usage);
            let mut b = super::usage::UsageBuilder::from(std::mem::take(usage));
            b.push(
                date,
                super::usage::Caller {
                    client_id: client_id.or_else(|| user_id.is_none().then(|| subject.to_owned())),
                    user_id,
                },
                method,
                template.trim(),
                super::usage::Counts {
                    requests,
                    status200: requests.saturating_sub(failing),
                    status400: failing,
                    ..super::usage::Counts::default()
                },
            );
            *usage = b.finish();
        }
        self
    }

    /// Set when the last user added last got a token (`None`: never).
    #[must_use]
    pub fn last_token(mut self, date: Option<&str>) -> Self {
        if let Some(u) = self.snap.users.last_mut() {
            u.last_token_issued = Some(super::snapshot::LastTokenIssued {
                date_issued: date.map(str::to_owned),
            });
        }
        self
    }

    /// The snapshot.
    #[must_use]
    pub fn build(self) -> OrgSnapshot {
        self.snap
    }
}
