//! The JSON report, format `rolecall.check/1` (documented in the README).
//!
//! Additive changes keep the version; removing or renaming a field bumps it.

use serde_json::{json, Value};

use super::{ReportContext, Summary};
use crate::engine::{CheckReport, Severity};

/// The `format` tag of JSON reports.
pub const JSON_FORMAT: &str = "rolecall.check/1";

/// Render the report as one JSON document.
#[must_use]
pub fn render_json(report: &CheckReport, ctx: &ReportContext<'_>) -> Value {
    let s = Summary::of(report, ctx.fail_on);
    let snap = ctx.org.snapshot();
    let by_severity: serde_json::Map<String, Value> = Severity::ALL
        .iter()
        .zip(s.by_severity)
        .map(|(sev, n)| (sev.as_str().to_owned(), json!(n)))
        .collect();
    let rules: Vec<Value> = report
        .outcomes
        .iter()
        .map(|o| {
            json!({
                "id": o.meta.id,
                "name": o.meta.name,
                "severity": o.meta.severity,
                "tags": o.meta.tags,
                "source": o.meta.source,
                "summary": o.meta.summary,
                "findings": o.findings.len(),
                "elapsedMs": o.elapsed.as_secs_f64() * 1000.0,
                "status": if o.error.is_some() { "error" } else { "ok" },
            })
        })
        .collect();
    let findings: Vec<Value> = report
        .findings()
        .map(|f| {
            json!({
                "ruleId": f.rule_id,
                "severity": f.severity,
                "subject": f.subject,
                "message": f.message,
                "fix": f.fix,
                "evidence": f.evidence,
                "key": f.key(),
            })
        })
        .collect();
    let errors: Vec<Value> = report
        .errors()
        .map(|e| {
            json!({
                "ruleId": e.rule_id,
                "kind": e.kind,
                "file": e.file,
                "line": e.line,
                "column": e.column,
                "message": e.message,
                "snippet": e.snippet,
                "help": e.help,
            })
        })
        .collect();
    json!({
        "format": JSON_FORMAT,
        "source": {
            "kind": ctx.source_kind,
            "path": ctx.source_path,
            "snapshotSource": snap.source,
            "organization": snap.organization,
            "fetchedAt": snap.fetched_at,
            "ageSeconds": ctx.age().map(|a| a.as_secs()),
        },
        "summary": {
            "findings": s.findings,
            "bySeverity": by_severity,
            "rules": s.rules,
            "errors": s.errors,
            "failOn": ctx.fail_on,
            "failing": s.failing,
            "elapsedMs": report.elapsed.as_secs_f64() * 1000.0,
        },
        "rules": rules,
        "findings": findings,
        "errors": errors,
        "gaps": snap.coverage.iter().filter(|c| c.status != "ok").collect::<Vec<_>>(),
        "warnings": ctx.org.warnings(),
    })
}
