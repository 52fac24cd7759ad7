//! A deterministic synthetic org generator, for benchmarks and scale tests.
//!
//! The same `(users, seed)` always gives the same snapshot. Sizes grow in proportion to the
//! user count with the shape of a large contact centre: many divisions and groups, a few hundred
//! roles and clients, WFM units within the platform's limits (50 BUs, 500 MUs per org), and a
//! sprinkling of the misconfigurations the built-in rules look for.

use super::snapshot::{
    AccessPolicy, AuthSettings, BusinessUnit, CatalogPermission, Division, Grant, Group, IdRef,
    ManagementUnit, OAuthClient, OrgSnapshot, Organization, PermissionPolicy, PolicySubject, Role,
    RoleDivision, SnapshotSource, User, ALL_DIVISIONS, FORMAT,
};

/// splitmix64: tiny, fast and good enough for picking fixture data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the result is < n, which is a usize"
    )]
    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const DOMAINS: &[(&str, &[&str])] = &[
    (
        "wfm",
        &[
            "agent",
            "schedule",
            "managementUnit",
            "businessUnit",
            "timeOffRequest",
            "workPlan",
        ],
    ),
    (
        "routing",
        &["queue", "skill", "wrapupCode", "flow", "scheduleGroup"],
    ),
    (
        "analytics",
        &["conversationDetail", "conversationAggregate", "userDetail"],
    ),
    ("directory", &["user", "group", "organization"]),
    ("authorization", &["role", "grant", "policy", "division"]),
    ("oauth", &["client"]),
    ("telephony", &["phone", "plugin", "station"]),
    ("quality", &["evaluation", "calibration", "evaluationForm"]),
];
const ACTIONS: &[&str] = &["view", "edit", "add", "delete"];

fn id(kind: &str, n: usize) -> String {
    // UUID-shaped so snapshot sizes resemble real ones.
    format!(
        "{:08x}-{kind:0>4.4}-4000-8000-{n:012x}",
        n.wrapping_mul(2_654_435_761) & 0xffff_ffff
    )
}

