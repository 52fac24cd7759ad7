//! The access queries for scripts: `org.who_can(perm)` and `org.who_can(perm, division)`,
//! returning one `Holding` per subject with the grants that give the permission there and how
//! each is held (`via`). Answers come from `authz::who_can`, the same as the CLI and the HTML
//! report.

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine};

use super::handles::{GrantH, GroupH, HoldingH, OrgH, PolicyH};
use crate::authz::{self, Target, Via, WhoCanQuery};

type Res<T> = Result<T, Box<rhai::EvalAltResult>>;

fn who_can(o: &OrgH, perm: &str, target: Target) -> Res<Array> {
    let org = &o.0;
    let divisions = match target {
        Target::Division(d) => vec![d],
        Target::Any | Target::All => Vec::new(),
    };
    let w = authz::who_can(
        org,
        &WhoCanQuery {
            permission: perm,
            divisions,
            kinds: Vec::new(),
        },
    )
    .map_err(|e| e.to_string())?;
    let aware = w.aware();
    Ok(w.holders
        .iter()
        .filter_map(|h| {
            let grants: Vec<_> = h.grants_at(target, aware).copied().collect();
            (!grants.is_empty()).then(|| {
                Dynamic::from(HoldingH {
                    org: Arc::clone(org),
                    subject: h.subject,
                    grants: grants.into(),
                    denied_by: h.denied_by.clone().into(),
                })
            })
        })
        .collect())
}

pub(crate) fn register(engine: &mut Engine) {
    engine.register_type_with_name::<HoldingH>("Holding");
    engine.register_fn("who_can", |o: &mut OrgH, perm: &str| {
        who_can(o, perm, Target::Any)
    });
    engine.register_fn(
        "who_can",
        |o: &mut OrgH, perm: &str, d: Dynamic| -> Res<Array> {
            let t = super::api::target(&o.0, &d)?;
            who_can(o, perm, t)
        },
    );
    engine.register_get("subject", |h: &mut HoldingH| h.subject_dynamic());
    engine.register_get("name", |h: &mut HoldingH| {
        h.org.subject_name(h.subject).to_owned()
    });
    engine.register_get("kind", |h: &mut HoldingH| {
        authz::SubjectKind::of(h.subject).as_str()
    });
    // How the first grant that gives it is held: "direct", or the group it comes through.
    engine.register_get("via", |h: &mut HoldingH| -> Dynamic {
        match h.grants.first().map(|g| g.via) {
            Some(Via::Group(i)) => Dynamic::from(GroupH {
                org: Arc::clone(&h.org),
                i,
            }),
            _ => "direct".into(),
        }
    });
    engine.register_get("grants", |h: &mut HoldingH| -> Array {
        h.grants
            .iter()
            .map(|&grant| {
                Dynamic::from(GrantH {
                    org: Arc::clone(&h.org),
                    grant,
                })
            })
            .collect()
    });
    engine.register_get("denied_by", |h: &mut HoldingH| -> Array {
        h.denied_by
            .iter()
            .map(|&i| {
                Dynamic::from(PolicyH {
                    org: Arc::clone(&h.org),
                    i,
                })
            })
            .collect()
    });
    engine.register_get("can_sign_in", |h: &mut HoldingH| {
        authz::sign_in_problem(&h.org, h.subject).is_none()
    });
    engine.register_fn("to_string", |h: &mut HoldingH| {
        let grants: Vec<String> = h
            .grants
            .iter()
            .map(|g| authz::held_grant_phrase(&h.org, g))
            .collect();
        format!(
            "{} ({})",
            authz::subject_phrase(&h.org, h.subject),
            grants.join("; ")
        )
    });
}
