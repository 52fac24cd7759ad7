//! `report(subject, message)` and the finding builder scripts chain `.fix()`/`.evidence()` on.
//!
//! Findings go to the run context carried in the call's tag, so one engine can run rules on
//! several threads at once without sharing a sink.

use std::sync::{Arc, Mutex, PoisonError};

use rhai::{Dynamic, Engine, EvalAltResult, NativeCallContext};

use super::handles::{
    BusinessUnitH, ClientH, DivisionH, GroupH, Handle, ManagementUnitH, OrgH, PolicyH, RoleH,
    SettingsH, UserH,
};
use crate::engine::finding::{Finding, ObjectKey};
use crate::engine::meta::Severity;

/// Per-call state: which rule is running and where its findings go.
#[derive(Clone)]
pub(crate) struct RunCtx {
    pub rule_id: Arc<str>,
    pub severity: Severity,
    pub findings: Arc<Mutex<Vec<Finding>>>,
}

/// What `report(...)` returns: a reference to the stored finding.
#[derive(Clone)]
pub struct FindingRef {
    sink: Arc<Mutex<Vec<Finding>>>,
    index: usize,
}

impl FindingRef {
    fn update(&self, f: impl FnOnce(&mut Finding)) {
        let mut list = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(finding) = list.get_mut(self.index) {
            f(finding);
        }
    }
}

fn ctx_of(ctx: &NativeCallContext) -> Result<RunCtx, Box<EvalAltResult>> {
    ctx.tag()
        .and_then(|t| t.clone().try_cast::<RunCtx>())
        .ok_or_else(|| "`report` can only be called while a rule runs".into())
}

fn push(ctx: &NativeCallContext, subject: ObjectKey, message: &str) -> Result<FindingRef, Box<EvalAltResult>> {
    let run = ctx_of(ctx)?;
    let mut list = run.findings.lock().unwrap_or_else(PoisonError::into_inner);
    // A runaway script could report without end; the cap keeps memory bounded.
    if list.len() >= MAX_FINDINGS {
        return Err(format!("more than {MAX_FINDINGS} findings from one rule").into());
    }
    list.push(Finding {
        rule_id: run.rule_id.to_string(),
        severity: run.severity,
        subject,
        message: message.to_owned(),
        fix: None,
        evidence: Vec::new(),
    });
    Ok(FindingRef {
        sink: Arc::clone(&run.findings),
        index: list.len() - 1,
    })
}

/// Most findings one rule may report in one run.
pub(crate) const MAX_FINDINGS: usize = 100_000;

fn evidence_text(value: &Dynamic) -> Vec<String> {
    if let Some(arr) = value.clone().try_cast::<rhai::Array>() {
        return arr.iter().map(ToString::to_string).collect();
    }
    vec![value.to_string()]
}

pub(crate) fn register(engine: &mut Engine) {
    fn reg<H: Handle>(engine: &mut Engine) {
        engine.register_fn("report", |ctx: NativeCallContext, s: H, msg: &str| push(&ctx, s.key(), msg));
    }
    reg::<RoleH>(engine);
    reg::<UserH>(engine);
    reg::<GroupH>(engine);
    reg::<ClientH>(engine);
    reg::<PolicyH>(engine);
    reg::<BusinessUnitH>(engine);
    reg::<ManagementUnitH>(engine);
    engine.register_fn("report", |ctx: NativeCallContext, d: DivisionH, msg: &str| push(&ctx, d.key(), msg));
    engine.register_fn("report", |ctx: NativeCallContext, o: OrgH, msg: &str| push(&ctx, o.key(), msg));
    engine.register_fn("report", |ctx: NativeCallContext, s: SettingsH, msg: &str| {
        push(&ctx, OrgH(s.0).key(), msg)
    });
    engine.register_type_with_name::<FindingRef>("Finding");
    engine.register_fn("fix", |f: &mut FindingRef, text: &str| {
        f.update(|x| x.fix = Some(text.to_owned()));
        f.clone()
    });
    engine.register_fn("evidence", |f: &mut FindingRef, value: Dynamic| {
        f.update(|x| x.evidence.extend(evidence_text(&value)));
        f.clone()
    });
}
