//! The request plan: which endpoints, at which page sizes, and how many requests an org of a
//! given shape costs. Grants come role-first (`…/roles/{roleId}/subjectgrants` covers users,
//! groups and clients in one sweep) instead of one request per subject.

/// Page sizes known from the facts. `GET /api/v2/users` takes 500 (the Terraform provider's size);
/// the general maximum is UNCONFIRMED (API-FACTS §2.1), so the other listings learn theirs
/// ([`Family`], [`LADDER`]).
pub mod page_size {
    /// `GET /api/v2/users`.
    pub const USERS: usize = 500;
    /// The size rolecall used for the other listings before it learned sizes (the provider's
    /// size for roles): "today's plan" in the benchmark.
    pub const DEFAULT: usize = 100;
    /// `GET /api/v2/authorization/policies` (cursor paging, at most 200).
    pub const POLICIES: usize = 200;
    /// Inactive users cannot be listed past this many (API-FACTS §2.1, from the Terraform provider).
    pub const INACTIVE_USER_LIMIT: usize = 10_000;
    /// Ids per `GET /api/v2/users?id=…` request, for users the listings could not return.
    pub const USERS_BY_ID: usize = 100;
    /// `GET /api/v2/authorization/divisionspermitted/paged/…` (`verify`): the documented
    /// default. Larger sizes are UNCONFIRMED there, and learning one would spend requests
    /// `--max-requests` must count.
    pub const DIVISIONS_PERMITTED: usize = 25;
}

/// The sizes a learning family tries, largest first: an oversized page answers 400
/// (`response.entity.too.large`, or a bad request naming `pageSize`) and the next is tried.
pub const LADDER: [usize; 4] = [500, 250, 100, 25];

/// A family of paged endpoints that share one page-size limit, learned once per fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Family {
    /// The family's name in statistics (`subjectgrants`, `users`, …).
    pub name: &'static str,
    /// Whether its size is known from the facts (then it is not probed).
    pub fixed: Option<usize>,
}

/// The paged families the plan reads.
pub mod family {
    use super::{page_size, Family};
    /// `GET /api/v2/users` (documented 500).
    pub const USERS: Family = Family {
        name: "users",
        fixed: Some(page_size::USERS),
    };
    /// `GET /api/v2/authorization/roles`.
    pub const ROLES: Family = Family {
        name: "roles",
        fixed: None,
    };
    /// `GET /api/v2/authorization/roles/{roleId}/subjectgrants`.
    pub const SUBJECT_GRANTS: Family = Family {
        name: "subjectgrants",
        fixed: None,
    };
    /// `GET /api/v2/groups`.
    pub const GROUPS: Family = Family {
        name: "groups",
        fixed: None,
    };
    /// `GET /api/v2/groups/{groupId}/members`.
    pub const GROUP_MEMBERS: Family = Family {
        name: "members",
        fixed: None,
    };
    /// `GET /api/v2/authorization/divisions`.
    pub const DIVISIONS: Family = Family {
        name: "divisions",
        fixed: None,
    };
    /// `GET /api/v2/authorization/permissions`.
    pub const PERMISSIONS: Family = Family {
        name: "permissions",
        fixed: None,
    };
    /// Every learning family, for statistics and plans.
    pub const LEARNING: [Family; 6] = [
        ROLES,
        SUBJECT_GRANTS,
        GROUPS,
        GROUP_MEMBERS,
        DIVISIONS,
        PERMISSIONS,
    ];
}

/// The page size of each learning family (as learned, or as a plan assumes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sizes {
    /// Roles.
    pub roles: usize,
    /// Role subject grants.
    pub subject_grants: usize,
    /// Groups.
    pub groups: usize,
    /// Group members.
    pub group_members: usize,
    /// Divisions.
    pub divisions: usize,
    /// Permission catalog pages.
    pub permissions: usize,
}