/// Generate an org with `users` users. `seed` varies the choices, not the sizes.
#[must_use]
pub fn synthetic_org(users: usize, seed: u64) -> OrgSnapshot {
    let mut rng = Rng(seed ^ 0x5EED);
    let n_div = (users / 1000).clamp(3, 200);
    let n_roles = 20 + users / 1000;
    let n_groups = (users / 50).max(4);
    let n_clients = (users / 200).max(6);
    let n_policies = (users / 2000).max(2);
    let n_bu = (users / 2000 + 1).min(50);
    let n_mu = (users / 200).clamp(2, 500);

    let divisions: Vec<Division> = (0..n_div)
        .map(|i| Division {
            id: id("d1v0", i),
            name: if i == 0 {
                "Home".to_owned()
            } else {
                format!("Division {i:03}")
            },
            description: None,
            home_division: i == 0,
        })
        .collect();
    let div_ref = |i: usize| IdRef {
        id: divisions[i].id.clone(),
        name: Some(divisions[i].name.clone()),
    };

    let mut catalog = Vec::new();
    for (d, entities) in DOMAINS {
        for e in *entities {
            for a in ACTIONS {
                catalog.push(CatalogPermission {
                    domain: (*d).to_owned(),
                    entity_type: (*e).to_owned(),
                    action: (*a).to_owned(),
                    division_aware: *d != "directory" && *d != "oauth",
                });
            }
        }
    }

    let mut roles = Vec::with_capacity(n_roles);
    for r in 0..n_roles {
        let mut policies = Vec::new();
        if r == 0 {
            policies.push(policy("directory", "user", &["view"]));
        } else if r == 1 {
            for (d, _) in DOMAINS {
                policies.push(policy(d, "*", &["*"]));
            }
        } else if r == 2 {
            policies.push(policy("wfm", "agent", &["edit", "view"]));
            policies.push(policy("wfm", "managementUnit", &["view"]));
        } else {
            for _ in 0..1 + rng.below(4) {
                let (d, entities) = DOMAINS[rng.below(DOMAINS.len())];
                let e = if rng.chance(5) {
                    "*"
                } else {
                    entities[rng.below(entities.len())]
                };
                let a = ACTIONS[rng.below(ACTIONS.len())];
                policies.push(policy(d, e, &[a, "view"]));
            }
        }
        roles.push(Role {
            id: id("r0le", r),
            name: match r {
                0 => "Employee".to_owned(),
                1 => "Master Admin".to_owned(),
                2 => "WFM Integration".to_owned(),
                _ => format!("Role {r:04}"),
            },
            description: None,
            permission_policies: policies,
            default: r == 0,
        });
    }

    let mut grants = Vec::with_capacity(users * 2);
    let user_list: Vec<User> = (0..users)
        .map(|u| {
            let svc = u % 997 == 5;
            let email = if svc {
                format!("svc-sync-{u}@synthetic.example")
            } else {
                format!("user{u}@synthetic.example")
            };
            User {
                id: id("u5er", u),
                name: if svc {
                    format!("svc-sync-{u}")
                } else {
                    format!("User {u}")
                },
                username: Some(email.clone()),
                email: Some(email),
                state: if rng.chance(5) {
                    "inactive".to_owned()
                } else {
                    "active".to_owned()
                },
                division: Some(div_ref(rng.below(n_div))),
                ..User::default()
            }
        })
        .collect();
    for (u, user) in user_list.iter().enumerate() {
        grants.push(grant(&user.id, "PC_USER", &roles[0].id, &divisions[0].id));
        if rng.chance(20) {
            let r = 3 + rng.below(n_roles - 3);
            grants.push(grant(
                &user.id,
                "PC_USER",
                &roles[r].id,
                &divisions[rng.below(n_div)].id,
            ));
        }
        if u % 5000 == 7 {
            grants.push(grant(&user.id, "PC_USER", &roles[1].id, ALL_DIVISIONS));
        }
    }

    let mut groups: Vec<Group> = (0..n_groups)
        .map(|g| Group {
            id: id("gr0p", g),
            name: format!("Group {g:05}"),
            state: "active".to_owned(),
            roles_enabled: g % 2 == 0,
            member_ids: Vec::new(),
        })
        .collect();
    for user in &user_list {
        for _ in 0..1 + rng.below(2) {
            let g = rng.below(n_groups);
            groups[g].member_ids.push(user.id.clone());
        }
    }
    for (g, group) in groups.iter().enumerate() {
        if group.roles_enabled {
            let r = 3 + rng.below(n_roles - 3);
            let d = if g % 97 == 0 {
                ALL_DIVISIONS.to_owned()
            } else {
                divisions[rng.below(n_div)].id.clone()
            };
            grants.push(grant(&group.id, "PC_GROUP", &roles[r].id, &d));
        }
    }
    // Role-holding groups keep their members; the fetcher reads members only for those.
    for group in &mut groups {
        if !group.roles_enabled {
            group.member_ids.clear();
        }
    }

    let clients: Vec<OAuthClient> = (0..n_clients)
        .map(|c| {
            let grant_type = match c % 10 {
                0 => "CODE",
                1 if c % 20 == 1 => "PASSWORD",
                _ => "CLIENT-CREDENTIALS",
            };
            let mut role_divisions = Vec::new();
            if grant_type == "CLIENT-CREDENTIALS" {
                let (r, d) = match c % 25 {
                    2 => (1, ALL_DIVISIONS.to_owned()),
                    3 => (2, divisions[0].id.clone()),
                    4 => (2, ALL_DIVISIONS.to_owned()),
                    _ => (
                        3 + rng.below(n_roles - 3),
                        divisions[rng.below(n_div)].id.clone(),
                    ),
                };
                role_divisions.push(RoleDivision {
                    role_id: roles[r].id.clone(),
                    division_id: d,
                });
            }
            OAuthClient {
                id: id("c11e", c),
                name: format!("integration-{c:04}"),
                description: None,
                authorized_grant_type: grant_type.to_owned(),
                role_divisions,
                scope: if grant_type == "CLIENT-CREDENTIALS" {
                    Vec::new()
                } else {
                    vec!["users:readonly".to_owned()]
                },
                state: if c % 31 == 7 {
                    "inactive".to_owned()
                } else {
                    "active".to_owned()
                },
                date_to_delete: (c % 31 == 7).then(|| "2026-12-31T00:00:00Z".to_owned()),
                date_created: None,
            }
        })
        .collect();

    let policies = (0..n_policies)
        .map(|p| {
            let (d, entities) = DOMAINS[rng.below(DOMAINS.len())];
            AccessPolicy {
                id: id("p0l1", p),
                name: format!("Policy {p:03}"),
                target_resource: format!(
                    "{d}:{}:{}",
                    entities[rng.below(entities.len())],
                    ACTIONS[rng.below(ACTIONS.len())]
                ),
                subject: PolicySubject {
                    kind: "ALL".to_owned(),
                    id: None,
                },
                effect: if p % 3 == 0 {
                    "ALLOW".to_owned()
                } else {
                    "DENY".to_owned()
                },
                condition: None,
                active: p % 4 != 3,
                apply_to_clients: p % 2 == 0,
            }
        })
        .collect();

    let business_units: Vec<BusinessUnit> = (0..n_bu)
        .map(|b| BusinessUnit {
            id: id("b0u0", b),
            name: format!("Business Unit {b:02}"),
            division: Some(div_ref(rng.below(n_div))),
        })
        .collect();
    let management_units = (0..n_mu)
        .map(|m| {
            let bu = &business_units[m % n_bu];
            ManagementUnit {
                id: id("m0u0", m),
                name: format!("Management Unit {m:03}"),
                business_unit: Some(IdRef {
                    id: bu.id.clone(),
                    name: Some(bu.name.clone()),
                }),
                division: Some(div_ref(rng.below(n_div))),
                user_ids: Vec::new(),
            }
        })
        .collect::<Vec<ManagementUnit>>();
    // Every fourth active user is an agent, placed round-robin (a unit holds at most 1,500).
    let mut management_units = management_units;
    if !management_units.is_empty() {
        let n = management_units.len();
        for (i, u) in user_list
            .iter()
            .filter(|u| u.state == "active")
            .enumerate()
            .filter(|(i, _)| i % 4 == 0)
        {
            let unit = &mut management_units[(i / 4) % n];
            if unit.user_ids.len() < 1_500 {
                unit.user_ids.push(u.id.clone());
            }
        }
    }

    OrgSnapshot {
        format: FORMAT.to_owned(),
        fetched_at: Some("2026-11-01T00:00:00Z".to_owned()),
        source: SnapshotSource {
            kind: "synthetic".to_owned(),
            description: Some(format!("synthetic org: {users} users, seed {seed}")),
            ..SnapshotSource::default()
        },
        organization: Organization {
            id: id("0rg0", 0),
            name: format!("Synthetic {users}"),
            domain: Some("synthetic".to_owned()),
            scope_enforcement: None,
        },
        divisions,
        roles,
        users: user_list,
        groups,
        oauth_clients: clients,
        grants,
        access_policies: policies,
        auth_settings: AuthSettings {
            multifactor_authentication_required: true,
            ip_address_allowlist: vec!["192.0.2.0/24".to_owned()],
            ..AuthSettings::default()
        },
        business_units,
        management_units,
        permission_catalog: catalog,
        operations: Vec::new(),
        usage: None,
        coverage: Vec::new(),
        verification: None,
    }
}

