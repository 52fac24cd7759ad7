//! Rule tests: `*.test.rhai` files whose `fn test_*()` functions build small orgs with a fixture
//! builder, run a rule against them and assert on its findings.
//!
//! Tests run in the same sandbox as rules (with the same limits and budget), plus the fixture
//! builder, `run_rule` and assertion functions.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::{Array, CallFnOptions, Dynamic, Engine, EvalAltResult, Map, Scope};

use super::err::{RuleError, RuleErrorKind};
use super::sandbox::{self, RunGuard};
use super::{CheckConfig, Finding, RuleEngine};
use crate::model::{Org, OrgBuilder};

/// The built-in rules' tests, compiled in beside the rules.
pub const BUILTIN_TESTS: &[(&str, &str)] = super::builtin::BUILTIN_TESTS;

/// One test function's result.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// The test file.
    pub file: String,
    /// The function name.
    pub name: String,
    /// Why it failed, with a location; `None` when it passed.
    pub failure: Option<RuleError>,
    /// How long it took.
    pub elapsed: Duration,
}

/// The results of a test run.
#[derive(Debug, Clone, Default)]
pub struct TestReport {
    /// Each test, in file then definition order.
    pub outcomes: Vec<TestOutcome>,
    /// Test files that did not compile.
    pub load_errors: Vec<RuleError>,
}

impl TestReport {
    /// How many tests passed.
    #[must_use]
    pub fn passed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.failure.is_none()).count()
    }
    /// How many tests failed.
    #[must_use]
    pub fn failed(&self) -> usize {
        self.outcomes.len() - self.passed()
    }
}

/// The Rhai side of [`OrgBuilder`]: `fixture("name").division("Home").role(…)…`.
#[derive(Clone)]
struct Fixture(OrgBuilder);

fn strs(a: &Array) -> Vec<String> {
    a.iter().map(ToString::to_string).collect()
}

fn finding_map(f: &Finding) -> Map {
    let mut m = Map::new();
    m.insert("rule".into(), f.rule_id.clone().into());
    m.insert("severity".into(), f.severity.as_str().into());
    m.insert("kind".into(), f.subject.kind.into());
    m.insert("subject".into(), f.subject.name.clone().into());
    m.insert("id".into(), f.subject.id.clone().into());
    m.insert("message".into(), f.message.clone().into());
    // `found`, or `unknown` for a finding the rule could not decide (`.unknown()`).
    m.insert(
        "status".into(),
        if f.is_unknown() { "unknown" } else { "found" }.into(),
    );
    m.insert(
        "fix".into(),
        f.fix.clone().map_or(Dynamic::UNIT, Dynamic::from),
    );
    m.insert(
        "evidence".into(),
        Dynamic::from_array(
            f.evidence
                .iter()
                .map(|e| Dynamic::from(e.clone()))
                .collect(),
        ),
    );
    m
}

