//! Running compiled rules: one call per rule under a budget, errors turned into results.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rhai::{CallFnOptions, Dynamic, Engine, EvalAltResult, Map, Scope};

use super::err::{RuleError, RuleErrorKind};
use super::finding::Finding;
use super::host::{OrgH, RunCtx, CONFIG_ERROR, NOT_RUN};
use super::load::CompiledRule;
use super::meta::RuleMeta;
use super::sandbox::{Limits, RunGuard, BUDGET_TOKEN, IMPORT_ERROR, MEMORY_TOKEN};
use crate::model::Org;

/// What one rule produced.
#[derive(Debug, Clone)]
pub struct RuleOutcome {
    /// The rule.
    pub meta: Arc<RuleMeta>,
    /// Its findings (those reported before an error, if it failed).
    pub findings: Vec<Finding>,
    /// Why it did not finish, if it did not.
    pub error: Option<RuleError>,
    /// How long it ran.
    pub elapsed: Duration,
    /// What it printed with `print`/`debug` (capped).
    pub log: Vec<String>,
    /// Datasets with a coverage gap that the rule read (through `org.policies` and the like):
    /// the finishing step reports such a rule as unknown.
    pub gaps_read: Vec<&'static str>,
    /// Why the rule did not run, when it could not: a required parameter absent (`RULE.requires`)
    /// or the rule's own `not_run(reason)`. Every format says "not run" with this reason; the
    /// rule never counts as passing.
    pub not_run: Option<String>,
}

/// Worker threads get a large stack: Rhai recursion uses the native stack, and the call-depth
/// limit must trip before the thread's stack does.
const STACK_SIZE: usize = 64 << 20;
/// Stack a rule run may need at the limits (64 call levels, each with deep expressions).
/// Measured: under 1 MiB in release builds, 4–8 MiB in debug builds; doubled for margin. A
/// caller with less left gets a fresh segment, which costs a few mappings per run.
const RED_ZONE: usize = if cfg!(debug_assertions) {
    32 << 20
} else {
    4 << 20
};

/// One rule to run: the compiled rule, the metadata findings carry (severity may be
/// overridden by the config), and its parameters.
pub(crate) struct Job<'a> {
    pub rule: &'a CompiledRule,
    pub meta: Arc<RuleMeta>,
    pub params: Dynamic,
}

pub(crate) fn run_all(
    engine: &Engine,
    rules: &[Job<'_>],
    org: &Arc<Org>,
    limits: &Limits,
    threads: usize,
) -> Vec<RuleOutcome> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<RuleOutcome>>> = Mutex::new(vec![None; rules.len()]);
    let workers = threads.clamp(1, rules.len().max(1));
    if workers == 1 {
        // Spawning a thread costs more than a small rule; running on the caller's thread (on a
        // grown stack segment when it is short of stack) gives the same guarantee.
        return rules
            .iter()
            .map(|job| {
                stacker::maybe_grow(RED_ZONE, STACK_SIZE, || run_one(engine, job, org, limits))
            })
            .collect();
    }
    std::thread::scope(|s| {
        for _ in 0..workers {
            let spawned = std::thread::Builder::new()
                .stack_size(STACK_SIZE)
                .spawn_scoped(s, || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = rules.get(i) else {
                        break;
                    };
                    let outcome = run_one(engine, job, org, limits);
                    results.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(outcome);
                });
            if spawned.is_err() {
                // Could not start a thread: the remaining workers (or this loop) still drain the queue.
                break;
            }
        }
    });
    let mut results = results.into_inner().unwrap_or_else(PoisonError::into_inner);
    // If no worker could be spawned at all, run here rather than lose the rules.
    for (i, slot) in results.iter_mut().enumerate() {
        if slot.is_none() {
            if let Some(job) = rules.get(i) {
                *slot = Some(run_one(engine, job, org, limits));
            }
        }
    }
    results.into_iter().flatten().collect()
}