impl Sizes {
    /// Every family at `n`.
    #[must_use]
    pub fn uniform(n: usize) -> Self {
        Self {
            roles: n,
            subject_grants: n,
            groups: n,
            group_members: n,
            divisions: n,
            permissions: n,
        }
    }

    /// The size of `family` (the fixed size for families known from the facts).
    #[must_use]
    pub fn of(&self, family: Family) -> usize {
        if let Some(n) = family.fixed {
            return n;
        }
        match family.name {
            "roles" => self.roles,
            "subjectgrants" => self.subject_grants,
            "groups" => self.groups,
            "members" => self.group_members,
            "divisions" => self.divisions,
            _ => self.permissions,
        }
    }
}

impl Default for Sizes {
    /// What a fetch settles on from a server that accepts the ladder's largest size.
    fn default() -> Self {
        Self::uniform(LADDER[0])
    }
}

/// The size a server with a maximum of `max` accepts first on the ladder, and how many
/// requests learning it costs (one 400 per rejected size).
#[must_use]
pub fn learned(max: usize) -> (usize, usize) {
    let i = LADDER
        .iter()
        .position(|&s| s <= max)
        .unwrap_or(LADDER.len() - 1);
    (LADDER[i], i)
}

/// Every endpoint the plan reads (`GET` path templates) with the permissions the API
/// description requires for it (`ANY` of them; most list none). A coverage gap names its
/// permission from the snapshot's own operation catalog, and from this table when that catalog
/// could not be read. `tests/it/catalog.rs` checks it against Genesys's `swagger.json`.
pub const ENDPOINTS: &[(&str, &[&str])] = &[
    ("/api/v2/authorization/roles", &["authorization:role:view"]),
    (
        "/api/v2/authorization/roles/{roleId}/subjectgrants",
        &["authorization:role:view"],
    ),
    ("/api/v2/users", &[]),
    ("/api/v2/groups", &[]),
    ("/api/v2/groups/{groupId}/members", &[]),
    ("/api/v2/oauth/clients", &["oauth:client:view"]),
    ("/api/v2/authorization/divisions", &[]),
    ("/api/v2/authorization/permissions", &[]),
    (
        "/api/v2/authorization/policies",
        &["authorization:policy:view"],
    ),
    (
        "/api/v2/organizations/authentication/settings",
        &["directory:organization:admin"],
    ),
    ("/api/v2/organizations/me", &[]),
    ("/api/v2/workforcemanagement/businessunits", &[]),
    ("/api/v2/workforcemanagement/managementunits", &[]),
    (
        "/api/v2/workforcemanagement/managementunits/{managementUnitId}/users",
        &[
            "wfm:agent:view",
            "wfm:historicalAdherence:view",
            "wfm:publishedSchedule:view",
            "wfm:realtimeAdherence:view",
            "wfm:schedule:view",
            "wfm:staffingGroup:view",
            "wfm:timeOffRequest:view",
            "wfm:workPlanRotation:view",
            "wfm:workPlan:view",
        ],
    ),
];

/// What the number of requests depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    /// Active users.
    pub active_users: usize,
    /// Inactive users.
    pub inactive_users: usize,
    /// Subjects holding each role (one entry per role).
    pub role_subjects: Vec<usize>,
    /// Groups.
    pub groups: usize,
    /// Members of each group that holds roles (one entry per such group).
    pub role_group_members: Vec<usize>,
    /// Divisions.
    pub divisions: usize,
    /// Permission domains in the catalog.
    pub permission_domains: usize,
    /// Access policies.
    pub policies: usize,
    /// WFM management units (one request each for their agents).
    pub management_units: usize,
    /// Users + groups + clients (for the naive plan).
    pub subjects: usize,
    /// Inactive users past [`page_size::INACTIVE_USER_LIMIT`] that hold roles or belong to
    /// role-holding groups (read by id, [`page_size::USERS_BY_ID`] per request).
    pub unlisted_users: usize,
    /// The page size of each learning family.
    pub sizes: Sizes,
    /// Requests spent learning them (answered 400 for an oversized page).
    pub learning: usize,
}

