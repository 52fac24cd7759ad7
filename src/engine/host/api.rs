//! Registers the host API scripts see: types, getters, lookups, bulk queries, `can`/`why`.
//!
//! Everything here is a thin adapter from Rhai values to `model` and `authz` calls; the
//! decisions themselves live in `authz`.

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map};

use super::handles::{
    BusinessUnitH, ClientH, DivisionH, GrantH, GroupH, Handle, List, ManagementUnitH, OrgH,
    PolicyH, RoleH, SettingsH, Subject, SubjectList, UserH,
};
use crate::authz::{self, Target, Via};
use crate::engine::sandbox::Meter;
use crate::model::{Org, Scope, SubjectRef};

type Res<T> = Result<T, Box<EvalAltResult>>;

fn opt<T: Clone + Send + Sync + 'static>(v: Option<T>) -> Dynamic {
    v.map_or(Dynamic::UNIT, Dynamic::from)
}

fn strings(items: impl IntoIterator<Item = impl Into<ImmutableString>>) -> Array {
    items.into_iter().map(|s| Dynamic::from(s.into())).collect()
}

/// Resolve a division argument: a division handle, a name or id, or `"*"`.
pub(super) fn target(org: &Org, d: &Dynamic) -> Res<Target> {
    if let Some(h) = d.clone().try_cast::<DivisionH>() {
        return Ok(match h.scope {
            Scope::All => Target::All,
            Scope::Division(i) => Target::Division(i),
        });
    }
    if let Some(s) = d.clone().try_cast::<ImmutableString>() {
        if s == "*" {
            return Ok(Target::All);
        }
        return org
            .division(&s)
            .map(Target::Division)
            .ok_or_else(|| format!("unknown division `{s}`").into());
    }
    Err(format!(
        "expected a division (handle, name, id or \"*\"), got `{}`",
        d.type_name()
    )
    .into())
}

fn division(org: &Arc<Org>, scope: Option<Scope>) -> Dynamic {
    opt(scope.map(|scope| DivisionH {
        org: Arc::clone(org),
        scope,
    }))
}

fn grants_of(org: &Arc<Org>, s: SubjectRef) -> Array {
    authz::effective_grants(org, s)
        .into_iter()
        .map(|grant| {
            Dynamic::from(GrantH {
                org: Arc::clone(org),
                grant,
            })
        })
        .collect()
}

fn decision_map(org: &Org, s: SubjectRef, perm: &str, t: Target) -> Map {
    let d = authz::why(org, s, perm, t);
    let mut m = Map::new();
    m.insert("allowed".into(), d.allowed.into());
    m.insert("permission".into(), perm.into());
    m.insert("target".into(), authz::target_phrase(org, t).into());
    m.insert("division_aware".into(), d.awareness.as_str().into());
    m.insert("reason".into(), d.reason(org).into());
    m.insert(
        "fix".into(),
        d.fix.map_or(Dynamic::UNIT, |f| f.to_string().into()),
    );
    m
}

fn register_list<H: Handle>(engine: &mut Engine, name: &str) {
    engine.register_type_with_name::<List<H>>(name);
    engine.register_iterator::<List<H>>();
    engine.register_get("len", |l: &mut List<H>| {
        i64::try_from(l.len()).unwrap_or(i64::MAX)
    });
    engine.register_fn("len", |l: &mut List<H>| {
        i64::try_from(l.len()).unwrap_or(i64::MAX)
    });
    engine.register_fn("is_empty", |l: &mut List<H>| l.len() == 0);
    engine.register_fn("to_array", |l: &mut List<H>| -> Array {
        l.clone().into_iter().map(Dynamic::from).collect()
    });
    engine.register_indexer_get(|l: &mut List<H>, i: i64| -> Res<H> {
        usize::try_from(i)
            .ok()
            .and_then(|i| l.get(i))
            .ok_or_else(|| format!("index {i} is out of bounds for a list of {}", l.len()).into())
    });
}

fn register_subject<H: Subject>(engine: &mut Engine) {
    engine.register_get("grants", |h: &mut H| grants_of(h.org(), h.subject()));
    engine.register_fn("can", |h: &mut H, perm: &str| {
        authz::can(h.org(), h.subject(), perm, Target::Any)
    });
    engine.register_fn("can", |h: &mut H, perm: &str, d: Dynamic| -> Res<bool> {
        Ok(authz::can(h.org(), h.subject(), perm, target(h.org(), &d)?))
    });
    engine.register_fn("why", |h: &mut H, perm: &str, d: Dynamic| -> Res<Map> {
        Ok(decision_map(
            h.org(),
            h.subject(),
            perm,
            target(h.org(), &d)?,
        ))
    });
    engine.register_fn(
        "smallest_fix",
        |h: &mut H, perm: &str, d: Dynamic| -> Res<Dynamic> {
            let t = target(h.org(), &d)?;
            Ok(authz::why(h.org(), h.subject(), perm, t)
                .fix
                .map_or(Dynamic::UNIT, |f| f.to_string().into()))
        },
    );
}

