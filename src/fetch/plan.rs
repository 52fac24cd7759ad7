//! The request plan: which endpoints, at which page sizes, and how many requests an org of a
//! given shape costs. Grants come role-first (`…/roles/{roleId}/subjectgrants` covers users,
//! groups and clients in one sweep) instead of one request per subject.

/// Page sizes used per endpoint. The general maximum is UNCONFIRMED (API-FACTS §2.1): users use
/// 500 as the Terraform provider does; others 100, the size the provider uses for roles.
pub mod page_size {
    /// `GET /api/v2/users`.
    pub const USERS: usize = 500;
    /// Roles, subject grants, divisions, groups, group members, permissions.
    pub const DEFAULT: usize = 100;
    /// `GET /api/v2/authorization/policies` (cursor paging, at most 200).
    pub const POLICIES: usize = 200;
    /// Inactive users cannot be listed past this many (API-FACTS §2.1, from the Terraform provider).
    pub const INACTIVE_USER_LIMIT: usize = 10_000;
    /// Ids per `GET /api/v2/users?id=…` request, for users the listings could not return.
    pub const USERS_BY_ID: usize = 100;
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
        + pages(s.groups, page_size::DEFAULT)
        + s.role_group_members.iter().map(|&m| pages(m, page_size::DEFAULT)).sum::<usize>()
        + 1 // oauth clients (one response, no paging)
        + pages(s.divisions, page_size::DEFAULT)
        + pages(s.permission_domains, page_size::DEFAULT)
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
        + pages(s.role_subjects.len(), page_size::DEFAULT)
        + s.role_subjects
            .iter()
            .map(|&n| pages(n, page_size::DEFAULT))
            .sum::<usize>()
}

/// The naive plan's count: one `GET /api/v2/authorization/subjects/{id}` per subject.
#[must_use]
pub fn naive_requests(s: &Shape) -> usize {
    common(s) + pages(s.role_subjects.len(), page_size::DEFAULT) + s.subjects
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