/// Pages needed for `total` items; an empty listing still costs one request.
#[must_use]
pub fn pages(total: usize, size: usize) -> usize {
    total.div_ceil(size.max(1)).max(1)
}

/// Requests that read everything except grants: token, users (active and inactive), groups and
/// members, clients, divisions, permissions, policies, settings, org, BUs, MUs, API description.
fn common(s: &Shape) -> usize {
    1 // token
        + pages(s.active_users, page_size::USERS)
        + pages(s.inactive_users.min(page_size::INACTIVE_USER_LIMIT), page_size::USERS)
        + s.learning
        + pages(s.groups, s.sizes.groups)
        + s.role_group_members.iter().map(|&m| pages(m, s.sizes.group_members)).sum::<usize>()
        + 1 // oauth clients (one response, no paging)
        + pages(s.divisions, s.sizes.divisions)
        + pages(s.permission_domains, s.sizes.permissions)
        + pages(s.policies, page_size::POLICIES)
        + 1 // authentication settings
        + 1 // organization
        + 1 // business units
        + 1 // management units
        + s.management_units // each unit's agents
        + 1 // API description
        + s.unlisted_users.div_ceil(page_size::USERS_BY_ID)
}

/// The plan's request count: roles, then each role's subject grants.
#[must_use]
pub fn planned_requests(s: &Shape) -> usize {
    common(s)
        + pages(s.role_subjects.len(), s.sizes.roles)
        + s.role_subjects
            .iter()
            .map(|&n| pages(n, s.sizes.subject_grants))
            .sum::<usize>()
}

/// The naive plan's count: one `GET /api/v2/authorization/subjects/{id}` per subject.
#[must_use]
pub fn naive_requests(s: &Shape) -> usize {
    common(s) + pages(s.role_subjects.len(), s.sizes.roles) + s.subjects
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_round_up_and_never_zero() {
        assert_eq!(pages(0, 100), 1);
        assert_eq!(pages(100, 100), 1);
        assert_eq!(pages(101, 100), 2);
        assert_eq!(pages(20_000, 500), 40);
    }

    #[test]
    fn role_first_beats_per_subject() {
        let s = Shape {
            active_users: 19_000,
            inactive_users: 1_000,
            role_subjects: vec![19_000, 50, 3, 0],
            groups: 400,
            role_group_members: vec![40; 200],
            divisions: 20,
            permission_domains: 71,
            policies: 10,
            management_units: 12,
            subjects: 20_000 + 400 + 100,
            unlisted_users: 0,
            sizes: Sizes::uniform(page_size::DEFAULT),
            learning: 0,
        };
        // token 1, users 38 + 2, groups 4, members 200, clients 1, divisions 1, permissions 1,
        // policies 1, settings/org/BUs/MUs/API description 5, unit agents 12, roles 1,
        // grants 190 + 1 + 1 + 1.
        assert_eq!(
            planned_requests(&s),
            1 + 40 + 4 + 200 + 1 + 1 + 1 + 1 + 5 + 12 + 1 + 193
        );
        assert!(naive_requests(&s) > 40 * planned_requests(&s) / 10);
    }

    #[test]
    fn inactive_users_past_the_limit_cost_listing_pages_up_to_it_and_lookups_by_id() {
        let s = Shape {
            inactive_users: 25_000,
            unlisted_users: 150,
            ..Shape::default()
        };
        let base = Shape {
            inactive_users: 25_000,
            ..Shape::default()
        };
        assert_eq!(planned_requests(&s) - planned_requests(&base), 2);
        let at_limit = Shape {
            inactive_users: 10_000,
            ..Shape::default()
        };
        assert_eq!(planned_requests(&base), planned_requests(&at_limit));
    }
}
