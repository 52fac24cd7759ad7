//! SARIF 2.1.0 for code-scanning tools (GitHub uploads it and shows each finding on its rule).
//!
//! Each result is anchored to a file in the repository: the rule file for user rules, the
//! snapshot for built-in rules (the finding is about the org data it holds). The Genesys object
//! goes in `logicalLocations`; `partialFingerprints` carry the finding's stable identity.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::ReportContext;
use crate::engine::{CheckReport, RuleMeta, Severity};

/// GitHub's scale: over 9 critical, 7–8.9 high, 4–6.9 medium, under 4 low.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// A repository-relative URI for a path (forward slashes, no leading `./`).
pub(super) fn uri(path: &str) -> String {
    let cwd = std::env::current_dir().ok();
    let p = std::path::Path::new(path);
    let rel = cwd
        .as_deref()
        .and_then(|c| p.strip_prefix(c).ok())
        .unwrap_or(p);
    rel.to_string_lossy()
        .replace('\\', "/")
        .trim_start_matches("./")
        .to_owned()
}

fn rule_descriptor(m: &RuleMeta) -> Value {
    let full = m
        .section("What it does")
        .unwrap_or_else(|| m.summary.clone());
    json!({
        "id": m.id,
        "name": m.name,
        "shortDescription": { "text": m.summary },
        "fullDescription": { "text": full },
        "help": {
            "text": format!("{}\n\nWhy is this bad?\n{}\n\nHow to fix\n{}",
                m.summary,
                m.section("Why is this bad?").unwrap_or_default(),
                m.section("How to fix").unwrap_or_default()),
            "markdown": m.docs,
        },
        "defaultConfiguration": { "level": level(m.severity) },
        "properties": {
            "security-severity": security_severity(m.severity),
            "tags": m.tags,
            "precision": "high",
        },
    })
}

/// Where a rule's findings are anchored.
pub(super) fn anchor(m: &RuleMeta, ctx: &ReportContext<'_>) -> (String, usize) {
    match m.source.strip_prefix("builtin:") {
        None => (uri(&m.source), m.line.max(1)),
        Some(builtin) => match &ctx.source_path {
            Some(snapshot) => (uri(snapshot), 1),
            // The built-in sample has no file of its own; the rule's file in the rolecall
            // repository is the closest real place.
            None => (builtin.to_owned(), m.line.max(1)),
        },
    }
}

/// Render the report as a SARIF 2.1.0 log.
#[must_use]
pub fn render_sarif(report: &CheckReport, ctx: &ReportContext<'_>) -> Value {
    let rules: Vec<Value> = report
        .outcomes
        .iter()
        .map(|o| rule_descriptor(&o.meta))
        .collect();
    let index: HashMap<&str, usize> = report
        .outcomes
        .iter()
        .enumerate()
        .map(|(i, o)| (o.meta.id.as_str(), i))
        .collect();
    let mut results = Vec::new();
    for o in &report.outcomes {
        let (file, line) = anchor(&o.meta, ctx);
        for f in &o.findings {
            let mut text = format!("{} `{}`: {}", f.subject.kind, f.subject.name, f.message);
            if let Some(fix) = &f.fix {
                text.push_str(&format!("\nFix: {fix}"));
            }
            let mut result = json!({
                "ruleId": f.rule_id,
                "ruleIndex": index.get(f.rule_id.as_str()),
                "level": level(f.severity),
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": file },
                        "region": { "startLine": line },
                    },
                    "logicalLocations": [{
                        "name": f.subject.name,
                        "fullyQualifiedName": format!("{}/{}", f.subject.kind, f.subject.id),
                        "kind": f.subject.kind,
                    }],
                }],
                "partialFingerprints": { "rolecallFinding/v1": f.fingerprint() },
                "properties": { "fix": f.fix, "evidence": f.evidence, "subject": f.subject },
            });
            if let Some(w) = &f.waiver {
                if !w.expired {
                    result["suppressions"] = json!([{ "kind": "external", "justification": format!("{} (until {})", w.reason, w.expires) }]);
                }
            }
            if let Some(new) = f.new {
                result["baselineState"] = json!(if new { "new" } else { "unchanged" });
            }
            if f.is_unknown() {
                // SARIF's "review": a person must look; the rule could not decide.
                result["kind"] = json!("review");
                result["properties"]["status"] = json!("unknown");
            }
            results.push(result);
        }
    }
    let notifications: Vec<Value> = report
        .errors()
        .map(|e| {
            json!({
                "level": "error",
                "message": { "text": format!("{}: {}", e.kind, e.message) },
                "descriptor": { "id": e.rule_id.clone().unwrap_or_else(|| "load".to_owned()) },
                "locations": [{ "physicalLocation": {
                    "artifactLocation": { "uri": uri(e.file.strip_prefix("builtin:").unwrap_or(&e.file)) },
                    "region": { "startLine": e.line.max(1), "startColumn": e.column.max(1) },
                }}],
            })
        })
        .chain(report.outcomes.iter().filter_map(|o| {
            let reason = o.not_run.as_ref()?;
            // A rule that did not run has no results; without this notification code scanning
            // would show it as clean.
            Some(json!({
                "level": "warning",
                "message": { "text": format!("{} {} not run: {reason}", o.meta.id, o.meta.name) },
                "descriptor": { "id": "rolecall/not-run" },
                "associatedRule": { "id": o.meta.id, "index": index.get(o.meta.id.as_str()) },
            }))
        }))
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "rolecall",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/rolecall/rolecall",
                "rules": rules,
            }},
            "automationDetails": { "id": format!("rolecall/{}/", ctx.org.snapshot().organization.name) },
            "invocations": [{
                "executionSuccessful": report.errors().next().is_none(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    })
}
