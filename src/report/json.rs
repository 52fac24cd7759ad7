//! The JSON report, format `rolecall.check/1` (documented in the README).
//!
//! Serialized straight from borrowed views of the report, never through a `serde_json::Value`
//! tree, so a report with many findings costs little more than its text. Additive changes keep
//! the version; removing or renaming a field bumps it.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use super::{ReportContext, Summary};
use crate::engine::{CheckReport, Finding, RuleError, Severity};
use crate::model::{Coverage, Organization, SnapshotSource, Verification};

/// The `format` tag of JSON reports.
pub const JSON_FORMAT: &str = crate::engine::CHECK_FORMAT;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    format: &'static str,
    source: JsonSource<'a>,
    summary: JsonSummary,
    rules: Vec<JsonRule<'a>>,
    findings: Vec<JsonFinding<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resolved: Vec<JsonFinding<'a>>,
    errors: Vec<&'a RuleError>,
    gaps: Vec<&'a Coverage>,
    warnings: &'a [String],
    notes: &'a [String],
    /// The snapshot's stored `verify` result, `null` when it was never verified.
    verification: Option<&'a Verification>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonSource<'a> {
    kind: &'a str,
    path: Option<&'a str>,
    snapshot_source: &'a SnapshotSource,
    organization: &'a Organization,
    fetched_at: Option<&'a str>,
    age_seconds: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonSummary {
    findings: usize,
    by_severity: BTreeMap<&'static str, usize>,
    rules: usize,
    not_run: usize,
    errors: usize,
    fail_on: Option<Severity>,
    failing: usize,
    waived: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    new: Option<usize>,
    unknown: usize,
    elapsed_ms: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonRule<'a> {
    id: &'a str,
    name: &'a str,
    severity: Severity,
    tags: &'a [String],
    source: &'a str,
    summary: &'a str,
    findings: usize,
    elapsed_ms: f64,
    /// `ok`, `error`, or `not-run` (with `reason`): a rule that did not run never reads as clean.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    key: String,
    fingerprint: String,
}

/// Write the report as one JSON document (pretty-printed) to `out`.
///
/// # Errors
/// Whatever writing to `out` fails with.
pub fn write_json(
    report: &CheckReport,
    ctx: &ReportContext<'_>,
    out: impl Write,
) -> std::io::Result<()> {
    let s = Summary::of(report, ctx);
    let snap = ctx.org.snapshot();
    let doc = JsonReport {
        format: JSON_FORMAT,
        source: JsonSource {
            kind: &ctx.source_kind,
            path: ctx.source_path.as_deref(),
            snapshot_source: &snap.source,
            organization: &snap.organization,
            fetched_at: snap.fetched_at.as_deref(),
            age_seconds: ctx.age().map(|a| a.as_secs()),
        },
        summary: JsonSummary {
            findings: s.findings,
            by_severity: Severity::ALL
                .iter()
                .map(|v| v.as_str())
                .zip(s.by_severity)
                .collect(),
            rules: s.rules,
            not_run: s.not_run,
            errors: s.errors,
            fail_on: ctx.fail_on,
            failing: s.failing,
            waived: s.waived,
            new: s.new,
            unknown: s.unknown,
            elapsed_ms: report.elapsed.as_secs_f64() * 1000.0,
        },
        rules: report
            .outcomes
            .iter()
            .map(|o| JsonRule {
                id: &o.meta.id,
                name: &o.meta.name,
                severity: o.meta.severity,
                tags: &o.meta.tags,
                source: &o.meta.source,
                summary: &o.meta.summary,
                findings: o.findings.len(),
                elapsed_ms: o.elapsed.as_secs_f64() * 1000.0,
                status: if o.error.is_some() {
                    "error"
                } else if o.not_run.is_some() {
                    "not-run"
                } else {
                    "ok"
                },
                reason: o.not_run.as_deref(),
            })
            .collect(),
        findings: report
            .findings()
            .map(|f| JsonFinding {
                finding: f,
                key: f.key(),
                fingerprint: f.fingerprint(),
            })
            .collect(),
        resolved: report
            .resolved
            .iter()
            .map(|f| JsonFinding {
                finding: f,
                key: f.key(),
                fingerprint: f.fingerprint(),
            })
            .collect(),
        errors: report.errors().collect(),
        gaps: snap.coverage.iter().filter(|c| c.status != "ok").collect(),
        warnings: ctx.org.warnings(),
        notes: &report.notes,
        verification: snap.verification.as_ref(),
    };
    let mut out = std::io::BufWriter::new(out);
    serde_json::to_writer_pretty(&mut out, &doc)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// The report as a JSON string.
#[must_use]
pub fn render_json(report: &CheckReport, ctx: &ReportContext<'_>) -> String {
    let mut buf = Vec::new();
    // Writing to a Vec cannot fail, and every value serializes (no maps with non-string keys).
    let _ = write_json(report, ctx, &mut buf);
    String::from_utf8(buf).unwrap_or_default()
}
