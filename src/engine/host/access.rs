//! Host functions for operations and explanations: `org.operation(…)`, `org.subject(…)`,
//! `subject.explain(op[, target])`.

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};

use super::handles::{
    BusinessUnitH, ClientH, DivisionH, GroupH, ManagementUnitH, OrgH, Subject, SubjectList, UserH,
};
use crate::authz;
use crate::model::{Org, Scope, SubjectRef};

type Res<T> = Result<T, Box<EvalAltResult>>;

fn strings<'a>(items: impl IntoIterator<Item = &'a str>) -> Array {
    items
        .into_iter()
        .map(|s| Dynamic::from(s.to_owned()))
        .collect()
}

/// A target argument for `explain`: `"kind:name"`, a unit or division handle, or `()`; and, for
/// a name the snapshot could not read, why (the answer is then unknown, not an error).
type ExplainTarget = (Option<authz::TargetObject>, Option<String>);

fn explain_target(org: &Org, t: &Dynamic) -> Res<ExplainTarget> {
    if t.is_unit() {
        return Ok((None, None));
    }
    if let Some(m) = t.clone().try_cast::<ManagementUnitH>() {
        return Ok((Some(authz::TargetObject::ManagementUnit(m.i)), None));
    }
    if let Some(b) = t.clone().try_cast::<BusinessUnitH>() {
        return Ok((Some(authz::TargetObject::BusinessUnit(b.i)), None));
    }
    if let Some(d) = t.clone().try_cast::<DivisionH>() {
        return match d.scope {
            Scope::Division(i) => Ok((Some(authz::TargetObject::Division(i)), None)),
            Scope::All => Err("`explain` needs one division, not all divisions".into()),
        };
    }
    let text = t.to_string();
    match authz::resolve_target(org, &text) {
        Ok(t) => Ok((Some(t), None)),
        Err(e) if e.unread.is_some() => Ok((None, e.unread)),
        Err(e) => Err(e.message.into()),
    }
}

fn explain_map(
    org: &Org,
    s: SubjectRef,
    op: &str,
    (target, unread_target): ExplainTarget,
) -> Res<Map> {
    // Each explanation costs milliseconds on a large org: a rule calling it in a loop stops at
    // its budget (or memory limit) here, between calls, as well as in the loop's own operations.
    crate::engine::sandbox::check_budget()?;
    let catalog = crate::catalog::Catalog::for_org(org);
    let q = authz::Question {
        subject: s,
        operation: op,
        target,
        agents: Vec::new(),
        unread_target,
    };
    let ex = authz::explain(org, &catalog, &q)
        .map_err(|e| -> Box<EvalAltResult> { e.message.into() })?;
    let mut m = Map::new();
    m.insert("verdict".into(), ex.verdict.as_str().into());
    m.insert(
        "allowed".into(),
        (ex.verdict == authz::Verdict::Allowed).into(),
    );
    m.insert("summary".into(), ex.verdict_line().into());
    m.insert(
        "code".into(),
        ex.code.clone().map_or(Dynamic::UNIT, Dynamic::from),
    );
    m.insert(
        "fix".into(),
        ex.fix.clone().map_or(Dynamic::UNIT, Dynamic::from),
    );
    m.insert("operation".into(), ex.operation.clone().into());
    m.insert("undecided".into(), ex.undecided().into());
    m.insert(
        "catalog".into(),
        ex.catalog.describe(std::time::SystemTime::now()).into(),
    );
    m.insert(
        "target".into(),
        ex.target.clone().map_or(Dynamic::UNIT, Dynamic::from),
    );
    let steps: Array = ex
        .steps
        .iter()
        .filter(|s| matches!(s.status, authz::Status::Fail | authz::Status::Unknown))
        .map(|s| Dynamic::from(format!("{}: {}", s.check, s.detail)))
        .collect();
    m.insert("problems".into(), steps.into());
    m.insert(
        "assumptions".into(),
        strings(ex.assumptions.iter().map(String::as_str)).into(),
    );
    Ok(m)
}

fn register_explain<H: Subject>(engine: &mut Engine) {
    engine.register_fn("explain", |h: &mut H, op: &str| {
        explain_map(h.org(), h.subject(), op, (None, None))
    });
    engine.register_fn(
        "explain",
        |h: &mut H, op: &str, target: Dynamic| -> Res<Map> {
            let t = explain_target(h.org(), &target)?;
            explain_map(h.org(), h.subject(), op, t)
        },
    );
}

pub(crate) fn register(engine: &mut Engine) {
    register_explain::<UserH>(engine);
    register_explain::<GroupH>(engine);
    register_explain::<ClientH>(engine);
    engine.register_fn("subject", |o: &mut OrgH, spec: &str| -> Dynamic {
        authz::resolve_subject(&o.0, spec).map_or(Dynamic::UNIT, |s| {
            SubjectList::new(&o.0, vec![s])
                .get(0)
                .unwrap_or(Dynamic::UNIT)
        })
    });
    engine.register_fn("operation", |o: &mut OrgH, spec: &str| -> Dynamic {
        let catalog = crate::catalog::Catalog::for_org(&o.0);
        let Some(m) = catalog.find(spec) else {
            return Dynamic::UNIT;
        };
        let op = m.operation;
        let mut map = Map::new();
        map.insert("method".into(), op.method.clone().into());
        map.insert("path".into(), op.path.clone().into());
        map.insert("operation_id".into(), op.operation_id.clone().into());
        map.insert(
            "requires".into(),
            op.permissions
                .as_ref()
                .map_or(Dynamic::UNIT, |r| r.kind.clone().into()),
        );
        map.insert(
            "permissions".into(),
            strings(
                op.permissions
                    .iter()
                    .flat_map(|r| r.list.iter().map(String::as_str)),
            )
            .into(),
        );
        map.insert(
            "scopes".into(),
            strings(op.scopes.iter().map(String::as_str)).into(),
        );
        map.insert(
            "error_codes".into(),
            strings(op.error_codes_403.iter().map(String::as_str)).into(),
        );
        Dynamic::from_map(map)
    });
}