thread_local! {
    /// The first failure of the running test, kept beside the error it throws: a test that
    /// catches the error (`try { assert_eq(1, 2) } catch {}`) still fails.
    static FAILED: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

fn fail(message: String) -> Box<EvalAltResult> {
    FAILED.with_borrow_mut(|f| {
        f.get_or_insert_with(|| message.clone());
    });
    message.into()
}

macro_rules! chain {
    ($engine:ident, $name:literal, |$b:ident $(, $arg:ident : $t:ty)*| $body:expr) => {
        $engine.register_fn($name, |f: &mut Fixture $(, $arg: $t)*| -> Fixture {
            let $b = f.0.clone();
            f.0 = $body;
            f.clone()
        });
    };
}

fn register_fixture(engine: &mut Engine) {
    engine.register_type_with_name::<Fixture>("Fixture");
    engine.register_fn("fixture", |name: &str| Fixture(OrgBuilder::new(name)));
    chain!(engine, "division", |b, name: &str| b.division(name));
    chain!(engine, "role", |b, name: &str, perms: Array| {
        let perms = strs(&perms);
        b.role(name, &perms.iter().map(String::as_str).collect::<Vec<_>>())
    });
    chain!(engine, "user", |b, name: &str, email: &str, state: &str| b
        .user(name, email, state));
    chain!(
        engine,
        "group",
        |b, name: &str, roles_enabled: bool, members: Array| {
            let m = strs(&members);
            b.group(
                name,
                roles_enabled,
                &m.iter().map(String::as_str).collect::<Vec<_>>(),
            )
        }
    );
    chain!(
        engine,
        "client",
        |b, name: &str, grant_type: &str, grants: Array| {
            let pairs: Vec<(String, String)> = grants
                .iter()
                .filter_map(|g| g.clone().try_cast::<Array>())
                .map(|g| {
                    (
                        g.first().map(ToString::to_string).unwrap_or_default(),
                        g.get(1).map(ToString::to_string).unwrap_or_default(),
                    )
                })
                .collect();
            b.client(
                name,
                grant_type,
                &pairs
                    .iter()
                    .map(|(r, d)| (r.as_str(), d.as_str()))
                    .collect::<Vec<_>>(),
            )
        }
    );
    chain!(engine, "client_state", |b, state: &str| b
        .client_state(state, None));
    chain!(
        engine,
        "client_state",
        |b, state: &str, date_to_delete: &str| b.client_state(state, Some(date_to_delete))
    );
    chain!(engine, "client_scopes", |b, scopes: Array| {
        let s = strs(&scopes);
        b.client_scopes(&s.iter().map(String::as_str).collect::<Vec<_>>())
    });
    chain!(
        engine,
        "grant_user",
        |b, email: &str, role: &str, division: &str| b.grant_user(email, role, division)
    );
    chain!(
        engine,
        "grant_group",
        |b, group: &str, role: &str, division: &str| b.grant_group(group, role, division)
    );
    chain!(
        engine,
        "policy",
        |b, name: &str, target: &str, effect: &str, subject_type: &str, apply_to_clients: bool| {
            b.policy(name, target, effect, subject_type, apply_to_clients)
        }
    );
    chain!(engine, "policy_subject", |b, name: &str| b
        .policy_subject(name));
    chain!(engine, "policy_condition", |b, condition: Dynamic| {
        // Any Rhai value (a map, or a text) stands for the condition tree.
        let value = serde_json::to_value(&condition)
            .unwrap_or_else(|_| serde_json::Value::String(condition.to_string()));
        b.policy_condition(value)
    });
    chain!(engine, "policy_inactive", |b| b.policy_inactive());
    chain!(engine, "default_role", |b| b.default_role());
    chain!(engine, "settings", |b, mfa: bool, ip_allowlist: Array| {
        let s = strs(&ip_allowlist);
        b.settings(mfa, &s.iter().map(String::as_str).collect::<Vec<_>>())
    });
    chain!(engine, "business_unit", |b, name: &str, division: &str| b
        .business_unit(name, division));
    chain!(
        engine,
        "management_unit",
        |b, name: &str, bu: &str, division: &str| b.management_unit(name, bu, division)
    );
    chain!(engine, "mu_agents", |b, emails: Array| {
        let e = strs(&emails);
        b.mu_agents(&e.iter().map(String::as_str).collect::<Vec<_>>())
    });
    chain!(
        engine,
        "catalog",
        |b, permission: &str, division_aware: bool| b.catalog(permission, division_aware)
    );
    chain!(
        engine,
        "operation",
        |b, method: &str, path: &str, kind: &str, perms: Array, scopes: Array| {
            let (p, s) = (strs(&perms), strs(&scopes));
            b.operation(
                method,
                path,
                kind,
                &p.iter().map(String::as_str).collect::<Vec<_>>(),
                &s.iter().map(String::as_str).collect::<Vec<_>>(),
            )
        }
    );
    chain!(engine, "gap", |b, endpoint: &str, dataset: &str| b
        .gap(endpoint, dataset));
    chain!(engine, "usage_read", |b| b.usage_read());
    chain!(
        engine,
        "usage_call",
        |b, subject: &str, call: &str, date: &str, requests: i64, failing: i64| b.usage_call(
            subject,
            call,
            date,
            u64::try_from(requests).unwrap_or(0),
            u64::try_from(failing).unwrap_or(0)
        )
    );
    chain!(engine, "last_token", |b, date: &str| b
        .last_token(Some(date)));
    chain!(engine, "never_token", |b| b.last_token(None));
}

/// The names of every function registered natively in `engine` (the test API and the rule API).
fn native_names(engine: &Engine) -> std::collections::HashSet<String> {
    engine
        .gen_fn_signatures(false)
        .into_iter()
        .filter_map(|sig| sig.split('(').next().map(|n| n.trim().to_owned()))
        .map(|n| n.rsplit(' ').next().unwrap_or_default().to_owned())
        .collect()
}

/// The first script function of `ast` whose name is a native function's.
fn shadowing(ast: &rhai::AST, native: &std::collections::HashSet<String>) -> Option<String> {
    ast.iter_functions()
        .find(|f| native.contains(f.name))
        .map(|f| f.name.to_owned())
}

fn register_asserts(engine: &mut Engine) {
    engine.register_fn("assert", |c: bool| {
        if c {
            Ok(())
        } else {
            Err(fail("assertion failed".into()))
        }
    });
    engine.register_fn("assert", |c: bool, msg: &str| {
        if c {
            Ok(())
        } else {
            Err(fail(format!("assertion failed: {msg}")))
        }
    });
    let eq =
        |a: &Dynamic, b: &Dynamic| a.type_name() == b.type_name() && a.to_string() == b.to_string();
    engine.register_fn("assert_eq", move |a: Dynamic, b: Dynamic| {
        if eq(&a, &b) {
            Ok(())
        } else {
            Err(fail(format!(
                "assertion failed: `left == right`\n  left: {a:?}\n right: {b:?}"
            )))
        }
    });
    engine.register_fn("assert_ne", move |a: Dynamic, b: Dynamic| {
        if eq(&a, &b) {
            Err(fail(format!(
                "assertion failed: `left != right`\n  both: {a:?}"
            )))
        } else {
            Ok(())
        }
    });
    engine.register_fn("assert_contains", |hay: Dynamic, needle: Dynamic| {
        let found = match hay.clone().try_cast::<Array>() {
            Some(a) => a.iter().any(|x| x.to_string() == needle.to_string()),
            None => hay.to_string().contains(&needle.to_string()),
        };
        if found {
            Ok(())
        } else {
            Err(fail(format!(
                "assertion failed: `{needle}` not found in\n  {hay:?}"
            )))
        }
    });
}

fn register_run_rule(engine: &mut Engine, rules: &Arc<RuleEngine>) {
    let run = |rules: &RuleEngine,
               id: &str,
               f: &Fixture,
               params: Option<serde_json::Value>|
     -> Result<Array, Box<EvalAltResult>> {
        if !rules.rules().any(|m| m.id.eq_ignore_ascii_case(id)) {
            return Err(fail(format!("no rule `{id}` is loaded")));
        }
        let mut config = CheckConfig {
            select: vec![id.to_owned()],
            threads: 1,
            ..CheckConfig::default()
        };
        if let Some(p) = params {
            config.params.insert(id.to_ascii_uppercase(), p);
        }
        let org = Arc::new(Org::new(f.0.clone().build()));
        let report = rules.check(&org, &config);
        let Some(outcome) = report
            .outcomes
            .iter()
            .find(|o| o.meta.id.eq_ignore_ascii_case(id))
        else {
            return Err(fail(format!("rule `{id}` did not run")));
        };
        if let Some(e) = &outcome.error {
            return Err(fail(format!(
                "rule `{id}` failed: {} at {}",
                e.message,
                e.location()
            )));
        }
        // A test of a rule that did not run would pass on an empty list: it fails instead.
        if let Some(reason) = &outcome.not_run {
            return Err(fail(format!("rule `{id}` did not run: {reason}")));
        }
        Ok(outcome
            .findings
            .iter()
            .map(|f| Dynamic::from_map(finding_map(f)))
            .collect())
    };
    let r = Arc::clone(rules);
    engine.register_fn("run_rule", move |id: &str, f: Fixture| {
        run(&r, id, &f, None)
    });
    let r = Arc::clone(rules);
    engine.register_fn("run_rule", move |id: &str, f: Fixture, params: Map| {
        run(
            &r,
            id,
            &f,
            Some(super::run::dynamic_to_json(&Dynamic::from_map(params))),
        )
    });
}

/// Every `*.test.rhai` under the directories, sorted.
#[must_use]
pub fn find_test_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    super::files_of(dirs, Some(super::RhaiFile::Test))
}

