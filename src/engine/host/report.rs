//! `report(subject, message)` and the finding builder scripts chain `.fix()`/`.evidence()` on.
//!
//! Findings go to the run context carried in the call's tag, so one engine can run rules on
//! several threads at once without sharing a sink.

use std::sync::{Arc, Mutex, PoisonError};

use rhai::{Dynamic, Engine, EvalAltResult, NativeCallContext};

use super::handles::{
    BusinessUnitH, ClientH, DivisionH, GroupH, Handle, List, ManagementUnitH, OrgH, PolicyH, RoleH,
    SettingsH, SubjectList, UserH,
};
use crate::engine::finding::{Finding, ObjectKey};
use crate::engine::meta::Severity;

/// Per-call state: which rule is running and where its findings go.
#[derive(Clone)]
pub(crate) struct RunCtx {
    pub rule_id: Arc<str>,
    pub severity: Severity,
    pub findings: Arc<Mutex<Vec<Finding>>>,
    pub max_findings: usize,
}

/// What `report(...)` returns: the stored finding(s), for chaining `.fix()` and `.evidence()`.
/// A bulk `report(list, message)` returns all the findings it made, and a chained call applies
/// to each.
#[derive(Clone)]
pub struct FindingRef {
    sink: Arc<Mutex<Vec<Finding>>>,
    start: usize,
    end: usize,
}

impl FindingRef {
    fn update(&self, mut f: impl FnMut(&mut Finding)) {
        let mut list = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(findings) = list.get_mut(self.start..self.end) {
            findings.iter_mut().for_each(&mut f);
        }
    }
}

fn push(
    ctx: &NativeCallContext,
    subject: ObjectKey,
    message: &str,
) -> Result<FindingRef, Box<EvalAltResult>> {
    push_many(ctx, std::iter::once(subject), message)
}

fn push_many(
    ctx: &NativeCallContext,
    subjects: impl Iterator<Item = ObjectKey>,
    message: &str,
) -> Result<FindingRef, Box<EvalAltResult>> {
    // Borrow the context in place: `report` is the hottest host call, and cloning the tag
    // would allocate on every finding.
    let run = ctx
        .tag()
        .and_then(Dynamic::read_lock::<RunCtx>)
        .ok_or_else(|| {
            Box::<EvalAltResult>::from("`report` can only be called while a rule runs")
        })?;
    let mut list = run.findings.lock().unwrap_or_else(PoisonError::into_inner);
    let start = list.len();
    for subject in subjects {
        // A runaway script could report without end; the cap keeps memory bounded.
        if list.len() >= run.max_findings {
            return Err(format!("more than {} findings from one rule", run.max_findings).into());
        }
        list.push(Finding {
            rule_id: run.rule_id.to_string(),
            severity: run.severity,
            subject,
            message: message.to_owned(),
            ..Finding::default()
        });
    }
    Ok(FindingRef {
        sink: Arc::clone(&run.findings),
        start,
        end: list.len(),
    })
}

/// The object key of any handle held in a `Dynamic`.
fn key_of(value: &Dynamic) -> Option<ObjectKey> {
    macro_rules! try_handle {
        ($($t:ty),*) => {
            $(if let Some(h) = value.read_lock::<$t>() { return Some(h.key()); })*
        };
    }
    try_handle!(
        UserH,
        GroupH,
        ClientH,
        RoleH,
        PolicyH,
        BusinessUnitH,
        ManagementUnitH
    );
    if let Some(d) = value.read_lock::<DivisionH>() {
        return Some(d.key());
    }
    if let Some(o) = value.read_lock::<OrgH>() {
        return Some(o.key());
    }
    None
}

fn evidence_text(value: &Dynamic) -> Vec<String> {
    if let Some(arr) = value.clone().try_cast::<rhai::Array>() {
        return arr.iter().map(ToString::to_string).collect();
    }
    vec![value.to_string()]
}

pub(crate) fn register(engine: &mut Engine) {
    fn reg<H: Handle>(engine: &mut Engine) {
        engine.register_fn("report", |ctx: NativeCallContext, s: H, msg: &str| {
            push(&ctx, s.key(), msg)
        });
        engine.register_fn("report", |ctx: NativeCallContext, l: List<H>, msg: &str| {
            push_many(&ctx, l.into_iter().map(|h| h.key()), msg)
        });
    }
    reg::<RoleH>(engine);
    reg::<UserH>(engine);
    reg::<GroupH>(engine);
    reg::<ClientH>(engine);
    reg::<PolicyH>(engine);
    reg::<BusinessUnitH>(engine);
    reg::<ManagementUnitH>(engine);
    engine.register_fn(
        "report",
        |ctx: NativeCallContext, d: DivisionH, msg: &str| push(&ctx, d.key(), msg),
    );
    engine.register_fn("report", |ctx: NativeCallContext, o: OrgH, msg: &str| {
        push(&ctx, o.key(), msg)
    });
    engine.register_fn(
        "report",
        |ctx: NativeCallContext, s: SettingsH, msg: &str| push(&ctx, OrgH(s.0).key(), msg),
    );
    engine.register_fn(
        "report",
        |ctx: NativeCallContext, l: SubjectList, msg: &str| push_many(&ctx, l.keys(), msg),
    );
    engine.register_fn(
        "report",
        |ctx: NativeCallContext, items: rhai::Array, msg: &str| {
            let keys = items
                .iter()
                .map(|v| {
                    key_of(v).ok_or_else(|| {
                        format!(
                            "cannot report on a `{}`: expected org objects",
                            v.type_name()
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            push_many(&ctx, keys.into_iter(), msg)
        },
    );
    engine.register_type_with_name::<FindingRef>("Finding");
    engine.register_fn("fix", |f: &mut FindingRef, text: &str| {
        f.update(|x| x.fix = Some(text.to_owned()));
        f.clone()
    });
    engine.register_fn("evidence", |f: &mut FindingRef, value: Dynamic| {
        f.update(|x| x.evidence.extend(evidence_text(&value)));
        f.clone()
    });
    // The rule could not decide this one: shown and counted as unknown, at the rule's severity.
    engine.register_fn("unknown", |f: &mut FindingRef| {
        f.update(|x| x.status = crate::engine::FindingStatus::Unknown);
        f.clone()
    });
}
