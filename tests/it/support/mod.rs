//! Helpers shared by the integration tests.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use rolecall::internals::engine::{CheckConfig, Finding, RuleEngine};
use rolecall::internals::model::{Org, OrgSnapshot};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A test fixture path.
pub fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures").join(rel)
}

/// The `rolecall` binary, with colors off and a fixed terminal width.
pub fn rolecall() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rolecall"));
    c.env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env_remove("RUST_LOG");
    c
}

/// Run one built-in rule on a snapshot and return its findings; panics if the rule errors.
pub fn run_rule(id: &str, snap: OrgSnapshot, params: Option<serde_json::Value>) -> Vec<Finding> {
    let engine = RuleEngine::with_builtin();
    let mut config = CheckConfig {
        select: vec![id.to_owned()],
        ..CheckConfig::default()
    };
    if let Some(p) = params {
        config.params.insert(id.to_owned(), p);
    }
    let report = engine.check(&Arc::new(Org::new(snap)), &config);
    assert_eq!(report.outcomes.len(), 1, "rule {id} did not run");
    if let Some(e) = &report.outcomes[0].error {
        panic!("rule {id} failed: {e} at {}\n{}", e.location(), e.snippet);
    }
    report.outcomes[0].findings.clone()
}

/// `kind name: message` per finding, for compact assertions.
pub fn lines(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| format!("{} {}: {}", f.subject.kind, f.subject.name, f.message))
        .collect()
}

/// Replace run-dependent parts of CLI output (timings, snapshot age, temp paths).
pub fn stable_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"in \d+(\.\d+)? ms", "in [TIME]"),
        (r"\d+ (minute|hour|day)s? ago|just now", "[AGE]"),
        (r"\d+ days old", "[AGE] old"),
        (r#""elapsedMs": [0-9.e-]+"#, r#""elapsedMs": "[TIME]""#),
        (r#""ageSeconds": \d+"#, r#""ageSeconds": "[AGE]""#),
    ]
}
pub mod fake_genesys;
pub mod hostile_http;
pub mod random;
pub mod webdriver;
