//! `report(subject, message)` and the finding builder scripts chain `.fix()`/`.evidence()` on.
//!
//! Findings go to the run context carried in the call's tag, so one engine can run rules on
//! several threads at once without sharing a sink.

use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// Bytes of text (messages, fixes, evidence) the run has reported so far, and the most it may.
    pub bytes: Arc<AtomicUsize>,
    pub max_bytes: usize,
}

/// Longest message, fix or evidence item kept, in bytes; the rest is cut with a visible mark.
/// A finding is read by a person: a megabyte message is a bug or an attack, never information.
pub(crate) const MAX_TEXT_BYTES: usize = 4096;
/// Most evidence items kept per finding.
pub(crate) const MAX_EVIDENCE: usize = 200;

/// `text` cut to [`MAX_TEXT_BYTES`] by the one clipping rule (`text::clip`).
fn capped(text: &str) -> String {
    crate::text::clip(text, MAX_TEXT_BYTES).into_owned()
}

/// Count `n` more bytes of reported text against the run's cap.
fn charge(bytes: &AtomicUsize, max: usize, n: usize) -> Result<(), Box<EvalAltResult>> {
    let total = bytes.fetch_add(n, Ordering::Relaxed).saturating_add(n);
    if total > max {
        return Err(format!(
            "reported more than {} MiB of findings text (messages, fixes, evidence) in one run",
            max >> 20
        )
        .into());
    }
    Ok(())
}

/// What `report(...)` returns: the stored finding(s), for chaining `.fix()` and `.evidence()`.
/// A bulk `report(list, message)` returns all the findings it made, and a chained call applies
/// to each.
#[derive(Clone)]
pub struct FindingRef {
    sink: Arc<Mutex<Vec<Finding>>>,
    start: usize,
    end: usize,
    bytes: Arc<AtomicUsize>,
    max_bytes: usize,
}

impl FindingRef {
    /// Apply `f` to each finding; `f` returns the bytes of text it added, charged to the run.
    fn update(&self, mut f: impl FnMut(&mut Finding) -> usize) -> Result<Self, Box<EvalAltResult>> {
        let mut list = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(findings) = list.get_mut(self.start..self.end) {
            for x in findings {
                charge(&self.bytes, self.max_bytes, f(x))?;
            }
        }
        Ok(self.clone())
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
    crate::engine::sandbox::check_budget()?;
    let message = capped(message);
    let mut list = run.findings.lock().unwrap_or_else(PoisonError::into_inner);
    let start = list.len();
    for subject in subjects {
        charge(
            &run.bytes,
            run.max_bytes,
            message.len() + subject.name.len(),
        )?;
        // A runaway script could report without end; the cap keeps memory bounded.
        if list.len() >= run.max_findings {
            return Err(format!("more than {} findings from one rule", run.max_findings).into());
        }
        list.push(Finding {
            rule_id: run.rule_id.to_string(),
            severity: run.severity,
            subject,
            message: message.clone(),
            ..Finding::default()
        });
    }
    Ok(FindingRef {
        sink: Arc::clone(&run.findings),
        start,
        end: list.len(),
        bytes: Arc::clone(&run.bytes),
        max_bytes: run.max_bytes,
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

/// Evidence items from a value or a list, each capped, at most [`MAX_EVIDENCE`] of them (the
/// rest counted in a last item).
fn evidence_text(value: &Dynamic) -> Vec<String> {
    let Some(arr) = value.read_lock::<rhai::Array>() else {
        return vec![capped(&value.to_string())];
    };
    let mut out: Vec<String> = arr
        .iter()
        .take(MAX_EVIDENCE)
        .map(|v| capped(&v.to_string()))
        .collect();
    if arr.len() > MAX_EVIDENCE {
        out.push(format!("… and {} more", arr.len() - MAX_EVIDENCE));
    }
    out
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
        let text = capped(text);
        f.update(|x| {
            x.fix = Some(text.clone());
            text.len()
        })
    });
    engine.register_fn("evidence", |f: &mut FindingRef, value: Dynamic| {
        let items = evidence_text(&value);
        let n: usize = items.iter().map(String::len).sum();
        f.update(|x| {
            // Repeated `.evidence(…)` calls add up to the same cap as one call.
            let room = MAX_EVIDENCE.saturating_sub(x.evidence.len());
            x.evidence.extend(items.iter().take(room).cloned());
            n
        })
    });
    // The rule could not decide this one: shown and counted as unknown, at the rule's severity.
    engine.register_fn("unknown", |f: &mut FindingRef| {
        f.update(|x| {
            x.status = crate::engine::FindingStatus::Unknown;
            0
        })
    });
}