macro_rules! getters {
    ($engine:ident, $t:ty, $field:ident, { $($name:literal => |$x:ident| $body:expr),* $(,)? }) => {
        $(
            $engine.register_get($name, |h: &mut $t| -> Dynamic {
                match h.org.snapshot().$field.get(h.i as usize) {
                    Some($x) => Dynamic::from($body),
                    None => Dynamic::UNIT,
                }
            });
        )*
    };
}

#[expect(
    clippy::too_many_lines,
    reason = "one flat list of registrations reads best"
)]
pub(crate) fn register(engine: &mut Engine) {
    engine.register_type_with_name::<OrgH>("Org");
    engine.register_type_with_name::<SettingsH>("Settings");
    engine.register_type_with_name::<DivisionH>("Division");
    engine.register_type_with_name::<RoleH>("Role");
    engine.register_type_with_name::<UserH>("User");
    engine.register_type_with_name::<GroupH>("Group");
    engine.register_type_with_name::<ClientH>("Client");
    engine.register_type_with_name::<PolicyH>("Policy");
    engine.register_type_with_name::<BusinessUnitH>("BusinessUnit");
    engine.register_type_with_name::<ManagementUnitH>("ManagementUnit");
    engine.register_type_with_name::<GrantH>("Grant");
    register_list::<RoleH>(engine, "Roles");
    register_list::<UserH>(engine, "Users");
    register_list::<GroupH>(engine, "Groups");
    register_list::<ClientH>(engine, "Clients");
    register_list::<PolicyH>(engine, "Policies");
    register_list::<BusinessUnitH>(engine, "BusinessUnits");
    register_list::<ManagementUnitH>(engine, "ManagementUnits");
    register_subject::<UserH>(engine);
    register_subject::<GroupH>(engine);
    register_subject::<ClientH>(engine);

    // org
    engine.register_get("name", |o: &mut OrgH| {
        o.0.snapshot().organization.name.clone()
    });
    engine.register_get("id", |o: &mut OrgH| o.0.snapshot().organization.id.clone());
    engine.register_get("divisions", |o: &mut OrgH| -> Array {
        (0..o.0.snapshot().divisions.len())
            .filter_map(|i| u32::try_from(i).ok())
            .map(|i| division(&o.0, Some(Scope::Division(i))))
            .collect()
    });
    engine.register_get("home_division", |o: &mut OrgH| {
        division(&o.0, o.0.home_division().map(Scope::Division))
    });
    engine.register_get("all_divisions", |o: &mut OrgH| {
        division(&o.0, Some(Scope::All))
    });
    engine.register_get("roles", |o: &mut OrgH| {
        read_dataset(&o.0, "roles");
        List::<RoleH>::all(&o.0, o.0.snapshot().roles.len())
    });
    engine.register_get("users", |o: &mut OrgH| {
        read_dataset(&o.0, "users");
        List::<UserH>::all(&o.0, o.0.snapshot().users.len())
    });
    engine.register_get("groups", |o: &mut OrgH| {
        read_dataset(&o.0, "groups");
        List::<GroupH>::all(&o.0, o.0.snapshot().groups.len())
    });
    engine.register_get("clients", |o: &mut OrgH| {
        read_dataset(&o.0, "oauthClients");
        List::<ClientH>::all(&o.0, o.0.snapshot().oauth_clients.len())
    });
    engine.register_get("policies", |o: &mut OrgH| {
        read_dataset(&o.0, "accessPolicies");
        List::<PolicyH>::all(&o.0, o.0.snapshot().access_policies.len())
    });
    engine.register_get("business_units", |o: &mut OrgH| {
        read_dataset(&o.0, "businessUnits");
        List::<BusinessUnitH>::all(&o.0, o.0.snapshot().business_units.len())
    });
    engine.register_get("management_units", |o: &mut OrgH| {
        read_dataset(&o.0, "managementUnits");
        List::<ManagementUnitH>::all(&o.0, o.0.snapshot().management_units.len())
    });
    engine.register_get("settings", |o: &mut OrgH| {
        read_dataset(&o.0, "authSettings");
        SettingsH(Arc::clone(&o.0))
    });
    engine.register_get("warnings", |o: &mut OrgH| {
        strings(o.0.warnings().iter().map(String::as_str))
    });
    engine.register_fn("has_gap", |o: &mut OrgH, dataset: &str| {
        o.0.snapshot()
            .coverage
            .iter()
            .any(|c| c.status != "ok" && c.dataset == dataset)
    });
    engine.register_fn("division", |o: &mut OrgH, key: &str| {
        if key == "*" {
            return division(&o.0, Some(Scope::All));
        }
        division(&o.0, o.0.division(key).map(Scope::Division))
    });
    macro_rules! lookup {
        ($name:ident, $t:ident) => {
            engine.register_fn(stringify!($name), |o: &mut OrgH, key: &str| {
                opt(o.0.$name(key).map(|i| $t {
                    org: Arc::clone(&o.0),
                    i,
                }))
            });
        };
    }
    lookup!(role, RoleH);
    lookup!(user, UserH);
    lookup!(group, GroupH);
    lookup!(client, ClientH);
    lookup!(policy, PolicyH);
    lookup!(business_unit, BusinessUnitH);
    lookup!(management_unit, ManagementUnitH);
    engine.register_type_with_name::<SubjectList>("Subjects");
    engine.register_iterator::<SubjectList>();
    engine.register_get("len", |l: &mut SubjectList| {
        i64::try_from(l.len()).unwrap_or(i64::MAX)
    });
    engine.register_fn("len", |l: &mut SubjectList| {
        i64::try_from(l.len()).unwrap_or(i64::MAX)
    });
    engine.register_fn("is_empty", |l: &mut SubjectList| l.len() == 0);
    engine.register_fn("to_array", |l: &mut SubjectList| -> Array {
        l.clone().into_iter().collect()
    });
    engine.register_indexer_get(|l: &mut SubjectList, i: i64| -> Res<Dynamic> {
        usize::try_from(i)
            .ok()
            .and_then(|i| l.get(i))
            .ok_or_else(|| format!("index {i} is out of bounds for a list of {}", l.len()).into())
    });
    engine.register_fn(
        "subjects_with",
        |o: &mut OrgH, perm: &str, d: Dynamic| -> Res<SubjectList> {
            let t = target(&o.0, &d)?;
            Ok(SubjectList::new(&o.0, authz::subjects_with(&o.0, perm, t)))
        },
    );
    let clients_with = |o: &OrgH, perm: &str, t: Target| {
        let ids = authz::subjects_with(&o.0, perm, t)
            .into_iter()
            .filter_map(|s| match s {
                SubjectRef::Client(c) => Some(c),
                _ => None,
            })
            .collect();
        List::<ClientH>::of(&o.0, ids)
    };
    engine.register_fn("clients_with", move |o: &mut OrgH, perm: &str| {
        clients_with(o, perm, Target::Any)
    });
    engine.register_fn(
        "clients_with",
        move |o: &mut OrgH, perm: &str, d: Dynamic| -> Res<List<ClientH>> {
            let t = target(&o.0, &d)?;
            Ok(clients_with(o, perm, t))
        },
    );
    engine.register_fn(
        "users_with",
        |o: &mut OrgH, perm: &str, d: Dynamic| -> Res<List<UserH>> {
            let t = target(&o.0, &d)?;
            let ids = authz::subjects_with(&o.0, perm, t)
                .into_iter()
                .filter_map(|s| match s {
                    SubjectRef::User(u) => Some(u),
                    _ => None,
                })
                .collect();
            Ok(List::of(&o.0, ids))
        },
    );
    engine.register_fn(
        "users_matching",
        |o: &mut OrgH, patterns: Array| -> Result<List<UserH>, Box<EvalAltResult>> {
            let patterns: Vec<String> = patterns.iter().map(ToString::to_string).collect();
            // Patterns × users × characters can be large: one meter for the whole call keeps
            // it inside the rule's time budget.
            let mut meter = Meter::default();
            let mut hit = |s: &str| -> Result<bool, Box<EvalAltResult>> {
                for p in &patterns {
                    meter.tick()?;
                    if super::util::glob_match_metered(p, s, &mut meter)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            };
            let mut ids = Vec::new();
            for (i, u) in o.0.snapshot().users.iter().enumerate() {
                let matched = hit(&u.name)?
                    || match u.email.as_deref() {
                        Some(e) => hit(e)?,
                        None => false,
                    }
                    || match u.username.as_deref() {
                        Some(n) => hit(n)?,
                        None => false,
                    };
                if matched {
                    ids.extend(u32::try_from(i).ok());
                }
            }
            Ok(List::<UserH>::of(&o.0, ids))
        },
    );
    engine.register_fn("users_in_state", |o: &mut OrgH, state: &str| {
        let ids =
            o.0.snapshot()
                .users
                .iter()
                .enumerate()
                .filter(|(_, u)| u.state == state)
                .filter_map(|(i, _)| u32::try_from(i).ok())
                .collect();
        List::<UserH>::of(&o.0, ids)
    });

    // settings
    engine.register_get("mfa_required", |s: &mut SettingsH| {
        s.0.snapshot()
            .auth_settings
            .multifactor_authentication_required
    });
    engine.register_get("ip_allowlist", |s: &mut SettingsH| {
        strings(
            s.0.snapshot()
                .auth_settings
                .ip_address_allowlist
                .iter()
                .map(String::as_str),
        )
    });
    engine.register_get("domain_allowlist", |s: &mut SettingsH| {
        strings(
            s.0.snapshot()
                .auth_settings
                .domain_allowlist
                .iter()
                .map(String::as_str),
        )
    });
    engine.register_get("domain_allowlist_enabled", |s: &mut SettingsH| {
        s.0.snapshot().auth_settings.domain_allowlist_enabled
    });

    // division
    engine.register_get("id", |d: &mut DivisionH| d.key().id);
    engine.register_get("name", |d: &mut DivisionH| d.key().name);
    engine.register_get("is_all", |d: &mut DivisionH| d.scope == Scope::All);
    engine.register_get("is_home", |d: &mut DivisionH| {
        matches!(d.scope, Scope::Division(i) if d.org.home_division() == Some(i))
    });
    engine.register_fn("==", |a: DivisionH, b: DivisionH| a.scope == b.scope);
    engine.register_fn("!=", |a: DivisionH, b: DivisionH| a.scope != b.scope);
    engine.register_fn("to_string", |d: &mut DivisionH| d.key().name);

    // role
    getters!(engine, RoleH, roles, {
        "id" => |r| r.id.clone(),
        "name" => |r| r.name.clone(),
        "description" => |r| r.description.clone().unwrap_or_default(),
        "is_default" => |r| r.default,
    });
    engine.register_get("permissions", |r: &mut RoleH| {
        strings(r.org.role_patterns(r.i).iter().map(ToString::to_string))
    });
    engine.register_get("holder_count", |r: &mut RoleH| {
        i64::try_from(r.org.role_holders(r.i).len()).unwrap_or(i64::MAX)
    });
    engine.register_fn("grants_permission", |r: &mut RoleH, perm: &str| {
        crate::model::Permission::parse(perm).is_some_and(|p| authz::role_grants(&r.org, r.i, &p))
    });
    engine.register_fn("to_string", |r: &mut RoleH| r.key().name);

    // user
    getters!(engine, UserH, users, {
        "id" => |u| u.id.clone(),
        "name" => |u| u.name.clone(),
        "email" => |u| u.email.clone().unwrap_or_default(),
        "username" => |u| u.username.clone().unwrap_or_default(),
        "state" => |u| u.state.clone(),
    });
    engine.register_get("kind", |_: &mut UserH| "user");
    engine.register_get("division", |u: &mut UserH| {
        division(&u.org, u.org.user_division(u.i).map(Scope::Division))
    });
    engine.register_get("management_unit", |u: &mut UserH| {
        opt(u.org.agent_management_unit(u.i).map(|i| ManagementUnitH {
            org: Arc::clone(&u.org),
            i,
        }))
    });
    engine.register_get("groups", |u: &mut UserH| {
        List::<GroupH>::of(&u.org, u.org.groups_of(u.i).to_vec())
    });
    engine.register_fn("to_string", |u: &mut UserH| u.key().name);

    // group
    getters!(engine, GroupH, groups, {
        "id" => |g| g.id.clone(),
        "name" => |g| g.name.clone(),
        "state" => |g| g.state.clone(),
        "roles_enabled" => |g| g.roles_enabled,
    });
    engine.register_get("kind", |_: &mut GroupH| "group");
    engine.register_get("members", |g: &mut GroupH| {
        List::<UserH>::of(&g.org, g.org.group_members(g.i).collect())
    });
    engine.register_fn("to_string", |g: &mut GroupH| g.key().name);

    // client
    getters!(engine, ClientH, oauth_clients, {
        "id" => |c| c.id.clone(),
        "name" => |c| c.name.clone(),
        "description" => |c| c.description.clone().unwrap_or_default(),
        "grant_type" => |c| c.authorized_grant_type.clone(),
        "state" => |c| c.state.clone(),
        "scope" => |c| strings(c.scope.iter().map(String::as_str)),
        "date_to_delete" => |c| c.date_to_delete.clone().map_or(Dynamic::UNIT, Dynamic::from),
        "is_client_credentials" => |c| c.authorized_grant_type == "CLIENT-CREDENTIALS",
    });
    engine.register_get("kind", |_: &mut ClientH| "client");
    engine.register_fn("to_string", |c: &mut ClientH| c.key().name);

    // policy
    getters!(engine, PolicyH, access_policies, {
        "id" => |p| p.id.clone(),
        "name" => |p| p.name.clone(),
        "target" => |p| p.target_resource.clone(),
        "effect" => |p| p.effect.clone(),
        "active" => |p| p.active,
        "apply_to_clients" => |p| p.apply_to_clients,
        "subject_type" => |p| p.subject.kind.clone(),
        "subject_id" => |p| p.subject.id.clone().map_or(Dynamic::UNIT, Dynamic::from),
        "has_condition" => |p| p.has_condition(),
    });
    engine.register_fn("to_string", |p: &mut PolicyH| p.key().name);

    // WFM units
    getters!(engine, BusinessUnitH, business_units, {
        "id" => |b| b.id.clone(),
        "name" => |b| b.name.clone(),
    });
    engine.register_get("division", |b: &mut BusinessUnitH| {
        division(&b.org, b.org.bu_division(b.i).map(Scope::Division))
    });
    getters!(engine, ManagementUnitH, management_units, {
        "id" => |m| m.id.clone(),
        "name" => |m| m.name.clone(),
    });
    engine.register_get("division", |m: &mut ManagementUnitH| {
        division(&m.org, m.org.mu_division(m.i).map(Scope::Division))
    });
    // The unit's agents, as fetched from `…/managementunits/{id}/users` (empty when unread:
    // `org.has_gap("managementUnitMembers")` tells).
    engine.register_get("members", |m: &mut ManagementUnitH| {
        let ids: Vec<u32> = m
            .org
            .snapshot()
            .management_units
            .get(m.i as usize)
            .map(|u| u.user_ids.iter().filter_map(|id| m.org.user(id)).collect())
            .unwrap_or_default();
        List::<UserH>::of(&m.org, ids)
    });
    engine.register_get("business_unit", |m: &mut ManagementUnitH| {
        opt(m.org.mu_business_unit(m.i).map(|i| BusinessUnitH {
            org: Arc::clone(&m.org),
            i,
        }))
    });

    // grant
    engine.register_get("role", |g: &mut GrantH| RoleH {
        org: Arc::clone(&g.org),
        i: g.grant.grant.role,
    });
    engine.register_get("division", |g: &mut GrantH| DivisionH {
        org: Arc::clone(&g.org),
        scope: g.grant.grant.scope,
    });
    engine.register_get("all_divisions", |g: &mut GrantH| {
        g.grant.grant.scope == Scope::All
    });
    engine.register_get("via", |g: &mut GrantH| -> Dynamic {
        match g.grant.via {
            Via::Direct => "direct".into(),
            Via::Group(i) => Dynamic::from(GroupH {
                org: Arc::clone(&g.org),
                i,
            }),
        }
    });
    engine.register_fn("to_string", |g: &mut GrantH| {
        authz::grant_phrase(&g.org, &g.grant.grant)
    });
}

thread_local! {
    /// Datasets with a coverage gap read by the rule running on this thread (rules run one at
    /// a time per thread; `run_one` takes the set before and after each).
    static GAP_READS: std::cell::RefCell<Vec<&'static str>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Note that the running rule read `dataset`, if the snapshot has a gap there.
pub(super) fn read_dataset(org: &Org, dataset: &'static str) {
    let gap = org
        .snapshot()
        .coverage
        .iter()
        .any(|c| c.status != "ok" && c.dataset == dataset);
    if gap {
        GAP_READS.with_borrow_mut(|r| {
            if !r.contains(&dataset) {
                r.push(dataset);
            }
        });
    }
}

/// The datasets with a gap read on this thread since the last call.
pub(crate) fn take_gap_reads() -> Vec<&'static str> {
    GAP_READS.with_borrow_mut(std::mem::take)
}