pub(crate) fn run_one(
    engine: &Engine,
    job: &Job<'_>,
    org: &Arc<Org>,
    limits: &Limits,
) -> RuleOutcome {
    let rule = job.rule;
    let params = job.params.clone();
    let sink = Arc::new(Mutex::new(Vec::new()));
    let ctx = RunCtx {
        rule_id: Arc::from(rule.meta.id.as_str()),
        severity: job.meta.severity,
        findings: Arc::clone(&sink),
        max_findings: limits.max_findings,
        bytes: Arc::default(),
        max_bytes: limits.max_output_bytes,
    };
    let mut options = CallFnOptions::new();
    options.tag = Some(Dynamic::from(ctx));
    let mut scope = Scope::new();
    let started = Instant::now();
    let guard = RunGuard::start(limits);
    let org_h = OrgH(Arc::clone(org));
    super::host::take_gap_reads();
    let result = if rule.takes_params {
        engine.call_fn_with_options::<Dynamic>(
            options,
            &mut scope,
            &rule.ast,
            "check",
            (org_h, params),
        )
    } else {
        engine.call_fn_with_options::<Dynamic>(options, &mut scope, &rule.ast, "check", (org_h,))
    };
    let log = guard.take_log();
    drop(guard);
    let elapsed = started.elapsed();
    let findings = std::mem::take(&mut *sink.lock().unwrap_or_else(PoisonError::into_inner));
    // `not_run(reason)` stops the rule through an error carrying its token: not a failure.
    let (error, not_run) = match result {
        Ok(_) => (None, None),
        Err(e) => match not_run_reason(&e) {
            Some(reason) => (None, Some(reason)),
            None => (Some(classify(&e, rule, limits)), None),
        },
    };
    RuleOutcome {
        meta: Arc::clone(&job.meta),
        findings,
        error,
        elapsed,
        log,
        gaps_read: super::host::take_gap_reads(),
        not_run,
    }
}

/// The reason a rule gave `not_run(reason)`, if that is how it stopped.
fn not_run_reason(err: &EvalAltResult) -> Option<String> {
    let mut inner = err;
    while let EvalAltResult::ErrorInFunctionCall(_, _, e, _) = inner {
        inner = e;
    }
    plain(inner).strip_prefix(NOT_RUN).map(str::to_owned)
}

/// Turn a script failure into a located, explained [`RuleError`].
fn classify(err: &EvalAltResult, rule: &CompiledRule, limits: &Limits) -> RuleError {
    // Errors inside script functions are wrapped once per call level; the innermost carries the
    // position that points at the offending line.
    let mut inner = err;
    while let EvalAltResult::ErrorInFunctionCall(_, _, e, _) = inner {
        inner = e;
    }
    let pos = inner.position();
    let pos = if pos.is_none() { err.position() } else { pos };
    let (kind, message, help): (RuleErrorKind, String, Option<String>) = match inner {
        EvalAltResult::ErrorTerminated(token, _) if token.to_string() == BUDGET_TOKEN => (
            RuleErrorKind::Timeout,
            format!("stopped after its time budget of {}", humantime::format_duration(limits.budget)),
            Some("look for a loop that never ends, or use a bulk query such as `org.subjects_with(perm, division)` instead of nested loops".into()),
        ),
        EvalAltResult::ErrorTerminated(token, _) if token.to_string() == MEMORY_TOKEN => (
            RuleErrorKind::Limit,
            format!("used more than {} MiB of memory", limits.max_memory >> 20),
            Some("look for a collection that grows without end".into()),
        ),
        EvalAltResult::ErrorTooManyOperations(_) => (
            RuleErrorKind::Timeout,
            format!("stopped after {} operations", limits.max_operations),
            Some("look for a loop that never ends".into()),
        ),
        EvalAltResult::ErrorStackOverflow(_) => (
            RuleErrorKind::Limit,
            format!("function calls nested deeper than {} levels", limits.max_call_levels),
            Some("look for recursion without a base case".into()),
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) => (
            RuleErrorKind::Limit,
            format!("{} exceeded its size limit", what.to_lowercase()),
            Some(format!(
                "strings are limited to {} bytes, arrays to {} items, maps to {} entries",
                limits.max_string_size, limits.max_array_size, limits.max_map_size
            )),
        ),
        EvalAltResult::ErrorTooManyModules(_) => (RuleErrorKind::Limit, "too many modules imported".into(), None),
        EvalAltResult::ErrorInModule(path, e, _) => {
            let text = plain(e);
            match text.strip_prefix(IMPORT_ERROR) {
                Some(m) => (RuleErrorKind::Import, m.to_owned(), Some("keep helper modules next to the rule and import them by relative name".into())),
                None => (RuleErrorKind::Runtime, format!("in module `{path}`: {text}"), None),
            }
        }
        EvalAltResult::ErrorParsing(p, _) => (RuleErrorKind::Compile, p.to_string(), None),
        other => {
            let text = plain(other);
            if let Some(m) = text.strip_prefix(IMPORT_ERROR) {
                (RuleErrorKind::Import, m.to_owned(), Some("keep helper modules next to the rule and import them by relative name".into()))
            } else if let Some(m) = text.strip_prefix(CONFIG_ERROR) {
                (RuleErrorKind::Config, m.to_owned(), Some(format!("fix `params` of `{}` in the config", rule.meta.id)))
            } else if text.contains("for type '()'") {
                (RuleErrorKind::Runtime, text, Some("a lookup found nothing and returned `()`; test it with `type_of(x) == \"()\"` before use".into()))
            } else {
                (RuleErrorKind::Runtime, text, None)
            }
        }
    };
    // Rhai reports no position for some stops (a budget hit is noticed between operations);
    // the `check` function is then the most precise place we know.
    let (line, column) = match (pos.line(), pos.position()) {
        (Some(l), c) => (l, c.unwrap_or(1)),
        (None, _) => (super::load::line_of(&rule.text, "fn check").unwrap_or(0), 1),
    };
    let mut e = RuleError::new(kind, &rule.meta.source, &rule.text, line, column, message)
        .with_id(&rule.meta.id);
    if let Some(h) = help {
        e = e.with_help(h);
    }
    e
}

