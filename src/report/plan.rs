//! Rendering of planned-change answers: `plan-access` (may the deploying client apply each
//! resource change) and the access gates of `diff --plan` (`--deny-new-access`,
//! `--no-new-access`).

use std::fmt::Write as _;

use crate::authz::Verdict;
use crate::change::{AccessGain, ResourceAccess, UnknownChange};
// Addresses, names and reasons come from plan files and org data: all through `v`.
use crate::text::visible as v;

/// Most gains listed per gate in the human output; JSON has them all.
const MAX_GAINS: usize = 50;

/// Render `plan-access` for a terminal: one line per resource address (ok, or what is missing
/// and the fix), then a summary line.
#[must_use]
pub fn render_plan_access(results: &[ResourceAccess], deployer: &str, notes: &[String]) -> String {
    let mut out = format!("can {} apply the change?\n\n", v(deployer));
    for r in results {
        let word = match r.verdict {
            Verdict::Allowed => "ok",
            v => v.as_str(),
        };
        let _ = writeln!(out, "{word:<14} {}", v(&r.address));
        for c in r.checks.iter().filter(|c| c.status != "allowed") {
            let _ = writeln!(
                out,
                "    {}: {} — {}: {}",
                v(&c.operation),
                v(&c.check),
                c.status,
                v(&c.reason)
            );
            if let Some(fix) = &c.fix {
                let _ = writeln!(out, "      fix: {}", v(fix));
            }
        }
    }
    for n in notes {
        let _ = writeln!(out, "\nnote: {}", v(n));
    }
    let ok = results
        .iter()
        .filter(|r| r.verdict == Verdict::Allowed)
        .count();
    let _ = writeln!(
        out,
        "\n{ok} of {} resource change(s) ok for {}",
        results.len(),
        v(deployer)
    );
    out
}

/// The `rolecall.plan-access/1` document.
#[must_use]
pub fn plan_access_json(
    results: &[ResourceAccess],
    deployer: &str,
    notes: &[String],
) -> serde_json::Value {
    serde_json::json!({
        "format": "rolecall.plan-access/1",
        "deployer": deployer,
        "resources": results,
        "notes": notes,
    })
}

/// One access gate of `diff --plan` and what broke it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GateResult {
    /// The gate as given: `--deny-new-access PERM[@DIVISION]` or `--no-new-access`.
    pub gate: String,
    /// Subjects that gain access it forbids (for `--no-new-access`, one entry per subject
    /// with its gained access as the permission).
    pub gains: Vec<AccessGain>,
    /// Resource changes rolecall could not read completely (a field marked sensitive or
    /// unknown until apply, an unmodelled type that can change access), each naming the address
    /// and the field: the gate cannot pass while there is one, whatever it would have granted.
    pub unknown: Vec<UnknownChange>,
}

impl GateResult {
    /// Whether the gate passed: no forbidden gain, and nothing unread that could be one.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.gains.is_empty() && self.unknown.is_empty()
    }
}

/// Render the gates: passed, or each gain with the addresses that cause it.
#[must_use]
pub fn render_gates(gates: &[GateResult]) -> String {
    let mut out = String::new();
    for g in gates {
        if g.passed() {
            let _ = writeln!(out, "\ngate {}: passed", v(&g.gate));
            continue;
        }
        // Fail closed: access could be gained through changes rolecall cannot read.
        let unknown: Vec<String> = g
            .unknown
            .iter()
            .map(|u| v(&u.to_string()).into_owned())
            .collect();
        if g.gains.is_empty() {
            let _ = writeln!(
                out,
                "\ngate {}: FAILED (unknown: {})",
                v(&g.gate),
                unknown.join("; ")
            );
            continue;
        }
        let _ = writeln!(
            out,
            "\ngate {}: FAILED ({} gain(s))",
            v(&g.gate),
            g.gains.len()
        );
        for u in &unknown {
            let _ = writeln!(out, "  unknown: {u}");
        }
        for a in g.gains.iter().take(MAX_GAINS) {
            // `--no-new-access` gains carry the diff's own wording (`perm` in place).
            if a.division.is_empty() {
                let _ = writeln!(out, "  {} gains {}", v(&a.subject), v(&a.permission));
            } else {
                let _ = writeln!(
                    out,
                    "  {} gains `{}` in division `{}`",
                    v(&a.subject),
                    v(&a.permission),
                    v(&a.division)
                );
            }
            if !a.causes.is_empty() {
                let list: Vec<String> = a.causes.iter().map(|c| format!("`{}`", v(c))).collect();
                let _ = writeln!(out, "    caused by: {}", list.join(", "));
            }
        }
        if g.gains.len() > MAX_GAINS {
            let _ = writeln!(
                out,
                "  … and {} more (see --format json)",
                g.gains.len() - MAX_GAINS
            );
        }
    }
    out
}
