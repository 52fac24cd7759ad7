//! The rule-authoring loop: `rules new`, `rolecall test`, `rules definitions`, the built-in
//! rules' own tests.

use std::sync::Arc;

use rolecall::internals::engine::testing::{run_tests, BUILTIN_TESTS};
use rolecall::internals::engine::RuleEngine;
use rolecall::internals::watch::{classify, Change};

use crate::support::rolecall;

/// `fn test_*` functions in the built-in rules' test files, counted from their text.
fn builtin_test_count() -> usize {
    BUILTIN_TESTS
        .iter()
        .map(|(_, t)| t.lines().filter(|l| l.starts_with("fn test_")).count())
        .sum()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn builtin_rule_tests_pass() {
    let engine = Arc::new(RuleEngine::with_builtin());
    let sources: Vec<(String, String)> = BUILTIN_TESTS
        .iter()
        .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
        .collect();
    let report = run_tests(&engine, &sources, None);
    assert!(report.load_errors.is_empty(), "{:?}", report.load_errors);
    for o in &report.outcomes {
        if let Some(e) = &o.failure {
            panic!(
                "{}::{} failed: {} at {}",
                o.file,
                o.name,
                e.message,
                e.location()
            );
        }
    }
    // Every test function of every built-in test file ran.
    assert_eq!(report.outcomes.len(), builtin_test_count());
    for (rule, _) in rolecall::internals::engine::BUILTIN_RULES {
        let test = rule.replace(".rhai", ".test.rhai");
        assert!(
            BUILTIN_TESTS.iter().any(|(p, _)| *p == test),
            "{rule} has no tests beside it"
        );
    }
}

#[test]
fn new_rule_then_test_then_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = rolecall()
        .current_dir(dir.path())
        .args(["rules", "new", "client-can-grant-roles"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("(ORG001)"));
    let rule = dir
        .path()
        .join("rolecall-rules/client-can-grant-roles.rhai");
    let body = std::fs::read_to_string(&rule).unwrap();
    for section in ["## What it does", "## Why is this bad?", "## How to fix"] {
        assert!(body.contains(section), "{section}");
    }
    let out = rolecall()
        .current_dir(dir.path())
        .args(["test", "rolecall-rules"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).ends_with("2 passed, 0 failed\n"),
        "{}",
        text(&out.stdout)
    );
    let out = rolecall()
        .current_dir(dir.path())
        .args([
            "check",
            "--sample",
            "--no-config",
            "--select",
            "ORG001",
            "--rules",
            "rolecall-rules",
        ])
        .output()
        .unwrap();
    assert!(
        text(&out.stdout).contains("client `ci-deployer`: can grant roles"),
        "{}",
        text(&out.stdout)
    );
    // A second rule gets the next id; an existing file is never overwritten.
    let out = rolecall()
        .current_dir(dir.path())
        .args(["rules", "new", "other-thing"])
        .output()
        .unwrap();
    assert!(
        text(&out.stdout).contains("(ORG002)"),
        "{}",
        text(&out.stdout)
    );
    let out = rolecall()
        .current_dir(dir.path())
        .args(["rules", "new", "other-thing"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = rolecall()
        .current_dir(dir.path())
        .args(["rules", "new", "Not Kebab"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn failing_tests_show_the_assertion_values_and_span() {
    let dir = tempfile::tempdir().unwrap();
    rolecall()
        .current_dir(dir.path())
        .args(["rules", "new", "client-can-grant-roles"])
        .output()
        .unwrap();
    let test = dir
        .path()
        .join("rolecall-rules/client-can-grant-roles.test.rhai");
    let body = std::fs::read_to_string(&test).unwrap().replace(
        "assert_eq(findings.len(), 1);",
        "assert_eq(findings.len(), 3);",
    );
    std::fs::write(&test, body).unwrap();
    let out = rolecall()
        .current_dir(dir.path())
        .args(["test", "rolecall-rules"])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL  rolecall-rules/client-can-grant-roles.test.rhai::test_reports_a_client_that_can_grant_roles"), "{stdout}");
    assert!(stdout.contains("  left: 1\n   right: 3"), "{stdout}");
    assert!(
        stdout.contains("client-can-grant-roles.test.rhai:9:5"),
        "{stdout}"
    );
    assert!(stdout.contains("assert_eq(findings.len(), 3);"), "{stdout}");
    assert!(stdout.ends_with("1 passed, 1 failed\n"), "{stdout}");
    // --filter narrows; no test at all exits 2.
    let out = rolecall()
        .current_dir(dir.path())
        .args(["test", "rolecall-rules", "--filter", "ignores"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).ends_with("1 passed, 0 failed\n"));
    let out = rolecall()
        .current_dir(dir.path())
        .args(["test", "rolecall-rules", "--filter", "nothing-matches"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn definitions_describe_the_host_api() {
    let dir = tempfile::tempdir().unwrap();
    let out = rolecall()
        .current_dir(dir.path())
        .args(["rules", "definitions", "-o", "defs"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let all: String = std::fs::read_dir(dir.path().join("defs"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    for needle in [
        "fn can(_: Client",
        "fn subjects_with(_: Org",
        "fn report(",
        "fn explain(_: Client",
    ] {
        assert!(all.contains(needle), "missing `{needle}`");
    }
}

#[test]
fn watch_classifies_paths() {
    let dirs = [std::path::PathBuf::from("/r")];
    let cfg = std::path::Path::new("/c/rolecall.toml");
    let snap = std::path::Path::new("/s/org.json");
    let c = |p: &str| classify(std::path::Path::new(p), &dirs, Some(cfg), Some(snap));
    assert_eq!(c("/r/a.rhai"), Change::Rule("/r/a.rhai".into()));
    assert_eq!(
        c("/r/sub/_helpers.rhai"),
        Change::Module("/r/sub/_helpers.rhai".into())
    );
    assert_eq!(c("/r/a.test.rhai"), Change::Ignored);
    assert_eq!(c("/r/a.rhai.swp"), Change::Ignored);
    assert_eq!(c("/elsewhere/a.rhai"), Change::Ignored);
    assert_eq!(c("/c/rolecall.toml"), Change::Config);
    assert_eq!(c("/s/org.json"), Change::Snapshot);
}

/// `rolecall test rules` in the repository (a contributor editing the built-ins) tests the files
/// as they are on disk: each replaces the built-in rule of the same id, said in one note, instead
/// of 13 duplicate-id errors.
#[test]
fn testing_the_repositorys_own_rules_directory_passes() {
    let out = rolecall()
        .current_dir(crate::support::root())
        .args(["test", "rules"])
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.ends_with(&format!("{} passed, 0 failed\n", builtin_test_count())),
        "{stdout}"
    );
    assert_eq!(
        stderr.matches("replace the built-in rules").count(),
        1,
        "{stderr}"
    );
    assert!(!stdout.contains("already used"), "{stdout}");
}

/// An edited copy of a built-in is what gets tested: its changed fix fails the built-in test,
/// which proves the copy (not the built-in) ran.
#[test]
fn an_edited_copy_of_a_builtin_rule_is_tested_as_edited() {
    let dir = tempfile::tempdir().unwrap();
    let src = crate::support::root().join("rules/wfm");
    for f in [
        "wfm-client-division-gap.rhai",
        "wfm-client-division-gap.test.rhai",
    ] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    let rule = dir.path().join("wfm-client-division-gap.rhai");
    let edited = std::fs::read_to_string(&rule).unwrap().replace(
        ".fix(client.smallest_fix(perm, div))",
        ".fix(\"EDITED fix\")",
    );
    std::fs::write(&rule, edited).unwrap();
    let out = rolecall()
        .args(["test", "--no-config", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("EDITED fix"), "{stdout}");
    assert!(
        stdout.contains("FAIL  ")
            && stdout.contains("::test_reports_a_home_only_client_with_the_unit_and_fix"),
        "{stdout}"
    );
    assert!(!stdout.contains(" passed, 0 failed"), "{stdout}");
}