/// The error's message without Rhai's position suffix, and runtime errors without their prefix.
fn plain(err: &EvalAltResult) -> String {
    if let EvalAltResult::ErrorRuntime(v, _) = err {
        return v.to_string();
    }
    let text = err.to_string();
    let first = text.lines().next().unwrap_or_default();
    match first.rfind(" (line ") {
        Some(i) if first.ends_with(')') => first[..i].to_owned(),
        _ => first.to_owned(),
    }
}

/// Convert a JSON value (rule params from the config) into a Rhai value.
pub(crate) fn json_to_dynamic(v: &serde_json::Value) -> Dynamic {
    match v {
        serde_json::Value::Null => Dynamic::UNIT,
        serde_json::Value::Bool(b) => (*b).into(),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Dynamic::from)
            .or_else(|| n.as_f64().map(Dynamic::from))
            .unwrap_or(Dynamic::UNIT),
        serde_json::Value::String(s) => s.clone().into(),
        serde_json::Value::Array(a) => Dynamic::from_array(a.iter().map(json_to_dynamic).collect()),
        serde_json::Value::Object(o) => {
            let mut m = Map::new();
            for (k, v) in o {
                m.insert(k.as_str().into(), json_to_dynamic(v));
            }
            Dynamic::from_map(m)
        }
    }
}

/// Convert a Rhai value (rule params written in a test) into JSON; custom types become text.
pub(crate) fn dynamic_to_json(v: &Dynamic) -> serde_json::Value {
    if v.is_unit() {
        return serde_json::Value::Null;
    }
    if let Ok(b) = v.as_bool() {
        return b.into();
    }
    if let Ok(i) = v.as_int() {
        return i.into();
    }
    if let Ok(f) = v.as_float() {
        return serde_json::Number::from_f64(f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number);
    }
    if let Some(a) = v.read_lock::<rhai::Array>() {
        return serde_json::Value::Array(a.iter().map(dynamic_to_json).collect());
    }
    if let Some(m) = v.read_lock::<Map>() {
        return serde_json::Value::Object(
            m.iter()
                .map(|(k, x)| (k.to_string(), dynamic_to_json(x)))
                .collect(),
        );
    }
    serde_json::Value::String(v.to_string())
}