/// Operations synthetic integrations call: real templates of the built-in catalog whose
/// permissions are in the synthetic domains, a few in other spellings (no `/api`, other
/// placeholder names), and one no catalog has. Writes are few: most integrations read.
const CALLS: &[(&str, &str)] = &[
    ("GET", "/api/v2/routing/queues"),
    ("GET", "/api/v2/routing/queues/{queueId}"),
    ("GET", "/api/v2/routing/skills"),
    ("GET", "api/v2/routing/wrapupcodes"),
    ("GET", "/api/v2/users"),
    ("GET", "/api/v2/users/{id}"),
    ("GET", "/api/v2/groups"),
    ("GET", "/api/v2/authorization/roles"),
    ("GET", "/api/v2/authorization/divisions"),
    ("GET", "/api/v2/oauth/clients"),
    ("GET", "/api/v2/workforcemanagement/managementunits"),
    ("GET", "/api/v2/workforcemanagement/businessunits"),
    ("POST", "/api/v2/analytics/conversations/details/query"),
    ("POST", "/api/v2/analytics/conversations/aggregates/query"),
    ("GET", "/api/v2/telephony/providers/edges/phones"),
    ("GET", "/api/v2/internal/sync-status"),
    ("PUT", "/api/v2/routing/queues/{queueId}"),
    ("POST", "/api/v2/workforcemanagement/agents"),
];

