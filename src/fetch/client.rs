//! The live fetch: the request plan (API-FACTS §2) executed concurrently over one connection,
//! turned into a snapshot with a coverage entry per endpoint.
//!
//! Errors name endpoints and attempts, never credentials.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use super::conn::{join_all, Conn, Got};
use super::credentials::Auth;
pub use super::options::{
    FetchError, FetchOptions, FetchStats, Progress, ProgressFn, DEFAULT_ATTEMPT_TIMEOUT,
    DEFAULT_MAX_BODY, DEFAULT_MAX_PAGES, MAX_RETRY_AFTER,
};
use super::plan::{family, page_size};
use super::wire;
use crate::catalog::Catalog;
use crate::model::{
    AccessPolicy, Coverage, Grant, Group, Operation, OrgSnapshot, Requirement, Role,
    SnapshotSource, User, FORMAT,
};

/// Fetch an org into a snapshot.
///
/// # Errors
/// [`FetchError`] when authentication fails or a request fails for good; endpoints answering
/// 403 become coverage gaps instead.
pub async fn fetch(opts: FetchOptions) -> Result<(OrgSnapshot, FetchStats), FetchError> {
    fetch_with_usage(opts, None).await
}

/// Fetch an org into a snapshot, with API usage when `usage` is given (`fetch --usage DAYS`):
/// the usage jobs run beside the other reads, and users are read with `lasttokenissued`.
///
/// # Errors
/// As [`fetch`]; a refused or failed usage job becomes a coverage gap.
pub async fn fetch_with_usage(
    opts: FetchOptions,
    usage: Option<super::usage::UsageOptions>,
) -> Result<(OrgSnapshot, FetchStats), FetchError> {
    let started = Instant::now();
    let conn = Conn::new(opts)?;
    conn.token(None).await?;
    let mut snap = empty_snapshot(conn.options());
    let mut coverage = Vec::new();
    // Independent chains at once, so the request pipeline never drains between them.
    let (listings, policies, grants, used) = tokio::join!(
        read_listings(&conn, &mut snap, &mut coverage, usage.is_some()),
        read_policies(&conn),
        read_roles_and_grants(&conn),
        async {
            match &usage {
                Some(u) => super::usage::read_usage(&conn, u).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let (listings, policies, grants) = (listings?, policies?, grants?);
    match used? {
        Some(Ok(u)) => {
            coverage.push(ok(&format!("POST {}", super::usage::JOBS), "usage"));
            snap.usage = Some(Arc::new(u));
        }
        Some(Err(gap)) => coverage.push(gap),
        // Not asked for: the file has no `usage`, which loading records as a `missing` gap.
        None => {}
    }
    snap.access_policies = policies.value;
    (snap.roles, snap.grants) = grants.value;
    coverage.extend(policies.coverage.into_iter().chain(grants.coverage));
    // Group members and management-unit agents, concurrently: both need only the listings.
    let mut unit_coverage = Vec::new();
    let (members, units) = tokio::join!(
        async {
            match listings.groups {
                Some(groups) => read_members(&conn, groups, &snap.grants, &mut coverage)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        },
        read_unit_agents(&conn, &mut snap.management_units, &mut unit_coverage),
    );
    units?;
    if let Some(groups) = members? {
        snap.groups = groups;
    }
    coverage.extend(unit_coverage);
    if listings.inactive_truncated {
        read_unlisted_users(&conn, &mut snap, &mut coverage).await?;
    }
    name_permissions(&mut coverage, &snap.operations);
    if let Some(u) = snap.usage.as_mut() {
        // Which catalog operation each template matched: the org's own catalog, else the
        // built-in one.
        crate::catalog::usage::match_usage(
            &Catalog::new(&snap.operations).with_fallback(crate::catalog::builtin_catalog()),
            Arc::make_mut(u),
        );
    }
    snap.coverage = coverage;
    let gaps = snap.coverage.iter().filter(|c| c.status != "ok").count();
    let stats = conn.stats(started, gaps);
    snap.source.page_sizes.clone_from(&stats.page_sizes);
    Ok((snap, stats))
}

fn empty_snapshot(opts: &FetchOptions) -> OrgSnapshot {
    OrgSnapshot {
        format: FORMAT.to_owned(),
        fetched_at: Some(
            humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        ),
        source: SnapshotSource {
            kind: "api".to_owned(),
            region: opts.region.clone().or_else(|| Some(opts.api_base.clone())),
            client_id: match &opts.auth {
                Auth::ClientCredentials { client_id, .. } => Some(client_id.clone()),
                Auth::Token(_) => None,
            },
            description: None,
            page_sizes: Vec::new(),
        },
        ..OrgSnapshot::default()
    }
}

fn ok(endpoint: &str, dataset: &str) -> Coverage {
    Coverage {
        endpoint: endpoint.to_owned(),
        dataset: dataset.to_owned(),
        status: "ok".to_owned(),
        ..Coverage::default()
    }
}

/// What a step read, and the coverage of the endpoints it read.
struct Part<T> {
    value: T,
    coverage: Vec<Coverage>,
}

/// What later steps of the plan depend on.
struct Listings {
    /// Groups, when readable (members of role-holding groups come next).
    groups: Option<Vec<wire::Group>>,
    /// More inactive users exist than the API lists.
    inactive_truncated: bool,
}

/// Everything that does not depend on another response, concurrently.
#[expect(
    clippy::too_many_lines,
    reason = "one list of independent requests reads best in one place"
)]
async fn read_listings(
    conn: &Arc<Conn>,
    snap: &mut OrgSnapshot,
    coverage: &mut Vec<Coverage>,
    token_dates: bool,
) -> Result<Listings, FetchError> {
    let c = conn;
    // With usage, users come with when they last got a token (and last logged in by password).
    let expand = if token_dates {
        "&expand=lasttokenissued&expand=dateLastLogin"
    } else {
        ""
    };
    let (active_path, inactive_path) = (
        format!("/api/v2/users?state=active{expand}"),
        format!("/api/v2/users?state=inactive{expand}"),
    );
    let (active, inactive, groups, clients, divisions, perms, settings, org, bus, mus, swagger) = tokio::join!(
        c.pages::<wire::User>(&active_path, family::USERS, "users"),
        // Inactive users cannot be listed past 10,000 (API-FACTS §2.1); the rest that matter
        // are read by id once grants and members are known.
        c.pages_capped::<wire::User>(
            &inactive_path,
            family::USERS,
            "users",
            page_size::INACTIVE_USER_LIMIT / page_size::USERS
        ),
        c.pages::<wire::Group>("/api/v2/groups", family::GROUPS, "groups"),
        c.json::<wire::Page<wire::Client>>("/api/v2/oauth/clients", "oauthClients"),
        c.pages::<wire::Division>(
            "/api/v2/authorization/divisions",
            family::DIVISIONS,
            "divisions"
        ),
        c.pages::<wire::PermissionCollection>(
            "/api/v2/authorization/permissions",
            family::PERMISSIONS,
            "permissionCatalog"
        ),
        c.json::<wire::AuthSettings>(
            "/api/v2/organizations/authentication/settings",
            "authSettings"
        ),
        c.json::<wire::Organization>("/api/v2/organizations/me", "organization"),
        c.json::<wire::Page<wire::BusinessUnit>>(
            "/api/v2/workforcemanagement/businessunits",
            "businessUnits"
        ),
        c.json::<wire::Page<wire::ManagementUnit>>(
            "/api/v2/workforcemanagement/managementunits",
            "managementUnits"
        ),
        c.get("/api/v2/docs/swagger", "operations"),
    );
    macro_rules! take {
        ($r:expr, $endpoint:literal, $dataset:literal, |$v:ident| $apply:expr) => {
            match $r? {
                Ok($v) => {
                    $apply;
                    coverage.push(ok($endpoint, $dataset));
                }
                Err(gap) => coverage.push(gap),
            }
        };
    }
    take!(active, "GET /api/v2/users", "users", |v| snap
        .users
        .extend(v.into_iter().map(Into::into)));
    let mut inactive_truncated = false;
    take!(inactive, "GET /api/v2/users?state=inactive", "users", |v| {
        inactive_truncated = v.1;
        snap.users.extend(v.0.into_iter().map(Into::into));
    });
    take!(clients, "GET /api/v2/oauth/clients", "oauthClients", |v| {
        snap.oauth_clients = v.entities.into_iter().map(Into::into).collect()
    });
    take!(
        divisions,
        "GET /api/v2/authorization/divisions",
        "divisions",
        |v| snap.divisions = v.into_iter().map(Into::into).collect()
    );
    take!(
        perms,
        "GET /api/v2/authorization/permissions",
        "permissionCatalog",
        |v| snap.permission_catalog = v
            .into_iter()
            .flat_map(wire::PermissionCollection::into_catalog)
            .collect()
    );
    take!(
        settings,
        "GET /api/v2/organizations/authentication/settings",
        "authSettings",
        |v| snap.auth_settings = v.into()
    );
    take!(org, "GET /api/v2/organizations/me", "organization", |v| {
        snap.organization = v.into()
    });
    take!(
        bus,
        "GET /api/v2/workforcemanagement/businessunits",
        "businessUnits",
        |v| snap.business_units = v.entities.into_iter().map(Into::into).collect()
    );
    take!(
        mus,
        "GET /api/v2/workforcemanagement/managementunits",
        "managementUnits",
        |v| snap.management_units = v.entities.into_iter().map(Into::into).collect()
    );
    match swagger? {
        Got::Body(b) => {
            snap.operations = crate::catalog::parse_swagger(&b).map_err(|e| FetchError::Shape {
                endpoint: "GET /api/v2/docs/swagger".to_owned(),
                detail: e.to_string(),
            })?;
            coverage.push(ok("GET /api/v2/docs/swagger", "operations"));
        }
        Got::Denied(gap) => coverage.push(gap),
        Got::TooLarge => {
            return Err(FetchError::Http {
                endpoint: "GET /api/v2/docs/swagger".to_owned(),
                attempts: 1,
                detail: "HTTP 400: the response is over the size limit".to_owned(),
            })
        }
    }
    let mut listings = Listings {
        groups: None,
        inactive_truncated,
    };
    match groups? {
        Ok(g) => listings.groups = Some(g),
        Err(gap) => coverage.push(gap),
    }
    Ok(listings)
}

/// Access policies use cursor paging: follow `nextUri` until it is absent or repeats, for at
/// most `max_pages` pages. A `nextUri` is the server's: it is followed only as a path of the
/// API (never appended to the base as it is), and a chain of new cursors past the cap is an
/// error, not an endless loop.
async fn read_policies(conn: &Arc<Conn>) -> Result<Part<Vec<AccessPolicy>>, FetchError> {
    const ENDPOINT: &str = "GET /api/v2/authorization/policies";
    let cap = conn.options().max_pages;
    let mut path = format!(
        "/api/v2/authorization/policies?pageSize={}",
        page_size::POLICIES
    );
    let mut seen = HashSet::from([path.clone()]);
    let mut policies = Vec::new();
    for read in 1.. {
        let page = match conn
            .json::<wire::Page<wire::AccessPolicy>>(&path, "accessPolicies")
            .await?
        {
            Ok(page) => page,
            Err(gap) => {
                return Ok(Part {
                    value: Vec::new(),
                    coverage: vec![gap],
                })
            }
        };
        conn.count("accessPolicies", page.entities.len());
        policies.extend(page.entities.into_iter().map(Into::into));
        let next = match page.next_uri.filter(|n| !n.is_empty()) {
            Some(next) => conn.api_path(&next).map_err(|why| FetchError::ForeignUri {
                endpoint: ENDPOINT.to_owned(),
                field: "nextUri",
                why,
            })?,
            None => break,
        };
        if !seen.insert(next.clone()) {
            log::debug!("{ENDPOINT}: `nextUri` repeats a page already read; the listing ends");
            break;
        }
        if read >= cap {
            return Err(FetchError::TooManyPages {
                endpoint: ENDPOINT.to_owned(),
                cap,
                claim: "its `nextUri` cursors did not end".to_owned(),
            });
        }
        path = next;
    }
    Ok(Part {
        value: policies,
        coverage: vec![ok(ENDPOINT, "accessPolicies")],
    })
}

/// Roles, then each role's subject grants (users, groups and clients in one sweep), all roles
/// concurrently.
async fn read_roles_and_grants(
    conn: &Arc<Conn>,
) -> Result<Part<(Vec<Role>, Vec<Grant>)>, FetchError> {
    let roles = match conn
        .pages::<wire::Role>("/api/v2/authorization/roles", family::ROLES, "roles")
        .await?
    {
        Ok(roles) => roles,
        Err(gap) => {
            return Ok(Part {
                value: (Vec::new(), Vec::new()),
                coverage: vec![gap],
            })
        }
    };
    let ids = roles.iter().map(|r| r.id().to_owned()).collect();
    let each = conn
        .pages_each::<wire::SubjectGrants>(
            ids,
            |id| format!("/api/v2/authorization/roles/{id}/subjectgrants"),
            family::SUBJECT_GRANTS,
            "grants",
        )
        .await?;
    let mut grants = Vec::new();
    let mut grant_gap = None;
    for (role_id, got) in each {
        match got {
            Ok(subjects) => grants.extend(
                subjects
                    .into_iter()
                    .flat_map(|s| s.into_grants(&role_id).collect::<Vec<_>>()),
            ),
            Err(gap) => grant_gap = Some(gap),
        }
    }
    // Responses arrive in any order; a sorted list makes snapshots of one org comparable.
    grants.sort_by(|a: &Grant, b: &Grant| {
        (&a.role_id, &a.subject_id, &a.division_id).cmp(&(
            &b.role_id,
            &b.subject_id,
            &b.division_id,
        ))
    });
    Ok(Part {
        value: (roles.into_iter().map(Into::into).collect(), grants),
        coverage: vec![
            ok("GET /api/v2/authorization/roles", "roles"),
            grant_gap.unwrap_or_else(|| {
                ok(
                    "GET /api/v2/authorization/roles/{roleId}/subjectgrants",
                    "grants",
                )
            }),
        ],
    })
}

/// Members, only of groups that hold roles: other groups' members gain nothing from them.
async fn read_members(
    conn: &Arc<Conn>,
    groups: Vec<wire::Group>,
    grants: &[Grant],
    coverage: &mut Vec<Coverage>,
) -> Result<Vec<Group>, FetchError> {
    coverage.push(ok("GET /api/v2/groups", "groups"));
    let holders: BTreeSet<&str> = grants
        .iter()
        .filter(|g| g.subject_type == "PC_GROUP")
        .map(|g| g.subject_id.as_str())
        .collect();
    let holding = groups
        .iter()
        .filter(|g| holders.contains(g.id()))
        .map(|g| g.id().to_owned())
        .collect();
    let each = conn
        .pages_each::<wire::User>(
            holding,
            |id| format!("/api/v2/groups/{id}/members"),
            family::GROUP_MEMBERS,
            "groups",
        )
        .await?;
    let mut members: HashMap<String, Vec<String>> = HashMap::new();
    for (id, got) in each {
        match got {
            Ok(users) => {
                members.insert(id, users.iter().map(|u| u.id().to_owned()).collect());
            }
            Err(gap) => coverage.push(gap),
        }
    }
    Ok(groups
        .into_iter()
        .map(|g| {
            let m = members.remove(g.id()).unwrap_or_default();
            g.into_model(m)
        })
        .collect())
}

/// The agents of every management unit (one request per unit, no paging): which unit an agent
/// moves from decides part of an agent move. A unit whose members cannot be read is a gap.
async fn read_unit_agents(
    conn: &Arc<Conn>,
    units: &mut [crate::model::ManagementUnit],
    coverage: &mut Vec<Coverage>,
) -> Result<(), FetchError> {
    const PATH: &str = "/api/v2/workforcemanagement/managementunits/{managementUnitId}/users";
    let ids: Vec<String> = units.iter().map(|m| m.id.clone()).collect();
    if ids.is_empty() {
        return Ok(());
    }
    conn.plan(ids.len());
    let answers = join_all(ids.into_iter().map(|id| {
        let conn = Arc::clone(conn);
        let path = format!("/api/v2/workforcemanagement/managementunits/{id}/users");
        (id, async move {
            conn.json::<wire::Page<wire::Ref>>(&path, "managementUnitMembers")
                .await
        })
    }))
    .await?;
    let mut denied: Option<Coverage> = None;
    let mut unread = Vec::new();
    for (id, got) in answers {
        match got {
            Ok(page) => {
                if let Some(unit) = units.iter_mut().find(|m| m.id == id) {
                    unit.user_ids = page.entities.into_iter().map(|r| r.id).collect();
                }
            }
            // A unit deleted since the listing has no agents to move.
            Err(gap) if gap.http_status == Some(404) => {}
            Err(gap) => {
                unread.push(id);
                denied.get_or_insert(gap);
            }
        }
    }
    coverage.push(match denied {
        // One gap for the dataset, naming every unit it covers.
        Some(mut gap) => {
            let units = unread.join(", ");
            gap.message = Some(match gap.message.take() {
                Some(m) => format!("{m} (units {units})"),
                None => format!("units {units}"),
            });
            gap
        }
        None => ok(&format!("GET {PATH}"), "managementUnitMembers"),
    });
    Ok(())
}

/// When the inactive listing stopped at its limit, the users that grants or role-holding groups
/// name but the listings did not return are read by id, so no permission-bearing user is lost.
async fn read_unlisted_users(
    conn: &Arc<Conn>,
    snap: &mut OrgSnapshot,
    coverage: &mut Vec<Coverage>,
) -> Result<(), FetchError> {
    let known: HashSet<&str> = snap.users.iter().map(|u| u.id.as_str()).collect();
    let wanted: BTreeSet<String> = snap
        .grants
        .iter()
        .filter(|g| g.subject_type == "PC_USER")
        .map(|g| g.subject_id.as_str())
        .chain(
            snap.groups
                .iter()
                .flat_map(|g| g.member_ids.iter().map(String::as_str)),
        )
        .filter(|id| !known.contains(id))
        .map(str::to_owned)
        .collect();
    let wanted: Vec<String> = wanted.into_iter().collect();
    conn.plan(wanted.len().div_ceil(page_size::USERS_BY_ID));
    let batches = join_all(wanted.chunks(page_size::USERS_BY_ID).map(|batch| {
        let conn = Arc::clone(conn);
        let ids: String = batch.iter().map(|id| format!("&id={id}")).collect();
        let path = format!(
            "/api/v2/users?state=any&pageSize={}&pageNumber=1{ids}",
            page_size::USERS_BY_ID
        );
        ((), async move {
            conn.json::<wire::Page<wire::User>>(&path, "users").await
        })
    }))
    .await?;
    let mut found: Vec<User> = Vec::new();
    let mut gap = None;
    for ((), got) in batches {
        match got {
            Ok(page) => {
                conn.count("users", page.entities.len());
                found.extend(page.entities.into_iter().map(Into::into));
            }
            Err(g) => gap = Some(g),
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    let read = found.len();
    snap.users.extend(found);
    coverage.push(gap.unwrap_or_else(|| Coverage {
        message: Some(format!(
            "inactive users past {} cannot be listed; the {read} of them that hold roles or \
             belong to role-holding groups were read by id",
            page_size::INACTIVE_USER_LIMIT
        )),
        ..ok("GET /api/v2/users?id", "users")
    }));
    Ok(())
}

/// Name the permission each gap's endpoint needs: from the operation catalog just read, or,
/// when it lacks the endpoint, from the plan's own table.
fn name_permissions(coverage: &mut [Coverage], operations: &[Operation]) {
    let known: Vec<Operation> = super::plan::ENDPOINTS
        .iter()
        .filter(|(_, perms)| !perms.is_empty())
        .map(|(path, perms)| Operation {
            method: "GET".to_owned(),
            path: (*path).to_owned(),
            permissions: Some(Requirement {
                kind: "ANY".to_owned(),
                list: perms.iter().map(|p| (*p).to_owned()).collect(),
            }),
            ..Operation::default()
        })
        .collect();
    let (catalog, fallback) = (Catalog::new(operations), Catalog::new(&known));
    for c in coverage.iter_mut().filter(|c| c.status != "ok") {
        // A reader that knows its endpoint's permission (usage jobs) has named it already.
        if c.permission.is_some() {
            continue;
        }
        c.permission = [&catalog, &fallback].iter().find_map(|cat| {
            cat.find(&c.endpoint)
                .and_then(|m| m.operation.permissions.as_ref())
                .map(|r| r.list.join(" or "))
        });
    }
}