/// Run test sources `(name, text)` against the rules of `rules`; `filter` keeps tests whose
/// `file::name` contains it.
#[must_use]
pub fn run_tests(
    rules: &Arc<RuleEngine>,
    sources: &[(String, String)],
    filter: Option<&str>,
) -> TestReport {
    let limits = *rules.limits();
    let mut engine = sandbox::build(&limits);
    register_fixture(&mut engine);
    register_asserts(&mut engine);
    register_run_rule(&mut engine, rules);
    let mut report = TestReport::default();
    let native = native_names(&engine);
    for (name, text) in sources {
        let src: Arc<str> = Arc::from(text.as_str());
        let mut ast = match engine.compile(text) {
            Ok(ast) if shadowing(&ast, &native).is_some() => {
                // A script function of the same name wins over the native one in Rhai: a test
                // file defining `fn assert_eq(a, b) {}` would make every assertion pass.
                let f = shadowing(&ast, &native).unwrap_or_default();
                let line = text
                    .lines()
                    .position(|l| l.trim_start().starts_with(&format!("fn {f}")))
                    .map_or(0, |i| i + 1);
                report.load_errors.push(RuleError::new(
                    RuleErrorKind::Compile,
                    name,
                    &src,
                    line,
                    1,
                    format!(
                        "`fn {f}` redefines a function of the test API (a test file may not \
                         replace assertions or fixtures); rename it"
                    ),
                ));
                continue;
            }
            Ok(ast) => ast,
            Err(e) => {
                let pos = e.position();
                report.load_errors.push(RuleError::new(
                    RuleErrorKind::Compile,
                    name,
                    &src,
                    pos.line().unwrap_or(0),
                    pos.position().unwrap_or(0),
                    e.err_type().to_string(),
                ));
                continue;
            }
        };
        ast.set_source(name.as_str());
        let tests: Vec<String> = ast
            .iter_functions()
            .filter(|f| f.name.starts_with("test_") && f.params.is_empty())
            .map(|f| f.name.to_owned())
            .collect();
        for test in tests {
            if filter.is_some_and(|f| !format!("{name}::{test}").contains(f)) {
                continue;
            }
            let started = Instant::now();
            FAILED.with_borrow_mut(|f| *f = None);
            let result = stacker::maybe_grow(32 << 20, 64 << 20, || {
                let _guard = RunGuard::start(&limits);
                let mut scope = Scope::new();
                engine.call_fn_with_options::<Dynamic>(
                    CallFnOptions::new(),
                    &mut scope,
                    &ast,
                    &test,
                    (),
                )
            });
            // An assertion that failed fails the test, even when the script caught its error.
            let caught = FAILED.with_borrow_mut(Option::take);
            let result = match (result, caught) {
                (Ok(_), Some(m)) => Err(Box::new(EvalAltResult::ErrorRuntime(
                    format!("{m} (the test caught the failure; a failed assertion fails the test)")
                        .into(),
                    rhai::Position::NONE,
                ))),
                (r, _) => r,
            };
            let failure = result.err().map(|e| {
                let mut inner: &EvalAltResult = &e;
                while let EvalAltResult::ErrorInFunctionCall(_, _, x, _) = inner {
                    inner = x;
                }
                let pos = if inner.position().is_none() {
                    e.position()
                } else {
                    inner.position()
                };
                let message = match inner {
                    EvalAltResult::ErrorRuntime(v, _) => v.to_string(),
                    EvalAltResult::ErrorTerminated(..) => format!(
                        "stopped after its time budget of {}",
                        humantime::format_duration(limits.budget)
                    ),
                    other => other.to_string(),
                };
                RuleError::new(
                    RuleErrorKind::Runtime,
                    name,
                    &src,
                    pos.line().unwrap_or(0),
                    pos.position().unwrap_or(0),
                    message,
                )
            });
            report.outcomes.push(TestOutcome {
                file: name.clone(),
                name: test,
                failure,
                elapsed: started.elapsed(),
            });
        }
    }
    report
}
