//! Authorization predicates for rules, the same functions `explain` uses: whom a policy applies
//! to and what it covers (`policy.applies_to(s)`, `policy.covers(perm)`, `policy.hits(s)`),
//! whether a subject reaches a WFM unit (`subject.can_reach(perm, unit)`) and can get a token at
//! all (`subject.can_sign_in`), and which admin-level
//! wildcards a role holds (`role.admin_wildcards()`). Rules call these instead of re-deriving
//! the semantics, so a rule and `explain` cannot drift apart.

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, EvalAltResult};

use super::handles::{
    BusinessUnitH, ClientH, DivisionH, GrantH, GroupH, ManagementUnitH, PolicyH, RoleH, Subject,
    UserH,
};
use crate::authz::{self, TargetObject};
use crate::model::{AccessPolicy, Org, Scope};

type Res<T> = Result<T, Box<EvalAltResult>>;

fn policy(p: &PolicyH) -> Option<&AccessPolicy> {
    p.org.snapshot().access_policies.get(p.i as usize)
}

fn register_policy_predicates<S: Subject>(engine: &mut Engine) {
    engine.register_fn("applies_to", |p: &mut PolicyH, s: S| {
        policy(p).is_some_and(|pol| authz::policy_applies(&p.org, pol, s.subject()))
    });
    engine.register_fn("hits", |p: &mut PolicyH, s: S| -> Array {
        let Some(pol) = policy(p) else {
            return Array::new();
        };
        authz::policy_hits(&p.org, pol, s.subject())
            .into_iter()
            .map(|grant| {
                Dynamic::from(GrantH {
                    org: Arc::clone(&p.org),
                    grant,
                })
            })
            .collect()
    });
}

/// The objects `can_reach` accepts.
trait Reachable: Clone + Send + Sync + 'static {
    fn target(&self) -> Option<TargetObject>;
}

impl Reachable for ManagementUnitH {
    fn target(&self) -> Option<TargetObject> {
        Some(TargetObject::ManagementUnit(self.i))
    }
}

impl Reachable for BusinessUnitH {
    fn target(&self) -> Option<TargetObject> {
        Some(TargetObject::BusinessUnit(self.i))
    }
}

impl Reachable for DivisionH {
    fn target(&self) -> Option<TargetObject> {
        match self.scope {
            Scope::Division(i) => Some(TargetObject::Division(i)),
            Scope::All => None,
        }
    }
}

fn register_reach<S: Subject, U: Reachable>(engine: &mut Engine) {
    engine.register_fn("can_reach", |s: &mut S, perm: &str, unit: U| -> Res<bool> {
        let target = unit
            .target()
            .ok_or("`can_reach` needs a management unit, a business unit or one division")?;
        Ok(authz::can_reach(s.org(), s.subject(), perm, target))
    });
}

fn register_reach_all<S: Subject>(engine: &mut Engine) {
    engine.register_get("can_sign_in", |s: &mut S| {
        authz::sign_in_problem(s.org(), s.subject()).is_none()
    });
    register_reach::<S, ManagementUnitH>(engine);
    register_reach::<S, BusinessUnitH>(engine);
    register_reach::<S, DivisionH>(engine);
}

fn admin_wildcards(org: &Org, role: u32, domains: &[String]) -> Array {
    let domains: Vec<&str> = domains.iter().map(String::as_str).collect();
    authz::admin_wildcards(org, role, &domains)
        .into_iter()
        .map(Dynamic::from)
        .collect()
}

pub(crate) fn register(engine: &mut Engine) {
    register_policy_predicates::<UserH>(engine);
    register_policy_predicates::<GroupH>(engine);
    register_policy_predicates::<ClientH>(engine);
    engine.register_fn("covers", |p: &mut PolicyH, perm: &str| {
        policy(p).is_some_and(|pol| authz::policy_covers(&pol.target_resource, perm))
    });
    register_reach_all::<UserH>(engine);
    register_reach_all::<GroupH>(engine);
    register_reach_all::<ClientH>(engine);
    engine.register_fn("admin_wildcards", |r: &mut RoleH| {
        let domains: Vec<String> = authz::ADMIN_DOMAINS
            .iter()
            .map(|d| (*d).to_owned())
            .collect();
        admin_wildcards(&r.org, r.i, &domains)
    });
    engine.register_fn("admin_wildcards", |r: &mut RoleH, domains: Array| {
        let domains: Vec<String> = domains.iter().map(ToString::to_string).collect();
        admin_wildcards(&r.org, r.i, &domains)
    });
}
