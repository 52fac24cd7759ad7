//! Human rendering of an org diff.

use std::fmt::Write as _;

use crate::authz::OrgDiff;
use crate::change::DiffCauses;
// Names and the sentences built from them go through `v` (the one sanitiser).
use crate::text::visible as v;

/// Most subjects listed in the human diff; JSON has them all.
const MAX_SUBJECTS: usize = 50;

/// Render a diff for a terminal.
#[must_use]
pub fn render_diff(d: &OrgDiff, base: &str, other: &str) -> String {
    render_diff_attributed(d, base, other, &DiffCauses::default())
}

fn causes_line(out: &mut String, indent: &str, causes: Option<&Vec<String>>) {
    if let Some(c) = causes.filter(|c| !c.is_empty()) {
        let list: Vec<String> = c.iter().map(|a| format!("`{}`", v(a))).collect();
        let _ = writeln!(out, "{indent}caused by: {}", list.join(", "));
    }
}

/// Render a diff with the resource addresses behind each subject and role (a planned change's
/// diff; the plain diff passes no causes).
#[must_use]
pub fn render_diff_attributed(d: &OrgDiff, base: &str, other: &str, causes: &DiffCauses) -> String {
    let mut out = format!("diff {} → {}\n", v(base), v(other));
    if d.is_empty() {
        out.push_str("no differences\n");
        return out;
    }
    let section = |out: &mut String, title: &str, lines: &[String]| {
        if !lines.is_empty() {
            let _ = writeln!(out, "\n{title}:");
            for l in lines {
                let _ = writeln!(out, "  {}", v(l));
            }
        }
    };
    if !d.subjects.is_empty() {
        let _ = writeln!(out, "\neffective access ({} subject(s)):", d.subjects.len());
        for (i, s) in d.subjects.iter().enumerate().take(MAX_SUBJECTS) {
            let _ = writeln!(out, "  {} `{}`", v(s.kind), v(&s.name));
            for g in &s.gained {
                let _ = writeln!(out, "    + {}", v(&g.to_string()));
            }
            for l in &s.lost {
                let _ = writeln!(out, "    - {}", v(&l.to_string()));
            }
            causes_line(&mut out, "    ", causes.subjects.get(i));
        }
        if d.subjects.len() > MAX_SUBJECTS {
            let _ = writeln!(
                out,
                "  … and {} more (see --format json)",
                d.subjects.len() - MAX_SUBJECTS
            );
        }
    }
    section(&mut out, "grants", &d.grants);
    if !d.roles.is_empty() {
        let _ = writeln!(out, "\nroles:");
        for (i, r) in d.roles.iter().enumerate() {
            let mut parts: Vec<String> = r.added.iter().map(|p| format!("+ `{}`", v(p))).collect();
            parts.extend(r.removed.iter().map(|p| format!("- `{}`", v(p))));
            let _ = writeln!(out, "  `{}`: {}", v(&r.name), parts.join(", "));
            causes_line(&mut out, "    ", causes.roles.get(i));
        }
    }
    if !d.subjects_only.is_empty() {
        let _ = writeln!(out, "\nsubjects in one org only:");
        for (i, l) in d.subjects_only.iter().enumerate() {
            let _ = writeln!(out, "  {}", v(l));
            causes_line(&mut out, "    ", causes.subjects_only.get(i));
        }
    }
    section(&mut out, "divisions", &d.divisions);
    section(&mut out, "access policies", &d.policies);
    section(&mut out, "settings", &d.settings);
    section(&mut out, "coverage", &d.coverage);
    out
}

/// The `rolecall.diff/1` document.
#[must_use]
pub fn diff_json(d: &OrgDiff, base: &str, other: &str) -> serde_json::Value {
    serde_json::json!({
        "format": "rolecall.diff/1",
        "base": base,
        "other": other,
        "diff": d,
    })
}