/// A synthetic org with `clients` OAuth clients (at least the generator's own) and `days` of
/// API usage ending on its fetch date: each active client-credentials client calls 8 to 16 of
/// the calls listed in `CALLS` on most days, a few with 4xx answers; users get `lastTokenIssued` dates. A
/// 100k-user org with 1,000 clients and 90 days has about a million usage rows.
#[must_use]
pub fn synthetic_org_with_usage(users: usize, clients: usize, days: u32, seed: u64) -> OrgSnapshot {
    let mut snap = synthetic_org(users, seed);
    let mut rng = Rng(seed ^ 0x05A6_E000);
    let n_div = snap.divisions.len();
    let n_roles = snap.roles.len();
    for c in snap.oauth_clients.len()..clients {
        let role = &snap.roles[3 + rng.below(n_roles - 3)];
        snap.oauth_clients.push(OAuthClient {
            id: id("c11e", c),
            name: format!("integration-{c:04}"),
            description: None,
            authorized_grant_type: "CLIENT-CREDENTIALS".to_owned(),
            role_divisions: vec![RoleDivision {
                role_id: role.id.clone(),
                division_id: snap.divisions[rng.below(n_div)].id.clone(),
            }],
            scope: Vec::new(),
            state: "active".to_owned(),
            date_to_delete: None,
            date_created: None,
        });
    }
    let end_day = 20_758_u64; // 2026-11-01, the generator's fetch date, in days since 1970
    for u in &mut snap.users {
        let ago = rng.below(400) as u64;
        u.last_token_issued = Some(super::snapshot::LastTokenIssued {
            date_issued: (!rng.chance(3)).then(|| format!("{}T09:00:00Z", date(end_day - ago))),
        });
    }
    let mut usage = super::usage::UsageBuilder::new(
        format!(
            "{}T00:00:00Z/{}T00:00:00Z",
            date(end_day - u64::from(days)),
            date(end_day)
        ),
        "Day".to_owned(),
        days,
    );
    for c in &snap.oauth_clients {
        if c.authorized_grant_type != "CLIENT-CREDENTIALS" || c.state != "active" {
            continue;
        }
        // 10 to 16 distinct reads; writes need a target per call: few integrations make them.
        let reads = CALLS.len() - 2;
        let (n, from) = (10 + rng.below(7), rng.below(reads));
        let mut calls: Vec<usize> = (0..n).map(|i| (from + i) % reads).collect();
        if rng.chance(5) {
            calls.push(reads + rng.below(2));
        }
        for &k in &calls {
            let (method, template) = CALLS[k];
            let failing = rng.chance(3);
            for d in 0..u64::from(days) {
                if !rng.chance(92) {
                    continue;
                }
                let n = 1 + rng.below(200) as u64;
                let bad = if failing { n / 3 } else { 0 };
                usage.push(
                    &date(end_day - u64::from(days) + d),
                    super::usage::Caller {
                        client_id: Some(c.id.clone()),
                        user_id: None,
                    },
                    method,
                    template,
                    super::usage::Counts {
                        requests: n,
                        status200: n - bad,
                        status400: bad,
                        ..super::usage::Counts::default()
                    },
                );
            }
        }
    }
    snap.usage = Some(std::sync::Arc::new(usage.finish()));
    snap
}

/// `yyyy-MM-dd` of a day number since 1970-01-01 (civil-from-days, proleptic Gregorian).
fn date(days: u64) -> String {
    let z = days.cast_signed() + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{m:02}-{d:02}", if m <= 2 { y + 1 } else { y })
}

fn policy(domain: &str, entity: &str, actions: &[&str]) -> PermissionPolicy {
    PermissionPolicy {
        domain: domain.to_owned(),
        entity_name: entity.to_owned(),
        action_set: actions.iter().map(|a| (*a).to_owned()).collect(),
        allow_conditions: false,
    }
}

fn grant(subject: &str, kind: &str, role: &str, division: &str) -> Grant {
    Grant {
        subject_id: subject.to_owned(),
        subject_type: kind.to_owned(),
        role_id: role.to_owned(),
        division_id: division.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_realistic_and_dated() {
        assert_eq!(date(20_393), "2025-11-01");
        assert_eq!(date(0), "1970-01-01");
        let s = synthetic_org_with_usage(2_000, 50, 30, 1);
        assert_eq!(s.oauth_clients.len(), 50);
        let u = s.usage.as_ref().unwrap();
        assert!(u.rows.len() > 50 * 8 * 20, "{}", u.rows.len());
        assert!(u
            .rows
            .iter()
            .all(|r| u.date(r) >= "2026-10-02" && u.date(r) < "2026-11-01"));
        assert!(u.rows.iter().any(|r| r.counts.status400 > 0));
        assert_eq!(u.interval, "2026-10-02T00:00:00Z/2026-11-01T00:00:00Z");
    }

    #[test]
    fn deterministic_and_proportional() {
        let a = synthetic_org(1000, 1);
        assert_eq!(a, synthetic_org(1000, 1));
        assert_ne!(a, synthetic_org(1000, 2));
        let b = synthetic_org(10_000, 1);
        assert_eq!(b.users.len(), 10_000);
        assert!(b.divisions.len() > a.divisions.len());
        assert!(b.groups.len() >= 10 * a.groups.len() - 1);
        assert!(b.management_units.len() <= 500 && b.business_units.len() <= 50);
        // Every reference resolves.
        let org = crate::model::Org::new(b);
        assert!(
            org.warnings().is_empty(),
            "{:?}",
            &org.warnings()[..3.min(org.warnings().len())]
        );
    }
}
