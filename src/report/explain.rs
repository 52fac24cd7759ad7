//! Human rendering of an explanation: the platform's checks in order, the verdict, the fix.

use std::fmt::Write as _;

use crate::authz::{BaselineAnswer, BodyCheck, Explanation, Status, Verdict};
// Names, ids and sentences built from them go through `v` (the one sanitiser).
use crate::text::visible as v;

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Fail => "FAIL",
        Status::Unknown => "unknown",
        Status::Skipped => "skipped",
    }
}

/// Render an explanation for a terminal; `now` dates the catalog it was answered from.
#[must_use]
pub fn render_explanation(
    ex: &Explanation,
    body: Option<&BodyCheck>,
    now: std::time::SystemTime,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} calls {} ({})",
        v(&ex.subject),
        v(&ex.operation),
        v(&ex.operation_id)
    );
    if let Some(t) = &ex.target {
        let _ = writeln!(out, "target: {}", v(&t.to_string()));
    }
    match &ex.requirement {
        Some((kind, perms)) => {
            let perms: Vec<String> = perms.iter().map(|p| format!("`{}`", v(p))).collect();
            let _ = writeln!(out, "requires: {kind} of {}", perms.join(", "));
        }
        None => out.push_str("requires: no declared permission\n"),
    }
    let _ = writeln!(out, "catalog: {}", v(&ex.catalog.describe(now)));
    out.push('\n');
    if !ex.targets.is_empty() {
        out.push_str("without a target (a grant in any division counts):\n");
    }
    for (i, s) in ex.steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}. {:<12} {:<8} {}",
            i + 1,
            s.check,
            status_word(s.status),
            v(&s.detail)
        );
        if s.check == "permissions" {
            for p in &ex.permissions {
                let _ = writeln!(
                    out,
                    "   {:<8} `{}` ({}, needed {}): {}",
                    status_word(p.status),
                    v(&p.permission),
                    match p.division_aware {
                        "aware" => "division-aware",
                        "not-aware" => "not division-aware",
                        _ => "division awareness unknown",
                    },
                    p.needed,
                    v(&p.reason)
                );
            }
        }
        if s.check == "policies" {
            for p in &ex.policies {
                let _ = writeln!(out, "   - {}", v(&p.to_string()));
            }
        }
    }
    if !ex.targets.is_empty() {
        let _ = writeln!(out, "\nper target ({}):", ex.targets.len());
        for t in &ex.targets {
            let code = t
                .code
                .as_deref()
                .map(|c| format!(" 403 `{}`", v(c)))
                .unwrap_or_default();
            let why = if t.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", v(&t.reason))
            };
            let _ = writeln!(
                out,
                "  {:<8} {}{code}{why}",
                t.verdict.as_str().to_uppercase(),
                v(&t.target)
            );
        }
    }
    out.push('\n');
    let _ = writeln!(out, "verdict: {}", v(&ex.verdict_line()));
    if let Some(fix) = &ex.fix {
        if ex.fixes.len() > 1 {
            let _ = writeln!(out, "fix ({} changes, all needed):", ex.fixes.len());
            for f in &ex.fixes {
                let _ = writeln!(out, "  - {}", v(f));
            }
        } else {
            let _ = writeln!(out, "fix: {}", v(fix));
        }
        if let Some(checked) = &ex.fix_checked {
            let _ = writeln!(out, "  ({})", v(checked));
        }
    }
    if !ex.unverified.is_empty() {
        // Beside a denial these do not change it; otherwise they are why it is not "allowed".
        out.push_str(if ex.verdict == Verdict::Denied {
            "also unverified:\n"
        } else {
            "unverified:\n"
        });
        for u in &ex.unverified {
            let _ = writeln!(out, "  - {}", v(u));
        }
    }
    if let Some(b) = body {
        let _ = writeln!(
            out,
            "error body: `{}` {}",
            v(&b.code),
            if b.agrees {
                "confirms the prediction"
            } else if b.settles {
                "settles the undecided prediction"
            } else {
                "CONTRADICTS the prediction"
            }
        );
        for n in &b.notes {
            let _ = writeln!(out, "  - {}", v(n));
        }
        if let Some(c) = &b.context_id {
            let _ = writeln!(out, "  contextId for a support case: {}", v(c));
        }
    }
    if !ex.gaps.is_empty() {
        out.push_str("coverage gaps:\n");
        for g in &ex.gaps {
            let _ = writeln!(out, "  - {}", v(&g.to_string()));
        }
    }
    if !ex.assumptions.is_empty() {
        out.push_str("assumptions:\n");
        for a in &ex.assumptions {
            let _ = writeln!(out, "  - {}", v(&a.to_string()));
        }
    }
    out
}

/// The baseline comparison block.
#[must_use]
pub fn render_baseline(label: &str, ex: &Explanation, differences: &[String]) -> String {
    let mut out = format!("\nbaseline {}: {}\n", v(label), v(&ex.verdict_line()));
    for p in &ex.permissions {
        if p.status == Status::Ok {
            let _ = writeln!(out, "  `{}`: {}", v(&p.permission), v(&p.reason));
        }
    }
    if ex.verdict != Verdict::Allowed {
        if let Some(fix) = &ex.fix {
            let _ = writeln!(out, "  fix there: {}", v(fix));
        }
    }
    if differences.is_empty() {
        out.push_str(
            "differences: none found in grants, roles or policies for these permissions\n",
        );
    } else {
        out.push_str("differences:\n");
        for d in differences {
            let _ = writeln!(out, "  - {}", v(d));
        }
    }
    out
}

/// The `rolecall.explain/1` document: the explanation, the error body's reading, the baseline's.
#[must_use]
pub fn explanation_json(
    ex: &Explanation,
    snapshot: Option<&str>,
    organization: &str,
    body: Option<&BodyCheck>,
    baseline: Option<(&str, &str, &BaselineAnswer)>,
) -> serde_json::Value {
    serde_json::json!({
        "format": "rolecall.explain/1",
        "snapshot": snapshot,
        "organization": organization,
        "explanation": ex,
        "errorBody": body,
        "baseline": baseline.map(|(file, name, answer)| serde_json::json!({
            "snapshot": file, "organization": name,
            "explanation": answer.explanation, "differences": answer.differences,
        })),
    })
}
